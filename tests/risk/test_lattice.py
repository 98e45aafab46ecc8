"""The lattice search returns the true optimum: checked against every node, evaluated apart.

The oracle generalizes the records themselves with pandas, suppresses the records of classes
below k (or breaking l / t), and measures the loss with ``pipeline.utility`` (the figures a run
reports); the search must pick the feasible node of least loss, ties to the smaller level sum.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import wasserstein_distance

from pipeline.core.groups import distinct_rows
from pipeline.risk.lattice import METRICS, NotAHierarchy, _Scorer, _Table, ladder, search
from pipeline.risk.privacy import Model, violating
from pipeline.utility.aggregate import UtilityPlan
from pipeline.utility.compare import compare
from tests.conftest import examples

AGE = np.arange(60)
AGE_MAPS = [AGE // 5, AGE // 15, AGE * 0]  # 5 years, 15 years, *
REGION = np.arange(12)
REGION_MAPS = [REGION // 4, REGION * 0]
SEX_MAPS = [np.zeros(2, dtype=np.int64)]
MAPS = [AGE_MAPS, SEX_MAPS, REGION_MAPS]


def _records(seed: int, n: int = 1500) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "age": np.minimum(rng.gamma(4, 7, n).astype(int), 59),
            "sex": rng.integers(0, 2, n),
            "region": rng.zipf(1.6, n) % 12,
            "income": rng.integers(0, 8, n) * (1 + rng.integers(0, 2, n)),
        }
    )


def _table(records: pd.DataFrame, sensitive: bool):
    cols = ["age", "sex", "region", *(["income"] if sensitive else [])]
    codes = records[cols].to_numpy(dtype=np.int64)
    first, inverse = distinct_rows(codes)
    counts = np.bincount(inverse).astype(np.float64)
    codes = codes[first]
    ladders = []
    for j, maps in enumerate(MAPS):
        size = len(maps[0])
        ladders.append(ladder(maps, np.bincount(codes[:, j], weights=counts, minlength=size)))
    return codes[:, :3], counts, ladders, (codes[:, 3] if sensitive else None)


HEIGHTS = (3, 1, 2)


def _released(records: pd.DataFrame, levels: tuple, model: Model) -> tuple:
    """The records generalized to ``levels`` and which of them the model suppresses."""
    released = records.copy()
    for j, column in enumerate(["age", "sex", "region"]):
        if levels[j]:
            released[column] = MAPS[j][levels[j] - 1][records[column].to_numpy()]
    codes = released[["age", "sex", "region"]].to_numpy(dtype=np.int64)
    sens = records["income"].to_numpy(dtype=np.int64) if model.l_kind or model.t else None
    return released, codes, violating(codes, np.ones(len(codes)), sens, model)


def _oracle(records: pd.DataFrame, levels: tuple, model: Model, metric: str) -> tuple:
    """(loss, suppressed records, feasible) of a node, computed on the records."""
    _, codes, bad = _released(records, levels, model)
    n = len(records)
    if metric == "precision":
        loss = float(
            np.mean(
                [np.where(bad, 1.0, lv / h).mean() for lv, h in zip(levels, HEIGHTS, strict=True)]
            )
        )
    elif metric == "discernibility":
        sizes = pd.Series(map(tuple, codes[~bad])).value_counts().to_numpy(float)
        loss = float((sizes**2).sum()) + float(bad.sum()) * n
    elif metric == "entropy":
        loss = _entropy(records, levels, bad)
    else:
        loss = _arx_loss(records, levels, bad)
    suppressed = int(bad.sum())
    return (
        loss,
        suppressed,
        suppressed <= model.max_suppressed
        and model.suppression_allowed(codes, np.ones(len(codes)), bad),
    )


@pytest.mark.slow
def test_node_figures_are_the_runs_utility_figures() -> None:
    """What the search minimises is what a run reports (precision, discernibility)."""
    records = _records(seed=0)
    codes, counts, ladders, _ = _table(records, False)
    model = CASES[0]
    keys = ("age", "sex", "region")
    for metric in ("precision", "discernibility"):
        result = search(codes, counts, ladders, model, metric, prune=False)
        for node in result.nodes[::5]:
            released, _, bad = _released(records, node.levels, model)
            released = released.astype("Int64")
            released.loc[bad, list(keys)] = pd.NA
            heights = {c: (lv, h) for c, lv, h in zip(keys, node.levels, HEIGHTS, strict=True)}
            found = compare(records.astype("Int64"), released, UtilityPlan(keys, keys, ()), heights)
            figure = found.precision_loss if metric == "precision" else found.discernibility
            assert figure == pytest.approx(node.loss, rel=1e-5)


def _entropy(records: pd.DataFrame, levels: tuple, bad: np.ndarray) -> float:
    """ARX's non-uniform entropy: -log2(f(x) / f(g(x))) with the input's frequencies."""
    total = 0.0
    for j, column in enumerate(["age", "sex", "region"]):
        values = records[column].to_numpy()
        mapped = MAPS[j][levels[j] - 1][values] if levels[j] else values
        f = pd.Series(values).map(pd.Series(values).value_counts()).to_numpy(float)
        big_f = pd.Series(mapped).map(pd.Series(mapped).value_counts()).to_numpy(float)
        big_f = np.where(bad, len(values), big_f)
        total += float(np.log2(big_f / f).sum())
    return total


def _arx_loss(records: pd.DataFrame, levels: tuple, bad: np.ndarray) -> float:
    """ARX's loss: (leaves under the released value - 1) / (leaves - 1), suppressed 1."""
    total = 0.0
    for j, column in enumerate(["age", "sex", "region"]):
        values = records[column].to_numpy()
        mapped = MAPS[j][levels[j] - 1][values] if levels[j] else values
        leaves = pd.Series(values).groupby(mapped).nunique()
        cell = (pd.Series(mapped).map(leaves).to_numpy(float) - 1) / (len(set(values)) - 1)
        total += float(np.where(bad, 1.0, cell).mean()) / 3
    return total


