"""The ``pram`` step: invariant post-randomisation of a categorical variable (sdcMicro's)."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import Field

from pipeline.core.columns import ROW, ColumnsSpec
from pipeline.core.errors import InputDataError, Problem
from pipeline.core.randomness import row_keys
from pipeline.reductions import KeyCombinations, KeyTable, Reduction
from pipeline.steps.recode import lookup_text
from pipeline.steps.registry import (
    Declaration,
    Effect,
    StepContext,
    StepParams,
    Wording,
    repeated,
    step,
)

if TYPE_CHECKING:
    # imported where used: checking a recipe (``anonymize validate``) loads none of them
    import dask.dataframe as dd
    import pandas as pd

MAX_CATEGORIES = 1_000  # per stratum: a matrix of 1,000 x 1,000 is 8 MB (several at once)
MAX_ENTRIES = 10_000_000  # all strata's matrices together: 80 MB, carried to every partition
RECORDED_ENTRIES = 2_500  # recorded in full in the manifest up to this many; else a summary


class PramParams(StepParams):
    """Parameters of ``pram``."""

    column_fields = ("column",)
    wording = Wording("無作為化（PRAM）", "randomised (PRAM)")
    examples = (
        {"column": "occupation"},
        {"column": "household_size", "pd": 0.6, "strata": ["sex"]},
    )

    column: str
    pd: float = Field(0.8, gt=0, le=1, description="Smallest diagonal entry of the matrix P.")
    alpha: float = Field(0.5, ge=0, le=1, description="Amount of perturbation (0: none).")
    strata: list[str] = Field(
        default_factory=list, description="PRAM within each combination of these columns."
    )

    def columns_used(self) -> dict[str, str]:
        """The column and the strata."""
        return {"column": self.column, **{f"strata[{i}]": c for i, c in enumerate(self.strata)}}

    def recipe_problems(self, columns: ColumnsSpec) -> list[tuple[str, str]]:
        """Each stratum listed once, and not the column randomised."""
        return repeated(self.strata, "strata", "stratum") + [
            (f"strata[{i}]", f"{name!r} is the column randomised: it cannot be a stratum")
            for i, name in enumerate(self.strata)
            if name == self.column
        ]

    def needs(self, ctx: StepContext) -> dict[str, Reduction]:
        """The value counts of the column (per stratum)."""
        return {"counts": KeyTable((*self.strata, self.column))}

    def declare(self, columns: ColumnsSpec) -> Declaration:
        """Reads the row position, the column and the strata; replaces the column's values.

        The row position seeds each record's draw; the column is perturbed as a category.
        """
        one = {self.column}
        return Declaration(
            reads={ROW, *one, *self.strata},
            writes=one,
            replaces=one,
            perturbs={self.column: "categorical"},
        )


def invariant_matrix(p: np.ndarray, diagonal: np.ndarray, alpha: float) -> np.ndarray:
    """SdcMicro's invariant PRAM matrix: ``alpha * P Q + (1 - alpha) * I``.

    ``P`` has ``diagonal`` on its diagonal and the rest of each row spread evenly; ``Q`` is the
    backward matrix ``Q[k, j] = P[j, k] p[j] / sum_i p[i] P[i, k]`` for the frequencies ``p``,
    so that ``p (P Q) = p``: the expected frequencies after PRAM are the frequencies before.
    """
    size = p.size
    if size == 1:
        return np.ones((1, 1))
    big_p = np.repeat(((1 - diagonal) / (size - 1))[:, None], size, axis=1)
    np.fill_diagonal(big_p, diagonal)
    column = p @ big_p  # sum_i p[i] P[i, k]
    q = (big_p * p[:, None]).T / column[:, None]
    return alpha * (big_p @ q) + (1 - alpha) * np.eye(size)


@step("pram", params=PramParams)
def pram(df: dd.DataFrame, params: PramParams, ctx: StepContext) -> Effect:
    """Post-randomise a categorical column with an invariant transition matrix (sdcMicro's PRAM).

    For the column's categories (in sorted order, per combination of ``strata`` when given) a
    matrix P gets diagonal entries drawn uniformly in [``pd``, 1] (seeded) and the rest of each
    row spread evenly; the released matrix is ``alpha * P Q + (1 - alpha) * I`` with Q the
    backward matrix for the whole file's frequencies, so the expected frequencies after PRAM
    equal those before (invariant PRAM). Each record then draws its released category from its
    category's row, with a random number that depends only on the seed and its position.
    Missing values stay missing. The matrices go to the manifest (the processing record), as
    probabilities in the sorted order of the categories: no category is named; beyond 2,500
    entries in all (one matrix of 50 categories) a summary goes instead (the strata, the
    largest matrix, the range of the diagonals). A column with more than 1,000 categories in
    a stratum, or matrices of more than 10 million entries in all, is an input error (exit 3)
    found before any matrix is built: recode it to fewer categories first.
    """
    found: KeyCombinations = ctx.values["counts"]
    table = found.table.assign(__n=found.counts)
    key = ctx.derive_key("pram")
    strata_of = (
        table.groupby(params.strata, dropna=False, sort=True) if params.strata else [((), table)]
    )
    cells = [_categories(part, params) for _, part in strata_of]
    _not_too_many([counts.size for _, counts in cells], params, ctx)  # before any matrix
    groups, matrices = [], []
    for s, (stratum, counts) in enumerate(cells):
        rng = np.random.default_rng(
            np.frombuffer(hashlib.sha256(key + s.to_bytes(4, "little")).digest(), np.uint32)
        )
        diagonal = rng.uniform(params.pd, 1.0, counts.size)
        matrix = invariant_matrix(counts.to_numpy() / counts.sum(), diagonal, params.alpha)
        groups.append((stratum, list(counts.index), np.cumsum(matrix, axis=1)))
        matrices.append(matrix)
    meta = df._meta.astype({params.column: "string"})
    frame = df.map_partitions(_draw, params.column, list(params.strata), groups, key, meta=meta)
    return Effect(frame, {**recorded(matrices), "alpha": params.alpha, "pd": params.pd})


def _categories(part: pd.DataFrame, params: PramParams) -> tuple[pd.DataFrame | None, pd.Series]:
    """A stratum's values (None without strata) and its categories' counts, sorted."""
    part = part[part[params.column].notna()]
    part = part.assign(__text=lookup_text(part[params.column]).astype(object))
    counts = part.groupby("__text", sort=True)["__n"].sum()
    stratum = part[params.strata].iloc[:1].reset_index(drop=True) if params.strata else None
    return stratum, counts


def _not_too_many(sizes: list[int], params: PramParams, ctx: StepContext) -> None:
    """Refuse more categories per stratum, or matrix entries in all, than the limits."""
    largest, entries = max(sizes, default=0), sum(n * n for n in sizes)
    where = " in one stratum" if params.strata else ""
    if largest > MAX_CATEGORIES:
        message = (
            f"column {params.column!r} has {largest:,} categories{where}, above the limit of "
            f"{MAX_CATEGORIES:,} (pram builds a categories x categories matrix): recode it to "
            "fewer categories first"
        )
    elif entries > MAX_ENTRIES:
        message = (
            f"column {params.column!r}: {len(sizes):,} strata whose matrices hold {entries:,} "
            f"entries in all, above the limit of {MAX_ENTRIES:,}: use fewer strata or recode "
            "the column to fewer categories first"
        )
    else:
        return
    raise InputDataError([Problem(message, ctx.location, "too_many_categories")])


def recorded(matrices: list[np.ndarray]) -> dict[str, Any]:
    """What the manifest records of the matrices: all of them, or a summary when too large.

    Up to ``RECORDED_ENTRIES`` entries in all (one matrix of 50 categories), every matrix
    with its probabilities rounded to 6 digits; beyond, their number, size and the range of
    their diagonals (the probabilities that a category is kept), so the manifest and the risk
    report stay small whatever the categories.
    """
    entries = sum(m.size for m in matrices)
    if entries <= RECORDED_ENTRIES:
        return {"matrices": [[[round(float(v), 6) for v in row] for row in m] for m in matrices]}
    diagonal = np.concatenate([np.diag(m) for m in matrices])
    off = max(float((m - np.diag(np.diag(m))).max()) for m in matrices)
    summary = {
        "strata": len(matrices),
        "largest": max(m.shape[0] for m in matrices),
        "entries": int(entries),
        "diagonal_min": round(float(diagonal.min()), 6),
        "diagonal_mean": round(float(diagonal.mean()), 6),
        "diagonal_max": round(float(diagonal.max()), 6),
        "off_diagonal_max": round(off, 6),
    }
    return {"matrix_summary": summary}


def _draw(
    part: pd.DataFrame, column: str, strata: list[str], groups: list, key: bytes
) -> pd.DataFrame:
    """Each record's released category, drawn from its category's row."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc

    out = part.copy()
    text = lookup_text(part[column])
    result = text.astype(object).to_numpy().copy()
    u = (row_keys(part[ROW].to_numpy(np.int64), key) >> np.uint64(11)).astype(np.float64) / 2.0**53
    for stratum, levels, cumulative in groups:
        mine = np.ones(len(part), dtype=bool)
        if stratum is not None:
            mine = _in_stratum(part[strata].reset_index(drop=True), stratum.iloc[0])
        idx = pc.index_in(
            pa.array(text.array, pa.string()), value_set=pa.array(levels, pa.string())
        )
        idx = idx.to_numpy(zero_copy_only=False)
        hit = mine & ~pd.isna(idx)
        picked = _picks(u[hit], idx[hit].astype(np.int64), cumulative)
        result[hit] = np.asarray(levels, dtype=object)[np.minimum(picked, len(levels) - 1)]
    out[column] = pd.array(result, dtype="string")
    return out


def _picks(u: np.ndarray, rows: np.ndarray, cumulative: np.ndarray) -> np.ndarray:
    """Per record, how many entries of its row of ``cumulative`` lie below its number ``u``.

    The records are taken category by category (one binary search each), so memory holds the
    records, never records x categories.
    """
    out = np.empty(u.size, dtype=np.int64)
    order = np.argsort(rows, kind="stable")
    for chunk in np.split(order, np.flatnonzero(np.diff(rows[order])) + 1):
        if chunk.size:
            out[chunk] = np.searchsorted(cumulative[rows[chunk[0]]], u[chunk], side="left")
    return out


def _in_stratum(values: pd.DataFrame, stratum: pd.Series) -> np.ndarray:
    """Records whose strata values are the stratum's (a missing value equals a missing one)."""
    import pandas as pd

    mine = np.ones(len(values), dtype=bool)
    for column in values.columns:
        want, have = stratum[column], values[column]
        same = have.isna() if pd.isna(want) else (have == want).fillna(False)
        mine &= same.to_numpy(dtype=bool)
    return mine
