"""Exact sums of floats and of products of floats: no rounding, no overflow, no order.

Every float64 is an integer multiple of ``2**-SUM_UNIT`` and every product of two an integer
multiple of ``2**-DOT_UNIT``, so their sums are integers in those units, which Python holds
exactly whatever their size. A sum computed so does not depend on the order of the values, on
how the file is cut into partitions, or on how the partial sums are combined: a whole-file
mean, standard deviation or covariance is the same number for 1 or 8 partitions, and values
near the float limits (1e200 squared is beyond them) are summed like any other.

numpy does the work: each value is split into its binary exponent and three signed 18-bit
pieces of its significand; the pieces (or their products) are added up per exponent in int64
(``np.add.at``), which cannot overflow for ``_ROWS`` values at a time; Python ints then add
the few distinct exponents. Whole numbers below 2**53 (ages, amounts, counts: most columns)
are split as integers times 2**0, one exponent for all, so their pieces are added up by a plain
sum or dot product (the same integers; the utility's moments of 1M records x 3 whole-number
columns, 0.95 -> 0.72 s). A partition's sums travel between dask tasks as 32-bit limbs
(:func:`to_limbs`), added up as int64 by a group-by and turned back into ints by
:func:`from_limbs`.

The one rounding is the caller's last division (:func:`ratio`), correctly rounded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    # imported where used: checking a recipe (``anonymize validate``) loads none of them
    import pandas as pd

SUM_UNIT = 1126  # a float is (53-bit integer) * 2**(e - 53), e >= -1073
DOT_UNIT = 2 * SUM_UNIT
_BITS = 18  # three pieces of 18 bits hold a 53-bit significand and its sign
_MASK = (1 << _BITS) - 1
_ROWS = 1 << 24  # values handled at once: 3 * 2**36 * 2**24 < 2**63 (no int64 overflow)
_BINS = 2 * 1024 + 1073 + 1  # exponents of single values, from 0
_LIMB = 32


_WHOLE = 53 + 1073  # the bin of a whole number split as itself times 2**0


@dataclass(frozen=True)
class Split:
    """Finite floats split for exact sums: exponent bins and three signed significand pieces.

    ``uniform``: the one bin of every value (whole numbers), whose pieces then add up without
    a bin each.
    """

    bins: np.ndarray
    pieces: tuple[np.ndarray, np.ndarray, np.ndarray]
    uniform: int | None = None

    def take(self, mask: np.ndarray) -> Split:
        """The values where ``mask`` is true."""
        p0, p1, p2 = self.pieces
        return Split(self.bins[mask], (p0[mask], p1[mask], p2[mask]), self.uniform)


def split(v: np.ndarray, whole: bool = True) -> Split:
    """``v`` (finite floats) split once, for any number of :func:`total` and :func:`dot`.

    Whole numbers below 2**53 are split as themselves times 2**0 (``whole``: when they are
    all such); other values as a 53-bit significand times a power of two of their own.
    """
    v = np.asarray(v, dtype=np.float64).ravel()
    if whole and v.size and bool((np.abs(v) < 2.0**53).all() and (np.trunc(v) == v).all()):
        big, uniform = v.astype(np.int64), _WHOLE
        bins = np.full(v.size, _WHOLE, dtype=np.int64)
    else:
        mantissa, exponent = np.frexp(v)
        big = np.ldexp(mantissa, 53).astype(np.int64)  # v = big * 2**(exponent - 53), exact
        bins, uniform = exponent.astype(np.int64) + 1073, None
    sign, size = np.sign(big), np.abs(big)
    p0, p1, p2 = (sign * ((size >> (_BITS * k)) & _MASK) for k in range(3))
    return Split(bins, (p0, p1, p2), uniform)


def _gather(acc: np.ndarray, shift: int) -> int:
    """Sum of ``acc[i] * 2**(i + shift)`` as a Python int."""
    total = 0
    for i in np.flatnonzero(acc).tolist():
        total += int(acc[i]) << (i + shift)
    return total


def total(s: Split) -> int:
    """The sum of the split values in units of ``2**-SUM_UNIT`` (exact)."""
    out = 0
    for start in range(0, s.bins.size, _ROWS):
        bins = s.bins[start : start + _ROWS]
        for k, piece in enumerate(s.pieces):
            part = piece[start : start + _ROWS]
            if s.uniform is not None:  # one bin: |sum| < 2**18 * _ROWS
                out += int(part.sum()) << (s.uniform + _BITS * k)
            elif part.any():
                acc = np.zeros(_BINS, dtype=np.int64)
                np.add.at(acc, bins, part)
                out += _gather(acc, _BITS * k)
    return out


def dot(a: Split, b: Split) -> int:
    """The sum of the products of the split values in units of ``2**-DOT_UNIT`` (exact)."""
    out = 0
    for start in range(0, a.bins.size, _ROWS):
        at = slice(start, start + _ROWS)
        bins = a.bins[at] + b.bins[at]
        pa, pb = [p[at] for p in a.pieces], [p[at] for p in b.pieces]
        used_a, used_b = [p.any() for p in pa], [p.any() for p in pb]  # whole numbers: p0 = 0
        for c in range(5):  # pieces k and l meet at 2**(18 (k + l))
            ks = [k for k in range(max(0, c - 2), min(c, 2) + 1) if used_a[k] and used_b[c - k]]
            if not ks:
                continue
            if a.uniform is not None and b.uniform is not None:  # one bin: < 3 * 2**36 * _ROWS
                found = sum(int(np.dot(pa[k], pb[c - k])) for k in ks)
                out += found << (a.uniform + b.uniform + _BITS * c)
                continue
            terms = [pa[k] * pb[c - k] for k in ks]
            acc = np.zeros(2 * _BINS, dtype=np.int64)
            np.add.at(acc, bins, sum(terms[1:], terms[0]))
            out += _gather(acc, _BITS * c)
    return out


def exact_sum(v: np.ndarray) -> int:
    """The sum of the finite floats ``v`` in units of ``2**-SUM_UNIT`` (exact)."""
    return total(split(v))


def exact_dot(a: np.ndarray, b: np.ndarray) -> int:
    """The sum of ``a * b`` (finite floats) in units of ``2**-DOT_UNIT`` (exact)."""
    return dot(split(a), split(b))


def ratio(numerator: int, denominator: int, shift: int = 0) -> float:
    """``numerator / denominator * 2**-shift`` correctly rounded (inf beyond the floats)."""
    if denominator < 0:
        numerator, denominator = -numerator, -denominator
    if shift >= 0:
        denominator <<= shift
    else:
        numerator <<= -shift
    try:
        return numerator / denominator
    except OverflowError:
        return float("inf") if numerator > 0 else float("-inf")


def to_limbs(sums: dict[int, int]) -> pd.DataFrame:
    """``{term: exact int}`` as rows (term, limb, value) of signed 32-bit limbs."""
    import pandas as pd

    terms, limbs, values = [], [], []
    for term, total in sums.items():
        sign, size = (-1 if total < 0 else 1), abs(total)
        for limb in range(-(-size.bit_length() // _LIMB)):
            digit = (size >> (_LIMB * limb)) & ((1 << _LIMB) - 1)
            if digit:
                terms.append(term)
                limbs.append(limb)
                values.append(sign * digit)
    return pd.DataFrame(
        {
            "term": np.asarray(terms, np.int64),
            "limb": np.asarray(limbs, np.int64),
            "value": np.asarray(values, np.int64),
        }
    )


def add_limbs(limbs: Any) -> Any:
    """The limbs of every partition (a dask frame of :func:`to_limbs`) added up, lazily."""
    return limbs.groupby(["term", "limb"], sort=False)["value"].sum(split_every=8)


def from_limbs(found: pd.Series | pd.DataFrame) -> dict[int, int]:
    """The exact ints, by term, of limbs (:func:`to_limbs`, or :func:`add_limbs` computed)."""
    import pandas as pd

    rows = found.reset_index() if isinstance(found, pd.Series) else found
    out: dict[int, int] = {}
    for term, limb, value in zip(
        rows["term"].tolist(), rows["limb"].tolist(), rows["value"].tolist(), strict=True
    ):
        out[term] = out.get(term, 0) + (int(value) << (_LIMB * int(limb)))
    return out


def limbs_meta() -> pd.DataFrame:
    """The empty frame of :func:`to_limbs` (dask's meta)."""
    return to_limbs({})
