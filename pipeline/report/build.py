"""Compute report snapshots from whole-file Arrow tables (risk, histograms, categories)."""

from __future__ import annotations

from itertools import combinations
from typing import Any

import numpy as np

from pipeline.recipe.models import Recipe, RiskSpec
from pipeline.report.model import CategoryCount, Histogram, Snapshot
from pipeline.risk.encode import encode_arrow, weights_from_arrow
from pipeline.risk.frequencies import distinct_rows
from pipeline.risk.ldiversity import l_diversity
from pipeline.risk.measures import measure_risk

_RISK_EDGES = [0.0, 0.001, 0.01, 0.05, 0.1, 0.2, 0.5, 1.0]
_TOP = 10


def snapshot(source: Any, recipe: Recipe, present: set[str] | None = None) -> Snapshot:
    """Measure risk of a whole table over the recipe's key variables and summarize it.

    ``source`` is an Arrow table, or a function returning the named columns as one (with
    ``present``, the columns it has): columns are then read and encoded a few at a time, so
    only their integer codes are held together, not the text of the whole file.
    """
    if callable(source):
        read = source
    else:
        present = set(source.column_names)

        def read(names: list[str]) -> Any:
            return source.select(names)

    keys = recipe.columns.key_variables
    spec = recipe.risk or RiskSpec()
    codes, labels = encode_arrow(read(keys), keys)
    weight = recipe.columns.weight
    present = present or set()
    weights = weights_from_arrow(read([weight]), weight) if weight in present else None
    household = None
    if spec.household in present:
        household = encode_arrow(read([spec.household]), [spec.household], labels=False)[0][:, 0]
    result = measure_risk(codes, spec.k, weights, household, spec.missing)
    del weights, household
    summary = dict(result.summary)
    summary["key_variables"] = {
        key: {"categories": len(labels[j]), "missing": int((codes[:, j] < 0).sum())}
        for j, key in enumerate(keys)
    }
    ldiv = {}
    for name in recipe.columns.sensitive:
        if name in present:
            sensitive = encode_arrow(read([name]), [name], labels=False)[0][:, 0]
            ldiv[name] = l_diversity(codes, sensitive, classes=result.inverse)
    return Snapshot(
        summary=summary,
        class_sizes=_class_sizes(result.fk_u, result.counts, spec.k),
        individual_risk=_risk_histogram(result.rk_u, result.counts),
        risky_categories=_risky_categories(codes, labels, keys, result.fk < spec.k, spec.k),
        l_diversity=ldiv,
    )


def _class_sizes(fk: np.ndarray, records: np.ndarray, k: int) -> Histogram:
    """Records by class size (fk per distinct combination, weighted by its records)."""
    top = max(k + 2, 10)
    labels = [str(i) for i in range(1, top)] + [f"{top}+"]
    binned = np.bincount(np.minimum(fk, top), weights=records, minlength=top + 1)
    return Histogram(labels=labels, counts=[int(round(c)) for c in binned[1:]])


def _risk_histogram(rk: np.ndarray, records: np.ndarray) -> Histogram:
    edges = _RISK_EDGES
    labels = [f"{lo:g}-{hi:g}" for lo, hi in zip(edges, edges[1:], strict=False)]
    counts, _ = np.histogram(np.clip(rk, 0.0, 1.0), bins=edges, weights=records)
    return Histogram(labels=labels, counts=[int(round(c)) for c in counts])


def _risky_categories(
    codes: np.ndarray, labels: list[list[str]], keys: list[str], risky: np.ndarray, k: int
) -> dict[str, list[CategoryCount]]:
    """Categories (and pairs) most held by records below k, never naming a rarer one."""
    out: dict[str, list[CategoryCount]] = {}
    sub = codes[risky]

    def name(j: int, code: int) -> str:
        return "(missing)" if code < 0 else labels[j][code]

    groups = [(key, (j,)) for j, key in enumerate(keys)]
    groups += [(f"{keys[a]} x {keys[b]}", (a, b)) for a, b in combinations(range(len(keys)), 2)]
    for title, cols in groups:
        if sub.shape[0] == 0:
            break
        first, inverse = distinct_rows(sub[:, list(cols)])
        counts = np.bincount(inverse, minlength=first.size)
        order = np.argsort(-counts, kind="stable")
        shown = [i for i in order[:_TOP] if counts[i] >= k]
        if not shown:
            continue
        items = [
            CategoryCount(
                value=" / ".join(name(j, int(sub[first[i], j])) for j in cols),
                records=int(counts[i]),
            )
            for i in shown
        ]
        rest = int(sub.shape[0] - sum(item.records for item in items))
        if rest:
            items.append(CategoryCount(value="(all other categories)", records=rest))
        out[title] = items
    return out
