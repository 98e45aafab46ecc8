"""The step contract: only the engine computes, and a deferred check cannot be lost."""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import re
import shutil
from pathlib import Path

import dask
import dask.base
import dask.dataframe
import numpy as np
import pytest
from typer.testing import CliRunner

import pipeline.engine.apply as apply_mod
import pipeline.engine.ingest as ingest_mod
import pipeline.engine.input_stage as input_stage_mod
import pipeline.engine.read_stage as read_stage_mod
from pipeline.cli.app import app
from pipeline.core.errors import InputDataError, Problem
from pipeline.engine.apply import FirstPass, PendingChecks, UnsettledChecks
from pipeline.steps import STEPS
from pipeline.steps.registry import Check
from tests.conftest import DEMO_COLUMNS, REPO, demo_recipe, log_messages

EVERY_STEP = """\
  - recode: {column: municipality, hierarchy: jp_region, level: prefecture}
  - recode: {column: age, bands: [0, 15, 30, 45, 60, 75, 90]}
  - top_code: {column: income, quantile: 0.99}
  - bottom_code: {column: household_size, below: 1}
  - subsample: {fraction: 0.9, by: household_id}
  - risk: {k: 3}
  - local_suppression: {k: 3}
  - shuffle_records: {}
"""


class StepComputed(AssertionError):
    """A step triggered a computation itself."""


@pytest.fixture
def forbid_compute_in_steps(monkeypatch):
    """Every step runs with dask's compute raising; the engine computes between its turns."""
    state = {"inside": False}
    real = dask.base.compute

    def guarded(*args, **kwargs):
        if state["inside"]:
            raise StepComputed("a step called compute")
        return real(*args, **kwargs)

    monkeypatch.setattr(dask.base, "compute", guarded)
    monkeypatch.setattr(dask, "compute", guarded)
    monkeypatch.setattr(apply_mod.dask, "compute", guarded)

    @contextlib.contextmanager
    def inside():
        state["inside"] = True
        try:
            yield
        finally:
            state["inside"] = False

    def guard(func):
        def wrapped(frame, params, ctx):
            with inside():
                return func(frame, params, ctx)

        return wrapped

    for name, spec in list(STEPS.items()):
        monkeypatch.setitem(STEPS, name, dataclasses.replace(spec, func=guard(spec.func)))
    return guard


@pytest.mark.slow
def test_no_step_computes_itself(workdir: Path, forbid_compute_in_steps) -> None:
    recipe = demo_recipe(workdir, EVERY_STEP)
    result = CliRunner().invoke(app, ["run", str(recipe), "-q"])
    assert result.exit_code == 0, result.output
    assert (workdir / "out" / "run" / "manifest.json").exists()


def test_the_guard_catches_a_step_that_computes(forbid_compute_in_steps) -> None:
    import dask.dataframe as dd
    import pandas as pd

    def greedy(frame, params, ctx):
        frame["a"].sum().compute()  # what a step must not do
        return frame

    frame = dd.from_pandas(pd.DataFrame({"a": [1, 2]}), npartitions=1)
    with pytest.raises(StepComputed):
        forbid_compute_in_steps(greedy)(frame, None, None)


def test_pending_checks_cannot_be_left_unsettled() -> None:
    check, facts = Check(dask.delayed(1), "unknown_values", lambda n: None), {}
    with pytest.raises(UnsettledChecks, match="unknown_values"), PendingChecks([(check, {})]):
        pass
    with PendingChecks([(check, facts)]) as checks:
        checks.settle()
    assert facts == {"unknown_values": 1}


def test_failed_checks_are_all_reported_at_once() -> None:
    def problem(n: int) -> Problem | None:
        return Problem(f"{n} bad") if n else None

    checks = PendingChecks([(Check(dask.delayed(n), f"c{n}", problem), {}) for n in (0, 2, 3)])
    with pytest.raises(InputDataError, match=r"2 problems") as info:
        checks.settle()
    assert [p.message for p in info.value.problems] == ["2 bad", "3 bad"]


