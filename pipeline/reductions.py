"""Whole-file facts that steps declare and the engine computes: the reductions.

A step never computes. What it must know about the whole file before it can build its frame
(a quantile, the distinct sampling units, the table of key combinations) it declares as a
:class:`Reduction` in its parameters' ``needs``. A reduction names the columns of the step's
input frame it reads and plans its passes: :meth:`Reduction.plan` is a generator that yields a
tuple of lazy dask values per pass, receives them computed, and returns the fact.

The engine runs every reduction that can be computed at a point in the same pass over the data
(``pipeline.engine.apply``): because a reduction reads only its ``columns``, it may run on an
earlier frame where those columns and the records are already what the step will see.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Generator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from pipeline.core import exact
from pipeline.core.columns import PERSON, ROW, UNIT_PREFIX
from pipeline.core.groups import combinations, combine, hashed_groups, stable_order
from pipeline.core.moments import ExactMoments, moment_limbs
from pipeline.core.quantile import quantile_plan
from pipeline.core.randomness import row_keys, value_keys
from pipeline.risk.encode import codes_from_pandas, combination_hashes, hashable, key_hashes

if TYPE_CHECKING:
    # imported where used: checking a recipe (``anonymize validate``) loads none of them
    import dask.dataframe as dd
    import pandas as pd

Plan = Generator[tuple, tuple, Any]


class Reduction(ABC):
    """A whole-file fact computed by the engine from ``columns`` of a step's input frame."""

    columns: tuple[str, ...]

    @property
    @abstractmethod
    def label(self) -> str:
        """What is computed, in words (for the log: never a data value)."""

    @abstractmethod
    def plan(self, frame: dd.DataFrame) -> Plan:
        """Yield the lazy values of each pass over ``frame`` (its ``columns``); return the fact."""


@dataclass(frozen=True)
class Quantile(Reduction):
    """The exact q-quantile of a column over the whole file (two passes; None without values)."""

    column: str
    q: float

    @property
    def columns(self) -> tuple[str, ...]:  # type: ignore[override]
        """The column."""
        return (self.column,)

    @property
    def label(self) -> str:
        """E.g. ``quantile 0.995 of income``."""
        return f"quantile {self.q:g} of {self.column}"

    def plan(self, frame: dd.DataFrame) -> Plan:
        """Two passes (``pipeline.core.quantile``); nothing on a column that holds no numbers."""
        import pandas as pd

        if not pd.api.types.is_numeric_dtype(frame[self.column].dtype):
            return None  # the step refuses the column itself; nothing to compute
        return (yield from quantile_plan(frame[self.column], self.q))


@dataclass(frozen=True)
class UnitKeys(Reduction):
    """The distinct keyed random numbers of the file's units (households with ``by``, else records).

    Each unit gets a keyed hash of its value under ``key``; a record without a unit is a unit of
    its own, keyed by its position under ``own``. The fact is the array of distinct keys.
    """

    by: str | None
    key: bytes
    own: bytes

    @property
    def columns(self) -> tuple[str, ...]:  # type: ignore[override]
        """The row position and the unit column."""
        return (ROW, self.by) if self.by else (ROW,)

    @property
    def label(self) -> str:
        """E.g. ``units of household_id`` (the ID's own number; ``persons`` in a series)."""
        if self.by == PERSON:
            return "persons"
        return f"units of {self.by.removeprefix(UNIT_PREFIX)}" if self.by else "records"

    def lazy_keys(self, frame: dd.DataFrame) -> dd.Series:
        """Each record's unit key (lazy)."""
        return frame[list(self.columns)].map_partitions(
            unit_keys, self.by, self.key, self.own, meta=("k", "uint64")
        )

    def plan(self, frame: dd.DataFrame) -> Plan:
        """One pass: the distinct keys."""
        (found,) = yield (self.lazy_keys(frame).unique(split_every=8),)  # tree-reduced, no sort
        return found.to_numpy(dtype=np.uint64)


