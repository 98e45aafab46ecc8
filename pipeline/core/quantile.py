"""Exact whole-file quantiles of a dask column in bounded memory (two passes, no sort).

numpy's default quantile (R's type 7) of n values at q is ``x[lo] + (x[hi] - x[lo]) * frac``
with ``h = (n - 1) * q``, ``lo = floor(h)``, ``hi = ceil(h)`` over the sorted values. Only the
values of rank lo and hi are needed:

1. every value is mapped to an order-preserving 64-bit key; a histogram of the keys' top 16 bits
   (tree-reduced over partitions) tells which buckets hold ranks lo and hi, and how many values
   come before them;
2. the distinct values of those one or two buckets are counted (tree-reduced) and ranks lo and
   hi are read off them.

Memory holds the histogram and the distinct values of two buckets, never the column.
"""

from __future__ import annotations

import math
from collections.abc import Generator
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    # imported where used: checking a recipe (``anonymize validate``) loads none of them
    import dask.dataframe as dd
    import pandas as pd

_SHIFT = np.uint64(48)
_SIGN = np.uint64(1 << 63)


def order_keys(values: np.ndarray) -> np.ndarray:
    """uint64 keys that sort like the float64 ``values`` (no NaN)."""
    bits = np.ascontiguousarray(values, dtype=np.float64).view(np.uint64)
    negative = (bits & _SIGN) != 0
    return np.where(negative, ~bits, bits | _SIGN)


def _values(part: pd.Series) -> np.ndarray:
    values = part.to_numpy(dtype="float64", na_value=np.nan)
    return values[~np.isnan(values)]


def _counted(keys: np.ndarray) -> pd.DataFrame:
    import pandas as pd

    distinct, counts = np.unique(keys, return_counts=True)
    return pd.DataFrame({"key": distinct, "n": counts.astype(np.int64)})


def _histogram(part: pd.Series) -> pd.DataFrame:
    return _counted((order_keys(_values(part)) >> _SHIFT).astype(np.int64))


def _tally(part: pd.Series, buckets: tuple[int, ...]) -> pd.DataFrame:
    values = _values(part)
    return _counted(values[np.isin((order_keys(values) >> _SHIFT).astype(np.int64), buckets)])


def _add(parts: pd.DataFrame) -> pd.DataFrame:
    return parts.groupby("key", as_index=False, sort=True)["n"].sum()


def _plan(column: dd.Series, chunk: object, meta: pd.DataFrame, **kwargs: object) -> Any:
    """Lazy counts per key over the whole column (tree-reduced)."""
    return column.reduction(
        chunk, aggregate=_add, combine=_add, split_every=8, meta=meta, chunk_kwargs=kwargs
    )


def _counts(out: pd.DataFrame) -> pd.Series:
    import pandas as pd

    return pd.Series(out["n"].to_numpy(), index=out["key"].to_numpy())


def quantile_plan(column: dd.Series, q: float) -> Generator[tuple, tuple, float | None]:
    """The q-quantile (numpy's linear interpolation) of the non-missing values of ``column``.

    A generator for the step contract: it yields the lazy reductions of its two passes, one
    tuple at a time, and receives their computed values; it returns the quantile, or None when
    the column has no values.
    """
    import pandas as pd

    meta = pd.DataFrame({"key": pd.Series([], dtype="int64"), "n": pd.Series([], dtype="int64")})
    (counted,) = yield (_plan(column, _histogram, meta),)
    histogram = _counts(counted)
    n = int(histogram.sum())
    if n == 0:
        return None
    h = (n - 1) * q
    lo, hi = math.floor(h), math.ceil(h)
    ends = np.cumsum(histogram.to_numpy())
    picked = np.searchsorted(ends, [lo, hi], side="right")  # bucket holding each rank
    wanted = tuple(int(histogram.index[i]) for i in sorted(set(picked.tolist())))
    (tallied,) = yield (_plan(column, _tally, meta.astype({"key": "float64"}), buckets=wanted),)
    tally = _counts(tallied)
    before = int(ends[picked[0] - 1]) if picked[0] > 0 else 0
    positions = np.cumsum(tally.to_numpy())
    values = tally.index.to_numpy(dtype=np.float64)
    x_lo = values[np.searchsorted(positions, lo - before, side="right")]
    x_hi = values[np.searchsorted(positions, hi - before, side="right")]
    return float(np.quantile(np.array([x_lo, x_hi]), h - lo))
