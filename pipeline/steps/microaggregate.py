"""The ``microaggregate`` step: replace numeric values by the means of groups of k records."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import Field, model_validator

from pipeline.core.columns import ColumnsSpec
from pipeline.core.errors import InputDataError, Problem
from pipeline.core.requirements import GroupSize, Requirement
from pipeline.microagg import EXACT, group_means, groups, within_sse
from pipeline.records import Collected, Records, replace_by_row
from pipeline.reductions import Reduction
from pipeline.steps.registry import (
    Declaration,
    Effect,
    PerturbParams,
    StepContext,
    Wording,
    repeated,
    step,
)

if TYPE_CHECKING:
    import dask.dataframe as dd


class MicroaggregateParams(PerturbParams):
    """Parameters of ``microaggregate``."""

    logged = ("method", "groups", "smallest_group", "largest_group", "suppressed_records")

    wording = Wording(
        "ミクロアグリゲーション（グループ平均への置換）",
        "replaced by group means (microaggregation)",
    )
    examples = (
        {"variables": ["income"], "k": 3},
        {"variables": ["income", "age"], "k": 4, "strata": ["sex"]},
    )

    k: int = Field(3, ge=2, le=1000, description="Smallest group size.")
    method: Literal["auto", "mdav", "optimal"] = Field(
        "auto",
        description="mdav: multivariate MDAV; optimal: the optimal univariate partition "
        "(one variable); auto: optimal for one variable, mdav for more.",
    )
    strata: list[str] = Field(
        default_factory=list, description="Microaggregate within each combination of these."
    )
    improve: bool = Field(True, description="Local search after MDAV (never raises the SSE).")

    @model_validator(mode="after")
    def _one_for_optimal(self) -> MicroaggregateParams:
        if self.method == "optimal" and len(self.variables) != 1:
            raise ValueError("method optimal takes exactly one variable")
        return self

    def columns_used(self) -> dict[str, str]:
        """The variables and the strata."""
        out = super().columns_used()
        return out | {f"strata[{i}]": c for i, c in enumerate(self.strata)}

    def recipe_problems(self, columns: ColumnsSpec) -> list[tuple[str, str]]:
        """Each variable and stratum once; none both; not the weight (it could become missing)."""
        problems = super().recipe_problems(columns) + repeated(self.strata, "strata", "stratum")
        problems += [
            (
                f"variables[{i}]",
                f"{name!r} is the weight (columns.weight): the records of a "
                "stratum or pattern of missing values smaller than k get no value, and a record "
                "without a weight cannot be estimated from; leave it out (rank_swap keeps every "
                "weight and their total)",
            )
            for i, name in enumerate(self.variables)
            if name == columns.weight
        ]
        return problems + [
            (
                f"strata[{i}]",
                f"{name!r} is one of the variables: a column is either "
                "microaggregated or a stratum, not both",
            )
            for i, name in enumerate(self.strata)
            if name in self.variables
        ]

    def needs(self, ctx: StepContext) -> dict[str, Reduction]:
        """Every record's variables and strata."""
        return {"records": Records(tuple(self.variables), tuple(self.strata))}

    def declare(self, columns: ColumnsSpec) -> Declaration:
        """Reads the row position, the variables and the strata; replaces the variables."""
        base = super().declare(columns)
        return replace(base, reads=base.reads | set(self.strata))

    def requirements(self, facts: dict[str, Any], base_dir: Path) -> list[Requirement]:
        """Every released combination of the variables (per stratum) is shared by k records."""
        return [GroupSize(tuple(self.variables), tuple(self.strata), self.k)]


