"""Optimal full-domain generalization: the lattice of level combinations, searched exactly.

A node gives each key variable a level of its hierarchy. At a node every value is replaced by
its generalization at that level; the records of classes (equal generalized key values, missing
a category of its own) smaller than k, or violating l-diversity / t-closeness, are suppressed
(all their key values). A node is *feasible* when at most ``max_suppressed`` records are. The
search returns the feasible node of least loss under the metric; ties go to the smaller sum of
levels, then to the lexicographically smaller node with the variables taken in the sorted order
of their names (given ``names``; else in their order), so that the result does not depend on the
order of the key variables (losses are summed in that order too).

Cost follows the distinct key combinations, never the records: every node is evaluated from
the table of distinct combinations (with counts, and sensitive values when l or t is asked),
rolled up from the table of the node it was reached from. Nodes are visited depth first, each
once; a node whose lower bound (its loss without suppression, which no node above it can
undercut) is no better than the best feasible node found so far is not evaluated, nor is any
node above it (monotonicity pruning; a bound equal to the best loss prunes only when no node
above can win the tie on the sum of levels). The result is the exact optimum (tests compare it
with an exhaustive evaluation of every node).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from pipeline.core.groups import combine, factorize, first_rows
from pipeline.risk.encode import name_ranks
from pipeline.risk.privacy import Model, violating

Metric = Literal["precision", "discernibility", "entropy", "loss"]
METRICS: tuple[str, ...] = ("precision", "discernibility", "entropy", "loss")


class NotAHierarchy(ValueError):
    """A level's group splits at the next level (the levels are not nested)."""


@dataclass(frozen=True)
class Ladder:
    """One key variable's levels over its codes (level 0 = the values themselves).

    Attributes:
        up: ``up[L][code at L]`` = code at ``L + 1``; each array has a trailing slot for -1.
        leaves: Per level, the level-0 values under each code (ARX's loss).
        log_f: Per level, log2 of the records under each code (non-uniform entropy).
    """

    up: tuple[np.ndarray, ...]
    leaves: tuple[np.ndarray, ...]
    log_f: tuple[np.ndarray, ...]

    @property
    def height(self) -> int:
        """Levels above 0."""
        return len(self.up)


def ladder(maps: list[np.ndarray], records: np.ndarray) -> Ladder:
    """The ladder of one variable.

    Args:
        maps: For levels 1..h, the code at that level of each level-0 code (dense 0..c-1).
        records: Records holding each level-0 code.

    Raises:
        NotAHierarchy: a code of some level maps to two codes of the next one.
    """
    levels = [np.arange(records.size, dtype=np.int64), *[np.asarray(m, np.int64) for m in maps]]
    up, leaves, log_f = [], [], []
    seen = records > 0  # leaves are the values the data holds
    for level, codes in enumerate(levels):
        size = int(codes.max(initial=-1)) + 1
        leaves.append(np.bincount(codes[seen], minlength=size).astype(np.float64))
        with np.errstate(divide="ignore"):
            log_f.append(np.log2(np.bincount(codes, weights=records, minlength=size)))
        if level + 1 < len(levels):
            nxt = levels[level + 1]
            step = np.full(size + 1, -1, dtype=np.int64)
            step[codes] = nxt
            if not np.array_equal(step[codes], nxt):
                raise NotAHierarchy(f"a level-{level} group splits at level {level + 1}")
            up.append(step)
    return Ladder(tuple(up), tuple(leaves), tuple(log_f))


@dataclass(frozen=True)
class Node:
    """One evaluated node."""

    levels: tuple[int, ...]
    loss: float
    bound: float
    suppressed: float
    feasible: bool


@dataclass(frozen=True)
class SearchResult:
    """The optimum and what the search did."""

    best: Node | None
    evaluated: int
    lattice: int
    feasible: int
    nodes: tuple[Node, ...]  # every evaluated node, in the order evaluated


@dataclass
class _Table:
    """A node's table: distinct rows (key codes, with the sensitive code when there is one)."""

    codes: np.ndarray  # rows x m, codes at the node's levels (-1 missing)
    counts: np.ndarray
    sensitive: np.ndarray | None


