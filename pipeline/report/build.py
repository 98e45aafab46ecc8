"""Compute report snapshots of whole files (risk, histograms, categories), streamed."""

from __future__ import annotations

import math
from collections.abc import Iterator
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.core.groups import distinct_rows
from pipeline.recipe.models import Recipe, RiskSpec
from pipeline.report.model import CategoryCount, Histogram, Snapshot
from pipeline.risk.diversity import DiversityStream
from pipeline.risk.extras import Extras
from pipeline.risk.stream import RiskStream

_RISK_EDGES = [0.0, 0.001, 0.01, 0.05, 0.1, 0.2, 0.5, 1.0]
_TOP = 10
_DENSE = 1 << 26  # largest table of category pairs counted densely
_CUBE = 1 << 22  # cells of a table over several key variables whose groups are counted at once


class SnapshotStream:
    """A risk snapshot of a whole file fed chunk by chunk (``add``, then ``finish``).

    Over the recipe's key variables (``present``: the columns the file has; the weight,
    household and sensitive columns are used when present). Chunks must come in file order;
    see ``pipeline.risk.stream`` for the memory it holds (``spill_bytes``: its buckets' share
    in memory). Use as a context manager.
    """

    def __init__(
        self,
        recipe: Recipe,
        present: set[str],
        workdir: Path | None = None,
        spill_bytes: int | None = None,
    ) -> None:
        self.recipe = recipe
        spec = recipe.risk or RiskSpec()
        self._stream = RiskStream(
            recipe.columns.key_variables,
            spec.k,
            recipe.columns.weight if recipe.columns.weight in present else None,
            spec.household if spec.household in present else None,
            tuple(name for name in recipe.columns.sensitive if name in present),
            spec.missing,
            workdir,
            _extras(spec),
            spill_bytes,
        )
        self.columns = self._stream.columns

    def __enter__(self) -> SnapshotStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self._stream.close()

    def add(self, chunk: Any) -> None:
        """Take one chunk of records (an Arrow table or record batch)."""
        self._stream.add(chunk)

    def finish(self) -> Snapshot:
        """The snapshot of everything added."""
        result = self._stream.finish()
        keys, k = self.recipe.columns.key_variables, (self.recipe.risk or RiskSpec()).k
        return Snapshot(
            summary=result.summary,
            class_sizes=_class_sizes(result.fk_u, result.counts, k),
            individual_risk=_risk_histogram(result.rk_u, result.counts),
            risky_categories=_risky_categories(
                result.ucodes, result.counts, result.labels, keys, result.fk_u < k, k
            ),
            l_diversity=result.l_diversity,
        )


def _extras(spec: RiskSpec) -> Extras:
    """The measures the recipe's risk targets ask for beyond the frequencies."""
    model, people = spec.model, spec.population
    return Extras(
        spec.suda2_fraction(),
        model is not None,
        model.terms if model else None,
        (model.bound or math.inf) if model else math.inf,
        people is not None,
        people.sampling_fraction if people else None,
    )


def diversity_stream(recipe: Recipe, present: set[str]) -> DiversityStream | None:
    """The l-diversity / t-closeness consumer of the recipe's risk targets (None: none)."""
    spec = recipe.risk
    if spec is None or not recipe.columns.key_variables:
        return None
    targets = [m for m in (spec.l_diversity, spec.t_closeness) if m is not None]
    if (
        not targets
        or not {m.column for m in targets} | set(recipe.columns.key_variables) <= present
    ):
        return None
    return DiversityStream(recipe.columns.key_variables, spec.l_diversity, spec.t_closeness)


def snapshot(
    chunks: Any,
    recipe: Recipe,
    present: set[str] | None = None,
    workdir: Path | None = None,
) -> Snapshot:
    """Measure risk of a whole file over the recipe's key variables and summarize it.

    ``chunks`` is an Arrow table, or a function returning the named columns as an iterable of
    Arrow tables or record batches (with ``present``, the columns the file has). The file is
    streamed (see :class:`SnapshotStream`).
    """
    if not callable(chunks):
        table = chunks
        present = set(table.column_names)

        def chunks(names: list[str]) -> Any:
            return table.select(names).to_batches(max_chunksize=1 << 20)

    with SnapshotStream(recipe, present or set(), workdir) as stream:
        for chunk in chunks(stream.columns):
            stream.add(chunk)
        found = stream.finish()
    diversity = diversity_stream(recipe, present or set())
    if diversity is not None:
        for chunk in chunks(diversity.columns):
            diversity.add(chunk)
        found.summary = found.summary.model_copy(update=diversity.finish())
    return found


def _class_sizes(fk: np.ndarray, records: np.ndarray, k: int) -> Histogram:
    """Records by class size (fk per distinct combination, weighted by its records).

    Sizes 1 to 9 have a bar each, so do k and k + 1; the sizes between are one range bar and
    the last bar is open (at most 13 bars whatever k is).
    """
    top = max(k + 2, 10)
    edges = sorted({*range(1, 10), k, k + 1, top} - {0})
    labels = []
    for low, high in zip(edges, [*edges[1:], None], strict=True):
        if high is None:
            labels.append(f"{low}+")
        else:
            labels.append(str(low) if high == low + 1 else f"{low}-{high - 1}")
    bins = np.searchsorted(np.asarray(edges), np.maximum(fk, 1), side="right") - 1
    binned = np.bincount(bins, weights=records, minlength=len(edges))
    return Histogram(labels=labels, counts=[int(round(c)) for c in binned])