def _lose_checks(monkeypatch) -> None:
    """Simulate an engine bug: a pass that forgets the deferred checks."""

    def forgetful(self, *lazy, label="checks"):
        self.passes.append(label)
        return dask.compute(*lazy)

    monkeypatch.setattr(PendingChecks, "settle", forgetful)


@pytest.mark.slow
def test_a_run_that_loses_a_check_publishes_nothing(workdir: Path, monkeypatch) -> None:
    _lose_checks(monkeypatch)
    recipe = demo_recipe(workdir, "  - recode: {column: sex, map: {'1': M, '2': F}}\n")
    result = CliRunner().invoke(app, ["run", str(recipe), "-q"])
    assert result.exit_code == 1 and "UnsettledChecks" in result.output
    assert not (workdir / "out" / "run").exists()


@pytest.mark.slow
def test_a_tabulation_that_loses_a_check_publishes_nothing(workdir: Path, monkeypatch) -> None:
    _lose_checks(monkeypatch)
    from tests.conftest import copy_demo

    copy_demo(workdir)
    shutil.copy(REPO / "recipes" / "census_tables.yaml", workdir / "recipes")
    result = CliRunner().invoke(app, ["tabulate", "recipes/census_tables.yaml", "-q"])
    assert result.exit_code == 1 and "UnsettledChecks" in result.output
    assert not (workdir / "out" / "census_tables").exists()


@pytest.mark.slow
def test_a_run_reports_its_passes_over_the_data(workdir: Path) -> None:
    recipe = demo_recipe(workdir, EVERY_STEP)
    result = CliRunner().invoke(app, ["run", str(recipe)])
    assert result.exit_code == 0, result.output
    # the steps' needs take two passes: the quantile's first with the sample's units (income
    # and households are what they were at ingest), then its second with both key tables
    # the input's gate, scan and risk share one read, and the output's are taken on the
    # tables being written
    assert _passes(result.output) == [
        "read input",
        "measure the input",
        "top_code: quantile 0.99 of income + subsample: units of household_id",
        "top_code: quantile 0.99 of income + risk: combinations of 5 key variables + "
        "local_suppression: combinations of 5 key variables",
        "compute and write",
        "cut and measure the output",
    ]


def _passes(output: str) -> list[str]:
    """The passes a run reports (``passes over the data: N``, then ``pass i of N: what``)."""
    lines = log_messages(output)
    count = int(next(x for x in lines if x.startswith("passes over the data:")).split(": ")[1])
    found = [x.split(f" of {count}: ", 1)[1] for x in lines if re.match(r"pass \d+ of ", x)]
    assert len(found) == count
    return found


def _run(
    workdir: Path, steps: str, out: str, input_path: str = "data/census.csv", *options: str
) -> tuple[list[str], dict]:
    """Run a recipe; the passes it reports and its manifest."""
    recipe = demo_recipe(workdir, steps, output=out, input_path=input_path)
    result = CliRunner().invoke(app, ["run", str(recipe), *options])
    assert result.exit_code == 0, result.output
    return _passes(result.output), json.loads((workdir / out / "manifest.json").read_text())


def _sequential(monkeypatch) -> None:
    """The engine without early reductions: each step's needs computed when it is reached."""
    real = apply_mod._stand_in

    def only_the_next(frame, steps, done, i, memo):
        return real(frame, steps, done, i, memo) if i == done else None

    monkeypatch.setattr(apply_mod, "_stand_in", only_the_next)


def _same(fused: dict, plain: dict, workdir: Path, a: str, b: str) -> None:
    def digests(out: str) -> list[str]:
        files = sorted((workdir / out / "data").iterdir())
        return [hashlib.sha256(p.read_bytes()).hexdigest() for p in files]

    assert digests(a) == digests(b)
    assert [s["facts"] for s in fused["steps"]] == [s["facts"] for s in plain["steps"]]
    assert fused["risk_after"] == plain["risk_after"]