CASES = [
    Model(k=5, max_suppressed=60),
    Model(k=3, max_suppressed=0),
    Model(k=10, max_suppressed=200, category=True),
    Model(k=4, max_suppressed=100, l_kind="distinct", l=3),
    Model(k=2, max_suppressed=150, l_kind="entropy", l=2.5),
    Model(k=2, max_suppressed=150, l_kind="recursive", l=2, c=3),
    Model(k=2, max_suppressed=300, t=0.3),
    Model(k=2, max_suppressed=300, t=0.25, ordered=True),
]


@pytest.mark.slow
@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("case", range(len(CASES)))
def test_search_finds_the_true_optimum(metric: str, case: int) -> None:
    model = CASES[case]
    records = _records(seed=case)
    with_sensitive = bool(model.l_kind or model.t)
    codes, counts, ladders, sensitive = _table(records, with_sensitive)
    result = search(codes, counts, ladders, model, metric, sensitive)
    nodes = list(itertools.product(range(4), range(2), range(3)))
    truth = {node: _oracle(records, node, model, metric) for node in nodes}
    feasible = [n for n in nodes if truth[n][2]]
    expected = min(feasible, key=lambda n: (round(truth[n][0], 5), sum(n), n))
    assert result.best is not None and result.best.levels == expected
    assert result.best.loss == pytest.approx(truth[expected][0], rel=1e-5, abs=1e-9)
    assert result.best.suppressed == truth[expected][1]
    assert result.lattice == len(nodes) and result.evaluated <= len(nodes)
    # every evaluated node's figures are the oracle's
    for node in result.nodes:
        loss, suppressed, ok = truth[node.levels]
        assert (node.suppressed, node.feasible) == (suppressed, ok)
        assert node.loss == pytest.approx(loss, rel=1e-5, abs=1e-9)


def test_pruning_skips_nodes_without_changing_the_answer() -> None:
    records = _records(seed=11, n=4000)
    codes, counts, ladders, _ = _table(records, False)
    model = Model(k=5, max_suppressed=40)
    pruned = search(codes, counts, ladders, model, "precision")
    full = search(codes, counts, ladders, model, "precision", prune=False)
    assert pruned.best == full.best
    assert full.evaluated == full.lattice and pruned.evaluated < full.evaluated


def test_no_feasible_node() -> None:
    records = _records(seed=2, n=30)
    codes, counts, ladders, _ = _table(records, False)
    assert search(codes, counts, ladders, Model(k=31, max_suppressed=0)).best is None


def test_levels_must_nest() -> None:
    with pytest.raises(NotAHierarchy):
        ladder([np.array([0, 0, 1]), np.array([0, 1, 1])], np.ones(3))


