"""The attacker's merged view of a release series, and what keeps it k-anonymous.

An attacker who holds every release of a series can link a person's records across them (a
stable token, or exact values such as income) and merge what they show. For each record of
this release the merged view holds, per key variable, the value this release shows, else the
last value an earlier release showed of the person (``known``), else nothing. It must keep k:
every record's merged values must be compatible with those of at least k records (a missing
value matches any value - an attacker cannot tell a hidden value).

What protects it, in order:

1. A value an earlier release did not show stays hidden (``hidden`` bits of the state): so no
   release tells anything about an earlier one, and judging this release's merged view is
   judging the series against each of its releases.
2. Suppression on the merged view: a value an earlier release showed is *locked* (suppressing
   it now hides nothing), so only values no release showed yet are suppressed, least important
   first, by the local-suppression rounds (``pipeline.risk.suppression`` with locks).
3. Records whose merged view still cannot reach k are withheld from this release
   (``series.withhold``, the default), all at once, and the rest is worked out again; or the
   gate blocks (``withhold: false``).

Everything works on the table of distinct combinations - the key values as they are, the codes
of the values the state knows, the hidden bits - with their record counts, never on records; a
record gets its combination's decision through a join of its own combination.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from pipeline.core.columns import INTERNAL_PREFIX
from pipeline.reductions import Plan, Reduction
from pipeline.risk.frequencies import distinct_frequencies
from pipeline.risk.suppression import TooFewRecords, importance_order, suppress
from pipeline.series.state import SeriesState

if TYPE_CHECKING:
    # imported where used: checking a recipe (``anonymize validate``) loads none of them
    import dask.dataframe as dd
    import pandas as pd

COUNT = "__n__"
HIDE = f"{INTERNAL_PREFIX}series_hidden"  # the hidden bits a record brings from the state
NEW_HIDE = f"{INTERNAL_PREFIX}series_hidden_after"  # ... and after this release
SUPPRESS, WITHHOLD = f"{INTERNAL_PREFIX}series_suppress", f"{INTERNAL_PREFIX}series_withhold"


def code(j: int) -> str:
    """A record's code of key variable j's value known to the state (-1: none)."""
    return f"{INTERNAL_PREFIX}series_code_{j}"


def shown(j: int) -> str:
    """The distinct table's column of key variable j's shown value (text, hidden removed)."""
    return f"{INTERNAL_PREFIX}series_shown_{j}"


def known(j: int) -> str:
    """The distinct table's column of key variable j's last value an earlier release showed."""
    return f"{INTERNAL_PREFIX}series_known_{j}"


def after(j: int) -> str:
    """The decisions' code of key variable j's merged value after this release (-1: none)."""
    return f"{INTERNAL_PREFIX}series_after_{j}"


def as_text(values: pd.Series) -> pd.Series:
    """Values as the text the state keeps, whatever their type: 30 and 30.0 are both ``30``.

    Whole numbers are written without decimals, other numbers as Python's shortest repr, the
    rest as text; missing stays missing. The release and ``--gate-only`` read the same values
    with other types (a nullable integer in a run, a float in a file with missing values).
    """
    import pandas as pd

    dtype = values.dtype
    if not pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype):
        return values.astype("string")
    number = values.astype("Float64")
    whole = ((number % 1 == 0) & (number.abs() < 2**53)).fillna(False)
    out = pd.Series(pd.NA, index=values.index, dtype="string")
    out[whole] = number[whole].astype("Int64").astype("string")
    rest = number.notna() & ~whole
    out[rest] = number[rest].astype("float64").map(repr).astype("string")
    return out


def hidden_bits(
    fps: np.ndarray, state: SeriesState | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each fingerprint's index in the state, whether it is there, and its hidden bits."""
    if state is None or not len(state.fps):
        empty = np.zeros(len(fps), np.int64)
        return empty, empty.astype(bool), empty.astype(np.uint32)
    index, found = state.lookup(fps)
    return index, found, np.where(found, state.hidden[index], 0).astype(np.uint32)


def group_columns(keys: list[str]) -> list[str]:
    """What a record's combination is made of: its key values, known codes and hidden bits."""
    return [*keys, *map(code, range(len(keys))), HIDE]


def series_part(
    part: pd.DataFrame, keys: list[str], person: str, state: SeriesState | None
) -> pd.DataFrame:
    """Each record's combination (``group_columns``), the partition's index kept."""
    index, found, hidden = hidden_bits(part[person].to_numpy(dtype=np.uint64), state)
    out = part[keys].copy()
    for j in range(len(keys)):
        known_codes = state.known[j].codes if state is not None else np.zeros(0, np.int32)
        codes = known_codes[index] if len(known_codes) else np.zeros(len(part), np.int32)
        out[code(j)] = np.where(found, codes, -1).astype(np.int32)
    out[HIDE] = hidden.astype(np.int64)
    return out


def _meta(frame: dd.DataFrame, keys: list[str]) -> pd.DataFrame:
    import pandas as pd

    meta = frame._meta[keys].copy()
    for j in range(len(keys)):
        meta[code(j)] = pd.Series(dtype="int32")
    meta[HIDE] = pd.Series(dtype="int64")
    return meta