@pytest.mark.slow
@pytest.mark.parametrize(
    "steps",
    [
        EVERY_STEP,
        # a recode of income after its top-code: the second step reads what the first writes
        "  - top_code: {column: income, quantile: 0.9}\n"
        "  - top_code: {column: income, quantile: 0.5}\n"
        "  - subsample: {fraction: 0.5}\n",
        # the quantile must be of the records the sample keeps
        "  - subsample: {fraction: 0.5, by: household_id}\n"
        "  - top_code: {column: income, quantile: 0.9}\n"
        "  - local_suppression: {k: 2}\n",
    ],
)
def test_early_reductions_change_nothing_but_the_passes(
    workdir: Path, monkeypatch, steps: str
) -> None:
    _fused_equals_sequential(workdir, monkeypatch, steps)


def _fused_equals_sequential(workdir: Path, monkeypatch, steps: str) -> None:
    """Early (fused) reductions give the bytes, facts and risk of sequential ones, in no more
    passes."""
    fused_passes, fused = _run(workdir, steps, "out/fused")
    with monkeypatch.context() as patch:
        _sequential(patch)
        plain_passes, plain = _run(workdir, steps, "out/plain")
    _same(fused, plain, workdir, "out/fused", "out/plain")
    assert len(fused_passes) <= len(plain_passes)


REGISTERED = [
    pytest.param(name, example, id=f"{name}[{i}]")
    for name, spec in sorted(STEPS.items())
    if not spec.automatic
    for i, example in enumerate(spec.params.examples)
]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("scheduler", "partitions"), [("threads", ()), ("processes", ("--partitions", "3"))]
)
def test_a_parquet_input_computes_the_first_pass_with_its_read(
    workdir: Path, census_frame, monkeypatch, scheduler: str, partitions: tuple
) -> None:
    """A Parquet input's types are known before it is read: the steps' first pass runs with the
    ingest's and gives the bytes, facts and risks of a pass of its own (a CSV input's numbers
    are typed by the ingest, so its first pass is its own: see the test of the passes above)."""
    census_frame.to_parquet(workdir / "data" / "census.parquet", index=False)
    args = ("data/census.parquet", "--scheduler", scheduler, *partitions)
    fused_passes, fused = _run(workdir, EVERY_STEP, "out/fused", *args)
    with monkeypatch.context() as patch:  # computed, but the checkpoint's types differ: unused
        patch.setattr(read_stage_mod, "_same_frames", lambda a, b: False)
        checked_passes, checked = _run(workdir, EVERY_STEP, "out/checked", *args)
    with monkeypatch.context() as patch:
        patch.setattr(ingest_mod, "typed", lambda ddf, typing: None)
        plain_passes, plain = _run(workdir, EVERY_STEP, "out/plain", *args)
    _same(fused, plain, workdir, "out/fused", "out/plain")
    _same(checked, plain, workdir, "out/checked", "out/plain")
    first = "top_code: quantile 0.99 of income + subsample: units of household_id"
    assert plain_passes[:3] == ["read input", "measure the input", first]
    assert fused_passes == [f"read input + {first}", *plain_passes[1:2], *plain_passes[3:]]
    assert checked_passes == plain_passes


@pytest.mark.slow
def test_a_parquet_input_measured_alone_keeps_its_first_pass(
    workdir: Path, census_frame, monkeypatch
) -> None:
    """An input measured before the steps (past ``BESIDE_MAX_ROWS`` records) is not fused: the
    first pass's values (every household's unit) would be held through that stage."""
    census_frame.to_parquet(workdir / "data" / "census.parquet", index=False)
    monkeypatch.setattr(input_stage_mod, "BESIDE_MAX_ROWS", len(census_frame) - 1)
    passes, _ = _run(workdir, EVERY_STEP, "out/alone", "data/census.parquet")
    first = "top_code: quantile 0.99 of income + subsample: units of household_id"
    assert passes[:3] == ["read input", "measure the input", first]


def _boom(partition: object) -> None:
    raise ValueError("a reduction's bug")