def _rolled(table: _Table, j: int, step: np.ndarray) -> _Table:
    """The table one level up in variable ``j``, rows merged."""
    codes = table.codes.copy()
    codes[:, j] = step[codes[:, j]]
    cols = [codes] if table.sensitive is None else [codes, table.sensitive[:, None]]
    ids, size = factorize(combine(np.column_stack(cols)))
    first = first_rows(ids, size)
    sens = None if table.sensitive is None else table.sensitive[first]
    return _Table(codes[first], np.bincount(ids, weights=table.counts, minlength=size), sens)


class _Scorer:
    """Loss and lower bound of a node from its table (see ``pipeline.utility.measures``)."""

    def __init__(
        self, base: _Table, ladders: list[Ladder], metric: Metric, rank: list[int]
    ) -> None:
        self.ladders, self.metric = ladders, metric
        self.m = base.codes.shape[1]
        self.n = float(base.counts.sum())
        self.sequence = sorted(range(self.m), key=lambda j: rank[j])  # sums in name order
        present = base.codes >= 0
        self.present = [float(base.counts[present[:, j]].sum()) for j in range(self.m)]
        self.domain = [max(1.0, float(lad.leaves[0].sum())) for lad in ladders]
        self.entropy0 = 0.0
        for lad in (ladders[j] for j in self.sequence):  # sum of -log2 f(x) (constant)
            f = lad.log_f[0]
            recs = np.exp2(f[np.isfinite(f)])
            self.entropy0 -= float((recs * f[np.isfinite(f)]).sum())

    def scores(
        self, table: _Table, levels: tuple[int, ...], bad_rows: np.ndarray
    ) -> tuple[float, float]:
        """The node's loss with ``bad_rows`` suppressed, and with none (its lower bound).

        Both from one look at each column: the bound's terms are the loss's, over the rows
        ``bad_rows`` leaves out too, so each sum runs over the same values in the same order
        as it would alone. Without records (a header-only input) nothing is lost: 0, 0.
        """
        n, counts, codes = self.n, table.counts, table.codes
        if n == 0:
            return 0.0, 0.0
        if self.metric == "discernibility":
            cls, size = factorize(combine(codes))
            kept = np.bincount(cls[~bad_rows], weights=counts[~bad_rows], minlength=size)
            every = np.bincount(cls, weights=counts, minlength=size)
            cut = float(counts[bad_rows].sum()) * n
            return float((kept * kept).sum()) + cut, float((every * every).sum()) + 0.0 * n
        loss = bound = self.entropy0 if self.metric == "entropy" else 0.0
        for j in self.sequence:
            lad, col, level = self.ladders[j], codes[:, j], levels[j]
            present = col >= 0
            spared = ~bad_rows[present]  # the present rows the loss keeps
            mine = counts[present]
            cut = float(counts[present & bad_rows].sum())
            if self.metric == "precision":
                share = level / lad.height if lad.height else 0.0
                loss += (cut + float(mine[spared].sum()) * share) / n / self.m
                bound += (0.0 + float(mine.sum()) * share) / n / self.m
                continue
            if self.metric == "loss":
                under = (lad.leaves[level][col[present]] - 1) / max(1.0, self.domain[j] - 1)
                terms = mine * under
                loss += (cut + float(terms[spared].sum())) / n / self.m
                bound += (0.0 + float(terms.sum())) / n / self.m
                continue
            terms = mine * lad.log_f[level][col[present]]
            loss += float(terms[spared].sum())
            loss += cut * math.log2(self.present[j]) if cut else 0.0
            bound += float(terms.sum())
            bound += 0.0  # the loss's term of no record cut, as it would add it alone
        return loss, bound


def _key(value: float) -> float:
    """Loss compared at 12 significant digits (float sums in any order tie)."""
    return float(f"{value:.12g}")


def _children(levels: tuple[int, ...], last: int, heights: list[int]) -> Iterator[int]:
    for j in range(last, len(levels)):
        if levels[j] < heights[j]:
            yield j