@dataclass(frozen=True)
class SeriesTable(Reduction):
    """The distinct combinations of the whole file (see the module), with their texts."""

    keys: tuple[str, ...]
    person: str
    state: SeriesState | None = field(default=None, compare=False, hash=False, repr=False)

    @property
    def columns(self) -> tuple[str, ...]:  # type: ignore[override]
        """The key variables and the person fingerprint."""
        return (*self.keys, self.person)

    @property
    def label(self) -> str:
        """E.g. ``merged view of 5 key variables``."""
        return f"merged view of {len(self.keys)} key variables (release series)"

    def plan(self, frame: dd.DataFrame) -> Plan:
        """One pass: a tree-reduced group-by of the combinations; then their texts."""
        keys = list(self.keys)
        names = group_columns(keys)
        mapped = frame[list(self.columns)].map_partitions(
            series_part, keys, self.person, self.state, meta=_meta(frame, keys)
        )
        grouped = mapped.assign(**{COUNT: 1}).groupby(
            names, dropna=False, observed=True, sort=False
        )
        (found,) = yield (grouped.agg({COUNT: "sum"}, split_every=8),)
        table = found.reset_index()
        for j, key in enumerate(keys):
            gone = (table[HIDE].to_numpy() >> j) & 1 == 1
            table[shown(j)] = as_text(table[key]).mask(gone)
            table[known(j)] = _known_text(self.state, j, table[code(j)].to_numpy())
        texts = [*map(shown, range(len(keys))), *map(known, range(len(keys))), HIDE]
        order = table[texts].astype(str).sort_values(texts, kind="stable").index
        return table.loc[order].reset_index(drop=True)


def _known_text(state: SeriesState | None, j: int, codes: np.ndarray) -> pd.Series:
    import pandas as pd

    if state is None or not len(codes):
        return pd.Series(pd.NA, index=range(len(codes)), dtype="string")
    values = pd.Categorical.from_codes(codes, categories=state.known[j].categories)
    return pd.Series(values.astype(object), dtype="string")


@dataclass(frozen=True)
class Protection:
    """What the series step does to each distinct combination.

    Attributes:
        table: The combinations (``group_columns``) with ``SUPPRESS`` (bits of the key
            variables to suppress now), ``WITHHOLD`` (records not released), ``NEW_HIDE`` (the
            hidden bits after this release) and ``after(j)`` (codes into ``categories[j]``).
        categories: Per key variable, the merged values after this release (sorted text).
        suppressed: Values suppressed now per key variable (records).
        withheld: Records withheld.
        below_k: Records whose merged view stays below k (0 unless nothing may be withheld).
    """

    table: pd.DataFrame
    categories: list[pd.Index]
    suppressed: np.ndarray
    withheld: int
    below_k: int


def _codes(table: pd.DataFrame, m: int) -> tuple[np.ndarray, np.ndarray]:
    """The merged view's codes (-1 missing) and the locked cells of each combination."""
    import pandas as pd

    codes = np.empty((len(table), m), dtype=np.int32)
    locked = np.zeros((len(table), m), dtype=bool)
    for j in range(m):
        value = table[shown(j)].fillna(table[known(j)])
        codes[:, j] = pd.factorize(value, use_na_sentinel=True, sort=True)[0]
        locked[:, j] = table[known(j)].notna().to_numpy()
    return codes, locked


def _withholding(
    codes: np.ndarray,
    locked: np.ndarray,
    counts: np.ndarray,
    k: int,
    order: list[int],
    withhold: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The suppressed codes, the combinations still released, and those left below k."""
    alive = counts > 0
    while True:
        rows = np.flatnonzero(alive)
        work = codes[rows]
        if rows.size and counts[rows].sum() >= k:
            try:
                work = suppress(codes[rows], k, order, counts[rows], "any", locked[rows]).codes
            except TooFewRecords:
                work = codes[rows]
        stuck = distinct_frequencies(work, counts[rows], counts[rows], "any")[0] < k
        if not stuck.any() or not withhold:
            break
        alive[rows[stuck]] = False
    final = codes.copy()
    final[rows] = work
    below = np.zeros(len(codes), dtype=bool)
    below[rows[stuck]] = True
    return final, alive, below


def protect(
    table: pd.DataFrame,
    keys: list[str],
    k: int,
    importance: list[str] | None,
    withhold: bool,
) -> Protection:
    """Suppress unlocked values, then withhold what cannot reach k (see the module).

    ``importance``: key names from the most important down (``importance_order``: the others
    first, more categories first, ties by name), so the result does not depend on key order.
    """
    import pandas as pd

    m = len(keys)
    codes, locked = _codes(table, m)
    counts = table[COUNT].to_numpy(dtype=np.float64)
    cards = [int(codes[:, j].max(initial=-1)) + 1 for j in range(m)]
    order = importance_order(keys, cards, importance)
    final, alive, below = _withholding(codes, locked, counts, k, order, withhold)
    newly = (final < 0) & (codes >= 0) & alive[:, None]
    out = table[group_columns(keys)].copy()
    out[SUPPRESS] = (newly * (1 << np.arange(m))).sum(axis=1).astype(np.int64)
    out[WITHHOLD] = ~alive
    hidden = table[HIDE].to_numpy(dtype=np.int64)
    categories = []
    for j in range(m):
        merged = table[shown(j)].mask(newly[:, j]).fillna(table[known(j)])
        hidden = hidden | (table[shown(j)].mask(newly[:, j]).isna().to_numpy() << j)
        found, uniques = pd.factorize(merged, use_na_sentinel=True, sort=True)
        out[after(j)] = found.astype(np.int32)
        categories.append(pd.Index(uniques.astype(object)))
    out[NEW_HIDE] = hidden
    return Protection(
        out,
        categories,
        np.rint((newly * counts[:, None]).sum(axis=0)).astype(np.int64),
        int(np.rint(counts[~alive].sum())),
        int(np.rint(counts[below].sum())) if not withhold else 0,
    )