@pytest.mark.slow
@pytest.mark.parametrize("fails", ["planned", "computed"])
def test_a_first_pass_that_fails_with_the_read_runs_on_its_own(
    workdir: Path, census_frame, monkeypatch, fails: str
) -> None:
    """A step or reduction failing in the fused pass is no input error (a Parquet reader's
    ValueError would read as one): the ingest runs alone, the steps' pass as without fusion."""
    import pipeline.engine.phases as phases_mod

    def broken(frame, steps, waiting):
        if fails == "planned":
            raise RuntimeError("a step's bug")
        boom = frame.map_partitions(_boom, meta=frame._meta)
        return FirstPass({(2, "quantile"): (boom,)}, (), "broken")

    census_frame.to_parquet(workdir / "data" / "census.parquet", index=False)
    with monkeypatch.context() as patch:
        patch.setattr(ingest_mod, "typed", lambda ddf, typing: None)
        plain_passes, plain = _run(workdir, EVERY_STEP, "out/plain", "data/census.parquet")
    monkeypatch.setattr(phases_mod, "first_pass", broken)
    passes, manifest = _run(workdir, EVERY_STEP, "out/broken", "data/census.parquet")
    assert passes == plain_passes
    _same(manifest, plain, workdir, "out/broken", "out/plain")


@pytest.mark.slow
def test_a_fused_first_pass_reports_the_checks_waiting_for_it(
    workdir: Path, census_frame, monkeypatch
) -> None:
    """The checks waiting for the first pass are judged before a reduction gets its values,
    fused or not: a recode's unknown values are what the run reports, not the quantile of an
    empty column that the next step would refuse."""
    census_frame.assign(empty=np.nan).to_parquet(workdir / "data" / "census.parquet", index=False)
    steps = (
        "  - recode: {column: occupation, map: {A: X}}\n"
        "  - top_code: {column: empty, quantile: 0.9}\n"
    )
    recipe = demo_recipe(workdir, steps, input_path="data/census.parquet")
    outputs = []
    for fused in (True, False):
        with monkeypatch.context() as patch:
            if not fused:
                patch.setattr(ingest_mod, "typed", lambda ddf, typing: None)
            result = CliRunner().invoke(app, ["run", str(recipe), "-q"])
        assert result.exit_code == 3, result.output
        outputs.append(result.output)
    assert "unknown" in outputs[0] and "empty" not in outputs[0]
    assert outputs[0] == outputs[1]


def test_first_pass_leaves_the_plan_as_it_was(workdir: Path) -> None:
    """The first pass is planned on copies: the run's plan still has every need to answer."""
    from pipeline.core.columns import ROW, unit_column
    from pipeline.engine.apply import Planned, first_pass
    from pipeline.recipe.loader import load_recipe
    from pipeline.steps.registry import StepContext

    census = dask.dataframe.read_csv(workdir / "data" / "census.csv")
    census = census.assign(**{ROW: 0, unit_column("household_id"): 0})  # as the ingest adds

    def planned(steps: str) -> list[Planned]:
        loaded = load_recipe(demo_recipe(workdir, steps))
        cols = loaded.recipe.columns
        return [
            Planned.of(call, StepContext(1, call.index, call.spec.name, cols), call.spec.name)
            for call in loaded.steps
        ]

    plan = planned(EVERY_STEP)
    lazy = first_pass(census, plan, ("waiting",))
    assert lazy.label == "top_code: quantile 0.99 of income + subsample: units of household_id"
    assert sorted(lazy.needs) == [(2, "quantile"), (4, "units")]
    assert lazy.checks[0] == "waiting" and len(lazy.checks) == 3  # and the two recodes' checks
    # a quantile of text is answered on the spot (nothing to compute): on the copy only
    plan = planned("  - top_code: {column: occupation, quantile: 0.5}\n")
    assert first_pass(census, plan).needs == {}
    assert all(not p.values for p in plan)


@pytest.mark.slow
@pytest.mark.parametrize(("name", "example"), REGISTERED)
def test_every_registered_step_fuses_as_it_runs_alone(
    workdir: Path, monkeypatch, name: str, example: dict
) -> None:
    """Each step's examples between a step with a need before (a quantile) and after (the key
    combinations): early reductions give the same bytes, facts and risk as sequential ones."""
    body = json.dumps({name: example})
    steps = (
        f"  - top_code: {{column: income, quantile: 0.99}}\n  - {body}\n"
        "  - local_suppression: {k: 2}\n"
    )
    monkeypatch.setenv("ANON_LINK_KEY", "fused test key")
    columns = DEMO_COLUMNS.replace(
        "[age, sex, municipality, occupation, household_size]", "[age, sex, municipality]"
    )
    monkeypatch.setattr("tests.conftest.DEMO_COLUMNS", columns)
    _fused_equals_sequential(workdir, monkeypatch, steps)