def unit_keys(frame: pd.DataFrame, by: str | None, key: bytes, own: bytes) -> pd.Series:
    """The unit key of each record of a partition (see :class:`UnitKeys`).

    Only the records without a unit get a key from their position (every record has a unit
    in most files: a unit column read whole is hashed once, without the masked copy).
    """
    import pandas as pd

    rows = frame[ROW].to_numpy(dtype=np.int64)
    if by is None:
        return pd.Series(row_keys(rows, own), index=frame.index, name="k", dtype="uint64")
    present = frame[by].notna().to_numpy()
    if present.all():
        keys = value_keys(frame[by], key)
    else:
        keys = np.empty(rows.size, dtype=np.uint64)
        keys[~present] = row_keys(rows[~present], own)
        if present.any():
            keys[present] = value_keys(frame[by][present], key)
    return pd.Series(keys, index=frame.index, name="k", dtype="uint64")


@dataclass(frozen=True)
class KeyCombinations:
    """The distinct key combinations of a file (in the lexicographic order of their codes).

    Attributes:
        table: One row per combination, the key columns' values.
        codes: Their codes (g x m, sorted categories, -1 = missing).
        counts: Records per combination.
        sums: Weight sums per combination (the counts without a weight).
    """

    table: pd.DataFrame
    codes: np.ndarray
    counts: np.ndarray
    sums: np.ndarray


_N = "__records__"
_H = "__combination__"  # each combination's 64-bit hash, carried up the key table's tree


@dataclass(frozen=True)
class KeyTable(Reduction):
    """The table of distinct key combinations with record counts (and weight sums), one pass.

    A dask group-by (tree reduction) over ``keys``: memory holds the combinations, never a
    per-record collection; the order does not depend on the partitions.
    """

    keys: tuple[str, ...]
    weight: str | None = None

    @property
    def columns(self) -> tuple[str, ...]:  # type: ignore[override]
        """The key variables and the weight."""
        return (*self.keys, *([self.weight] if self.weight else []))

    @property
    def label(self) -> str:
        """E.g. ``combinations of 5 key variables``."""
        return f"combinations of {len(self.keys)} key variables"

    def plan(self, frame: dd.DataFrame) -> Plan:
        """One pass: each partition's combinations, then tree-reduced (8 tables at a time).

        A partition's table has each combination once, so it goes to the tree as it is: a
        group-by of it would give it back (0.3 s per million records at 2M). Keys of text,
        integers or bools carry a hash of each combination up the tree, where tables are
        regrouped by it (see ``regrouped``).
        """
        keys, weight = list(self.keys), self.weight
        parts = frame[list(self.columns)]
        meta = parts._meta[keys].assign(**{_N: np.int64(0)})
        if weight:
            meta[weight] = parts._meta[weight]
        hashed = all(hashable(parts._meta[key].dtype) for key in keys)
        if hashed:
            meta[_H] = np.zeros(0, dtype=np.uint64)
        given = {"keys": keys, "weight": weight}
        found = parts.reduction(  # chunk, then up the tree 8 tables at a time
            chunk=partition_combinations,
            chunk_kwargs={**given, "hashed": hashed},
            combine=regrouped,
            combine_kwargs=given,
            aggregate=regrouped,
            aggregate_kwargs=given,
            meta=meta,
            split_every=8,
        )
        (table,) = yield (found,)
        table, codes = in_code_order(table.drop(columns=[_H], errors="ignore"), keys)
        counts = table[_N].to_numpy(dtype="float64")
        totals = table[weight].to_numpy(dtype="float64", na_value=0.0) if weight else counts
        return KeyCombinations(table[keys], codes, counts, totals)


def in_code_order(table: pd.DataFrame, keys: list[str]) -> tuple[pd.DataFrame, np.ndarray]:
    """A table of distinct combinations in the lexicographic order of its codes, and the codes.

    The order is taken on one integer per row (``core.groups.combine`` keeps it): 0.05 s for
    1M rows, where ``np.lexsort`` over the columns took 0.29 s. The rows are distinct, so any
    sort gives the one order (a quicksort: 0.08 s for 2M rows, a stable sort 0.28 s); a table
    with a repeated row is sorted stably.
    """
    codes = codes_from_pandas(table, keys)
    order = stable_order(combine(codes))
    return table.iloc[order].reset_index(drop=True), codes[order]


