"""Risk and loss of perturbed variables: interval disclosure, record linkage, SSE/SST, PRAM.

Perturbation leaves every record in place but changes its values, so the questions are how
close a released record still is to its original and whether it can be linked back to it:

* SSE/SST: squared differences over the total sum of squares, on values standardised by the
  original's standard deviation (the microaggregation literature's loss);
* interval disclosure: the share of records whose original values all lie within the released
  value +- ``k`` sd (sd of the released variable, ``k`` = 0.05): sdcMicro 5.8.1's ``dRisk``
  (equal to it on CASC at six k's);
* distance-based record linkage: the share of released records whose nearest original record
  (Euclidean, standardised) is their own, ties counted as links (the attacker's best case);
  at most ``LINKED`` (100,000) released records, evenly spaced, are tried against every original.

For randomised categories (PRAM), the share of each category's values that changed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.utility.model import Perturbation

LINKED = 100_000
INTERVAL_K = 0.05
_LARGEST_Z = 480  # standardised values stay below 2**480: their sums of squares are floats


def perturbation(
    before: np.ndarray, after: np.ndarray, variables: list[str], interval_k: float = INTERVAL_K
) -> Perturbation:
    """The figures for records x variables arrays before and after (NaN: missing)."""
    both = ~(np.isnan(before).any(axis=1) | np.isnan(after).any(axis=1))
    x, y = before[both], after[both]
    n = x.shape[0]
    if n < 2:
        return Perturbation(
            variables=variables,
            records=n,
            sse_sst=None,
            interval_disclosure=None,
            record_linkage=None,
            linkage_records=0,
        )
    x, y, unit = _scaled(x, y)
    zx, zy = _standardised(x, y, unit)
    sst = float((zx * zx).sum())
    width = interval_k * _safe(y.std(axis=0, ddof=1), unit)
    outside = (np.abs(x - y) > width).sum(axis=1)
    tried = np.linspace(0, n - 1, min(n, LINKED)).astype(np.int64)
    return Perturbation(
        variables=variables,
        records=n,
        sse_sst=_round(float(((zx - zy) ** 2).sum()) / sst) if sst > 0 else None,
        interval_disclosure=_round(float((outside == 0).mean())),
        interval_k=interval_k,
        record_linkage=_round(_linked(zx, zy, tried)),
        linkage_records=int(tried.size),
    )


def _linked(zx: np.ndarray, zy: np.ndarray, tried: np.ndarray) -> float:
    """Share of ``tried`` released records whose own original is (one of) the nearest."""
    from scipy.spatial import cKDTree  # imported by the runs that perturb values only

    nearest, _ = cKDTree(zx).query(zy[tried], k=1)
    own = np.sqrt(((zx[tried] - zy[tried]) ** 2).sum(axis=1))
    return float((own <= nearest * (1 + 1e-9) + 1e-12).mean())


def _scaled(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each variable divided by the power of two just above its largest |value|, and 1 so.

    Exact, and no digit of a figure changes; but sums of squares and differences of values
    near the float limits (1e308 - -1e308) stay within the floats.
    """
    largest = np.maximum(np.abs(x).max(axis=0, initial=0.0), np.abs(y).max(axis=0, initial=0.0))
    _, exponent = np.frexp(largest)
    return np.ldexp(x, -exponent), np.ldexp(y, -exponent), np.ldexp(1.0, -exponent)


def _standardised(x: np.ndarray, y: np.ndarray, unit: np.ndarray) -> tuple:
    """Both, less the mean of x, over the sd of x (scaled values; sd 0 counts as 1).

    A variable whose sd is tiny beside its values would give values whose squares are beyond
    the floats: then every variable is divided by one more power of two (the figures are
    ratios and nearest neighbours, which do not change; this never happens on ordinary data).
    """
    mean, sd = x.mean(axis=0), _safe(x.std(axis=0, ddof=1), unit)
    fraction, exponent = np.frexp(sd)  # sd = fraction * 2**exponent
    shift = max(0, int((2 - exponent).max(initial=0)) - _LARGEST_Z)
    return (
        np.ldexp((x - mean) / fraction, -exponent - shift),
        np.ldexp((y - mean) / fraction, -exponent - shift),
    )


def _safe(sd: np.ndarray, unit: np.ndarray) -> np.ndarray:
    """``sd``, or 1 (in the variable's scaled unit) where it is 0."""
    return np.where((sd > 0) & np.isfinite(sd), sd, unit)


def _round(value: float) -> float:
    return round(value, 6)


def category_changes(pairs: pd.DataFrame) -> tuple[float | None, list[float]]:
    """Share of values changed overall and per category (sorted), from (before, after, n).

    Values missing before or after are left out (suppression is not randomisation).
    """
    seen = pairs[pairs["before"].notna() & pairs["after"].notna()]
    if seen.empty:
        return None, []
    text_b, text_a = seen["before"].astype(str), seen["after"].astype(str)
    changed = seen["n"].where(text_b != text_a, 0)
    per = pd.DataFrame({"b": text_b, "n": seen["n"], "c": changed}).groupby("b", sort=True).sum()
    total = float(per["n"].sum())
    shares = [_round(float(c) / float(n)) for c, n in zip(per["c"], per["n"], strict=True)]
    return _round(float(per["c"].sum()) / total), shares
