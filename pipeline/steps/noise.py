"""The ``add_noise`` step: additive or correlated noise on numeric variables."""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Literal

import numpy as np
from pydantic import Field

from pipeline.core.columns import INTERNAL_PREFIX, ROW, ColumnsSpec
from pipeline.core.errors import InputDataError, Problem
from pipeline.core.moments import ExactMoments
from pipeline.core.randomness import row_keys
from pipeline.reductions import Moments, Reduction
from pipeline.steps.registry import Check, Effect, PerturbParams, StepContext, Wording, step

if TYPE_CHECKING:
    # imported where used: checking a recipe (``anonymize validate``) loads none of them
    import dask.dataframe as dd
    import pandas as pd

BEYOND = f"{INTERNAL_PREFIX}beyond_"  # + j: the record's noisy value j is beyond the floats
_LARGEST = sys.float_info.max


class AddNoiseParams(PerturbParams):
    """Parameters of ``add_noise``."""

    logged = ("method", "beyond_float_range.*")

    wording = Wording("ノイズの付加", "random noise added")
    examples = (
        {"variables": ["income"], "noise": 50},
        {"variables": ["income", "age"], "method": "correlated", "noise": 20},
    )

    method: Literal["additive", "correlated"] = Field(
        "additive",
        description="additive: independent noise per variable; correlated: noise with the "
        "variables' covariance, rescaled so means and covariance are kept (Kim's method).",
    )
    noise: float = Field(
        150.0,
        gt=0,
        le=1000,
        description="Noise in percent: additive, its sd is noise% of the variable's sd; "
        "correlated, its covariance is noise% of the variables' covariance.",
    )

    def recipe_problems(self, columns: ColumnsSpec) -> list[tuple[str, str]]:
        """Each variable once, and not the weight (noise would make weights negative or 0)."""
        return super().recipe_problems(columns) + [
            (
                f"variables[{i}]",
                f"{name!r} is the weight (columns.weight): noise would make "
                "some weights negative or 0, and the risk measures and every weighted estimate "
                "need weights above 0; leave it out (rank_swap keeps every weight and their "
                "total)",
            )
            for i, name in enumerate(self.variables)
            if name == columns.weight
        ]

    def needs(self, ctx: StepContext) -> dict[str, Reduction]:
        """The variables' standard deviations and covariance over the whole file."""
        return {"moments": Moments(tuple(self.variables))}


def normals(rows: np.ndarray, key: bytes, count: int) -> np.ndarray:
    """``count`` standard normal numbers per record, a pure function of key and position."""
    from scipy import special  # here: checking a recipe needs no scipy

    out = np.empty((rows.size, count))
    for j in range(count):
        own = hashlib.sha256(key + j.to_bytes(2, "little")).digest()  # a key per variable
        bits = row_keys(rows, own) >> np.uint64(11)
        out[:, j] = special.ndtri((bits.astype(np.float64) + 0.5) / 2.0**53)
    return out


@step("add_noise", params=AddNoiseParams)
def add_noise(df: dd.DataFrame, params: AddNoiseParams, ctx: StepContext) -> Effect:
    """Add seeded random noise to numeric variables (sdcMicro's ``addNoise``).

    * ``additive``: each value gets independent normal noise whose standard deviation is
      ``noise`` percent of the variable's standard deviation over the whole file (sdcMicro's
      ``additive``, default 150).
    * ``correlated``: the noise has ``noise`` percent of the variables' covariance matrix
      (records with every variable present; whole file), and the result is rescaled towards the
      means, x' = c (x + e) + (1 - c) mean with c = sqrt((n - 1) / (n (1 + a) - 1)), so the
      means and the covariance matrix are kept in expectation (sdcMicro's ``correlated`` noise
      with Kim's rescaling, the factor of sdcMicro's ``restr``). Records missing one of the
      variables get the same noise on the ones they have.

    Missing values stay missing; the variables become decimal columns. Each record's noise is a
    pure function of the seed and its position in the input, and the whole file's means, sds
    and covariance are exact sums, so the output does not depend on partitions or scheduler.
    Values near the float limits get noise like any other; a record whose noisy value would
    be beyond the range of 64-bit floats is an input error (exit 3, the column and the number
    of records). The weight (``columns.weight``) cannot take noise: weights must stay above 0.
    The manifest records the method, the noise and c (no data value).
    """
    import pandas as pd

    names = list(params.variables)
    scale, factor, shift = _noise(ctx.values["moments"], params, ctx)
    key = ctx.derive_key("noise")
    flags = [f"{BEYOND}{j}" for j in range(len(names))]
    meta = df._meta.astype({c: "Float64" for c in names}).assign(
        **{f: pd.Series(dtype=bool) for f in flags}
    )
    both = df.map_partitions(_perturb, names, scale, factor, shift, key, meta=meta)
    checks = tuple(
        Check(both[f"{BEYOND}{j}"].sum(), f"beyond_float_range.{c}", _beyond(c, ctx))
        for j, c in enumerate(names)
    )
    facts = {"method": params.method, "noise": params.noise, "rescale": round(factor, 12)}
    return Effect(both.drop(columns=flags), facts, checks=checks)


