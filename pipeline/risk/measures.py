"""Individual, global and household re-identification risk, as sdcMicro computes them.

Individual risk follows sdcMicro's default (Benedetti-Franconi approximation). With
``pk = fk / Fk``:

* fk = 1: ``pk / (1 - pk) * log(1 / pk)``
* fk = 2: ``pk / (1 - pk) - (pk / (1 - pk))**2 * log(1 / pk)``
* fk > 2: ``pk / (fk - (1 - pk))``
* ``1 / fk`` when fk == Fk or there are no weights.

Global risk: expected re-identifications ``ER = sum(rk)`` and ``global_risk = ER / records``.
Household risk: ``1 - prod(1 - rk)`` over the members of each household.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from pipeline.risk.frequencies import (
    Frequencies,
    Missing,
    distinct_frequencies,
    distinct_rows,
    factorize,
)


def individual_risk(freq: Frequencies, weighted: bool) -> np.ndarray:
    """Per-record re-identification risk rk."""
    fk = freq.fk.astype(np.float64)
    if not weighted:
        return 1.0 / fk
    Fk = np.nan_to_num(freq.Fk, nan=0.0)  # noqa: N806 - a missing weight counts as 0
    equal = np.isclose(fk, Fk) | (Fk <= fk)
    with np.errstate(divide="ignore", invalid="ignore"):
        pk = np.where(equal, 0.5, fk / np.where(Fk > 0, Fk, 1.0))
        ratio = pk / (1.0 - pk)
        log_inv = np.log(1.0 / pk)
        one = ratio * log_inv
        two = ratio - ratio**2 * log_inv
        more = pk / (fk - (1.0 - pk))
    rk = np.where(fk == 1, one, np.where(fk == 2, two, more))
    return np.where(equal, 1.0 / fk, rk)


def household_risk(rk: np.ndarray, household: np.ndarray) -> np.ndarray:
    """Per-record household risk ``1 - prod(1 - rk)`` over the record's household.

    ``household`` holds dense integer ids (one per household, -1 = a household of its own).
    """
    ids = household.astype(np.int64)
    alone = ids < 0
    if alone.any():
        ids = ids.copy()
        ids[alone] = ids.max(initial=-1) + 1 + np.arange(int(alone.sum()))
    if ids.size and ids.max() > 4 * ids.size + 4096:  # not dense: make it so
        ids, _ = factorize(ids)
    with np.errstate(divide="ignore"):
        log_safe = np.log1p(-np.clip(rk, 0.0, 1.0))
    total = np.bincount(ids, weights=log_safe)
    return 1.0 - np.exp(total[ids])


_BLOCK = 1 << 20


@dataclass
class RiskResult:
    """Risk per distinct key combination (with record counts) plus the summary figures.

    Records with the same key codes share fk, Fk and rk, so the arrays are kept per distinct
    combination (``*_u``) and spread to records on demand (``fk``, ``Fk``, ``rk``).
    """

    inverse: np.ndarray  # record -> distinct combination
    counts: np.ndarray  # records per distinct combination
    fk_u: np.ndarray
    Fk_u: np.ndarray  # noqa: N815
    rk_u: np.ndarray
    k: int
    household_rk: np.ndarray | None = None
    summary: dict = field(default_factory=dict)
    first: np.ndarray | None = None  # the first record of each distinct combination

    @property
    def fk(self) -> np.ndarray:
        """Sample frequency of each record."""
        return self.fk_u[self.inverse]

    @property
    def Fk(self) -> np.ndarray:  # noqa: N802
        """Weighted frequency of each record."""
        return self.Fk_u[self.inverse]

    @property
    def rk(self) -> np.ndarray:
        """Individual risk of each record."""
        return self.rk_u[self.inverse]


def measure_risk(
    codes: np.ndarray,
    k: int = 3,
    weights: np.ndarray | None = None,
    household: np.ndarray | None = None,
    missing: Missing = "any",
) -> RiskResult:
    """Compute fk, Fk, rk (and household risk) over the whole file, with a summary."""
    n = int(codes.shape[0])
    first, inverse = distinct_rows(codes) if n else (np.zeros(0, np.int64), np.zeros(0, np.int64))
    counts = np.bincount(inverse, minlength=first.size).astype(np.float64)
    sums = counts
    if weights is not None:
        sums = np.bincount(
            inverse, weights=np.asarray(weights, dtype=np.float64), minlength=first.size
        )
        if np.isnan(sums).any():  # a missing weight counts as 0
            w = np.asarray(weights, dtype=np.float64)
            sums = np.bincount(inverse, weights=np.where(np.isnan(w), 0.0, w), minlength=first.size)
    fk_u, Fk_u, rk_u, summary = distinct_risk(  # noqa: N806
        codes[first], counts, sums, k, weights is not None, missing
    )
    result = RiskResult(inverse, counts, fk_u, Fk_u, rk_u, k, None, summary, first)
    if household is not None:
        hh = household_risk(result.rk, household)
        result.household_rk = hh
        summary["household_expected_reidentifications"] = float(hh.sum())
        summary["household_global_risk"] = float(hh.mean()) if n else 0.0
    return result


def distinct_risk(
    ucodes: np.ndarray,
    counts: np.ndarray,
    sums: np.ndarray,
    k: int,
    weighted: bool,
    missing: Missing = "any",
) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict]:
    """Frequencies fk, Fk and risk rk of each distinct combination, and the file's summary.

    Args:
        ucodes: Distinct key-code vectors (one row per combination, -1 = missing).
        counts: Records per combination.
        sums: Weight sum per combination (``counts`` when unweighted).
        k: The k counted in ``k_violations``.
        weighted: Whether ``sums`` are weights (rk then uses the Benedetti-Franconi formula).
        missing: Missing-value convention.

    """
    n = int(round(float(counts.sum())))
    fk_u, Fk_u = distinct_frequencies(ucodes, counts, sums, missing, distinct=True)  # noqa: N806
    rk_u = np.empty(fk_u.size, dtype=np.float64)
    for lo in range(0, fk_u.size, _BLOCK):  # in blocks: the formula makes a dozen temporaries
        block = Frequencies(fk_u[lo : lo + _BLOCK], Fk_u[lo : lo + _BLOCK])
        rk_u[lo : lo + _BLOCK] = individual_risk(block, weighted=weighted)
    er = float((rk_u * counts).sum())
    summary = {
        "records": n,
        "k": k,
        "missing": missing,
        "weighted": weighted,
        "sample_uniques": int(counts[fk_u == 1].sum()),
        "k_violations": int(counts[fk_u < k].sum()),
        "expected_reidentifications": er,
        "global_risk": er / n if n else 0.0,
        "max_individual_risk": float(rk_u.max()) if n else 0.0,
        "classes": int(ucodes.shape[0]),
        "other_convention": _other_convention(ucodes, counts, sums, k, missing, fk_u),
    }
    return fk_u, Fk_u, rk_u, summary


def _other_convention(
    ucodes: np.ndarray,
    counts: np.ndarray,
    sums: np.ndarray,
    k: int,
    missing: Missing,
    fk: np.ndarray,
) -> dict:
    """Sample uniques and records below k under the other convention (the same without missing)."""
    other = "category" if missing == "any" else "any"
    if (ucodes < 0).any():
        fk = distinct_frequencies(ucodes, counts, sums, other, distinct=True)[0]
    return {
        "missing": other,
        "sample_uniques": int(counts[fk == 1].sum()),
        "k_violations": int(counts[fk < k].sum()),
    }
