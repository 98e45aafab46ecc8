"""Each record's row in a table of distinct key combinations, the table indexed once.

A left merge of a partition's keys with the table hashes the whole table again for every
partition: with 1.8M combinations to suppress (the 100M demo, where the lattice keeps the
municipalities) and 200 partitions, ``local_suppression``'s masks cost 38 s of CPU, 55 times
what they cost at 10M. Here each key's values get codes from the table's own distinct values,
a combination one integer (a mixed radix), and the table's integers are hashed once: a
partition costs its own records.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

_ROW = "__lookup_row__"
_LIMIT = 2**62  # the radix's product must stay below it (int64 codes)


class RowLookup:
    """The rows of ``table`` (distinct combinations of ``keys``) that records match.

    Matching is a left merge's on the keys: values pandas compares as equal, and a missing
    value equal to a missing value. A table whose combinations repeat, or whose codes would not
    fit in 64 bits, is merged with each partition instead (the same rows, at the old cost).
    Build it before the partitions are computed: the hash tables are filled here (and again
    when a worker process unpickles it), so threads only read them.
    """

    def __init__(self, table: pd.DataFrame, keys: list[str]) -> None:
        import pandas as pd

        self.table, self.keys = table, list(keys)
        self._values = [pd.Index(table[key].dropna().unique()) for key in self.keys]
        sizes = [len(values) + 1 for values in self._values]  # the last code: missing
        self._index: pd.Index | None = None
        if int(np.prod([float(s) for s in sizes])) < _LIMIT:
            index = pd.Index(self._codes(table, sizes))
            if index.is_unique:
                self._index = index
        self._sizes = sizes
        self._fill()

    def _fill(self) -> None:
        """Fill every hash table the lookups read, before any thread reads one."""
        for values in self._values:
            values.get_indexer(values[:1])
        if self._index is not None:
            self._index.get_indexer(self._index[:1])

    def __setstate__(self, state: dict) -> None:
        """Unpickled in a worker process: its hash tables were not pickled."""
        self.__dict__.update(state)
        self._fill()

    def rows(self, frame: pd.DataFrame) -> np.ndarray:
        """Each record's row of the table (int64; -1: its combination is not in it)."""
        if self._index is None:
            return self._merged(frame)
        codes = self._codes(frame, self._sizes)
        out = np.full(len(frame), -1, dtype=np.int64)
        known = codes >= 0
        out[known] = self._index.get_indexer(codes[known])
        return out

    def _codes(self, frame: pd.DataFrame, sizes: list[int]) -> np.ndarray:
        """One integer per record (-1: a value the table does not hold).

        Each column is factorized (Arrow's hashing for text) and only its distinct values are
        looked up in the table's: looking up every record's text took pandas a Python string
        each (the 2M demo's masks: 0.2 s more than the merge).
        """
        import pandas as pd

        out = np.zeros(len(frame), dtype=np.int64)
        unknown = np.zeros(len(frame), dtype=bool)
        radix = 1
        for key, values, size in zip(self.keys, self._values, sizes, strict=True):
            local, distinct = pd.factorize(frame[key], use_na_sentinel=True)
            # each distinct value's code in the table (-1: not there); the last: missing
            found = np.append(values.get_indexer(distinct), size - 1).astype(np.int64)
            codes = found[local]
            unknown |= codes < 0
            out += codes * radix
            radix *= size
        out[unknown] = -1
        return out

    def _merged(self, frame: pd.DataFrame) -> np.ndarray:
        """The rows by a left merge (the general way)."""
        numbered = self.table[self.keys].assign(**{_ROW: np.arange(len(self.table), dtype=float)})
        matched = frame[self.keys].merge(numbered, on=self.keys, how="left", sort=False)
        rows = matched[_ROW].to_numpy(dtype=np.float64)
        return np.where(np.isnan(rows), -1, rows).astype(np.int64)
