"""``subsample`` and ``shuffle_records``: seeded, whole-file, partition-independent."""

from __future__ import annotations

import hashlib
from collections.abc import Generator

import dask.dataframe as dd
import numpy as np
import pandas as pd
from pydantic import Field

from pipeline.randomness import order_keys, row_keys, value_keys
from pipeline.steps.registry import ORDER, ROW, Need, StepContext, StepParams, step


class SubsampleParams(StepParams):
    """Parameters of ``subsample``."""

    column_fields = ("by",)
    removes_rows = True

    fraction: float = Field(gt=0, lt=1, description="Share of units (records or households) kept.")
    by: str | None = Field(None, description="Unit column, e.g. household_id: units stay whole.")
    adjust_weights: bool = Field(
        True, description="Multiply the weight column by units / kept units (if declared)."
    )


@step("subsample", params=SubsampleParams)
def subsample(
    df: dd.DataFrame, params: SubsampleParams, ctx: StepContext
) -> Generator[Need, tuple, dd.DataFrame]:
    """Keep a simple random sample of units without replacement (official-statistics practice).

    Exactly ``round(fraction * units)`` units are kept, chosen over the WHOLE file: each unit gets
    a keyed random number derived from the seed, and the units with the smallest numbers stay.
    With ``by: household_id`` a household is kept or dropped whole (records whose unit is missing
    count as units of their own); without ``by`` each record is a unit. The result does not
    depend on partitions or scheduler. If ``columns.weight`` is declared and ``adjust_weights``
    is true, weights are multiplied by units / kept units so totals stay unbiased.
    """
    key = ctx.derive_key("subsample")
    cols = [ROW] + ([params.by] if params.by else [])
    unit_keys = df[cols].map_partitions(_unit_keys, params.by, key, meta=("k", "uint64"))
    # distinct unit keys (tree-reduced); no sort: the threshold is found by selection
    (found,) = yield Need((unit_keys.unique(split_every=8),))
    uniques = found.to_numpy(dtype=np.uint64)
    total = int(uniques.size)
    kept = int(round(params.fraction * total))
    ctx.facts.update(units=total, units_kept=kept)
    if kept == 0:
        return df[unit_keys < 0]  # nothing survives; an empty frame with the same columns
    threshold = np.uint64(np.partition(uniques, kept - 1)[kept - 1])
    out = df[unit_keys <= threshold]
    weight = ctx.columns.weight
    if params.adjust_weights and weight and weight in out.columns:
        factor = total / kept
        ctx.facts["weight_factor"] = factor
        out = out.assign(**{weight: out[weight].astype("Float64") * factor})
    return out


def _unit_keys(frame: pd.DataFrame, by: str | None, key: bytes) -> pd.Series:
    # records without a unit are units of their own, keyed apart from unit values
    own = hashlib.sha256(key + b":own-unit").digest()
    keys = row_keys(frame[ROW].to_numpy(dtype=np.int64), own)
    if by is not None:
        present = frame[by].notna().to_numpy()
        if present.any():
            keys[present] = value_keys(frame[by][present], key)
    return pd.Series(keys, index=frame.index, name="k", dtype="uint64")


@step("shuffle_records")
def shuffle_records(df: dd.DataFrame, params: StepParams, ctx: StepContext) -> dd.DataFrame:
    """Put the records in a random order (official-statistics practice), seeded.

    The order is a random permutation of the whole file derived from the seed and each record's
    position in the input, so it is the same whatever the partitions. The step gives every
    record its place in that order; the writer then sorts the whole file by it (a bucketed
    external sort: memory stays at a bucket, not the file). Write ``shuffle_records: {}``.
    """
    key = ctx.derive_key("shuffle")
    return df.assign(**{ORDER: df[ROW].map_partitions(_order_keys, key, meta=(ORDER, "int64"))})


def _order_keys(rows: pd.Series, key: bytes) -> pd.Series:
    return pd.Series(order_keys(rows.to_numpy(dtype=np.int64), key), index=rows.index)
