"""``pram``: invariant PRAM keeps the expected frequencies; seeded and partition-independent."""

from __future__ import annotations

import json
from pathlib import Path

import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest

from pipeline.core.columns import ROW, ColumnsSpec
from pipeline.steps.pram import PramParams, invariant_matrix, pram
from pipeline.steps.registry import StepContext
from tests.conftest import demo_recipe, invoke, run_step


def test_the_matrix_is_invariant_and_stochastic() -> None:
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(6))
    matrix = invariant_matrix(p, rng.uniform(0.8, 1, 6), alpha=0.5)
    assert np.allclose(matrix.sum(axis=1), 1) and (matrix >= 0).all()
    assert np.allclose(p @ matrix, p)  # expected frequencies are kept
    assert np.allclose(invariant_matrix(p, np.ones(6), 0.7), np.eye(6))  # P = I changes nothing
    assert np.allclose(invariant_matrix(p, rng.uniform(0.5, 1, 6), 0.0), np.eye(6))


def _run(frame: pd.DataFrame, partitions: int, **raw) -> tuple[pd.DataFrame, dict]:
    params = PramParams(column="v", **raw)
    ctx = StepContext(
        seed=3, index=2, name="pram", columns=ColumnsSpec(), base_dir=Path(), location="test"
    )
    effect = run_step(pram, dd.from_pandas(frame, npartitions=partitions), params, ctx)
    return effect.frame.compute().sort_values(ROW).reset_index(drop=True), effect.facts


def _frame(n: int = 60_000) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    values = rng.choice(list("abcde"), n, p=[0.4, 0.3, 0.15, 0.1, 0.05])
    frame = pd.DataFrame({ROW: np.arange(n), "v": values, "s": rng.choice(["x", "y"], n)})
    frame.loc[::50, "v"] = None
    return frame.astype({"v": "string", "s": "string"})


@pytest.mark.parametrize("strata", [[], ["s"]])
def test_frequencies_are_kept_and_values_change(strata: list[str]) -> None:
    frame = _frame()
    out, facts = _run(frame, 4, pd=0.7, alpha=0.8, strata=strata)
    before = frame["v"].value_counts(normalize=True).sort_index()
    after = out["v"].value_counts(normalize=True).sort_index()
    assert np.allclose(before, after, atol=0.01)
    present = frame["v"].notna()
    changed = (out.loc[present, "v"] != frame.loc[present, "v"]).mean()
    assert 0.02 < changed < 0.4
    assert out["v"].isna().sum() == frame["v"].isna().sum()
    assert len(facts["matrices"]) == (2 if strata else 1)
    assert np.allclose(np.asarray(facts["matrices"][0]).sum(axis=1), 1, atol=1e-5)


def test_the_same_for_the_seed_whatever_the_partitions() -> None:
    frame = _frame(5000)
    one, _ = _run(frame, 1, strata=["s"])
    many, _ = _run(frame, 6, strata=["s"])
    pd.testing.assert_frame_equal(one, many)


@pytest.mark.slow
def test_in_a_run(workdir: Path) -> None:
    steps = "  - pram: {column: occupation, pd: 0.9}\n"
    result = invoke("run", str(demo_recipe(workdir, steps, extra="risk: {k: 1}\n")))
    assert result.exit_code == 0, result.output
    manifest = json.loads((workdir / "out" / "run" / "manifest.json").read_text())
    facts = next(s for s in manifest["steps"] if s["name"] == "pram")["facts"]
    assert facts["alpha"] == 0.5 and "matrices" not in facts  # 61 categories: a summary
    assert facts["matrix_summary"]["strata"] == 1 and facts["matrix_summary"]["largest"] == 61
    (occupation,) = [v for v in manifest["utility"]["variables"] if v["column"] == "occupation"]
    assert 0 < occupation["hellinger"] < 0.2


