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

Everything works on the table of distinct (shown values, known values) combinations with their
record counts, never on records.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import dask.dataframe as dd
import numpy as np
import pandas as pd

from pipeline.reductions import Plan, Reduction
from pipeline.risk.frequencies import distinct_frequencies
from pipeline.risk.suppression import TooFewRecords, default_order, suppress
from pipeline.series.state import SeriesState

COUNT = "__n__"


def shown(j: int) -> str:
    """The column of key variable j's shown value (text) in the merged table."""
    return f"t{j}"


def known(j: int) -> str:
    """The column of key variable j's last value shown by an earlier release (text)."""
    return f"q{j}"


def as_text(values: pd.Series) -> pd.Series:
    """Values as the text the state keeps, whatever their type: 30 and 30.0 are both ``30``.

    Whole numbers are written without decimals, other numbers as Python's shortest repr, the
    rest as text; missing stays missing. The release and ``--gate-only`` read the same values
    with other types (a nullable integer in a run, a float in a file with missing values).
    """
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


def merged_part(
    part: pd.DataFrame, keys: list[str], person: str, state: SeriesState | None
) -> tuple[pd.DataFrame, np.ndarray]:
    """Per record: shown values (hidden ones removed) and known values; and the old hidden bits.

    ``part`` holds the key variables and the person fingerprints.
    """
    fps = part[person].to_numpy(dtype=np.uint64)
    if state is not None and len(state.fps):
        index, found = state.lookup(fps)
        hidden = np.where(found, state.hidden[index], 0).astype(np.uint32)
    else:
        index, found = np.zeros(len(fps), np.int64), np.zeros(len(fps), bool)
        hidden = np.zeros(len(fps), np.uint32)
    out = {}
    for j, key in enumerate(keys):
        text = as_text(part[key]).reset_index(drop=True)
        gone = (hidden >> np.uint32(j)) & np.uint32(1) == 1
        out[shown(j)] = text.mask(gone)
        out[known(j)] = (state.known_text(j, index, found) if state is not None
                         else pd.Series(pd.NA, index=text.index, dtype="string"))  # fmt: skip
    return pd.DataFrame(out)[text_columns(len(keys))], hidden


def text_columns(m: int) -> list[str]:
    """The columns of the merged table: shown then known values of each key variable."""
    return [*map(shown, range(m)), *map(known, range(m))]


def _texts(part: pd.DataFrame, keys: list[str], person: str, state: SeriesState | None):  # noqa: ANN202
    return merged_part(part, keys, person, state)[0]


@dataclass(frozen=True)
class SeriesTable(Reduction):
    """The distinct (shown, known) combinations of the whole file, with their record counts."""

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
        """One pass: a tree-reduced group-by of the merged texts."""
        names = text_columns(len(self.keys))
        meta = pd.DataFrame({c: pd.Series(dtype="string") for c in names})
        mapped = frame[list(self.columns)].map_partitions(
            _texts, list(self.keys), self.person, self.state, meta=meta
        )
        grouped = mapped.assign(**{COUNT: 1}).groupby(names, dropna=False, observed=True,
                                                        sort=False)  # fmt: skip
        (found,) = yield (grouped.agg({COUNT: "sum"}, split_every=8),)
        table = found.reset_index()
        order = table[names].fillna("\0").sort_values(names, kind="stable").index
        return table.loc[order].reset_index(drop=True)


@dataclass(frozen=True)
class Protection:
    """What the series step does to each distinct (shown, known) combination.

    Attributes:
        table: The combinations (``t<j>``, ``q<j>``) with ``suppress`` (bits of the key
            variables to suppress now) and ``withhold`` (records not released).
        suppressed: Values suppressed now per key variable (records).
        withheld: Records withheld.
        below_k: Records whose merged view stays below k (0 unless nothing may be withheld).
    """

    table: pd.DataFrame
    suppressed: np.ndarray
    withheld: int
    below_k: int


def _codes(table: pd.DataFrame, m: int) -> tuple[np.ndarray, np.ndarray]:
    """The merged view's codes (-1 missing) and the locked cells of each combination."""
    codes = np.empty((len(table), m), dtype=np.int32)
    locked = np.zeros((len(table), m), dtype=bool)
    for j in range(m):
        value = table[shown(j)].fillna(table[known(j)])
        codes[:, j] = pd.factorize(value, use_na_sentinel=True, sort=True)[0]
        locked[:, j] = table[known(j)].notna().to_numpy()
    return codes, locked


def protect(
    table: pd.DataFrame, m: int, k: int, order: list[int] | None, withhold: bool
) -> Protection:
    """Suppress unlocked values, then withhold what cannot reach k (see the module)."""
    codes, locked = _codes(table, m)
    counts = table[COUNT].to_numpy(dtype=np.float64)
    cards = [int(codes[:, j].max(initial=-1)) + 1 for j in range(m)]
    order = order if order is not None else default_order(cards)
    alive = counts > 0
    while True:
        rows = np.flatnonzero(alive)
        work = codes[rows]
        if rows.size and counts[rows].sum() >= k:
            try:
                work = suppress(codes[rows], k, order, counts[rows], "any", locked[rows]).codes
            except TooFewRecords:
                work = codes[rows]
        fk = distinct_frequencies(work, counts[rows], counts[rows], "any")[0]
        stuck = fk < k
        if not stuck.any() or not withhold:
            break
        alive[rows[stuck]] = False
    final = codes.copy()
    final[rows] = work
    newly = (final < 0) & (codes >= 0) & alive[:, None]
    bits = (newly * (1 << np.arange(m))).sum(axis=1).astype(np.int64)
    out = table.drop(columns=[COUNT]).assign(suppress=bits, withhold=~alive)
    return Protection(out, np.rint((newly * counts[:, None]).sum(axis=0)).astype(np.int64),
                      int(np.rint(counts[~alive].sum())),
                      int(np.rint(counts[rows][stuck].sum())) if not withhold else 0)  # fmt: skip