def test_ordered_emd_is_the_wasserstein_distance_over_ranks() -> None:
    rng = np.random.default_rng(5)
    values = rng.integers(0, 9, 400)
    classes = rng.integers(0, 6, 400)
    codes = np.column_stack([classes, values])
    first, inverse = distinct_rows(codes)
    counts = np.bincount(inverse).astype(float)
    rows = codes[first]
    from pipeline.core.groups import factorize
    from pipeline.risk.privacy import emd

    cls, size = factorize(rows[:, 0])
    total = np.bincount(cls, weights=counts, minlength=size)
    whole = np.bincount(rows[:, 1], weights=counts)
    got = emd(cls, rows[:, 1], counts, total, whole, size, ordered=True)
    for c in range(size):
        mine = cls == c
        expected = wasserstein_distance(rows[mine, 1], rows[:, 1], counts[mine], counts) / 8
        assert got[c] == pytest.approx(expected, abs=1e-9)
    got = emd(cls, rows[:, 1], counts, total, whole, size, ordered=False)
    for c in range(size):
        p = np.bincount(rows[cls == c, 1], weights=counts[cls == c], minlength=9) / total[c]
        assert got[c] == pytest.approx(0.5 * np.abs(p - whole / whole.sum()).sum(), abs=1e-9)


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("sensitive", [False, True], ids=["k", "l-diversity"])
def test_no_records_keeps_every_variable_at_level_0(metric: str, sensitive: bool) -> None:
    """Issue 24: a header-only input loses nothing at any node; the bottom node is the optimum."""
    codes, counts, ladders, sens = _table(_records(seed=1, n=0), sensitive)
    model = Model(k=3, l_kind="distinct" if sensitive else None)
    result = search(codes, counts, ladders, model, metric, sens)
    assert result.best is not None and result.best.levels == (0, 0, 0)
    assert result.best.loss == 0.0 and result.best.suppressed == 0.0
    assert result.evaluated == 1  # nothing above the bottom can do better


@settings(max_examples=examples(50), deadline=None)
@given(
    st.lists(st.tuples(st.integers(-1, 3), st.integers(-1, 2)), max_size=40, unique=True),
    st.integers(1, 6),
)
def test_a_table_of_distinct_rows_is_not_grouped_again(rows: list, k: int) -> None:
    # a lattice node's table holds each key combination once: its rows are its classes
    codes = np.array(rows, dtype=np.int64).reshape(-1, 2)
    counts = np.arange(1, len(rows) + 1, dtype=np.float64) % 7
    model = Model(k=k, max_suppressed=np.inf)
    grouped = violating(codes, counts, None, model)
    assert np.array_equal(violating(codes, counts, None, model, distinct=True), grouped)


def _score_alone(scorer: _Scorer, table: _Table, levels: tuple, bad: np.ndarray) -> float:
    """One node's loss with ``bad`` suppressed, each sum taken over its own rows alone."""
    import math

    from pipeline.core.groups import combine, factorize

    n, counts, codes = scorer.n, table.counts, table.codes
    if scorer.metric == "discernibility":
        cls, size = factorize(combine(codes))
        sizes = np.bincount(cls[~bad], weights=counts[~bad], minlength=size)
        return float((sizes * sizes).sum()) + float(counts[bad].sum()) * n
    total = scorer.entropy0 if scorer.metric == "entropy" else 0.0
    for j in scorer.sequence:
        lad, col, level = scorer.ladders[j], codes[:, j], levels[j]
        keep = (col >= 0) & ~bad
        cut = float(counts[(col >= 0) & bad].sum())
        if scorer.metric == "precision":
            total += (cut + float(counts[keep].sum()) * (level / lad.height)) / n / scorer.m
        elif scorer.metric == "loss":
            under = (lad.leaves[level][col[keep]] - 1) / max(1.0, scorer.domain[j] - 1)
            total += (cut + float((counts[keep] * under).sum())) / n / scorer.m
        else:
            total += float((counts[keep] * lad.log_f[level][col[keep]]).sum())
            total += cut * math.log2(scorer.present[j]) if cut else 0.0
    return total


@pytest.mark.parametrize("metric", METRICS)
def test_loss_and_bound_are_the_figures_each_gives_alone(metric: str) -> None:
    """One look at a node's table gives its loss and its bound to the last bit."""
    codes, counts, ladders, _ = _table(_records(5, 4000), sensitive=False)
    scorer = _Scorer(_Table(codes, counts, None), ladders, metric, [2, 0, 1])
    rng = np.random.default_rng(3)
    for levels in [(0, 0, 0), (1, 0, 1), (3, 1, 2)]:
        at = np.column_stack(
            [MAPS[j][lv - 1][codes[:, j]] if lv else codes[:, j] for j, lv in enumerate(levels)]
        )
        at[::11, 2] = -1  # missing values: neither kept nor cut
        table = _Table(at, counts, None)
        for share in (0.0, 0.3, 1.0):
            bad = rng.random(len(counts)) < share
            loss, bound = scorer.scores(table, levels, bad)
            assert loss == _score_alone(scorer, table, levels, bad)
            assert bound == _score_alone(scorer, table, levels, np.zeros_like(bad))
