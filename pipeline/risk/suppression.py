"""Local suppression to k-anonymity: set key values to missing until every fk >= k.

Two conventions for missing values (``pipeline.risk.frequencies.Missing``):

* ``any`` (sdcMicro's): a missing value matches any value, so a suppression can only raise the
  fk of the record and of the records it now matches; repeating rounds therefore ends, at worst
  with every key of an unsafe record missing (which matches the whole file).
* ``category`` (ARX's reading): a suppressed value is a value of its own, the same one as a value
  that was already missing; classes are an ordinary group-by. A suppression moves the records
  of a class below k into another class, which only grows, so classes of k or more stay so.
  Rounds end when every record below k is fully suppressed; if the all-missing class is still
  below k, further records are fully suppressed to join it (see ``_fill``).

Each round considers every record still below k at once. For each key variable, in order from
the least to the most important, it works out the fk the record would reach if that variable
were suppressed (for all unsafe records together, since records suppressed alike match each
other). A record gets its least important variable that reaches k; if none does, the one that
raises fk most. Rounds repeat until k holds. A final pass then tries to give suppressed values
back, most important variable first, keeping every restoration that leaves k intact.

No tie is broken on a key variable's position: the columns are taken least important first, so
with an order free of the key list's order (``importance_order``: ties by name) and codes of
sorted values, the result does not depend on the order of the key variables.

Under ``any`` a second candidate is worked out the same way from nearest-neighbour passes
(sdcMicro's idea, see ``pipeline.risk.suppression_nearest``), which need fewer suppressions
where records have few close neighbours (many categories per variable); the candidate with fewer
suppressed values wins, then the one with fewer in the more important variables, then the
rounds' one. Both candidates depend on the distinct records only, so the result does too.

Fewest suppressions is deliberately not searched for exactly under ``any``: there a record whose
values are all missing matches every record, so k - 1 such records make any file "k-anonymous"
with (k - 1) x m suppressions, protecting nobody in practice; an exact minimiser finds such
solutions. Both candidates instead first suppress a value in every record below k, as sdcMicro
does, and give values back afterwards.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from pipeline.core.groups import combine, distinct_rows
from pipeline.risk.encode import name_ranks
from pipeline.risk.frequencies import Missing, distinct_frequencies
from pipeline.risk.suppression_nearest import nearest_passes


class TooFewRecords(ValueError):
    """Fewer records than k: k-anonymity is impossible (the message holds counts only)."""


@dataclass(frozen=True)
class SuppressionResult:
    """The suppressed codes and how many values of each key variable were suppressed."""

    codes: np.ndarray
    suppressed: np.ndarray  # per key variable
    rounds: int  # rounds, or nearest-neighbour passes when those won


def suppress(
    codes: np.ndarray,
    k: int,
    order: list[int] | None = None,
    counts: np.ndarray | None = None,
    missing: Missing = "any",
    locked: np.ndarray | None = None,
) -> SuppressionResult:
    """Suppress values of ``codes`` (n x m, -1 = missing) until every record has fk >= k.

    Args:
        codes: Integer codes of the key variables; not modified.
        k: The k of k-anonymity.
        order: Key-variable indices from the least to the most important (suppressed first to
            last), each once. Defaults to the original column order reversed.
        counts: Records each row of ``codes`` stands for (e.g. distinct combinations of a
            file with their record counts); default one each.
        missing: Convention for missing values, under which k must hold: ``any`` (a missing
            value matches any value) or ``category`` (missing, suppressed or not, is a value
            of its own).
        locked: Cells that may not be suppressed (n x m; a release series' values that an
            earlier release showed). Records below k with nothing left to suppress stay below
            k (the caller decides); the nearest-neighbour candidate is not tried.

    Raises:
        ValueError: fewer than k records (k-anonymity is impossible), or ``order`` does not
            name every variable once.

    """
    m = codes.shape[1]
    n = codes.shape[0] if counts is None else int(round(float(np.sum(counts))))
    if 0 < n < k:
        raise TooFewRecords(f"only {n} records: k-anonymity with k={k} is impossible")
    order = list(range(m))[::-1] if order is None else [int(v) for v in order]
    if sorted(order) != list(range(m)):
        raise ValueError("order must name every key variable once")
    if n == 0:
        return SuppressionResult(codes.copy(), np.zeros(m, dtype=np.int64), 0)
    # the columns least important first: from here on a variable's position is its importance
    cols = np.asarray(order, dtype=np.int64)
    lock = np.zeros(codes.shape, bool) if locked is None else np.asarray(locked, bool)
    original, lock, inverse, mult = _distinct(codes[:, cols], lock[:, cols], counts)
    order = list(range(m))

    def fk_of(work: np.ndarray) -> np.ndarray:
        return distinct_frequencies(work, mult, mult, missing)[0]

    work, rounds = _rounds(original, mult, k, order, fk_of, lock)
    work = _give_back(work, original, k, order[::-1], fk_of)
    suppressed = _suppressed(work, original, mult)
    if missing == "any" and rounds > 0 and not lock.any():
        found = nearest_passes(original, mult, k, order, fk_of)
        if found is not None:
            near = _give_back(found[0], original, k, order[::-1], fk_of)
            near_suppressed = _suppressed(near, original, mult)
            if _cost(near_suppressed, order) < _cost(suppressed, order):
                work, suppressed, rounds = near, near_suppressed, found[1]
    back = np.argsort(cols)
    return SuppressionResult(work[inverse][:, back], suppressed[back], rounds)


def _distinct(
    codes: np.ndarray, lock: np.ndarray, counts: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Distinct (codes, lock) rows in lexicographic order, their locks, each row's, counts.

    Identical records are treated alike: the result depends on the records, not their order.
    """
    whole = np.hstack([codes, lock.astype(codes.dtype)]) if lock.any() else codes
    first, inverse = distinct_rows(whole)
    lex = np.lexsort(whole[first].T[::-1])
    rank = np.empty_like(lex)
    rank[lex] = np.arange(lex.size)
    mult = np.bincount(rank[inverse], weights=counts, minlength=first.size).astype(np.float64)
    return codes[first][lex], lock[first][lex], rank[inverse], mult


