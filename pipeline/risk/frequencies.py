"""Sample frequencies fk and weighted frequencies Fk of key-variable combinations.

Key variables are integer codes per column (``-1`` = missing). Two conventions for missing
values:

* ``any`` (default, sdcMicro's): a missing value matches every value, in both records. The fk
  of a record is the number of records that agree with it on every key variable where neither
  is missing; Fk is the sum of their weights.
* ``category``: a missing value is a category of its own (ordinary group-by).

Records with identical codes have identical frequencies, so the work is done once per distinct
combination (usually far fewer than records) and spread back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from pipeline.core.groups import combine, distinct_rows, factorize
from pipeline.risk.anymatch import any_frequencies

__all__ = ["Frequencies", "Missing", "combine", "distinct_rows", "factorize", "frequencies"]

Missing = Literal["any", "category"]


@dataclass(frozen=True)
class Frequencies:
    """fk and Fk for each record (Fk equals fk when there are no weights)."""

    fk: np.ndarray
    Fk: np.ndarray  # noqa: N815 - the statistical notation


def frequencies(
    codes: np.ndarray, weights: np.ndarray | None = None, missing: Missing = "any"
) -> Frequencies:
    """Compute fk and Fk of every record over the key-variable codes (n rows x m keys)."""
    n = codes.shape[0]
    if n == 0:
        return Frequencies(np.zeros(0, dtype=np.int64), np.zeros(0))
    first, inverse = distinct_rows(codes)
    counts = np.bincount(inverse, minlength=first.size).astype(np.float64)
    sums = (
        counts
        if weights is None
        else np.bincount(
            inverse, weights=np.asarray(weights, dtype=np.float64), minlength=first.size
        )
    )
    fk_u, Fk_u = distinct_frequencies(codes[first], counts, sums, missing, distinct=True)
    fk = fk_u[inverse]
    return Frequencies(fk, Fk_u[inverse] if weights is not None else fk.astype(np.float64))


def distinct_frequencies(
    ucodes: np.ndarray,
    counts: np.ndarray,
    sums: np.ndarray,
    missing: Missing = "any",
    distinct: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Return fk and Fk of each code vector, given its record count and weight sum.

    ``distinct`` tells that the rows of ``ucodes`` are distinct (a faster path with missing
    values matching any value: see ``pipeline.risk.anymatch``).
    """
    if missing == "category" or not (ucodes < 0).any():
        if distinct:
            return np.rint(counts).astype(np.int64), sums.astype(np.float64)
        first, inverse = distinct_rows(ucodes)  # equal rows: each one's frequency is theirs
        fk = np.bincount(inverse, weights=counts, minlength=first.size)
        Fk = np.bincount(inverse, weights=sums, minlength=first.size)  # noqa: N806
        return np.rint(fk[inverse]).astype(np.int64), Fk[inverse]
    return any_frequencies(ucodes, counts, sums, distinct)