def partition_combinations(
    frame: pd.DataFrame,
    keys: list[str],
    weight: str | None,
    records: str | None = None,
    hashed: bool = False,
) -> pd.DataFrame:
    """One partition's distinct key combinations, its records and weight sum per combination.

    The keys are factorized one by one into a single integer per record, so the group-by runs
    on one integer column instead of combining several text keys (pandas' cost). A missing key
    value is a value of its own, as in ``groupby(dropna=False)``. The weight sums are pandas'
    group sums in record order, as a group-by over the keys gives them, to the last bit.
    ``records``: a column of records per row (tables of combinations added up), else one each.
    ``hashed``: add each combination's hash (``_H``) for the tree above; when the tables given
    carry it, they are grouped by it, every merge checked value by value (a hash shared by
    unequal values, or a row without one, and they are grouped by their values instead).
    """
    import pandas as pd

    carried = frame[_H].to_numpy(dtype=np.uint64) if _H in frame.columns else None
    # a column of another type: partitions of different types met (int64 and uint64 make
    # float64, whose values are no longer the hashed ones); 0: a row that could not be hashed
    typed = all(hashable(frame[k].dtype) for k in keys)
    found = None
    if carried is not None and typed and carried.all():
        found = hashed_groups(frame, keys, carried)
    typed = typed and hashed and carried is None  # a partition's table: hash it
    factorized = {k: pd.factorize(frame[k]) for k in keys} if typed else {}
    given = {k: codes for k, (codes, _) in factorized.items()}
    first, inverse = found if found is not None else combinations(frame, keys, given)
    out = frame[keys].iloc[first].reset_index(drop=True)
    if records is None:
        out[_N] = np.bincount(inverse, minlength=first.size).astype(np.int64)
    else:
        added = np.zeros(first.size, dtype=np.int64)
        np.add.at(added, inverse, frame[records].to_numpy(dtype=np.int64))
        out[_N] = added
    if weight:
        # ids are numbered as they first appear: unsorted groups come in id order already
        sums = frame[weight].groupby(inverse, sort=False).sum()
        out[weight] = sums.reset_index(drop=True)
    if carried is not None:
        out[_H] = carried[first]
    elif typed:  # each distinct value hashed once, then picked by its code
        out[_H] = combination_hashes([key_hashes(u, c[first]) for c, u in factorized.values()])
    elif hashed:  # a partition's own columns may differ from the frame's: 0, not hashed
        out[_H] = np.zeros(len(out), np.uint64)
    return out


def regrouped(tables: pd.DataFrame, keys: list[str], weight: str | None) -> pd.DataFrame:
    """Tables of combinations (records and weight per combination) summed per combination.

    The sums of a combination are taken in the tables' order, as a group-by over the keys
    takes them (the same bits).
    """
    return partition_combinations(tables, keys, weight, records=_N)


def compute_now(reduction: Reduction, frame: dd.DataFrame) -> Any:
    """A reduction computed right away, pass after pass (outside a run: tests, tools)."""
    import dask

    plan = reduction.plan(frame[list(reduction.columns)])
    try:
        lazy = next(plan)
        while True:
            lazy = plan.send(dask.compute(*lazy))
    except StopIteration as done:
        return done.value


@dataclass(frozen=True)
class Moments(Reduction):
    """The exact sums of numeric columns over the whole file, one pass (``ExactMoments``).

    Each partition's exact sums go as limbs through a tree-reduced group-by, so the means,
    standard deviations and covariance do not depend on partitions, scheduler or order.
    """

    variables: tuple[str, ...]

    @property
    def columns(self) -> tuple[str, ...]:  # type: ignore[override]
        """The variables."""
        return self.variables

    @property
    def label(self) -> str:
        """E.g. ``moments of 3 variables``."""
        return f"moments of {len(self.variables)} variables"

    def plan(self, frame: dd.DataFrame) -> Plan:
        """One pass: the limbs of each partition's sums, added up."""
        names = list(self.variables)
        limbs = frame[names].map_partitions(moment_limbs, names, meta=exact.limbs_meta())
        (found,) = yield (exact.add_limbs(limbs),)
        return ExactMoments(len(names), exact.from_limbs(found))