@pytest.mark.slow
def test_a_reduction_waits_for_the_step_that_writes_its_column(workdir: Path) -> None:
    steps = (
        "  - top_code: {column: income, quantile: 0.9}\n"
        "  - top_code: {column: income, quantile: 0.5}\n"
        "  - subsample: {fraction: 0.5}\n"
    )
    passes, _ = _run(workdir, steps, "out/run")
    own = [p for p in passes if "top_code" in p or "subsample" in p]
    # the sample's units with the first quantile; the second quantile only after the first
    assert own == [
        "top_code: quantile 0.9 of income + subsample: records",
        "top_code: quantile 0.9 of income",
        "top_code: quantile 0.5 of income",
        "top_code: quantile 0.5 of income",
    ]


@pytest.mark.slow
def test_a_reduction_waits_for_a_step_that_removes_records(workdir: Path) -> None:
    steps = (
        "  - top_code: {column: income, quantile: 0.9}\n"
        "  - subsample: {fraction: 0.5, by: household_id}\n"
        "  - top_code: {column: age, quantile: 0.9}\n"
    )
    passes, _ = _run(workdir, steps, "out/run")
    own = [p for p in passes if "top_code" in p or "subsample" in p]
    assert own == [
        "top_code: quantile 0.9 of income + subsample: units of household_id",
        "top_code: quantile 0.9 of income + top_code: quantile 0.9 of age",
        "top_code: quantile 0.9 of age",
    ]


@pytest.mark.slow
def test_a_step_s_own_work_runs_once(workdir: Path, monkeypatch) -> None:
    """A step applied for a stand-in frame that equals the run's frame is not applied again.

    (Behind a step still waiting, e.g. a quantile, the stand-in differs from the run's frame on
    the waiting step's column and a ready step is applied to each: its work is then done twice.)
    """
    import pipeline.steps.risk as risk_mod

    calls = []
    real = risk_mod.suppress

    def counted(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(risk_mod, "suppress", counted)
    _run(workdir, "  - local_suppression: {k: 2}\n  - risk: {k: 2}\n", "out/run")
    assert len(calls) == 1
    calls.clear()
    steps = "  - top_code: {column: income, quantile: 0.9}\n" + "  - local_suppression: {k: 2}\n"
    _run(workdir, steps + "  - risk: {k: 2}\n", "out/run2")
    assert len(calls) == 2  # on the stand-in (income not yet capped) and on the run's frame


GENERALIZE_L = """\
  - generalize:
      k: 2
      hierarchies: {age: {bands: [[0, 20, 40, 60, 80]]}}
      l_diversity: {column: SENSITIVE, l: 2}
"""


def test_a_reduction_reads_only_columns_checked_against_the_input(workdir: Path) -> None:
    """Issue 24: generalize's sensitive column (l-diversity) went unchecked, and its key table
    failed deep in the engine (a KeyError at apply.py, exit 1) when the input lacked it."""
    from pipeline.recipe.loader import load_recipe
    from pipeline.steps.registry import StepContext

    steps = (
        GENERALIZE_L.replace("SENSITIVE", "income")
        + "      t_closeness: {column: income, t: 0.9}\n"
    )
    loaded = load_recipe(demo_recipe(workdir, steps))
    cols = loaded.recipe.columns
    for call in loaded.steps:
        ctx = StepContext(1, call.index, call.spec.name, cols)
        read = {c for r in call.params.needs(ctx).values() for c in r.columns}
        assert read <= set(call.params.columns_used().values()) | set(cols.key_variables)
    recipe = demo_recipe(workdir, GENERALIZE_L.replace("SENSITIVE", "incomee"))
    for command in (["run", str(recipe), "-q"], ["validate", str(recipe)]):
        result = CliRunner().invoke(app, command)
        assert result.exit_code == 3, result.output
        assert (
            "column 'incomee' (steps[0].generalize.l_diversity.column) is not in the input; "
            "did you mean 'income'?" in result.output
        )
    assert not (workdir / "out" / "run").exists()