def search(
    codes: np.ndarray,
    counts: np.ndarray,
    ladders: list[Ladder],
    model: Model,
    metric: Metric = "precision",
    sensitive: np.ndarray | None = None,
    prune: bool = True,
    floor: tuple[int, ...] | None = None,
    names: Sequence[str] | None = None,
) -> SearchResult:
    """The feasible node of least loss (see the module docstring).

    Args:
        codes: Distinct rows of level-0 key codes (-1 missing); with ``sensitive``, rows are
            distinct (key codes, sensitive code) pairs.
        counts: Records of each row.
        ladders: One per key variable (height 0 for a variable that is not generalized).
        model: k, the suppression limit and the optional l-diversity / t-closeness.
        metric: The loss minimised.
        sensitive: Sensitive-value code of each row (for l-diversity / t-closeness).
        prune: Skip nodes whose lower bound cannot beat the best (False: evaluate all).
        floor: The levels a release series applied before: that node when it is feasible (the
            series keeps its levels), else the best node above it (levels only ever rise).
        names: The key variables' names (distinct), for ties; without them the result may
            depend on the order of the variables.
    """
    heights = [lad.height for lad in ladders]
    rank = name_ranks(names) if names is not None else list(range(len(ladders)))
    scorer = _Scorer(_Table(codes, counts, sensitive), ladders, metric, rank)
    better = _Better(rank)
    lattice = math.prod(h + 1 for h in heights)
    bottom = (
        tuple(min(f, h) for f, h in zip(floor, heights, strict=True))
        if floor
        else (tuple(0 for _ in heights))
    )
    start = _Table(codes.astype(np.int64), counts.astype(np.float64), sensitive)
    for j, level in enumerate(bottom):
        for step_up in ladders[j].up[:level]:
            start = _rolled(start, j, step_up)
    if floor is not None:
        node = _node(
            scorer,
            start,
            bottom,
            violating(start.codes, start.counts, start.sensitive, model, distinct=True),
            model,
        )
        if node.feasible:
            return SearchResult(node, 1, lattice, 1, (node,))
    stack = [(bottom, 0, start)]
    best: Node | None = None
    bounded: set[tuple[int, ...]] = set()
    nodes: list[Node] = []
    while stack:
        levels, last, table = stack.pop()
        preds = (levels[:j] + (levels[j] - 1,) + levels[j + 1 :] for j in range(len(levels)))
        if prune and any(p in bounded for p in preds if min(p) >= 0):
            bounded.add(levels)
            continue
        bad = violating(table.codes, table.counts, table.sensitive, model, distinct=True)
        node = _node(scorer, table, levels, bad, model)
        nodes.append(node)
        if node.feasible and (best is None or better.order(node) < better.order(best)):
            best = node
        if prune and best is not None and better.beyond(node, best):
            bounded.add(levels)
            continue
        for j in sorted(_children(levels, last, heights), reverse=True):
            child = levels[:j] + (levels[j] + 1,) + levels[j + 1 :]
            stack.append((child, j, _rolled(table, j, ladders[j].up[levels[j]])))
    feasible = sum(1 for node in nodes if node.feasible)
    return SearchResult(best, len(nodes), lattice, feasible, tuple(nodes))


@dataclass(frozen=True)
class _Better:
    """The order of nodes (loss, sum of levels, levels in name order) and the pruning test."""

    rank: list[int]

    def order(self, node: Node) -> tuple:
        """Smaller is better."""
        named = [0] * len(node.levels)
        for j, level in enumerate(node.levels):
            named[self.rank[j]] = level
        return (_key(node.loss), sum(node.levels), tuple(named))

    def beyond(self, node: Node, best: Node) -> bool:
        """No node above ``node`` (loss at least its bound, more levels) can beat ``best``."""
        bound, loss = _key(node.bound), _key(best.loss)
        return bound > loss or (bound == loss and sum(node.levels) >= sum(best.levels))


def _node(
    scorer: _Scorer, table: _Table, levels: tuple[int, ...], bad: np.ndarray, model: Model
) -> Node:
    suppressed = float(table.counts[bad].sum())
    loss, bound = scorer.scores(table, levels, bad)
    feasible = suppressed <= model.max_suppressed and model.suppression_allowed(
        table.codes, table.counts, bad
    )
    return Node(levels, loss, bound, suppressed, feasible)
