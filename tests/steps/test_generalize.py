"""The ``generalize`` step in real runs: optimal levels, record suppression, the gate's checks."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipeline.core.groups import distinct_rows
from pipeline.risk.frequencies import distinct_frequencies
from tests.conftest import demo_recipe, invoke

LADDER = (
    "[[0, 5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55, 60, 65, 70, 75, 80, 85, 90], "
    "[0, 10, 20, 30, 40, 50, 60, 70, 80, 90], [0, 20, 40, 60, 80]]"
)
HIERARCHIES = f"""\
      hierarchies:
        municipality: {{hierarchy: jp_region}}
        age: {{bands: {LADDER}}}
        occupation: {{hierarchy: hierarchies/occupation.csv}}
"""
KEYS = ["age", "sex", "municipality", "occupation", "household_size"]


def _run(workdir: Path, params: str, extra: str = "risk: {k: 3}\n", steps: str = ""):
    text = f"  - generalize:\n{params}{HIERARCHIES}{steps}"
    return invoke("run", str(demo_recipe(workdir, text, extra=extra)))


def _output(workdir: Path) -> tuple[pd.DataFrame, dict]:
    out = workdir / "out" / "run"
    return pd.read_parquet(out / "data"), json.loads((out / "manifest.json").read_text())


def _fk(frame: pd.DataFrame) -> np.ndarray:
    codes = np.column_stack([pd.factorize(frame[c])[0] for c in KEYS])
    return distinct_frequencies(codes, None, None, "category")[0][distinct_rows(codes)[1]]


@pytest.mark.slow
@pytest.mark.parametrize("metric", ["precision", "discernibility", "entropy", "loss"])
def test_publishes_k_anonymous_output_at_the_chosen_levels(workdir: Path, metric: str) -> None:
    params = f"      k: 3\n      max_suppression: 0.05\n      metric: {metric}\n"
    result = _run(workdir, params)
    assert result.exit_code == 0, result.output
    frame, manifest = _output(workdir)
    facts = manifest["steps"][-1]["facts"]
    assert facts["metric"] == metric and set(facts["levels"]) == {
        "municipality",
        "age",
        "occupation",
    }
    assert facts["heights"] == {"municipality": 5, "age": 4, "occupation": 2}
    assert facts["suppressed_records"] <= facts["max_suppressed_records"] == 100
    assert 0 < facts["nodes_evaluated"] <= facts["lattice_size"] == 6 * 5 * 3
    suppressed = frame[KEYS].isna().all(axis=1)
    assert int(suppressed.sum()) == facts["suppressed_records"]
    assert (_fk(frame[~suppressed]) >= 3).all()
    utility = manifest["utility"]
    assert utility["suppressed_records"] == facts["suppressed_records"]
    if metric in ("precision", "discernibility"):  # the run reports what the step minimised
        assert utility[{"precision": "precision_loss"}.get(metric, metric)] == facts["loss"]
    level = facts["levels"]["municipality"]
    if level >= 2:
        assert frame["municipality"].dropna().str.len().max() <= max(2, 8 * (level > 2))
    ids = [c["id"] for c in manifest["gate"]["output"]["checks"]]
    assert any(i.endswith("generalize.age") for i in ids) == (facts["levels"]["age"] > 0)


@pytest.mark.slow
def test_output_does_not_depend_on_partitions(workdir: Path) -> None:
    params = "      k: 4\n      max_suppression: 0.02\n"
    outputs = []
    for partitions in ("1", "5"):
        recipe = demo_recipe(
            workdir, f"  - generalize:\n{params}{HIERARCHIES}", extra="risk: {k: 4}\n"
        )
        result = invoke("run", str(recipe), "--partitions", partitions)
        assert result.exit_code == 0, result.output
        frame, manifest = _output(workdir)
        outputs.append((frame, manifest["steps"][-1]["facts"]))
    pd.testing.assert_frame_equal(outputs[0][0], outputs[1][0])
    assert outputs[0][1] == outputs[1][1]


@pytest.mark.slow
def test_l_diversity_and_category_missing(workdir: Path) -> None:
    """Every released class (suppressed records aside) holds >= 2 distinct incomes; the gate
    checks it as a risk target."""
    extra = "risk: {k: 2, missing: category, l_diversity: {column: income, l: 2}}\n"
    workdir_recipe = f"""  - generalize:
      k: 2
      max_suppression: 0.3
      l_diversity: {{column: income, l: 2}}
      hierarchies:
        municipality: {{hierarchy: jp_region}}
        age: {{bands: {LADDER}}}
        occupation: {{hierarchy: hierarchies/occupation.csv}}
"""
    result = invoke("run", str(demo_recipe(workdir, workdir_recipe, extra=extra)))
    assert result.exit_code == 0, result.output
    frame, manifest = _output(workdir)
    kept = frame[~frame[KEYS].isna().all(axis=1)]
    distinct = kept.groupby(KEYS, dropna=False)["income"].nunique()
    assert (distinct >= 2).all()
    suppressed = len(frame) - len(kept)
    assert suppressed == 0 or suppressed >= 2  # the suppressed records' class under category


def test_infeasible_and_unknown_values_are_clear_errors(workdir: Path) -> None:
    result = _run(workdir, "      k: 1500\n      max_suppression: 0\n")
    assert result.exit_code == 3 and "no combination of levels meets k = 1500" in result.output
    (workdir / "recipes" / "hierarchies" / "short.csv").write_text("1;A;*\n2;A;*\n")
    text = """  - generalize:
      k: 2
      hierarchies: {occupation: {hierarchy: hierarchies/short.csv}}
