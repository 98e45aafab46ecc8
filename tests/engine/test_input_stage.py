"""The input stage: measured beside the steps, judged before the output is computed.

The input's measure pass runs in a thread while the steps are planned and their passes run; its
verdict is taken before anything is written, a rejection comes before a step's error, and an
interrupted run leaves neither the thread nor a staging folder behind.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pandas as pd
import pytest

import pipeline.engine.input_stage as input_stage
import pipeline.engine.phases as runner
from pipeline.core import priority
from tests.conftest import REPO, demo_recipe, invoke, log_messages, reasons
from tests.core.test_priority import lowerable

STEPS = """\
  - recode: {column: age, bands: [0, 20, 40, 60, 80]}
  - top_code: {column: income, quantile: 0.99}
  - shuffle_records: {}
"""
LABEL = "measure and gate the input"


def _stage_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("input-stage")]


def _broken_input(workdir: Path) -> Path:
    """A recipe whose input breaks its contract (an age of 116 against a maximum of 100)."""
    contract = (REPO / "data_contracts" / "census_input.odcs.yaml").read_text()
    contract = contract.replace("{minimum: 0, maximum: 130}", "{minimum: 0, maximum: 100}")
    (workdir / "recipes" / "in.yaml").write_text(contract)
    frame = pd.read_csv(workdir / "data" / "census.csv", dtype=str)
    frame.loc[3, "age"] = "116"
    frame.to_csv(workdir / "data" / "census.csv", index=False)
    return demo_recipe(workdir, STEPS, extra="risk: {k: 1}\ncontracts: {input: in.yaml}\n")


def _watch_apply(monkeypatch) -> list[list[str]]:  # noqa: ANN001
    """The input stage's threads alive each time the steps are applied."""
    seen: list[list[str]] = []
    apply = runner._apply

    def watched(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        seen.append(_stage_threads())
        return apply(*args, **kwargs)

    monkeypatch.setattr(runner, "_apply", watched)
    return seen


def test_the_steps_are_applied_while_the_input_is_measured(workdir: Path, monkeypatch) -> None:
    seen = _watch_apply(monkeypatch)
    result = invoke("run", str(demo_recipe(workdir, STEPS, extra="risk: {k: 1}\n")))
    assert result.exit_code == 0, result.output
    assert len(seen) == 1 and seen[0], "the input's measure pass ran before the steps"
    assert not _stage_threads()
    messages = log_messages(result.output)
    at = {m.split(":")[0].split(" (")[0]: i for i, m in enumerate(messages)}
    verdict = next(i for i, m in enumerate(messages) if m.startswith(LABEL))
    assert at["[5/5] shuffle_records"] < verdict < at["compute and write"]
    manifest = json.loads((workdir / "out" / "run" / "manifest.json").read_text())
    assert manifest["risk_before"]["records"] == manifest["rows_in"]


def test_the_input_is_measured_at_a_lower_priority_than_the_steps(
    workdir: Path, monkeypatch
) -> None:  # noqa: ANN001
    # the steps' passes get the cores first; the measures take what they leave idle
    lowerable()
    seen: list[tuple[str, int]] = []
    measures = input_stage.measures

    def watched(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        nice = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
        seen.append((threading.current_thread().name, nice))
        return measures(*args, **kwargs)

    monkeypatch.setattr(input_stage, "measures", watched)
    run = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    result = invoke("run", str(demo_recipe(workdir, STEPS)))
    assert result.exit_code == 0, result.output
    ((thread, nice),) = seen
    assert thread.startswith("input-stage")
    assert nice == min(priority.LOWEST, run + priority.BACKGROUND)
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == run


def test_the_input_stage_line_gives_its_own_seconds(workdir: Path) -> None:
    result = invoke("run", str(demo_recipe(workdir, STEPS)), "--log-format", "json")
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]
    (entry,) = [e for e in lines if e["message"].startswith(LABEL)]
    shown = float(entry["message"].rsplit("(", 1)[1].removesuffix(" s)"))
    assert entry["seconds"] > 0 and abs(shown - entry["seconds"]) <= 0.006
    assert "seconds=" not in entry["message"]  # the work's own seconds, not a fact


def test_a_rejected_input_is_reported_before_a_step_error(workdir: Path, monkeypatch) -> None:
    recipe = _broken_input(workdir)

    def failing(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise ValueError("a step broke on the input the gate rejects")

    monkeypatch.setattr(runner, "_apply", failing)
    result = invoke("run", str(recipe))
    assert result.exit_code == 3, result.output
    assert "out_of_range" in reasons(result)
    assert "ValueError" not in result.output
    assert not (workdir / "out" / "run").exists()
    assert not list((workdir / "out").glob(".run.staging-*"))
    assert not _stage_threads()


def test_a_step_error_on_an_accepted_input_is_the_step_error(workdir: Path, monkeypatch) -> None:
    def failing(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise ValueError("a bug in a step")

    monkeypatch.setattr(runner, "_apply", failing)
    result = invoke("run", str(demo_recipe(workdir, STEPS)))
    assert result.exit_code != 0
    assert isinstance(result.exception, ValueError) or "ValueError" in result.output
    assert not (workdir / "out" / "run").exists()
    assert not _stage_threads()


@pytest.mark.parametrize("code", [130, 143])
def test_an_interrupted_run_stops_the_input_stage(workdir: Path, monkeypatch, code: int) -> None:
    recipe = _broken_input(workdir)  # a verdict would reject it: an interruption takes none

    def interrupted(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise SystemExit(code)

    monkeypatch.setattr(runner, "_apply", interrupted)
    result = invoke("run", str(recipe))
    assert result.exit_code == code, result.output
    assert LABEL not in result.output and not reasons(result)
    assert not (workdir / "out" / "run").exists()
    assert not (workdir / "out" / "run.gate_report.json").exists()
    assert not list((workdir / "out").glob(".run.staging-*"))
    assert not _stage_threads()


def test_beside_the_steps_the_risk_spills_sooner_with_the_same_figures(
    workdir: Path, monkeypatch
) -> None:
    import pipeline.engine.input_stage as stage
    from pipeline.risk.spill import Spill

    recipe = demo_recipe(workdir, STEPS, extra="risk: {k: 1, household: household_id}\n")
    assert invoke("run", str(recipe)).exit_code == 0
    before = json.loads((workdir / "out" / "run" / "manifest.json").read_text())["risk_before"]
    flushed: list[int] = []
    flush = Spill._flush

    def counted(self: Spill) -> None:
        flushed.append(self._bytes)
        flush(self)

    monkeypatch.setattr(Spill, "_flush", counted)
    monkeypatch.setattr(stage, "BESIDE_SPILL_BYTES", 4096)  # 2,000 records: about 90 kB
    assert invoke("run", str(recipe), "--output", "out/again").exit_code == 0
    again = json.loads((workdir / "out" / "again" / "manifest.json").read_text())["risk_before"]
    assert flushed and again == before


def test_a_failed_input_pass_leaves_a_step_error_as_it_was(workdir: Path, monkeypatch) -> None:
    import pipeline.engine.input_stage as stage

    def broken(self, whole):  # noqa: ANN001, ANN202
        raise RuntimeError("the measure pass broke")

    def failing(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise ValueError("a bug in a step")

    monkeypatch.setattr(stage.InputStage, "_measure", broken)
    monkeypatch.setattr(runner, "_apply", failing)
    result = invoke("run", str(demo_recipe(workdir, STEPS)))
    assert "ValueError" in result.output and "RuntimeError" not in result.output
    assert not (workdir / "out" / "run").exists()
    assert not _stage_threads()


def test_a_large_input_is_judged_before_the_steps(workdir: Path, monkeypatch) -> None:
    import pipeline.engine.input_stage as stage

    recipe = demo_recipe(workdir, STEPS, extra="risk: {k: 1}\n")
    assert invoke("run", str(recipe)).exit_code == 0
    monkeypatch.setattr(stage, "BESIDE_MAX_ROWS", 1000)  # the census: 2,000 records
    seen = _watch_apply(monkeypatch)
    result = invoke("run", str(recipe), "--output", "out/alone")
    assert result.exit_code == 0, result.output
    assert seen == [[]]  # the pass and its thread ended before the steps
    messages = log_messages(result.output)
    verdict = next(i for i, m in enumerate(messages) if m.startswith(LABEL))
    assert verdict < next(i for i, m in enumerate(messages) if m.startswith("[3/5]"))
    assert sum(m.startswith(LABEL) for m in messages) == 1
    manifests = [
        json.loads((workdir / o / "manifest.json").read_text()) for o in ("out/run", "out/alone")
    ]
    assert manifests[0]["risk_before"] == manifests[1]["risk_before"]
    assert manifests[0]["files"] == manifests[1]["files"]


def test_a_rejected_large_input_stops_before_the_steps(workdir: Path, monkeypatch) -> None:
    import pipeline.engine.input_stage as stage

    monkeypatch.setattr(stage, "BESIDE_MAX_ROWS", 1000)
    called: list[bool] = []
    monkeypatch.setattr(runner, "_apply", lambda *a, **k: called.append(True))
    result = invoke("run", str(_broken_input(workdir)))
    assert result.exit_code == 3 and "out_of_range" in reasons(result), result.output
    assert not called and not _stage_threads()