def _noise(
    found: ExactMoments, params: AddNoiseParams, ctx: StepContext
) -> tuple[np.ndarray, float, np.ndarray]:
    """The noise's matrix L (noise = L z), the rescaling factor c and the shift (1 - c) mean.

    The whole file's sds and covariance come scaled by powers of two (values near the float
    limits have variances beyond them); L is scaled back, and an entry beyond the floats
    becomes inf, so that the records it reaches are counted and refused (``_beyond``).
    """
    alpha = params.noise / 100.0
    if params.method == "additive":
        sd, t = found.sd_scaled()
        if np.isnan(sd).any():
            raise _too_few(ctx, "values of each variable")
        with np.errstate(over="ignore"):  # inf: counted by the check
            return np.diag(np.ldexp(sd * alpha, t)), 1.0, np.zeros(found.p)
    n = found.complete
    cov, t = found.covariance_scaled()
    if n < 2:
        raise _too_few(ctx, "records with every variable present")
    with np.errstate(over="ignore"):  # inf: counted by the check
        scale = np.ldexp(_root(alpha * cov), t[:, None])
    factor = float(np.sqrt((n - 1) / (n * (1 + alpha) - 1)))
    return scale, factor, (1 - factor) * found.mean()


def _root(matrix: np.ndarray) -> np.ndarray:
    """A lower-triangular L with L L^T = matrix (eigen-decomposition when only semi-definite)."""
    try:
        return np.linalg.cholesky(matrix)
    except np.linalg.LinAlgError:
        values, vectors = np.linalg.eigh(matrix)
        return vectors * np.sqrt(np.clip(values, 0, None))


def _too_few(ctx: StepContext, what: str) -> InputDataError:
    problem = Problem(f"add_noise needs at least two {what}", ctx.location, "too_few")
    return InputDataError([problem])


def _beyond(column: str, ctx: StepContext) -> Callable[[int], Problem | None]:
    """The problem of records whose noisy value of ``column`` is beyond the floats."""

    def problem(count: int) -> Problem | None:
        if not count:
            return None
        return Problem(
            f"column {column!r}: {count} record(s) would get a value beyond the range of "
            f"64-bit floats (about +-{_LARGEST:.3g}) with noise of this size; lower the "
            f"noise or top_code {column!r} first",
            location=ctx.location,
            code="beyond_float_range",
        )

    return problem


def _perturb(
    part: pd.DataFrame,
    names: list[str],
    scale: np.ndarray,
    factor: float,
    shift: np.ndarray,
    key: bytes,
) -> pd.DataFrame:
    """The partition with noise added to ``names``, and where it is beyond the floats."""
    import pandas as pd

    out = part.copy()
    if part.empty:
        flags = {f"{BEYOND}{j}": pd.Series(dtype=bool) for j in range(len(names))}
        return out.astype({c: "Float64" for c in names}).assign(**flags)
    x = np.column_stack(
        [
            pd.to_numeric(part[c], errors="coerce").to_numpy(np.float64, na_value=np.nan)
            for c in names
        ]
    )
    z = normals(part[ROW].to_numpy(np.int64), key, len(names))
    with np.errstate(over="ignore", invalid="ignore"):  # beyond the floats: counted, refused
        y = factor * (x + z @ scale.T) + shift
    present = ~np.isnan(x)
    for j, column in enumerate(names):
        out[column] = pd.array(np.where(present[:, j], y[:, j], np.nan), dtype="Float64")
        out[f"{BEYOND}{j}"] = present[:, j] & ~np.isfinite(y[:, j])
    return out
