"""Risky categories from the distinct combinations: dense and sparse counting agree."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from pipeline.recipe.models import ColumnsSpec, Recipe
from pipeline.report import build


def _recipe() -> Recipe:
    return Recipe.model_validate(
        {
            "version": 1,
            "name": "t",
            "seed": 1,
            "input": {"path": "x.csv"},
            "output": {"dir": "out"},
            "columns": ColumnsSpec(key_variables=["a", "b", "c"]).model_dump(),
            "risk": {"k": 2},
        }
    )


def _table() -> pa.Table:
    rng = np.random.default_rng(11)
    n = 3_000
    a = rng.choice(["x", "y", "z", None], n, p=[0.5, 0.3, 0.15, 0.05])
    return pa.table(
        {
            "a": pa.array(list(a), pa.string()),
            "b": pa.array(rng.integers(0, 40, n)),
            "c": pa.array(rng.integers(0, 90, n)),
        }
    )


def test_risky_categories_dense_and_sparse_agree(monkeypatch):
    dense = build.snapshot(_table(), _recipe())
    monkeypatch.setattr(build, "_DENSE", 0)
    sparse = build.snapshot(_table(), _recipe())
    assert dense.risky_categories == sparse.risky_categories
    assert set(dense.risky_categories) == {"a", "b", "c", "a x b", "a x c", "b x c"}
    for items in dense.risky_categories.values():
        shown = [i.records for i in items if i.value != "(all other categories)"]
        assert shown == sorted(shown, reverse=True)
        assert min(shown) >= 2
        total = sum(i.records for i in items)
        assert total == dense.summary.k_violations


def test_class_size_histogram_stays_small_for_any_k():
    """Before: a label per class size up to k (k = 1e23 grew the run to 24 GB)."""
    from pipeline.report.build import _class_sizes

    fk = np.array([1, 2, 3, 5, 12, 100, 10**6])
    small = _class_sizes(fk, np.ones(7), 3)
    assert small.labels == [*map(str, range(1, 10)), "10+"]
    assert small.counts == [1, 1, 1, 0, 1, 0, 0, 0, 0, 3]
    big = _class_sizes(fk, np.ones(7), 100_000)
    assert len(big.labels) <= 13 and sum(big.counts) == 7
    assert big.labels[-3:] == ["100000", "100001", "100002+"] and big.counts[-1] == 1


def test_groups_counted_together_are_counted_as_each_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    """A table over several variables, summed per group, gives each group's own count."""
    from itertools import combinations

    rng = np.random.default_rng(5)
    cards = [4, 3, 60, 9, 7, 2]  # categories + 1 (0: missing)
    plus = [rng.integers(0, c, 20_000) for c in cards]
    records = np.where(rng.random(20_000) < 0.6, rng.integers(1, 50, 20_000), 0).astype(float)
    groups = [(j,) for j in range(6)] + list(combinations(range(6), 2))
    for cube in (1 << 22, 200, 1):  # every table at once; several; each group its own
        monkeypatch.setattr(build, "_CUBE", cube)
        found = dict(build._dense_tallies(plus, cards, records, groups))
        assert set(found) == set(groups)
        for cols in groups:
            key = np.ravel_multi_index([plus[j] for j in cols], [cards[j] for j in cols])
            alone = np.bincount(
                key, weights=records, minlength=int(np.prod([cards[j] for j in cols]))
            )
            assert np.array_equal(found[cols], alone), (cube, cols)


def test_groups_past_the_dense_limit_are_counted_sparsely_beside_the_rest(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Some groups counted in tables, the others risky combination by risky combination."""
    dense = build.snapshot(_table(), _recipe())
    monkeypatch.setattr(build, "_DENSE", 0)
    sparse = build.snapshot(_table(), _recipe())
    monkeypatch.setattr(build, "_DENSE", 400)  # a x b, a x c dense (164, 364 cells); b x c not
    monkeypatch.setattr(build, "_CUBE", 1)
    mixed = build.snapshot(_table(), _recipe())
    assert mixed.risky_categories == dense.risky_categories == sparse.risky_categories
