"""Issue 26: local suppression and the generalization search do not depend on the key order.

Ties are broken on the key variables' names and on codes of sorted values, never on positions:
permuting ``key_variables`` (and shuffling the records) gives the same suppressions per variable
and the same released values, under both missing-value conventions, with locked cells (a release
series) and with a partial ``importance``; the lattice search picks the same node.
"""

from __future__ import annotations

import itertools
import random

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.core.columns import ROW
from pipeline.core.groups import distinct_rows
from pipeline.recipe.models import ColumnsSpec
from pipeline.risk.encode import codes_from_pandas
from pipeline.risk.lattice import ladder, search
from pipeline.risk.privacy import Model
from pipeline.risk.suppression import default_order, importance_order, suppress
from pipeline.steps.registry import StepContext
from pipeline.steps.risk import LocalSuppressionParams, local_suppression
from tests.conftest import examples, run_step

NAMES = ("region", "age", "sex", "job")  # listed out of sorted order on purpose


def _records(seed: int = 7, n: int = 160) -> pd.DataFrame:
    """Text keys with tied numbers of categories (as a run reads a CSV)."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "region": rng.choice(["n", "s", "e", "w"], n),
            "age": rng.choice(["10", "20", "30", "40"], n, p=[0.4, 0.3, 0.2, 0.1]),
            "sex": rng.choice(["f", "m"], n),
            "job": rng.choice(["a", "b", "c", "d"], n),
        }
    ).astype("string")
    frame.loc[rng.random(n) < 0.05, "job"] = pd.NA
    frame[ROW] = np.arange(n, dtype="int64")
    return frame


@st.composite
def coded(draw):
    """Codes of 3-4 variables whose numbers of categories tie, counts, locks, key orders."""
    m = draw(st.integers(3, 4))
    k = draw(st.integers(2, 4))
    rows = draw(st.integers(k, 30))
    alphabet = draw(st.integers(2, 4))  # few categories: ties between variables are common
    values = draw(st.lists(st.integers(-1, alphabet - 1), min_size=rows * m, max_size=rows * m))
    codes = np.array(values, dtype=np.int32).reshape(rows, m)
    counts = np.array(draw(st.lists(st.integers(1, 3), min_size=rows, max_size=rows)), float)
    flags = draw(st.lists(st.booleans(), min_size=rows * m, max_size=rows * m))
    locked = np.array(flags, dtype=bool).reshape(rows, m) & (codes >= 0)
    named = draw(st.lists(st.sampled_from(NAMES[:m]), max_size=2, unique=True))
    orders = draw(st.lists(st.permutations(list(range(m))), min_size=4, max_size=4))
    return codes, counts, k, list(NAMES[:m]), locked, named, orders


def _cards(codes: np.ndarray) -> list[int]:
    return [int(codes[:, j].max(initial=-1)) + 1 for j in range(codes.shape[1])]


def _same_in_every_order(case: tuple, how: str, rng: random.Random) -> None:
    """``suppress`` on the columns in each order (and the rows shuffled) gives the same values."""
    codes, counts, k, names, locked, named, orders = case
    missing = "category" if how == "category" else "any"

    def run(cols: list[int], rows: np.ndarray):
        sub, keys = codes[rows][:, cols], [names[j] for j in cols]
        order = importance_order(keys, _cards(sub), named or None)
        lock = locked[rows][:, cols] if how == "locked" else None
        return suppress(sub, k, order, counts[rows], missing, lock)

    every = np.arange(len(codes))
    base = run(list(range(len(names))), every)
    for cols in orders:
        rows = np.array(rng.sample(range(len(codes)), len(codes)), dtype=np.int64)
        found = run(cols, rows)
        np.testing.assert_array_equal(found.codes, base.codes[rows][:, cols])
        np.testing.assert_array_equal(found.suppressed, base.suppressed[cols])


@settings(max_examples=examples(30), deadline=None)
@given(coded(), st.sampled_from(["any", "category", "locked"]), st.randoms(use_true_random=False))
def test_suppress_gives_the_same_result_in_every_key_order(case, how, rng) -> None:
    _same_in_every_order(case, how, rng)


@pytest.mark.parametrize("how", ["any", "category", "locked"])
def test_suppress_in_all_key_orders_on_generated_records(how: str) -> None:
    codes = codes_from_pandas(_records(seed=0), list(NAMES))  # as the step codes them
    locked = (np.random.default_rng(0).random(codes.shape) < 0.2) & (codes >= 0)
    orders = [list(p) for p in itertools.permutations(range(len(NAMES)))]
    case = (codes, np.ones(len(codes)), 3, list(NAMES), locked, [], orders)
    _same_in_every_order(case, how, random.Random(2))


def test_default_order_breaks_ties_on_names() -> None:
    # equal numbers of categories: the name sorting later is the less important
    assert default_order([3, 5, 3], ["b", "x", "a"]) == [1, 0, 2]
    assert default_order([3, 5, 3], ["a", "x", "b"]) == [1, 2, 0]
    assert default_order([3, 5, 3]) == [1, 2, 0]  # without names: the later one (sdcMicro)
    # importance names the most important; the rest by categories, then names
    assert importance_order(["c", "a", "b"], [2, 2, 2], ["b"]) == [0, 1, 2]
    with pytest.raises(ValueError, match="once"):
        suppress(np.zeros((4, 2), dtype=np.int32), 2, [0, 0])


def _step(frame: pd.DataFrame, keys: list[str], parts: int, **params) -> tuple[pd.DataFrame, dict]:
    ctx = StepContext(
        seed=1, index=0, name="local_suppression", columns=ColumnsSpec(key_variables=keys)
    )
    ddf = dd.from_pandas(frame, npartitions=parts, sort=False)
    with dask.config.set(scheduler="sync"):
        done = run_step(local_suppression, ddf, LocalSuppressionParams(**params), ctx)
        out = done.frame.compute()
    out = out.sort_values(ROW).reset_index(drop=True)[[*sorted(keys), ROW]]
    return out, done.facts


@pytest.mark.parametrize(
    "params",
    [{"k": 3}, {"k": 4, "missing": "category"}, {"k": 3, "importance": ["sex"]}],
    ids=["any", "category", "importance"],
)
def test_local_suppression_step_does_not_depend_on_the_key_order(params: dict) -> None:
    frame = _records()
    keys = list(NAMES)
    base, facts = _step(frame, keys, 1, **params)
    assert facts["suppressed_total"] > 0
    rng = np.random.default_rng(3)
    orders = [list(p) for p in itertools.permutations(keys)]
    for i in rng.choice(len(orders), 4, replace=False):
        shuffled = frame.iloc[rng.permutation(len(frame))]
        out, found = _step(shuffled, orders[i], 3, **params)
        pd.testing.assert_frame_equal(out, base)
        assert found["suppressions"] == facts["suppressions"]
        assert found["suppressed_total"] == facts["suppressed_total"]


def _lattice_table(cols: list[int]) -> tuple[np.ndarray, np.ndarray, list]:
    """Two variables exchangeable in the data (each record and its mirror) and one more."""
    rng = np.random.default_rng(5)
    x, y = rng.integers(0, 8, 300), rng.integers(0, 8, 300)
    z = rng.integers(0, 3, 600)
    data = np.column_stack([np.r_[x, y], np.r_[y, x], z])[:, cols]
    maps = [[np.arange(8) // 2, np.arange(8) // 4, np.zeros(8, int)]] * 2 + [[np.zeros(3, int)]]
    first, inverse = distinct_rows(data)
    counts = np.bincount(inverse).astype(np.float64)
    codes = data[first]
    ladders = [
        ladder(maps[c], np.bincount(codes[:, j], weights=counts, minlength=len(maps[c][0])))
        for j, c in enumerate(cols)
    ]
    return codes, counts, ladders


@pytest.mark.parametrize("metric", ["precision", "discernibility"])
def test_lattice_search_does_not_depend_on_the_key_order(metric: str) -> None:
    names = ["x", "y", "z"]
    model = Model(k=6, max_suppressed=30)
    chosen = set()
    for cols in itertools.permutations(range(3)):
        codes, counts, ladders = _lattice_table(list(cols))
        keys = [names[c] for c in cols]
        best = search(codes, counts, ladders, model, metric, names=keys).best
        full = search(codes, counts, ladders, model, metric, prune=False, names=keys).best
        assert best is not None and best == full
        chosen.add((tuple(sorted(zip(keys, best.levels, strict=True))), best.loss))
    assert len(chosen) == 1
