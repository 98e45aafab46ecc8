"""``microaggregate``: group means, strata, missing patterns, determinism, the gate's check."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import dask.dataframe as dd
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from pydantic import ValidationError

from pipeline.core.columns import ROW, ColumnsSpec
from pipeline.core.errors import InputDataError
from pipeline.core.requirements import GroupSize
from pipeline.gate.groups import GroupStream
from pipeline.steps.microaggregate import MicroaggregateParams, microaggregate
from pipeline.steps.registry import StepContext
from tests.conftest import demo_recipe, invoke, reasons, run_step

N = 1_500


def _frame(seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    a = rng.lognormal(5, 1, N)
    frame = pd.DataFrame(
        {
            ROW: np.arange(N),
            "a": a,
            "b": a * rng.uniform(0.2, 0.6, N),
            "s": rng.choice(["x", "y", "z"], N, p=[0.6, 0.39, 0.01]),
        }
    )
    frame.loc[::50, "b"] = np.nan
    return frame


def _run(frame: pd.DataFrame, partitions: int, **raw) -> tuple[pd.DataFrame, dict]:
    params = MicroaggregateParams(**{"variables": ["a", "b"], **raw})
    ctx = StepContext(
        seed=7, index=2, name="microaggregate", columns=ColumnsSpec(), location="test"
    )
    effect = run_step(microaggregate, dd.from_pandas(frame, npartitions=partitions), params, ctx)
    out = effect.frame.compute().sort_values(ROW).reset_index(drop=True)
    return out, effect.facts


def _group_sizes(out: pd.DataFrame, columns: list[str], strata: tuple = ()) -> pd.Series:
    shown = out.dropna(subset=columns, how="all")
    return shown.groupby([*strata, *columns], dropna=False).size()


def test_values_become_means_of_groups_of_k_to_2k_minus_1() -> None:
    frame = _frame()
    out, facts = _run(frame, 3, k=4)
    sizes = _group_sizes(out, ["a", "b"])
    assert sizes.min() >= 4
    assert facts["smallest_group"] >= 4 and facts["largest_group"] <= 7
    assert facts["suppressed_records"] == 0 and 0 < facts["sse_sst"] < 0.1
    # group means: each released combination's mean of the original values equals it
    joined = out.assign(orig_a=frame["a"])
    for _, part in list(joined.groupby(["a", "b"]))[:50]:
        assert part["orig_a"].mean() == pytest.approx(float(part["a"].iloc[0]), rel=1e-9)
    assert out["a"].mean() == pytest.approx(frame["a"].mean(), rel=1e-9)  # means kept
    assert out["b"].isna().equals(frame["b"].isna())  # missing stays missing
    assert all(isinstance(v, (int, float, str)) for v in facts.values())


def test_strata_are_never_crossed_and_small_cells_are_suppressed() -> None:
    frame = _frame(2)
    frame.loc[frame.index[:2], "s"] = "rare"  # 2 records < k: their values go missing
    out, facts = _run(frame, 2, k=3, strata=["s"])
    joined = out.assign(orig_s=frame["s"])
    assert (joined.groupby(["s", "a"], dropna=True)["orig_s"].nunique() == 1).all()
    assert out.loc[:1, ["a", "b"]].isna().all().all()
    assert facts["suppressed_records"] >= 2
    sizes = _group_sizes(out, ["a", "b"], ("s",))
    assert sizes.min() >= 3


def test_one_variable_uses_the_optimal_partition() -> None:
    frame = _frame(3)
    out, facts = _run(frame, 4, variables=["a"], k=5)
    assert facts["method"] == "optimal"
    assert _group_sizes(out, ["a"]).min() >= 5
    with pytest.raises(ValidationError):
        MicroaggregateParams(variables=["a", "b"], method="optimal")


@pytest.mark.parametrize("raw", [{}, {"strata": ["s"], "improve": False}, {"variables": ["a"]}])
def test_the_same_whatever_the_partitions(raw: dict) -> None:
    frame = _frame(4)
    one, _ = _run(frame, 1, **raw)
    many, _ = _run(frame, 6, **raw)
    pd.testing.assert_frame_equal(one, many)


def test_group_stream_counts_records_of_small_combinations() -> None:
    need = GroupSize(("a", "b"), ("s",), 3)
    stream = GroupStream("steps[0].microaggregate.groups", need)
    stream.add(pa.table({"s": ["x"] * 4 + ["y"] * 2, "a": [1.0] * 6, "b": [2.0] * 6}))
    stream.add(pa.table({"s": ["z"] * 3, "a": [None] * 3, "b": [5.0] * 3}))
    stream.add(pa.table({"s": ["x", None], "a": [None, None], "b": [None, None]}))
    result = stream.result()
    assert not result.passed and result.observed == 2  # the two "y" records
    assert result.reason == "microaggregation_group_too_small"
    ok = GroupStream("id", GroupSize(("a",), (), 2))
    ok.add(pa.table({"a": [1.0, 1.0, None]}))
    assert ok.result().passed


@pytest.mark.slow
def test_in_a_run_the_gate_checks_every_group(workdir: Path) -> None:
    steps = "  - microaggregate: {variables: [income, household_size], k: 3}\n"
    recipe = demo_recipe(workdir, steps, extra="risk: {k: 1}\n")
    result = invoke("run", str(recipe))
    assert result.exit_code == 0, result.output
    out = workdir / "out" / "run"
    manifest = json.loads((out / "manifest.json").read_text())
    checks = manifest["gate"]["output"]["checks"]
    (check,) = [c for c in checks if c["id"].endswith(".groups")]
    assert check["passed"] and check["observed"] == 0
    again = invoke("run", str(recipe), "--gate-only", str(out))
    assert again.exit_code == 0, again.output
    # a file whose groups were tampered with is invalid on re-validation
    data = next((out / "data").glob("*.parquet"))
    table = pd.read_parquet(data)
    table.loc[table.index[0], "income"] = -1.0
    table.to_parquet(data)
    broken = invoke("run", str(recipe), "--gate-only", str(out))
    assert broken.exit_code == 4
    assert "microaggregation_group_too_small" in reasons(broken)


@pytest.mark.slow
def test_perturbative_steps_give_the_same_file_whatever_partitions_and_scheduler(
    workdir: Path,
) -> None:
    from tests.conftest import data_digests

    steps = (
        "  - microaggregate: {variables: [income, household_size], k: 3, strata: [sex]}\n"
        "  - rank_swap: {variables: [weight], p: 10}\n"
        "  - add_noise: {variables: [age], method: additive, noise: 20}\n"
        "  - pram: {column: occupation}\n"
        "  - shuffle_records: {}\n"
    )
    recipe = demo_recipe(workdir, steps, extra="risk: {k: 1}\n")
    digests = []
    for n, scheduler in ((1, "threads"), (5, "threads"), (3, "processes")):
        out = f"out/{scheduler}{n}"
        result = invoke(
            "run",
            str(recipe),
            "--partitions",
            str(n),
            "--output",
            out,
            "--scheduler",
            scheduler,
            "-q",
        )
        assert result.exit_code == 0, result.output
        digests.append(data_digests(workdir / out))
    assert digests[0] == digests[1] == digests[2]


def test_groups_are_counted_without_strata_that_a_later_step_may_change() -> None:
    from pipeline.gate.catalog import RanStep
    from pipeline.gate.groups import group_needs
    from pipeline.steps.noise import AddNoiseParams
    from pipeline.steps.risk import LocalSuppressionParams

    columns = ColumnsSpec(key_variables=["sex", "age"])
    micro = RanStep(
        0, "microaggregate", MicroaggregateParams(variables=["a"], strata=["sex"]), {}, 10, 10
    )
    suppress = RanStep(1, "local_suppression", LocalSuppressionParams(k=3), {}, 10, 10)
    noise = RanStep(2, "add_noise", AddNoiseParams(variables=["a"]), {}, 10, 10)
    ((_, alone),) = group_needs([micro], Path(), columns)
    assert alone.strata == ("sex",)
    ((_, later),) = group_needs([micro, suppress], Path(), columns)
    assert later.strata == () and later.columns == ("a",)
    assert group_needs([micro, noise], Path(), columns) == []  # the values are rewritten


@pytest.mark.parametrize("variables", [["a"], ["a", "b"]])
@pytest.mark.parametrize("big", [1e200, 1.7e308])
def test_values_near_the_float_limits_are_microaggregated(variables: list[str], big: float) -> None:
    frame = _frame(5).iloc[:600].copy()
    frame.loc[[0, 5, 9], "a"] = [big, big, -big]
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no overflow on the way
        out, facts = _run(frame, 3, variables=variables, k=3)
    released = out[variables].astype(float).to_numpy()
    assert np.isfinite(released[~np.isnan(released)]).all()
    assert _group_sizes(out, variables).min() >= 3 and facts["suppressed_records"] == 0
    assert 0 < facts["sse_sst"] < 1


def test_standardising_scales_without_changing_a_digit() -> None:
    from pipeline.steps.microaggregate import _standardised

    x = _frame(6)[["a", "b"]].to_numpy()
    present = ~np.isnan(x)
    n = present.sum(axis=0)
    mean = np.where(present, x, 0).sum(axis=0) / n
    sd = np.sqrt((np.where(present, x - mean, 0) ** 2).sum(axis=0) / (n - 1))
    assert np.array_equal(_standardised(x, present), (x - mean) / sd, equal_nan=True)
    huge = np.array([[1.7e308], [-1.7e308], [1.0], [2.0]])
    z = _standardised(huge, ~np.isnan(huge))
    assert np.isfinite(z).all() and np.abs(z).max() <= np.sqrt(3) + 1e-12


def test_k_above_the_records_with_values_is_an_input_error() -> None:
    frame = _frame(7).iloc[:4].copy()
    frame.loc[[1, 2], ["a", "b"]] = np.nan
    with pytest.raises(InputDataError) as found:
        _run(frame, 2, k=3)
    (problem,) = found.value.problems
    assert "2 record(s) hold values of a, b, fewer than k = 3" in problem.message
    out, facts = _run(frame.assign(a=np.nan, b=np.nan), 1, k=3)  # no value at all: nothing to do
    assert facts["groups"] == 0 and out[["a", "b"]].isna().all().all()


def test_a_stratum_smaller_than_k_is_suppressed_with_a_warning() -> None:
    frame = _frame(8)
    frame.loc[frame.index[:2], "s"] = "rare"
    _, facts = _run(frame, 2, k=3, strata=["s"])
    (warning,) = facts["warnings"]
    assert f"{facts['suppressed_records']} record(s) in strata" in warning
    assert "fewer than k = 3" in warning and "rare" not in warning
    _, plain = _run(_frame(8), 2, k=3)
    assert "warnings" not in plain


def test_the_recipe_may_not_repeat_variables_nor_use_one_as_a_stratum_or_the_weight() -> None:
    columns = ColumnsSpec(weight="w")
    twice = MicroaggregateParams(variables=["a", "b", "a"], strata=["s", "s"])
    assert twice.recipe_problems(columns) == [
        ("variables[2]", "'a' is listed twice; list each variable once"),
        ("strata[1]", "'s' is listed twice; list each stratum once"),
    ]
    both = MicroaggregateParams(variables=["a", "w"], strata=["a"]).recipe_problems(columns)
    assert [field for field, _ in both] == ["variables[1]", "strata[0]"]
    assert "columns.weight" in both[0][1] and "microaggregated or a stratum" in both[1][1]
    assert MicroaggregateParams(variables=["a"], strata=["s"]).recipe_problems(columns) == []
