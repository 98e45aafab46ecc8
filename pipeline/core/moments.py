"""Whole-file means, standard deviations and covariances of numeric columns, summed exactly.

Each partition's exact sums (``pipeline.core.exact``: counts, sums, squares and cross products) are
added up over the partitions, so the figures are the same numbers whatever the partitions, the
scheduler or the order of the records, and values near the float limits (whose squares are
beyond them) are summed like any other. :class:`ExactMoments` turns the sums into floats with
one rounding each; a variance that is itself beyond the floats (values near 1e308) comes
scaled by a power of two. Used by ``add_noise`` (``pipeline.reductions.Moments``) and by the
information-loss figures of numeric variables (``pipeline.utility``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from pipeline.core import exact
from pipeline.core.exact import DOT_UNIT, SUM_UNIT, Split, ratio, split

if TYPE_CHECKING:
    # imported where used: checking a recipe (``anonymize validate``) loads none of them
    import pandas as pd

COUNT, SUM, _SQUARES, _COMPLETE, _CSUM, _CROSS = range(6)  # the kinds of sums
OWN = 6  # kinds from this one on are free for a caller's own sums (``term``)
_CHUNK = 1 << 16  # records summed at once (about 30 MB of working arrays for 6 columns)


def term(kind: int, i: int = 0, j: int = 0) -> int:
    """The number of one exact sum (kind, first and second variable)."""
    return (kind * 1000 + i) * 1000 + j


@dataclass(frozen=True)
class ExactMoments:
    """Exact sums of ``p`` numeric columns over the whole file, and the figures they give.

    Attributes:
        p: The number of columns.
        sums: Every exact sum by :func:`term` (counts, sums and squares of each column's
            present values; over the records with every column present, their count, sums
            and cross products), in the units of ``pipeline.core.exact``.
        blocks: The columns cut into this many equal blocks, cross products are summed
            within a block only (the covariance between blocks is NaN).
    """

    p: int
    sums: dict[int, int]
    blocks: int = 1

    def get(self, kind: int, i: int = 0, j: int = 0) -> int:
        """One exact sum (0 when nothing was added)."""
        return self.sums.get(term(kind, i, j), 0)

    @property
    def complete(self) -> int:
        """Records with every column present."""
        return self.get(_COMPLETE)

    def counts(self) -> np.ndarray:
        """Each column's present values."""
        return np.array([self.get(COUNT, j) for j in range(self.p)], dtype=np.int64)

    def column_mean(self, j: int) -> float | None:
        """The mean of column j's present values (None without any)."""
        m = self.get(COUNT, j)
        return ratio(self.get(SUM, j), m, SUM_UNIT) if m else None

    def correlations(self) -> np.ndarray:
        """The correlation matrix over the complete records (NaN where undefined)."""
        cov, _ = self.covariance_scaled()  # the scales cancel
        sd = np.sqrt(np.clip(np.diag(cov), 0, None))
        with np.errstate(invalid="ignore", divide="ignore"):  # sd 0 or NaN: undefined
            return cov / np.outer(sd, sd)

    def mean(self) -> np.ndarray:
        """The means over the records with every column present (NaN without any)."""
        n = self.complete
        if not n:
            return np.full(self.p, np.nan)
        return np.array([ratio(self.get(_CSUM, i), n, SUM_UNIT) for i in range(self.p)])

    def sd_scaled(self) -> tuple[np.ndarray, np.ndarray]:
        """Each column's sample sd over its present values as ``sd * 2**t``: (sd, t).

        NaN where fewer than two values are present.
        """
        sd, t = np.full(self.p, np.nan), np.zeros(self.p, dtype=np.int64)
        for j in range(self.p):
            m = self.get(COUNT, j)
            if m < 2:
                continue
            s = self.get(SUM, j)
            var = self.get(_SQUARES, j) * m - s * s  # * 2**-DOT_UNIT / (m (m - 1))
            t[j] = _half_exponent(var, m * (m - 1))
            sd[j] = np.sqrt(ratio(var, m * (m - 1), DOT_UNIT + 2 * int(t[j])))
        return sd, t

    def covariance_scaled(self) -> tuple[np.ndarray, np.ndarray]:
        """The sample covariance over the complete records as ``C[i, j] * 2**(t[i] + t[j])``.

        Each variable is scaled by its own power of two, so ``C`` is near a correlation
        matrix and holds no overflow; NaN with fewer than two complete records.
        """
        n = self.complete
        if n < 2:
            return np.full((self.p, self.p), np.nan), np.zeros(self.p, dtype=np.int64)
        sums, size = [self.get(_CSUM, i) for i in range(self.p)], max(1, self.p // self.blocks)
        exact = [
            [self.get(_CROSS, min(i, j), max(i, j)) * n - sums[i] * sums[j] for j in range(self.p)]
            for i in range(self.p)
        ]
        t = np.array([_half_exponent(exact[i][i], n * (n - 1)) for i in range(self.p)])
        out = np.array(
            [
                [
                    ratio(exact[i][j], n * (n - 1), DOT_UNIT + int(t[i] + t[j]))
                    if i // size == j // size
                    else np.nan
                    for j in range(self.p)
                ]
                for i in range(self.p)
            ]
        )
        return out, t


def _half_exponent(numerator: int, denominator: int) -> int:
    """The t with ``numerator / denominator * 2**-DOT_UNIT / 4**t`` near 1 (0 for 0)."""
    if numerator <= 0:
        return 0
    return (numerator.bit_length() - denominator.bit_length() - DOT_UNIT) // 2


def moment_limbs(part: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    """One partition's exact sums of ``names`` (see :class:`ExactMoments`) as limbs."""
    return exact.to_limbs(moment_sums(numbers(part, names)))


def numbers(part: pd.DataFrame, names: list[str]) -> np.ndarray:
    """The columns ``names`` as floats (records x columns, NaN: missing or not a number).

    An infinite value (only ever an overflow that a step's check refuses) counts as missing.
    """
    import pandas as pd

    if not len(part) or not names:
        return np.zeros((len(part), len(names)))
    x = np.column_stack(
        [
            pd.to_numeric(part[c], errors="coerce").to_numpy(np.float64, na_value=np.nan)
            for c in names
        ]
    )
    return np.where(np.isinf(x), np.nan, x)


def moment_sums(x: np.ndarray, blocks: int = 1) -> dict[int, int]:
    """The exact sums of :class:`ExactMoments` of ``x`` (records x columns, NaN: missing).

    With ``blocks``, cross products only within each of that many equal blocks of columns.
    The records are taken ``_CHUNK`` at a time (exact sums add up in any order), so memory
    holds a chunk's working arrays whatever the size of the partition.
    """
    sums: dict[int, int] = {}
    for start in range(0, max(1, x.shape[0]), _CHUNK):
        for key, value in _chunk_sums(x[start : start + _CHUNK], blocks).items():
            sums[key] = sums.get(key, 0) + value
    return sums


def _chunk_sums(x: np.ndarray, blocks: int) -> dict[int, int]:
    """:func:`moment_sums` of one chunk of records."""
    size = max(1, x.shape[1] // blocks)
    missing = np.isnan(x)
    full = ~missing.any(axis=1)
    sums: dict[int, int] = {term(_COMPLETE): int(full.sum())}
    columns: list[Split] = []
    for j in range(x.shape[1]):
        whole = split(np.where(missing[:, j], 0.0, x[:, j]))
        present = whole.take(~missing[:, j])
        sums[term(COUNT, j)] = int(present.bins.size)
        sums[term(SUM, j)] = exact.total(present)
        sums[term(_SQUARES, j)] = exact.dot(present, present)
        columns.append(whole.take(full))
    for i, a in enumerate(columns):
        sums[term(_CSUM, i)] = exact.total(a)
        for j in range(i, (i // size + 1) * size):
            sums[term(_CROSS, i, j)] = exact.dot(a, columns[j])
    return sums
