"""The ``add_noise`` step: additive or correlated noise on numeric variables."""

from __future__ import annotations

import hashlib
from typing import Literal

import dask.dataframe as dd
import numpy as np
import pandas as pd
from pydantic import Field
from scipy.special import ndtri

from pipeline.columns import ROW, ColumnsSpec
from pipeline.errors import InputDataError, Problem
from pipeline.randomness import row_keys
from pipeline.reductions import Moments, Reduction
from pipeline.steps.registry import Effect, PerturbParams, StepContext, step


class AddNoiseParams(PerturbParams):
    """Parameters of ``add_noise``."""

    method: Literal["additive", "correlated"] = Field(
        "additive",
        description="additive: independent noise per variable; correlated: noise with the "
        "variables' covariance, rescaled so means and covariance are kept (Kim's method).",
    )
    noise: float = Field(
        150.0, gt=0, le=1000,
        description="Noise in percent: additive, its sd is noise% of the variable's sd; "
        "correlated, its covariance is noise% of the variables' covariance.",
    )  # fmt: skip

    def needs(self, ctx: StepContext) -> dict[str, Reduction]:
        """The variables' standard deviations and covariance over the whole file."""
        return {"moments": Moments(tuple(self.variables))}

    def reads(self, columns: ColumnsSpec) -> set[str] | None:
        """The row position (it seeds each record's noise) and the variables."""
        return {ROW, *self.variables}


def normals(rows: np.ndarray, key: bytes, count: int) -> np.ndarray:
    """``count`` standard normal numbers per record, a pure function of key and position."""
    out = np.empty((rows.size, count))
    for j in range(count):
        own = hashlib.sha256(key + j.to_bytes(2, "little")).digest()  # a key per variable
        bits = row_keys(rows, own) >> np.uint64(11)
        out[:, j] = ndtri((bits.astype(np.float64) + 0.5) / 2.0**53)
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
    pure function of the seed and its position in the input, so the output does not depend on
    partitions or scheduler. The manifest records the method, the noise and c (no data value).
    """
    n, mean, cov, sd = ctx.values["moments"]
    names, alpha = list(params.variables), params.noise / 100.0
    if params.method == "additive":
        if np.isnan(sd).any():
            raise _too_few(ctx)
        scale, shift, factor = np.diag(sd * alpha), np.zeros(len(names)), 1.0
    else:
        if n < 2 or np.isnan(cov).any():
            raise _too_few(ctx)
        scale = _root(alpha * cov)
        factor = float(np.sqrt((n - 1) / (n * (1 + alpha) - 1)))
        shift = (1 - factor) * mean
    key = ctx.derive_key("noise")
    meta = df._meta.astype({c: "Float64" for c in names})
    frame = df.map_partitions(_perturb, names, scale, factor, shift, key, meta=meta)
    facts = {"method": params.method, "noise": params.noise, "rescale": round(factor, 12)}
    return Effect(frame, facts)


def _root(matrix: np.ndarray) -> np.ndarray:
    """A lower-triangular L with L L^T = matrix (eigen-decomposition when only semi-definite)."""
    try:
        return np.linalg.cholesky(matrix)
    except np.linalg.LinAlgError:
        values, vectors = np.linalg.eigh(matrix)
        return vectors * np.sqrt(np.clip(values, 0, None))


def _too_few(ctx: StepContext) -> InputDataError:
    return InputDataError([Problem(
        "add_noise needs at least two records with every variable present",
        location=ctx.location, code="too_few")])  # fmt: skip


def _perturb(
    part: pd.DataFrame,
    names: list[str],
    scale: np.ndarray,
    factor: float,
    shift: np.ndarray,
    key: bytes,
) -> pd.DataFrame:
    """The partition with noise added to ``names``."""
    out = part.copy()
    if part.empty:
        return out.astype({c: "Float64" for c in names})
    x = np.column_stack(
        [pd.to_numeric(part[c], errors="coerce").to_numpy(np.float64, na_value=np.nan)
         for c in names]
    )  # fmt: skip
    z = normals(part[ROW].to_numpy(np.int64), key, len(names))
    y = factor * (x + z @ scale.T) + shift
    for j, column in enumerate(names):
        out[column] = pd.array(np.where(np.isnan(x[:, j]), np.nan, y[:, j]), dtype="Float64")
    return out
