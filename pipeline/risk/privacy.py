"""Privacy models over classes of a table of distinct rows: k-anonymity, l-diversity, t-closeness.

Classes are equal key-code rows (missing a category of its own). For a sensitive variable:

* distinct l: at least l distinct sensitive values in the class;
* entropy l: ``exp(entropy)`` of the class's sensitive values at least l;
* recursive (c, l): with the class's value counts sorted descending ``r1 >= r2 >= ...``,
  ``r1 < c * (r_l + r_(l+1) + ...)``;
* t-closeness: the earth mover's distance between the class's distribution and the whole
  file's at most t; equal distances between categories (half the L1 distance), or, for an
  ordered variable (numbers), ``sum_i |cumulative difference up to i| / (m - 1)`` over the m
  distinct values.

Missing sensitive values are not counted within a class (the distributions are over the
present values).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from pydantic import Field

from pipeline.core.columns import StrictModel
from pipeline.core.groups import combine, factorize, first_rows


class LDiversity(StrictModel):
    """l-diversity of a sensitive variable within every released class."""

    column: str
    l: float = Field(2, ge=1, description="The l (an integer for distinct and recursive).")  # noqa: E741
    kind: Literal["distinct", "entropy", "recursive"] = "distinct"
    c: float = Field(2.0, gt=0, description="The c of recursive (c, l)-diversity.")


class TCloseness(StrictModel):
    """t-closeness of a sensitive variable (earth mover's distance, ordered for numbers)."""

    column: str
    t: float = Field(gt=0, le=1)


@dataclass(frozen=True)
class Model:
    """k, the records that may be suppressed, and the optional l / t requirements."""

    k: int
    max_suppressed: float = 0.0
    category: bool = False  # missing = category: suppressed records form a class too
    l_kind: Literal["distinct", "entropy", "recursive"] | None = None
    l: float = 2.0  # noqa: E741 - the l of l-diversity
    c: float = 2.0
    t: float | None = None
    ordered: bool = False  # t-closeness with the ordered distance (codes in value order)

    def suppression_allowed(self, codes: np.ndarray, counts: np.ndarray, bad: np.ndarray) -> bool:
        """Whether the suppressed records may be released as they are.

        Under ``category`` they and the records missing every key value form one class, which
        must then hold at least k records.
        """
        suppressed = float(counts[bad].sum())
        if not self.category or suppressed == 0:
            return True
        empty = (codes < 0).all(axis=1) & ~bad
        return suppressed + float(counts[empty].sum()) >= self.k


def violating(
    codes: np.ndarray,
    counts: np.ndarray,
    sensitive: np.ndarray | None,
    model: Model,
    distinct: bool = False,
) -> np.ndarray:
    """Rows whose class breaks the model (they would be suppressed).

    ``distinct``: the rows are known to be distinct key combinations (a lattice node's table
    without a sensitive column), each a class of its own, so they are not grouped again.
    """
    if distinct and sensitive is None:
        return counts < model.k
    cls, size = factorize(combine(codes)) if codes.shape[0] else (np.zeros(0, np.int64), 0)
    sizes = np.bincount(cls, weights=counts, minlength=size)
    bad = sizes < model.k
    if sensitive is not None and (model.l_kind or model.t is not None):
        bad |= _diversity_bad(cls, size, counts, sensitive, model)
    return bad[cls]


def _diversity_bad(
    cls: np.ndarray, size: int, counts: np.ndarray, sensitive: np.ndarray, model: Model
) -> np.ndarray:
    """Classes breaking l-diversity or t-closeness (rows are distinct (class, value) pairs)."""
    ok = sensitive >= 0
    pc, ps, pn = cls[ok], sensitive[ok].astype(np.int64), counts[ok]
    pair, _ = factorize(pc * (int(ps.max(initial=0)) + 1) + ps)  # rows may repeat after a roll
    first = first_rows(pair, int(pair.max(initial=-1)) + 1)
    pc, ps, pn = pc[first], ps[first], np.bincount(pair, weights=pn)
    total = np.bincount(pc, weights=pn, minlength=size)
    bad = np.zeros(size, dtype=bool)
    if model.l_kind == "distinct":
        bad |= np.bincount(pc, minlength=size) < model.l
    elif model.l_kind == "entropy":
        p = pn / total[pc]
        entropy = np.bincount(pc, weights=-p * np.log(p), minlength=size)
        bad |= np.exp(entropy) < model.l - 1e-12
    elif model.l_kind == "recursive":
        bad |= ~_recursive_ok(pc, pn, size, model.c, int(model.l))
    if model.t is not None:
        whole = np.bincount(ps, weights=pn, minlength=int(ps.max(initial=-1)) + 1)
        bad |= emd(pc, ps, pn, total, whole, size, model.ordered) > model.t + 1e-12
    return bad | (total == 0)  # a class without any sensitive value meets neither


def _recursive_ok(pc: np.ndarray, pn: np.ndarray, size: int, c: float, ell: int) -> np.ndarray:
    order = np.lexsort((-pn, pc))
    cs, ns = pc[order], pn[order]
    starts = np.searchsorted(cs, np.arange(size))
    rank = np.arange(cs.size) - starts[cs]
    r1 = np.bincount(cs, weights=np.where(rank == 0, ns, 0.0), minlength=size)
    tail = np.bincount(cs, weights=np.where(rank >= ell - 1, ns, 0.0), minlength=size)
    return r1 < c * tail


def emd(
    pc: np.ndarray,
    ps: np.ndarray,
    pn: np.ndarray,
    total: np.ndarray,
    whole: np.ndarray,
    size: int,
    ordered: bool,
) -> np.ndarray:
    """Earth mover's distance of each class's distribution from the whole file's.

    ``pc, ps, pn``: class, sensitive code and records of each distinct (class, value) pair.
    """
    q = whole / whole.sum()
    p = pn / total[pc]
    if not ordered:  # equal distances: half the L1 distance, over every value
        seen = np.bincount(pc, weights=np.abs(p - q[ps]), minlength=size)
        unseen = 1.0 - np.bincount(pc, weights=q[ps], minlength=size)
        return 0.5 * (seen + unseen)
    m = q.size
    if m < 2:
        return np.zeros(size)
    big_q = np.cumsum(q)  # Q_i: whole-file cumulative share up to value i
    prefix = np.concatenate([[0.0], np.cumsum(big_q)])
    order = np.lexsort((ps, pc))
    cs, vs, shares = pc[order], ps[order], p[order]
    cum = np.cumsum(shares)
    starts = np.searchsorted(cs, np.arange(size))
    cum -= np.concatenate([[0.0], cum])[starts][cs]  # cumulative within the class
    nxt = np.append(vs[1:], m)
    nxt[np.append(cs[1:] != cs[:-1], True)] = m  # a class's last value runs to the end
    # the class's cumulative share is cum on [v, next v); below its first value it is 0
    out = np.bincount(cs, weights=_abs_sum(cum, vs, nxt, big_q, prefix), minlength=size)
    firsts = vs[starts[np.unique(cs)]]
    out[np.unique(cs)] += prefix[firsts]  # sum of Q_i for i below the first value
    return out / (m - 1)


def _abs_sum(
    c: np.ndarray, a: np.ndarray, b: np.ndarray, big_q: np.ndarray, prefix: np.ndarray
) -> np.ndarray:
    """Sum over i in [a, b) of |c - Q_i| (Q non-decreasing), for each segment."""
    split = np.clip(np.searchsorted(big_q, c, side="right"), a, b)
    below = c * (split - a) - (prefix[split] - prefix[a])
    above = (prefix[b] - prefix[split]) - c * (b - split)
    return below + above
