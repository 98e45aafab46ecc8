"""Whole-file numeric records for steps that need every record at once (microaggregation, swaps).

A step that must see all records together (MDAV groups records across the whole file, rank
swapping pairs records by their ranks in it) declares :class:`Records`: one pass collects the
record positions, the numeric variables and the strata, ordered by position. The step computes
each record's new values from that fact and :func:`replace_by_row` puts them back into the lazy
frame, partition by partition, looked up by position: the output does not depend on partitions.

Memory: 8 bytes per record for the position, 8 per variable, 8 for the strata code (about 320 MB
for 10 million records and 3 variables), held once by the engine's process.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from pipeline.core.columns import ROW
from pipeline.reductions import Plan, Reduction

if TYPE_CHECKING:
    # imported where used: checking a recipe (``anonymize validate``) loads none of them
    import dask.dataframe as dd
    import pandas as pd


@dataclass(frozen=True)
class Collected:
    """Every record's position (sorted), numeric values (NaN: missing) and stratum code.

    Attributes:
        rows: Record positions in the input file, ascending.
        values: ``(records, variables)`` floats; NaN where a value is missing or not a number.
        strata: A code per record for its combination of strata values (0 without strata).
    """

    rows: np.ndarray
    values: np.ndarray
    strata: np.ndarray


@dataclass(frozen=True)
class Records(Reduction):
    """Collect ``variables`` (as numbers) and ``strata`` of every record (one pass)."""

    variables: tuple[str, ...]
    strata: tuple[str, ...] = ()

    @property
    def columns(self) -> tuple[str, ...]:  # type: ignore[override]
        """The record position, the variables and the strata."""
        return (ROW, *self.variables, *self.strata)

    @property
    def label(self) -> str:
        """E.g. ``records of 3 variables``."""
        count = len(self.variables)
        return f"records of {count} variable{'s' if count != 1 else ''}"

    def plan(self, frame: dd.DataFrame) -> Plan:
        """One pass: each partition's positions, values (floats) and strata (text)."""
        names, strata = list(self.variables), list(self.strata)
        meta = _prepared(frame._meta, names, strata)
        (found,) = yield (frame.map_partitions(_prepared, names, strata, meta=meta),)
        return _combined(found, names, strata)


def _prepared(part: pd.DataFrame, names: list[str], strata: list[str]) -> pd.DataFrame:
    """One partition's positions, values as floats (NaN: missing) and strata as text."""
    import pandas as pd

    out = {ROW: part[ROW].astype("int64")}
    for column in names:
        out[column] = pd.to_numeric(part[column], errors="coerce").astype("float64")
    for column in strata:
        out[column] = part[column].astype("string[pyarrow]")
    return pd.DataFrame(out, index=part.index)


def _combined(found: pd.DataFrame, names: list[str], strata: list[str]) -> Collected:
    """The records sorted by position, strata coded over the whole file."""
    found = found.sort_values(ROW, kind="stable")
    codes = np.zeros(len(found), np.int64)
    if strata and len(found):
        codes = found.groupby(strata, dropna=False, sort=True).ngroup().to_numpy(np.int64)
    values = found[names].to_numpy(np.float64, na_value=np.nan)
    return Collected(found[ROW].to_numpy(np.int64), values, codes)


def replace_by_row(
    df: dd.DataFrame, columns: list[str], rows: np.ndarray, values: np.ndarray, name: str
) -> dd.DataFrame:
    """``df`` with ``columns`` replaced by ``values`` (rows ordered as ``rows``), as decimals.

    ``rows`` are sorted record positions covering every record of ``df``; ``name`` makes the
    graph key of the shared arrays (one copy in the graph, whatever the partitions).
    """
    import dask  # here: a recipe is checked without dask

    shared = dask.delayed((rows, values), name=f"anon-records-{name}", pure=True)
    meta = df._meta.astype({c: "Float64" for c in columns})
    return df.map_partitions(_put, columns, shared, meta=meta)


def _put(part: pd.DataFrame, columns: list[str], shared: tuple) -> pd.DataFrame:
    """The partition with each record's new values, found by its position."""
    import pandas as pd

    rows, values = shared
    out = part.copy()
    at = np.searchsorted(rows, part[ROW].to_numpy(np.int64))
    for j, column in enumerate(columns):
        out[column] = pd.array(values[at, j], dtype="Float64")
    return out