def default_order(cards: list[int], names: Sequence[str] | None = None) -> list[int]:
    """The default importance of sdcMicro: key-variable indices, least to most important.

    A variable with more categories is less important. Of two with as many categories the one
    whose name sorts later is the less important; without ``names`` the later one (sdcMicro's
    stable sort of the numbers of categories: the same when the keys are listed sorted).

    Args:
        cards: Number of categories (distinct values, missing not counted) of each variable.
        names: The variables' names (distinct), for ties.

    """
    tie = list(range(len(cards))) if names is None else name_ranks(names)
    return sorted(range(len(cards)), key=lambda j: (-cards[j], -tie[j]))


def importance_order(
    names: Sequence[str], cards: list[int], importance: Sequence[str] | None = None
) -> list[int]:
    """Key-variable indices from the least to the most important, whatever the keys' order.

    Args:
        names: The key variables' names (distinct), in the order of ``cards`` and the codes.
        cards: Number of categories of each variable.
        importance: Names from the most important down (the most important of all); the
            variables it does not name come before them in the default order
            (``default_order``: more categories = less important, ties by name).

    """
    named = [list(names).index(name) for name in importance or []]
    return [j for j in default_order(cards, names) if j not in named] + named[::-1]


def _rounds(
    original: np.ndarray,
    mult: np.ndarray,
    k: int,
    order: list[int],
    fk_of: Callable[[np.ndarray], np.ndarray],
    lock: np.ndarray | None = None,
) -> tuple[np.ndarray, int]:
    """Suppress in rounds (all records below k at once) until k holds; also the rounds.

    Records below k whose unlocked values are all suppressed are left as they are.
    """
    work = original.copy()
    lock = np.zeros(work.shape, dtype=bool) if lock is None else lock
    rounds = 0
    while True:
        fk = fk_of(work)
        below = fk < k
        if not below.any():
            return work, rounds
        rounds += 1
        # fully suppressed records below k (only under "category") have nothing left to give
        free = (work >= 0) & ~lock
        unsafe = np.flatnonzero(below & free.any(axis=1))
        if unsafe.size == 0:
            if lock.any():  # what is left below k is locked: the caller decides
                return work, rounds
            _fill(work, np.rint(mult).astype(np.int64), fk, k)
            continue
        choice = _choose(work, unsafe, fk, k, order, fk_of, lock)
        work[unsafe, choice] = -1


def _suppressed(work: np.ndarray, original: np.ndarray, mult: np.ndarray) -> np.ndarray:
    """Values newly suppressed per key variable (records, not distinct vectors)."""
    newly = (work < 0) & (original >= 0)
    return np.rint((newly * mult[:, None]).sum(axis=0)).astype(np.int64)


