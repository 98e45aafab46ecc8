"""The ``rank_swap`` step: values exchanged between records of close rank (sdcMicro's)."""

from __future__ import annotations

import hashlib
import math
from typing import TYPE_CHECKING

import numpy as np
from pydantic import Field

from pipeline.records import Collected, Records, replace_by_row
from pipeline.reductions import Reduction
from pipeline.steps.registry import Effect, PerturbParams, StepContext, Wording, step

if TYPE_CHECKING:
    import dask.dataframe as dd


class RankSwapParams(PerturbParams):
    """Parameters of ``rank_swap``."""

    wording = Wording("レコード間の値の入替え（スワッピング）", "values swapped between records")
    examples = ({"variables": ["income"], "p": 10}, {"variables": ["income", "weight"]})

    p: float = Field(
        15.0,
        gt=0,
        le=100,
        description="Largest distance between swapped records, in percent of the records "
        "with a value (their ranks differ by at most floor(p/100 * n)).",
    )

    def needs(self, ctx: StepContext) -> dict[str, Reduction]:
        """Every record's position and variables (the whole file, ordered by position)."""
        return {"records": Records(tuple(self.variables))}


def window(p: float, n: int) -> int:
    """The window in ranks, ``floor(p/100 * n)`` (``p * n`` first, so 29% of 100 gives 29)."""
    return math.floor(p * n / 100)


def swap_ranks(x: np.ndarray, p: float, rng: np.random.Generator) -> tuple[np.ndarray, int]:
    """One variable's values after rank swapping, and its window ``w``.

    The present values (not NaN) are ranked 0..n-1 by value, then by index in ``x``. The ranks
    are cut into consecutive blocks of ``w + 1`` (the first one shortened by a random shift in
    [0, w]); each block's ranks are shuffled and taken two by two, and each pair exchanges its
    values (an odd block leaves one record as it is). Two ranks of a block differ by at most
    ``w``, so every value moves at most ``w`` ranks; the output is a permutation of the present
    values; NaN stays in place. Vectorised: one sort of the values, one shuffle per block.

    Args:
        x: The values, NaN where missing.
        p: The window in percent of the present values (0 < p <= 100).
        rng: The source of the shift and the shuffle.

    Returns:
        The swapped values (a new array) and ``w``.
    """
    out = x.copy()
    present = np.flatnonzero(~np.isnan(x))
    n, w = present.size, window(p, present.size)
    if w < 1 or n < 2:
        return out, w
    order = present[_by_value(x[present])]  # rank -> index in x
    size, shift = w + 1, int(rng.integers(w + 1))
    ranks = np.arange(n, dtype=np.int64)
    tail = -(n + shift) % size  # -1 fills the first and last blocks, dropped after shuffling
    grid = np.concatenate([np.full(shift, -1), ranks, np.full(tail, -1)]).reshape(-1, size)
    shuffled = rng.permuted(grid, axis=1).ravel()
    shuffled = shuffled[shuffled >= 0]  # the ranks block by block, shuffled within each
    block = (ranks + shift) // size
    within = ranks - np.maximum(block * size - shift, 0)  # place in its block
    first = np.flatnonzero((within[:-1] % 2 == 0) & (block[:-1] == block[1:]))
    partner = ranks.copy()
    partner[shuffled[first]] = shuffled[first + 1]
    partner[shuffled[first + 1]] = shuffled[first]
    out[order] = x[order[partner]]
    return out, w


def _by_value(v: np.ndarray) -> np.ndarray:
    """The order of ``v`` by value, ties by index (a quick sort first; stable when tied)."""
    order = np.argsort(v)
    ordered = v[order]
    if np.any(ordered[1:] == ordered[:-1]):
        return np.argsort(v, kind="stable")
    return order


def rank_swap_values(values: np.ndarray, p: float, key: bytes) -> tuple[np.ndarray, list[int]]:
    """Swap each column of ``values`` independently (see :func:`swap_ranks`).

    Column j draws from a generator seeded with SHA-256(key, j), so the result is a pure
    function of the values, their order, ``p`` and ``key``.

    Returns:
        The swapped values (records x variables) and each variable's window.
    """
    out = np.empty_like(values, dtype=np.float64)
    windows = []
    for j in range(values.shape[1]):
        seed = hashlib.sha256(key + j.to_bytes(2, "little")).digest()
        rng = np.random.default_rng(np.frombuffer(seed, np.uint32))
        out[:, j], w = swap_ranks(values[:, j].astype(np.float64), p, rng)
        windows.append(w)
    return out, windows


@step("rank_swap", params=RankSwapParams)
def rank_swap(df: dd.DataFrame, params: RankSwapParams, ctx: StepContext) -> Effect:
    """Exchange values between records of close rank (rank swapping, sdcMicro's ``rankSwap``).

    Each variable is treated on its own. The n records with a value are ranked by value (ties
    by their position in the input); the window is ``w = floor(p/100 * n)`` ranks (``p``,
    default 15). Values are exchanged between pairs of records whose ranks differ by at most
    w: the ranks are cut into consecutive blocks of w + 1 (where the first block ends is
    random), the records of each block are paired at random and each pair swaps its values; in
    a block of odd size one record keeps its value. Every record is thus swapped at most once,
    and with a partner at most w ranks away.

    The released values of a variable are the original ones, reordered: its distribution
    (mean, quantiles, every count) is kept exactly; relations between variables, and with
    other columns, are weakened, the more so the larger p. Missing values stay missing, on the
    same records. The random choices depend only on the seed, the step's position and the
    data in input order, so the output does not depend on partitions or scheduler. The
    variables become decimal columns. The manifest records p, each variable's window and the
    share of its records with a value whose value changed (no data value).
    """
    found: Collected = ctx.values["records"]
    names = list(params.variables)
    swapped, windows = rank_swap_values(found.values, params.p, ctx.derive_key("rank_swap"))
    frame = replace_by_row(
        df, names, found.rows, swapped, name=ctx.derive_key("rank_swap").hex()[:16]
    )
    facts = {
        "p": params.p,
        "window": dict(zip(names, windows, strict=True)),
        "changed": {c: _changed(found.values[:, j], swapped[:, j]) for j, c in enumerate(names)},
    }
    return Effect(frame, facts)


def _changed(before: np.ndarray, after: np.ndarray) -> float:
    """The share of present values that changed (0 without any), rounded to 6 digits."""
    present = ~np.isnan(before)
    if not present.any():
        return 0.0
    return round(float(np.mean(before[present] != after[present])), 6)
