"""Information loss between two aligned tables (``anonymize utility``, tests, notebooks).

The same aggregates as a run (``pipeline.utility.aggregate``), over a frame that holds each
record's values before (``original``) and after (``released``), row by row.
"""

from __future__ import annotations

from collections.abc import Mapping

import dask
import dask.dataframe as dd
import pandas as pd

from pipeline.utility.aggregate import UtilityPlan, before, collect, lazy_aggregates
from pipeline.utility.measures import utility, warnings
from pipeline.utility.model import Utility


def compare(
    original: pd.DataFrame,
    released: pd.DataFrame,
    plan: UtilityPlan,
    levels: Mapping[str, tuple[int, int]] | None = None,
    k: int = 1,
    rows_in: int | None = None,
    partitions: int = 1,
    warn_share: float = 0.25,
) -> Utility:
    """The figures of ``released`` against ``original`` (same records, in the same order).

    ``rows_in``: records of the original file when some were not released (default: as many
    as released). ``levels``: (level, height) of the generalized columns.
    """
    if len(original) != len(released):
        raise ValueError("the two tables must hold the same records in the same order")
    frame = released[plan.columns].reset_index(drop=True)
    for column in plan.columns:
        frame[before(column)] = original[column].reset_index(drop=True)
    lazy = lazy_aggregates(dd.from_pandas(frame, npartitions=max(1, partitions)), plan)
    found = utility(plan, collect(plan, dask.compute(*lazy)), levels or {}, k, rows_in)
    return found.model_copy(update={"warnings": warnings(found, warn_share)})
