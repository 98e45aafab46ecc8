"""SUDA2: special uniques, found by their minimal sample uniques (Elliot et al.; Manning et al.).

A record's *minimal sample unique* (MSU) is a set of key variables on which its values are
shared by no other record, while they are shared on every smaller set of those variables. A
record with a small MSU is a *special unique*: a few of its values single it out, whatever its
other values. Per record:

* ``score``: the sum over its MSUs of ``(M - k)!`` for an MSU of ``k`` of the ``M`` key
  variables (Elliot et al.'s SUDA score: fewer variables, more risk; an MSU of all ``M``
  variables scores 1).
* ``dis_score``: the DIS-SUDA score, the score scaled by the probability that a unique match of
  the sample is a correct match in the population, from the sampling fraction ``dis_fraction``
  (see :func:`dis_scores`).
* the contribution of each variable: the scores of the MSUs it belongs to, as a percentage of
  the record's score (sdcMicro's ``contributionPercent``); over the file, the scores of the MSUs
  a variable belongs to as a percentage of all scores (``attribute_contributions``).

**How it is computed.** Only the distinct key combinations and their record counts are read
(the run's key table), so the cost does not grow with the records beyond the combinations
``D``. A combination held by more than one record has no MSU. Every non-empty set of variables
``S`` is visited once, smaller sets first; the combinations are grouped by their values on
``S`` (a mixed-radix number hashed into dense ids) and a unique combination whose every
``S - {v}`` was shared has ``S`` as an MSU. Time ``O(2^M * D * M)``; memory the flags of one
size of sets over the uniques (``C(M, M/2)`` bytes a unique) plus a few arrays of ``D``. The
limits (:data:`MAX_KEYS` variables, :data:`MAX_WORK` combination visits,
:data:`MAX_FLAGS` flag bytes) are checked before any work and named in the error: 7 keys at a
million distinct combinations take seconds; 16 keys take ~65,000 visits of every combination.

**Missing values** (code ``-1``): with ``missing="any"`` (sdcMicro's ``missing = -999``
convention) a missing value is never part of an MSU: a set holding a variable a record lacks is
not one of its MSUs, and its missing value is shared with every value when other records are
grouped. With ``missing="category"`` it is a value like any other.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import combinations
from typing import Any, Literal

import numpy as np

from pipeline.core.errors import InputDataError, Problem
from pipeline.core.groups import combine, distinct_rows, factorize
from pipeline.risk.anymatch import any_frequencies

MAX_KEYS = 20  # more key variables are refused before any work (2^20 sets)
MAX_WORK = 2**33  # sets x distinct combinations visited (~minutes on one core)
MAX_FLAGS = 2**29  # bytes of one size of sets' flags over the uniques
MIN_M = 3  # sdcMicro pads fewer keys with constant columns, which count in M
Missing = Literal["any", "category", "unmatched"]
MISSING = ("any", "category", "unmatched")


@dataclass(frozen=True)
class Suda2:
    """SUDA2 per distinct key combination (rows of the code matrix it was given).

    Attributes:
        score: SUDA score of each combination (0 unless it is a sample unique with an MSU).
        dis_score: DIS-SUDA score of each combination.
        contribution: (combinations x variables) the score of the MSUs holding each variable.
        msus: Number of MSUs of each combination.
        smallest: Size of the smallest MSU of each combination (0: none).
    """

    score: np.ndarray
    dis_score: np.ndarray
    contribution: np.ndarray
    msus: np.ndarray
    smallest: np.ndarray


def check_limits(keys: int, combos: int, uniques: int) -> None:
    """Refuse a search past the limits before any work (named, with the figures).

    Raises:
        InputDataError: too many key variables, combinations x sets, or flag bytes.
    """
    problems = []
    if keys > MAX_KEYS:
        problems.append(f"{keys} key variables: SUDA2 serves at most {MAX_KEYS}")
    else:
        work = (2**keys - 1) * max(combos, 1)
        widest = math.comb(keys, keys // 2) * uniques
        if work > MAX_WORK:
            problems.append(
                f"{keys} key variables over {combos} distinct combinations need {work} "
                f"combination visits; at most {MAX_WORK} (use fewer key variables)"
            )
        if widest > MAX_FLAGS:
            problems.append(
                f"{uniques} sample uniques over {keys} key variables need {widest} bytes of "
                f"flags; at most {MAX_FLAGS} (use fewer key variables)"
            )
    if problems:
        raise InputDataError(
            [Problem(p, code="suda2_limit") for p in problems], title="SUDA2 limit"
        )


def msu_weights(keys: int) -> np.ndarray:
    """The score of an MSU of each size 0..keys: ``(M - k)!``, ``M`` at least 3 (sdcMicro)."""
    m = max(keys, MIN_M)
    return np.array([float(math.factorial(m - k)) for k in range(keys + 1)])


def suda2(
    codes: np.ndarray, counts: np.ndarray, dis_fraction: float = 0.01, missing: Missing = "any"
) -> Suda2:
    """SUDA2 of distinct key combinations ``codes`` (``-1`` = missing) held by ``counts`` records.

    Raises:
        InputDataError: past the limits (:func:`check_limits`).
    """
    d, m = codes.shape
    counts = np.asarray(counts, dtype=np.int64)
    unique = np.flatnonzero(counts == 1)
    check_limits(m, d, unique.size)
    weights = msu_weights(m)
    score = np.zeros(d)
    contribution = np.zeros((d, m))
    msus = np.zeros(d, dtype=np.int64)
    smallest = np.zeros(d, dtype=np.int64)
    lacks = codes[unique] < 0
    if missing == "category":
        lacks[:] = False
    previous: dict[tuple[int, ...], np.ndarray] = {(): np.zeros(unique.size, dtype=bool)}
    for size in range(1, m + 1):
        current: dict[tuple[int, ...], np.ndarray] = {}
        for subset in combinations(range(m), size):
            columns = list(subset)
            alone = _alone(codes[:, columns], counts, unique, missing == "any")
            current[subset] = alone
            smaller = np.zeros(unique.size, dtype=bool)
            for v in range(size):
                smaller |= previous[subset[:v] + subset[v + 1 :]]
            rows = unique[alone & ~smaller & ~lacks[:, columns].any(axis=1)]
            if rows.size:
                score[rows] += weights[size]
                contribution[np.ix_(rows, columns)] += weights[size]
                msus[rows] += 1
                smallest[rows] = np.where(smallest[rows] == 0, size, smallest[rows])
        previous = current
    dis = dis_scores(score, counts, max(m, MIN_M), dis_fraction)
    return Suda2(score, dis, contribution, msus, smallest)


def _alone(sub: np.ndarray, counts: np.ndarray, unique: np.ndarray, wildcard: bool) -> np.ndarray:
    """Whether each unique combination is the only record with its values on ``sub``.

    With ``wildcard`` a missing value (``-1``) matches every value; otherwise it is compared as
    a value (a record lacking one of the values is then never counted as this one's match).
    """
    if wildcard and (sub < 0).any():
        first, inverse = distinct_rows(sub)
        held = np.bincount(inverse, weights=counts, minlength=first.size)
        fk, _ = any_frequencies(sub[first], held, held, True)
        return fk[inverse[unique]] == 1
    ids, groups = factorize(combine(sub))
    held = np.bincount(ids, weights=counts, minlength=groups)
    return held[ids[unique]] == 1


def dis_scores(score: np.ndarray, counts: np.ndarray, keys: int, dis_fraction: float) -> np.ndarray:
    """DIS-SUDA scores (Elliot's DIS with the IHSN SUDA2 program's constants, as sdcMicro).

    With ``f`` the sampling fraction, ``P`` twice the number of key combinations held by
    exactly two records, ``N = P (1 - f) / f``, ``Q = 1 + (8 - M) / 20`` and ``A`` the sum of
    ``score^-Q`` over the records that score: ``dis = 1 / (1 + N / (score^Q A))`` for a record
    that scores, else 0. sdcMicro evaluates ``N`` and ``Q`` in single precision (and ``N``
    through a count of hash buckets that cancels out algebraically); here they are exact, which
    moves a score by less than 1e-7.
    """
    out = np.zeros(score.shape)
    scored = score > 0
    if not scored.any():
        return out
    pairs = 2.0 * float(np.count_nonzero(counts == 2))
    expected = pairs * (1.0 - dis_fraction) / dis_fraction
    q = 1.0 + (8.0 - keys) / 20.0
    powered = np.power(score[scored], q)
    total = float(np.sum(1.0 / powered))
    out[scored] = 1.0 / (1.0 + expected / (powered * total))
    return out


DIS_BANDS = (0.0, 0.01, 0.05, 0.1, 0.5)  # records counted above each DIS-SUDA score


def summary(found: Suda2, counts: np.ndarray, keys: list[str], dis_fraction: float) -> dict:
    """The file's SUDA2 figures (JSON-ready): counts of records, largest scores, contributions.

    ``special_uniques`` counts the records unique on fewer variables than the keys (an MSU
    smaller than all of them); ``scored`` those with any MSU. A variable's contribution is the
    score of the MSUs it belongs to, in percent of all scores (sdcMicro's
    ``attribute_contributions``; they add up to more than 100: an MSU holds several).
    """
    weight = np.asarray(counts, dtype=np.float64)
    total = float((found.score * weight).sum())
    held = (found.contribution * weight[:, None]).sum(axis=0)
    special = (found.smallest > 0) & (found.smallest < len(keys))
    return {
        "dis_fraction": dis_fraction,
        "scored": int(weight[found.score > 0].sum()),
        "special_uniques": int(weight[special].sum()),
        "max_score": float(found.score.max(initial=0.0)),
        "max_dis_score": float(found.dis_score.max(initial=0.0)),
        "dis_above": {str(band): int(weight[found.dis_score > band].sum()) for band in DIS_BANDS},
        "contributions": {
            key: (100.0 * float(held[j]) / total if total else 0.0) for j, key in enumerate(keys)
        },
    }


def check_fraction(dis_fraction: float) -> list[str]:
    """Why ``dis_fraction`` is not a sampling fraction in (0, 1] (empty: it is)."""
    number = isinstance(dis_fraction, (int, float)) and not isinstance(dis_fraction, bool)
    if not (number and 0 < dis_fraction <= 1):
        return ["dis_fraction must be a sampling fraction in (0, 1]"]
    return []


def records_of_table(table: Any, keys: list[str], dis_fraction: float, missing: Missing) -> Any:
    """Per-record SUDA2 of an Arrow table's key columns (a DataFrame in input order)."""
    import pandas as pd

    from pipeline.risk.encode import codes_from_arrow

    codes, _ = codes_from_arrow(table, keys)
    first, inverse = distinct_rows(codes)
    counts = np.bincount(inverse, minlength=first.size)
    found = suda2(codes[first], counts, dis_fraction, missing)
    score = found.score[inverse]
    share = found.contribution / np.where(found.score > 0, found.score, 1.0)[:, None]
    frame = pd.DataFrame({"score": score, "dis_score": found.dis_score[inverse]})
    for j, key in enumerate(keys):
        frame[f"{key}_contribution"] = share[inverse, j]
    frame.attrs["summary"] = summary(found, counts, keys, dis_fraction)
    return frame


def suda2_summary(
    codes: np.ndarray, counts: np.ndarray, keys: list[str], dis_fraction: float, missing: Missing
) -> dict:
    """The SUDA2 figures of a key table (distinct combinations and their record counts)."""
    held = np.rint(counts).astype(np.int64)
    return summary(suda2(codes, held, dis_fraction, missing), held, keys, dis_fraction)