"""
    result = invoke("run", str(demo_recipe(workdir, text)))
    assert result.exit_code == 3, result.output
    assert "column 'occupation':" in result.output and "outside its hierarchy" in result.output
    assert not (workdir / "out" / "run").exists()


def test_recipe_errors_are_collected(workdir: Path) -> None:
    text = """  - generalize:
      k: 2
      metric: nope
      hierarchies: {age: {bands: [[0, 10], [5]]}, name: {hierarchy: missing.csv}}
"""
    result = invoke("validate", str(demo_recipe(workdir, text)), "--no-input")
    assert result.exit_code == 2
    for part in ("metric", "bands[1]", "missing.csv"):
        assert part in result.output, result.output


@pytest.mark.slow
def test_gate_blocks_classes_that_are_not_l_diverse_or_t_close(workdir: Path) -> None:
    for target, reason in (
        ("l_diversity: {column: income, l: 2}", "l_diversity_violated"),
        ("t_closeness: {column: income, t: 0.1}", "t_closeness_violated"),
    ):
        recipe = demo_recipe(
            workdir, "  - shuffle_records: {}\n", extra=f"risk: {{k: 1, {target}}}\n"
        )
        result = invoke("run", str(recipe))
        assert result.exit_code == 4 and f"[{reason}]" in result.output, result.output
        report = json.loads((workdir / "out" / "run.gate_report.json").read_text())
        (check,) = [c for c in report["output"]["checks"] if c["reason"] == reason]
        assert check["observed"] > 0 and check["column"] == "income"


@pytest.mark.slow
def test_lower_band_labels_and_cells_left_to_local_suppression(workdir: Path) -> None:
    text = f"""  - generalize:
      k: 3
      max_suppression: 0.9
      suppress: none
      hierarchies:
        age: {{bands: {LADDER}, labels: lower}}
        municipality: {{hierarchy: jp_region, levels: [prefecture, region]}}
  - local_suppression: {{k: 3}}
"""
    result = invoke("run", str(demo_recipe(workdir, text, extra="risk: {k: 3}\n")))
    assert result.exit_code == 0, result.output
    frame, manifest = _output(workdir)
    facts = manifest["steps"][-2]["facts"]
    assert facts["suppressed_records"] == 0 and facts["records_violating"] > 0
    assert str(frame["age"].dtype) == "Int64"
    level = facts["levels"]["age"]
    edges = {1: range(0, 95, 5), 2: range(0, 100, 10), 3: range(0, 100, 20)}.get(level)
    if edges is not None:
        assert set(frame["age"].dropna()) <= set(edges)
    else:
        assert level in (0, 4)
    assert facts["heights"]["municipality"] == 2


@pytest.mark.parametrize(
    "extra",
    ["{}", "{suppress: none, max_suppression: 0.5}", "{l_diversity: {column: income, l: 2}}"],
)
def test_known_key_table_equals_the_computed_one(workdir: Path, census_frame, extra: str) -> None:
    """The key combinations generalize hands the next step are those a pass would compute."""
    import dask.dataframe as dd
    import yaml

    from pipeline.core.columns import ColumnsSpec
    from pipeline.reductions import KeyTable, compute_now
    from pipeline.steps.generalize import GeneralizeParams, generalize
    from pipeline.steps.registry import StepContext
    from tests.conftest import run_step

    types = {
        "age": "Int64",
        "household_size": "Int64",
        "income": "Int64",
        "sex": "string",
        "municipality": "string",
        "occupation": "string",
    }
    frame = census_frame[[*KEYS, "income"]].astype(types)
    base = workdir / "recipes"
    raw = {
        "k": 3,
        "max_suppression": 0.1,
        **yaml.safe_load(extra),
        "hierarchies": {
            "municipality": {"hierarchy": "jp_region"},
            "age": {"bands": [[0, 10, 20, 40, 60, 80]], "labels": "lower"},
            "occupation": {"hierarchy": "hierarchies/occupation.csv"},
        },
    }
    params = GeneralizeParams.model_validate(raw, context={"base_dir": str(base)})
    ctx = StepContext(
        seed=1,
        index=0,
        name="generalize",
        columns=ColumnsSpec(key_variables=KEYS),
        base_dir=base,
        location="test",
    )
    effect = run_step(generalize, dd.from_pandas(frame, npartitions=3), params, ctx)
    known = effect.known[KeyTable(tuple(KEYS))]
    computed = compute_now(KeyTable(tuple(KEYS)), effect.frame)
    pd.testing.assert_frame_equal(known.table, computed.table)
    assert np.array_equal(known.codes, computed.codes)
    assert np.array_equal(known.counts, computed.counts)
