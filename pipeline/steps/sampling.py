"""``subsample`` and ``shuffle_records``: seeded, whole-file, partition-independent."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

import numpy as np
from pydantic import Field

from pipeline.core.columns import ORDER, PERSON, ROW, ColumnsSpec, unit_column
from pipeline.core.randomness import order_keys
from pipeline.reductions import Reduction, UnitKeys
from pipeline.steps.registry import Declaration, Effect, StepContext, StepParams, Wording, step

if TYPE_CHECKING:
    # imported where used: checking a recipe (``anonymize validate``) loads none of them
    import dask.dataframe as dd
    import pandas as pd


class SubsampleParams(StepParams):
    """Parameters of ``subsample``."""

    logged = ("units", "units_kept")

    column_fields = ("by",)
    wording = Wording("抽出に合わせた補正", "adjusted to the sample")
    record_wording = Wording("レコードの抽出（標本化）", "a random sample of the records")
    examples = ({"fraction": 0.8}, {"fraction": 0.5, "by": "household_id"})

    fraction: float = Field(gt=0, lt=1, description="Share of units (records or households) kept.")
    by: str | None = Field(None, description="Unit column, e.g. household_id: units stay whole.")
    adjust_weights: bool = Field(
        True, description="Multiply the weight column by units / kept units (if declared)."
    )

    def needs(self, ctx: StepContext) -> dict[str, Reduction]:
        """The distinct units of the whole file, by their keyed random numbers."""
        return {"units": units_of(self, ctx)}

    def declare(self, columns: ColumnsSpec) -> Declaration:
        """Reads the row position, the unit and the weight; samples, replaces the weight.

        The unit is the engine's number of a replaced linking ID (not its fresh token), and the
        person's fingerprint in a series.
        """
        weight = {columns.weight} if self.adjust_weights and columns.weight else set()
        unit = unit_of(self.by, columns)
        reads = {ROW, PERSON, *weight, *([unit] if unit else [])}
        return Declaration(
            reads=reads, numeric=weight, writes=weight, replaces=weight, rows="sampled"
        )


def units_of(params: SubsampleParams, ctx: StepContext) -> UnitKeys:
    """The sample's units: keyed by the value of ``by``; a record without one is its own unit."""
    key = ctx.derive_key("subsample")
    by = unit_of(params.by, ctx.columns)
    if by is None and ctx.series is not None:
        by = PERSON  # a series: the person
    return UnitKeys(by, key, hashlib.sha256(key + b":own-unit").digest())


def unit_of(by: str | None, columns: ColumnsSpec) -> str | None:
    """The column a sample's units are read from.

    The engine's number of a linking ID the engine replaces (not the release's fresh token),
    else ``by`` itself.
    """
    if by in columns.linking_ids and columns.linking_ids[by].method != "drop":
        return unit_column(by)
    return by


@step("subsample", params=SubsampleParams)
def subsample(df: dd.DataFrame, params: SubsampleParams, ctx: StepContext) -> Effect:
    """Keep a simple random sample of units without replacement (official-statistics practice).

    Exactly ``round(fraction * units)`` units are kept, chosen over the WHOLE file: each unit gets
    a keyed random number derived from the seed, and the units with the smallest numbers stay.
    With ``by: household_id`` a household is kept or dropped whole (records whose unit is missing
    count as units of their own); without ``by`` each record is a unit. The result does not
    depend on partitions or scheduler. If ``columns.weight`` is declared and ``adjust_weights``
    is true, weights are multiplied by units / kept units so totals stay unbiased.

    In a release series the sample is coordinated (permanent random numbers): a unit is kept
    when its keyed number (a function of the seed and the unit alone; without ``by`` the unit
    is the person) is below ``fraction`` of the range, so every release keeps the units an
    earlier one took and leaves out the ones it left out; about ``fraction`` of the units stay.
    """
    uniques = ctx.values["units"]
    total = int(uniques.size)
    if ctx.series is not None:
        threshold = np.uint64(min(2**64 - 1, int(params.fraction * 2**64)))
        kept = int((uniques <= threshold).sum())
    else:
        kept = int(round(params.fraction * total))
        threshold = np.uint64(np.partition(uniques, kept - 1)[kept - 1]) if kept else None
    facts = {"units": total, "units_kept": kept}
    keys = units_of(params, ctx).lazy_keys(df)
    if kept == 0:
        return Effect(df[keys < 0], facts)  # nothing survives; an empty frame, same columns
    out = df[keys <= threshold]
    weight = ctx.columns.weight
    if params.adjust_weights and weight and weight in out.columns:
        factor = total / kept
        facts["weight_factor"] = factor
        out = out.assign(**{weight: out[weight].astype("Float64") * factor})
    return Effect(out, facts)


class ShuffleParams(StepParams):
    """``shuffle_records`` takes no parameters (write ``{}``)."""

    record_wording = Wording("レコードの順序の無作為化", "records in random order")
    examples = ({},)

    def declare(self, columns: ColumnsSpec) -> Declaration:
        """Reads the row position; adds the engine's order column (the writer sorts by it)."""
        return Declaration(reads={ROW}, writes={ORDER}, rows="reordered")


@step("shuffle_records", params=ShuffleParams)
def shuffle_records(df: dd.DataFrame, params: ShuffleParams, ctx: StepContext) -> Effect:
    """Put the records in a random order (official-statistics practice), seeded.

    The order is a random permutation of the whole file derived from the seed and each record's
    position in the input, so it is the same whatever the partitions. The step gives every
    record its place in that order; the writer then sorts the whole file by it (a bucketed
    external sort: memory stays at a bucket, not the file). Write ``shuffle_records: {}``.
    """
    key = ctx.derive_key("shuffle")
    order = df[ROW].map_partitions(_order_keys, key, meta=(ORDER, "int64"))
    return Effect(df.assign(**{ORDER: order}))


def _order_keys(rows: pd.Series, key: bytes) -> pd.Series:
    import pandas as pd

    return pd.Series(order_keys(rows.to_numpy(dtype=np.int64), key), index=rows.index)