@step("microaggregate", params=MicroaggregateParams)
def microaggregate(df: dd.DataFrame, params: MicroaggregateParams, ctx: StepContext) -> Effect:
    """Replace numeric values by the means of groups of at least k similar records.

    Records are grouped on the variables standardised over the whole file (mean 0, sd 1) with
    Euclidean distance, and each value is replaced by its group's mean; every group has k to
    2k - 1 records (sdcMicro's ``microaggregation``, mu-Argus).

    * ``mdav`` (two or more variables): MDAV as sdcMicro's, exact on up to 10,000 records
      (per stratum); on more, exact MDAV runs inside the blocks of a space partition built
      over the whole file (median cuts along the widest variable, blocks of 500 to 1,000
      records), so the work grows linearly. With ``improve`` (default) a local search then
      moves and swaps records between groups while that lowers the within-group sum of
      squares, for as many passes (up to 8) as a fixed work budget allows: small files get
      them all, files of some ten thousand records and more none.
    * ``optimal`` (one variable, the default then): the optimal univariate partition
      (Hansen and Mukherjee), exact.

    ``strata`` microaggregates within each combination of their values. A record missing some
    variables is grouped with the records missing the same ones, on those it has. Where fewer
    than k records share a stratum and pattern of missing values, their values are set missing
    (counted as ``suppressed_records``, with a warning in the log and the manifest): no group
    is ever smaller than k, which the gate checks. A file where fewer than k records hold any
    value of the variables is an input error (exit 3). Values near the float limits are
    standardised and averaged without overflow.
    The variables become decimal columns; the output does not depend on partitions or scheduler
    (records are grouped in input order). The manifest records the groups, their smallest and
    largest size and SSE/SST (the share of the standardised variance lost); no data value.
    """
    found: Collected = ctx.values["records"]
    x = found.values
    _enough_records(x, params, ctx)
    released, stats = _aggregate(x, found.strata, params)
    if stats["suppressed_records"]:
        stats["warnings"] = [
            f"microaggregate: {stats['suppressed_records']} record(s) in strata or patterns of "
            f"missing values with fewer than k = {params.k} records: their values of "
            f"{', '.join(params.variables)} were set missing"
        ]
    name = ctx.derive_key("microaggregate").hex()[:16]
    frame = replace_by_row(df, list(params.variables), found.rows, released, name)
    return Effect(frame, stats)


def _enough_records(x: np.ndarray, params: MicroaggregateParams, ctx: StepContext) -> None:
    """Refuse a file with some values but fewer than k records holding them (no group of k)."""
    holding = int((~np.isnan(x)).any(axis=1).sum())
    if 0 < holding < params.k:
        raise InputDataError(
            [
                Problem(
                    f"{holding} record(s) hold values of "
                    f"{', '.join(params.variables)}, fewer than k = {params.k}: no group of k "
                    "records can be formed; lower k or leave the step out",
                    location=ctx.location,
                    code="fewer_than_k",
                )
            ]
        )


def _aggregate(
    x: np.ndarray, strata: np.ndarray, params: MicroaggregateParams
) -> tuple[np.ndarray, dict[str, Any]]:
    """The released values and the facts, cell by cell (stratum x pattern of missing values)."""
    present = ~np.isnan(x)
    z = _standardised(x, present)
    pattern = (present * (1 << np.arange(x.shape[1], dtype=np.int64))).sum(axis=1)
    order = np.lexsort((pattern, strata))
    cut = np.flatnonzero(np.diff(strata[order]) | np.diff(pattern[order])) + 1
    out = np.full(x.shape, np.nan)
    sizes: list[np.ndarray] = []
    suppressed, sse = 0, 0.0
    method = (
        "optimal"
        if params.method == "optimal" or (params.method == "auto" and len(params.variables) == 1)
        else "mdav"
    )
    for cell in np.split(order, cut) if order.size else []:
        use = present[cell[0]]
        if not use.any():
            continue
        if cell.size < params.k:
            suppressed += cell.size
            continue
        at = np.ix_(cell, use)
        zc = z[at]
        labels = groups(zc, params.k, method, params.improve)
        out[at] = group_means(x[at], labels)[labels]
        sse += within_sse(zc, labels)
        sizes.append(np.bincount(labels))
    sst = float(np.nansum(z * z))
    every = np.concatenate(sizes) if sizes else np.zeros(0, np.int64)
    facts = {
        "method": method,
        "k": params.k,
        "groups": int(every.size),
        "smallest_group": int(every.min()) if every.size else 0,
        "largest_group": int(every.max()) if every.size else 0,
        "suppressed_records": suppressed,
        "sse_sst": round(sse / sst, 6) if sst > 0 else 0.0,
        "exact_up_to": EXACT,
    }
    return out, facts


def _standardised(x: np.ndarray, present: np.ndarray) -> np.ndarray:
    """The variables less their mean, over their sd (present values; sd 1 if none or 0).

    Each variable is first divided by the power of two just above its largest |value|: exact,
    so no digit of the result changes, but the squares of values near the float limits
    (1e200 squared is beyond them) stay within the floats.
    """
    counts = present.sum(axis=0)
    _, exponent = np.frexp(np.abs(np.where(present, x, 0.0)).max(axis=0, initial=0.0))
    scaled = np.ldexp(x, -exponent)
    mean = np.where(present, scaled, 0.0).sum(axis=0) / np.maximum(counts, 1)
    var = (np.where(present, scaled - mean, 0.0) ** 2).sum(axis=0) / np.maximum(counts - 1, 1)
    sd = np.sqrt(var)
    return (scaled - mean) / np.where(sd > 0, sd, np.ldexp(1.0, -exponent))  # 1, unscaled