def _risk_histogram(rk: np.ndarray, records: np.ndarray) -> Histogram:
    edges = _RISK_EDGES
    labels = [f"{lo:g}-{hi:g}" for lo, hi in zip(edges, edges[1:], strict=False)]
    counts, _ = np.histogram(np.clip(rk, 0.0, 1.0), bins=edges, weights=records)
    return Histogram(labels=labels, counts=[int(round(c)) for c in counts])


def _risky_categories(
    ucodes: np.ndarray,
    counts: np.ndarray,
    labels: list[list[str]],
    keys: list[str],
    risky: np.ndarray,
    k: int,
) -> dict[str, list[CategoryCount]]:
    """Categories (and pairs) most held by records below k, never naming a rarer one.

    Works on the distinct key combinations with their record counts (no copy of them); ties
    are broken by the categories' codes (their order of first appearance in the file). One
    group's tally is held at a time (and the table it was summed from).
    """
    records = np.where(risky, counts, 0.0)
    total = int(round(float(records.sum())))
    if total == 0:
        return {}
    cards = [len(names) + 1 for names in labels]  # code + 1: 0 is missing
    plus = [np.ascontiguousarray(ucodes[:, j]) + 1 for j in range(len(keys))]  # each read once
    groups = [(key, (j,)) for j, key in enumerate(keys)]
    groups += [(f"{keys[a]} x {keys[b]}", (a, b)) for a, b in combinations(range(len(keys)), 2)]
    size = {cols: int(np.prod([cards[j] for j in cols])) for _, cols in groups}
    dense = [cols for _, cols in groups if size[cols] <= _DENSE]
    found: dict[tuple[int, ...], list[CategoryCount]] = {}
    for cols, tally in _dense_tallies(plus, cards, records, dense):
        cells, values = np.arange(size[cols]), []
        for j in cols[::-1]:
            values.insert(0, cells % cards[j] - 1)
            cells = cells // cards[j]
        found[cols] = _top(tally, values, cols, labels, k, total)
    picked = np.flatnonzero(risky)
    for cols in [cols for _, cols in groups if size[cols] > _DENSE]:
        # too many cells to count densely: count the risky combinations only
        key = distinct_rows(ucodes[picked][:, list(cols)])[1]
        tally = np.bincount(key, weights=records[picked])
        first = np.zeros(tally.size, dtype=np.int64)
        first[key[::-1]] = picked[::-1]
        found[cols] = _top(tally, [ucodes[first, j] for j in cols], cols, labels, k, total)
    return {title: found[cols] for title, cols in groups if found[cols]}


def _top(
    tally: np.ndarray,
    values: list[np.ndarray],
    cols: tuple[int, ...],
    labels: list[list[str]],
    k: int,
    total: int,
) -> list[CategoryCount]:
    """The most held cells of one group (at least ``k`` records each), and the rest (or none)."""
    tally = np.rint(tally).astype(np.int64)
    order = np.lexsort((*values[::-1], -tally))
    shown = [i for i in order[:_TOP] if tally[i] >= k]
    if not shown:
        return []

    def name(j: int, code: int) -> str:
        return "(missing)" if code < 0 else labels[j][code]

    items = [
        CategoryCount(
            value=" / ".join(name(j, int(values[c][i])) for c, j in enumerate(cols)),
            records=int(tally[i]),
        )
        for i in shown
    ]
    rest = total - sum(item.records for item in items)
    if rest:
        items.append(CategoryCount(value="(all other categories)", records=rest))
    return items


def _dense_tallies(
    plus: list[np.ndarray], cards: list[int], records: np.ndarray, groups: list[tuple[int, ...]]
) -> Iterator[tuple[tuple[int, ...], np.ndarray]]:
    """Each group's records per cell (cells in row-major order), as soon as it is counted.

    Groups (of variables in ascending order) are counted several at once: one table over the
    variables they share (at most :data:`_CUBE` cells, or one group's own), summed over the
    others for each group; the table is let go once its groups are given. The records are
    whole numbers, so every sum is exact whatever its order: the same tallies as a count of
    each group alone, in fewer passes over the combinations (the demo's 5 key variables at
    their input: 3 tables instead of 15 counts).
    """
    assert all(list(g) == sorted(g) for g in groups), "a group's variables in ascending order"

    def size(cols: set[int] | tuple[int, ...]) -> int:
        return int(np.prod([cards[j] for j in cols]))

    pending = list(groups)
    while pending:
        chosen = set(max(pending, key=size))
        limit = max(_CUBE, size(chosen))
        while True:  # add the variable that brings in the most groups still to count
            gains = {
                j: sum(set(g) <= chosen | {j} for g in pending)
                for j in range(len(cards))
                if j not in chosen and size(chosen | {j}) <= limit
            }
            if not gains or max(gains.values()) <= sum(set(g) <= chosen for g in pending):
                break
            chosen.add(max(gains, key=lambda j: (gains[j], -j)))
        order = sorted(chosen)
        key = plus[order[0]].astype(np.int64)
        for j in order[1:]:
            key *= cards[j]
            key += plus[j]
        table = np.bincount(key, weights=records, minlength=size(chosen))
        table = table.reshape([cards[j] for j in order])
        del key
        for g in [g for g in pending if set(g) <= chosen]:
            pending.remove(g)
            others = tuple(i for i, j in enumerate(order) if j not in g)
            yield g, (table.sum(axis=others) if others else table).ravel()
