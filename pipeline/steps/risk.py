"""``risk`` (measure disclosure risk) and ``local_suppression`` (enforce k-anonymity)."""

from __future__ import annotations

from typing import Literal

import dask.dataframe as dd
import numpy as np
import pandas as pd
from pydantic import Field

from pipeline.errors import InputDataError, Problem
from pipeline.recipe.models import ColumnsSpec
from pipeline.risk.encode import codes_from_pandas
from pipeline.risk.measures import measure_risk
from pipeline.risk.suppression import suppress
from pipeline.steps.registry import ROW, StepContext, StepParams, step


def _needs_keys(columns: ColumnsSpec) -> list[tuple[str, str]]:
    if not columns.key_variables:
        return [("", "needs columns.key_variables (the quasi-identifiers)")]
    return []


class RiskParams(StepParams):
    """Parameters of ``risk``; the key variables are ``columns.key_variables``."""

    k: int = Field(3, ge=1, description="Count records in classes smaller than k.")
    missing: Literal["any", "category"] = Field("any", description="Missing-value convention.")

    def recipe_problems(self, columns: ColumnsSpec) -> list[tuple[str, str]]:
        """The key variables must be declared."""
        return _needs_keys(columns)


class LocalSuppressionParams(StepParams):
    """Parameters of ``local_suppression``."""

    k: int = Field(3, ge=2, description="Every record's fk must reach k.")
    importance: list[str] | None = Field(
        None,
        description="Key variables from the most important (suppressed last) to the least "
        "important (suppressed first). Default: variables with more categories are less "
        "important (sdcMicro's default).",
    )

    def recipe_problems(self, columns: ColumnsSpec) -> list[tuple[str, str]]:
        """The key variables must be declared and importance may only name them."""
        problems = _needs_keys(columns)
        for name in self.importance or []:
            if name not in columns.key_variables:
                problems.append(("importance", f"{name!r} is not in columns.key_variables"))
        return problems


def key_codes(df: dd.DataFrame, ctx: StepContext) -> tuple[pd.DataFrame, np.ndarray, list[str]]:
    """Collect the key variables of the WHOLE file and encode them (rows in ROW order)."""
    keys = list(ctx.columns.key_variables)
    if not keys:
        raise InputDataError(
            [Problem("columns.key_variables is empty", location=ctx.location, code="no_keys")]
        )
    frame = df[[ROW, *keys]].compute().sort_values(ROW, kind="stable")
    return frame, codes_from_pandas(frame, keys), keys


@step("risk", params=RiskParams)
def risk(df: dd.DataFrame, params: RiskParams, ctx: StepContext) -> dd.DataFrame:
    """Measure disclosure risk over the whole file at this point of the recipe (changes nothing).

    Over ``columns.key_variables`` (weights from ``columns.weight``): sample uniques, records
    violating k, expected re-identifications, global risk and the largest individual risk, as
    sdcMicro's measure_risk computes them. The figures go to the manifest and the log.
    """
    frame, codes, _ = key_codes(df, ctx)
    weights = None
    if ctx.columns.weight:
        weights = df[[ROW, ctx.columns.weight]].compute().sort_values(ROW, kind="stable")
        weights = weights[ctx.columns.weight].to_numpy(dtype="float64", na_value=0.0)
    result = measure_risk(codes, params.k, weights, missing=params.missing)
    ctx.facts.update(
        {
            k: result.summary[k]
            for k in ("sample_uniques", "k_violations", "global_risk", "max_individual_risk")
        }
    )
    return df


@step("local_suppression", params=LocalSuppressionParams)
def local_suppression(
    df: dd.DataFrame, params: LocalSuppressionParams, ctx: StepContext
) -> dd.DataFrame:
    """Set key-variable values to missing until every record's fk >= k (k-anonymity).

    Works over the whole file with sdcMicro's convention that a missing value matches any value.
    It suppresses as few values as it can, preferring variables of low importance (see
    ``importance``), then gives back every suppressed value it can without breaking k.
    Suppressions per variable are recorded in the manifest. The result does not depend on
    partitions: records are processed in input order.
    """
    frame, codes, keys = key_codes(df, ctx)
    if params.importance is not None:
        unknown = sorted(set(params.importance) - set(keys))
        if unknown:
            raise InputDataError(
                [Problem(f"importance names non-key columns {unknown}", location=ctx.location)]
            )
        named = [keys.index(c) for c in params.importance]
        rest = [i for i in range(len(keys)) if i not in named]
        order = rest + named[::-1]  # unnamed first, then least to most important
    else:
        cards = [int(codes[:, j].max(initial=-1)) + 1 for j in range(len(keys))]
        order = sorted(range(len(keys)), key=lambda j: (-cards[j], j))
    try:
        result = suppress(codes, params.k, order)
    except ValueError as exc:
        raise InputDataError([Problem(str(exc), location=ctx.location, code="too_few")]) from None
    newly = (result.codes < 0) & (codes >= 0)
    ctx.facts["suppressions"] = {
        key: int(n) for key, n in zip(keys, result.suppressed, strict=True)
    }
    ctx.facts["suppressed_total"] = int(result.suppressed.sum())
    rows = frame[ROW].to_numpy()
    masks = {keys[j]: np.sort(rows[newly[:, j]]) for j in range(len(keys)) if newly[:, j].any()}
    # numpy integer/bool columns cannot hold missing values: use the nullable dtypes
    nullable = {
        c: {"b": "boolean"}.get(df[c].dtype.kind, "Int64")
        for c in masks
        if isinstance(df[c].dtype, np.dtype) and df[c].dtype.kind in "biu"
    }
    if nullable:
        df = df.astype(nullable)
    return df.map_partitions(_apply_masks, masks, meta=df._meta)


def _apply_masks(part: pd.DataFrame, masks: dict[str, np.ndarray]) -> pd.DataFrame:
    if not masks:
        return part
    out = part.copy()
    rows = part[ROW].to_numpy()
    for column, suppressed_rows in masks.items():
        hit = np.isin(rows, suppressed_rows, assume_unique=False)
        if hit.any():
            out[column] = out[column].mask(hit)
    return out