def test_invariant_matrix_equals_sdcmicro_for_its_drawn_diagonal() -> None:
    # sdcMicro 5.8.1: pram(x, pd = 0.8, alpha = 0.5), set.seed(1), categories A-E with
    # frequencies 500/300/100/60/40; its drawn diagonal of P and its released matrix Rs
    diagonal = np.array(
        [
            0.85310173262842,
            0.874424779927358,
            0.914570672670379,
            0.981641557998955,
            0.840336386207491,
        ]
    )
    theirs = np.array(
        [
            [
                0.926516795753985,
                0.0321013936417298,
                0.0171231738120205,
                0.012367858170602,
                0.0118907786216628,
            ],
            [
                0.0535023227362162,
                0.908367363032043,
                0.0161059530856673,
                0.0107619181596394,
                0.0112624429864339,
            ],
            [
                0.0856158690601026,
                0.0483178592570018,
                0.846065291729227,
                0.0080594921208075,
                0.0119414878328613,
            ],
            [
                0.103065484755016,
                0.0538095907981968,
                0.0134324868680125,
                0.819764300720071,
                0.00992813685870323,
            ],
            [
                0.148634732770785,
                0.0844683223982544,
                0.0298537195821532,
                0.0148922052880549,
                0.722151019960753,
            ],
        ]
    )
    p = np.array([500, 300, 100, 60, 40]) / 1000
    assert np.allclose(invariant_matrix(p, diagonal, 0.5), theirs, atol=1e-12)


def test_too_many_categories_are_refused_before_any_matrix(monkeypatch) -> None:
    import pipeline.steps.pram as module
    from pipeline.core.errors import InputDataError

    def no_matrix(*args, **kwargs):
        raise AssertionError("a matrix was built")

    monkeypatch.setattr(module, "invariant_matrix", no_matrix)
    n = module.MAX_CATEGORIES + 1
    frame = pd.DataFrame({ROW: np.arange(n), "v": [f"SECRET{i:05d}" for i in range(n)]})
    with pytest.raises(InputDataError) as found:
        _run(frame.astype({"v": "string"}), 2)
    (problem,) = found.value.problems
    assert problem.code == "too_many_categories" and "SECRET" not in problem.message
    assert f"column 'v' has {n:,} categories, above the limit of 1,000" in problem.message


def test_too_many_matrix_entries_over_the_strata_are_refused(monkeypatch) -> None:
    import pipeline.steps.pram as module
    from pipeline.core.errors import InputDataError

    monkeypatch.setattr(module, "MAX_ENTRIES", 40)  # 2 strata of 5 categories: 50 entries
    with pytest.raises(InputDataError, match="2 strata whose matrices hold 50 entries"):
        _run(_frame(2000), 2, strata=["s"])


def test_the_manifest_records_small_matrices_in_full_and_large_ones_summarised() -> None:
    from pipeline.steps.pram import RECORDED_ENTRIES, recorded

    small = [np.full((5, 5), 0.2), np.eye(3)]
    assert recorded(small) == {"matrices": [m.tolist() for m in small]}
    size = int(np.sqrt(RECORDED_ENTRIES)) + 1
    large = invariant_matrix(np.full(size, 1 / size), np.linspace(0.8, 1, size), 0.5)
    summary = recorded([large, np.eye(2)])["matrix_summary"]
    assert summary["strata"] == 2 and summary["largest"] == size
    assert summary["entries"] == size * size + 4 and summary["diagonal_max"] == 1.0
    assert 0 < summary["off_diagonal_max"] < 0.2 and 0.8 < summary["diagonal_min"] < 1
    assert len(json.dumps(summary)) < 400


def test_each_record_draws_as_from_the_dense_comparison() -> None:
    from pipeline.steps.pram import _picks

    rng = np.random.default_rng(4)
    cumulative = np.cumsum(rng.dirichlet(np.ones(40), 40), axis=1)
    rows, u = rng.integers(0, 40, 5000), rng.uniform(size=5000)
    u[:40] = cumulative[rows[:40], rng.integers(0, 40, 40)]  # ties: an entry equal to u
    assert np.array_equal(_picks(u, rows, cumulative), (u[:, None] > cumulative[rows]).sum(axis=1))


def test_the_column_is_not_a_stratum_and_strata_are_listed_once() -> None:
    params = PramParams(column="v", strata=["s", "v", "s"])
    assert params.recipe_problems(ColumnsSpec()) == [
        ("strata[2]", "'s' is listed twice; list each stratum once"),
        ("strata[1]", "'v' is the column randomised: it cannot be a stratum"),
    ]