def _cost(suppressed: np.ndarray, order: list[int]) -> tuple[int, ...]:
    """Total suppressions, then those of each variable from the most important down."""
    return (int(suppressed.sum()), *(int(suppressed[v]) for v in order[::-1]))


def _choose(
    work: np.ndarray,
    unsafe: np.ndarray,
    fk: np.ndarray,
    k: int,
    order: list[int],
    fk_of: Callable[[np.ndarray], np.ndarray],
    lock: np.ndarray,
) -> np.ndarray:
    """Pick the variable to suppress for each unsafe record (never a locked cell)."""
    best_var = np.full(unsafe.size, -1, dtype=np.int64)
    best_fk = fk[unsafe].copy()
    safe_var = np.full(unsafe.size, -1, dtype=np.int64)
    for v in order:
        present = (work[unsafe, v] >= 0) & ~lock[unsafe, v]
        if not present.any():
            continue
        trial = work.copy()
        trial[unsafe[present], v] = -1
        fk_v = np.where(present, fk_of(trial)[unsafe], -1)
        reaches = (fk_v >= k) & (safe_var < 0)
        safe_var[reaches] = v
        better = fk_v > best_fk
        best_var[better] = v
        best_fk[better] = fk_v[better]
    chosen = np.where(safe_var >= 0, safe_var, best_var)
    fallback = chosen < 0  # no single variable raises fk: take the least important present one
    for i in np.flatnonzero(fallback):
        chosen[i] = next(v for v in order if work[unsafe[i], v] >= 0 and not lock[unsafe[i], v])
    return chosen


def _fill(work: np.ndarray, mult: np.ndarray, fk: np.ndarray, k: int) -> None:
    """Fully suppress further rows (in place) until the all-missing class reaches k.

    Only needed under ``category``, once every row below k is fully suppressed and the
    all-missing class (suppressed and originally missing values alike) is still below k. Rows
    are taken whole (a row stands for identical records) where they cost least: first from
    classes larger than k, never taking a class below k, fewest present values per record
    first, then fewest records, then the lexicographic order of the rows; if those cannot make
    up the shortfall, the smallest whole class (fewest present values, then first in order),
    which is enough on its own since it has at least k records.
    """
    present = (work >= 0).sum(axis=1)
    empty = present == 0
    need = k - int(mult[empty].sum())
    group = distinct_rows(work)[1]
    slack = np.bincount(group, weights=mult).astype(np.int64) - k  # fk of the class - k
    rows = np.flatnonzero(~empty & (fk > k))
    taken: list[int] = []
    for i in rows[np.lexsort((rows, mult[rows], present[rows]))]:
        if need <= 0:
            break
        if mult[i] <= slack[group[i]]:
            slack[group[i]] -= mult[i]
            need -= int(mult[i])
            taken.append(int(i))
    if need > 0:  # the smallest whole class
        rows = np.flatnonzero(~empty)
        smallest = rows[np.lexsort((rows, present[rows], fk[rows]))[0]]
        taken = np.flatnonzero(group == group[smallest]).tolist()
    work[taken] = -1


def _give_back(
    work: np.ndarray,
    codes: np.ndarray,
    k: int,
    most_first: list[int],
    fk_of: Callable[[np.ndarray], np.ndarray],
) -> np.ndarray:
    """Restore suppressed values, most important variable first, while k-anonymity holds.

    All candidates of a variable are restored at once; restorations whose record falls below k
    are undone, and when only other records fall below k, those whose other key values equal
    theirs (the records they matched, or under ``category`` the class they left), else the
    later half, until the file is k-anonymous again. Each pass undoes at least one restoration,
    so it ends; every accepted state is checked over the whole file (with ``fk_of``'s
    convention).
    """
    for v in most_first:
        trial = np.flatnonzero((work[:, v] < 0) & (codes[:, v] >= 0))
        while trial.size:
            work[trial, v] = codes[trial, v]
            unsafe = fk_of(work) < k
            if not unsafe.any():
                break
            work[trial, v] = -1
            keep = ~unsafe[trial]
            if keep.all():  # only other records fell below k: undo restorations near them
                others = [c for c in range(work.shape[1]) if c != v]
                group = combine(work[:, others])
                keep = ~np.isin(group[trial], group[unsafe])
                if keep.all():
                    keep[trial.size // 2 :] = False
            trial = trial[keep]
    return work
