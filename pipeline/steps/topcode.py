"""``top_code`` and ``bottom_code``: cap outliers at a fixed value or a whole-file quantile."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from pydantic import Field, model_validator

from pipeline.core.columns import ColumnsSpec
from pipeline.core.errors import InputDataError, Problem
from pipeline.core.requirements import Bound, Requirement
from pipeline.reductions import Quantile, Reduction
from pipeline.steps.registry import (
    Declaration,
    Effect,
    StepContext,
    StepParams,
    Wording,
    step,
)

if TYPE_CHECKING:
    # imported where used: checking a recipe (``anonymize validate``) loads none of them
    import dask.dataframe as dd
    import pandas as pd


class _CodeParams(StepParams):
    column_fields = ("column",)
    logged = ("values_changed",)
    upper: ClassVar[bool] = True

    column: str
    quantile: float | None = Field(
        None, gt=0, lt=1, description="Threshold = this quantile over the whole file."
    )
    replace_with: float | None = Field(None, description="Replacement (default: the threshold).")

    def declare(self, columns: ColumnsSpec) -> Declaration:
        """Reads the column as numbers and replaces the values beyond the threshold."""
        one = {self.column}
        return Declaration(reads=one, numeric=one, writes=one, replaces=one)

    def needs(self, ctx: StepContext) -> dict[str, Reduction]:
        """The whole-file quantile, when the threshold is one."""
        return {} if self.quantile is None else {"quantile": Quantile(self.column, self.quantile)}

    def requirements(self, facts: dict[str, Any], base_dir: Path) -> list[Requirement]:
        """The published column stays within the cap (the threshold or the replacement)."""
        if "threshold" not in facts:
            return []
        bounds = (float(facts["threshold"]), float(facts.get("replace_with", facts["threshold"])))
        return [Bound(self.column, max(bounds) if self.upper else min(bounds), self.upper)]


class TopCodeParams(_CodeParams):
    """Parameters of ``top_code``: exactly one of ``above`` or ``quantile``."""

    wording = Wording("トップコーディング", "top-coded")
    examples = ({"column": "income", "quantile": 0.99}, {"column": "age", "above": 90})

    above: float | None = Field(None, description="Values above this are replaced.")

    @model_validator(mode="after")
    def _one_threshold(self) -> TopCodeParams:
        if (self.above is None) == (self.quantile is None):
            raise ValueError("give exactly one of above or quantile")
        return self


class BottomCodeParams(_CodeParams):
    """Parameters of ``bottom_code``: exactly one of ``below`` or ``quantile``."""

    upper: ClassVar[bool] = False
    wording = Wording("ボトムコーディング", "bottom-coded")
    examples = ({"column": "household_size", "below": 2}, {"column": "income", "quantile": 0.01})

    below: float | None = Field(None, description="Values below this are replaced.")

    @model_validator(mode="after")
    def _one_threshold(self) -> BottomCodeParams:
        if (self.below is None) == (self.quantile is None):
            raise ValueError("give exactly one of below or quantile")
        return self


@step("top_code", params=TopCodeParams)
def top_code(df: dd.DataFrame, params: TopCodeParams, ctx: StepContext) -> Effect:
    """Replace values above a threshold (e.g. age 116 -> 90, "90 and over").

    ``above: 90`` caps at a fixed value; ``quantile: 0.995`` caps at the 99.5% quantile computed
    exactly over the WHOLE file (linear interpolation, as R's default type 7 and numpy), never
    per partition. Values greater than the threshold become ``replace_with`` (default: the
    threshold). On an integer column a quantile threshold is rounded down to an integer, which
    changes exactly the same records. Missing values stay missing.
    """
    return _code(df, params, ctx, params.above, upper=True)


@step("bottom_code", params=BottomCodeParams)
def bottom_code(df: dd.DataFrame, params: BottomCodeParams, ctx: StepContext) -> Effect:
    """Replace values below a threshold (the mirror image of ``top_code``).

    ``below: 0`` or ``quantile: 0.005`` (whole-file quantile, rounded up on integer columns).
    Values smaller than the threshold become ``replace_with`` (default: the threshold).
    """
    return _code(df, params, ctx, params.below, upper=False)


def _code(
    df: dd.DataFrame, params: _CodeParams, ctx: StepContext, fixed: float | None, upper: bool
) -> Effect:
    import pandas as pd

    column = params.column
    dtype = df[column].dtype
    if not pd.api.types.is_numeric_dtype(dtype):
        raise InputDataError(
            [
                Problem(
                    f"column {column!r} is not numeric", location=ctx.location, code="not_numeric"
                )
            ]
        )
    integral = pd.api.types.is_integer_dtype(dtype)
    facts: dict[str, Any] = {}
    if fixed is None:
        found = ctx.values["quantile"]
        if found is None:
            raise InputDataError(
                [Problem(f"column {column!r} has no values", location=ctx.location, code="empty")]
            )
        threshold = found
        if integral:
            threshold = float(math.floor(threshold) if upper else math.ceil(threshold))
        facts["quantile"] = params.quantile
    else:
        threshold = float(fixed)
    replacement = threshold if params.replace_with is None else float(params.replace_with)
    out_dtype = dtype if not integral or replacement.is_integer() else "Float64"
    facts.update(threshold=threshold, replace_with=replacement)
    changed = df[column].map_partitions(_count_beyond, threshold, upper, meta=("n", "int64"))
    capped = df[column].map_partitions(
        _cap, threshold, replacement, upper, out_dtype, meta=(column, out_dtype)
    )
    return Effect(df.assign(**{column: capped}), facts, {"values_changed": changed.sum()})


def _beyond(values: pd.Series, threshold: float, upper: bool) -> np.ndarray:
    arr = values.to_numpy(dtype="float64", na_value=np.nan)
    with np.errstate(invalid="ignore"):
        return arr > threshold if upper else arr < threshold


def _count_beyond(values: pd.Series, threshold: float, upper: bool) -> pd.Series:
    import pandas as pd

    return pd.Series([int(_beyond(values, threshold, upper).sum())], name="n", dtype="int64")


def _cap(
    values: pd.Series, threshold: float, replacement: float, upper: bool, dtype: str
) -> pd.Series:
    out = values.astype(dtype)
    mask = _beyond(values, threshold, upper)
    if mask.any():
        out = out.mask(mask, replacement)
    return out.astype(dtype)
