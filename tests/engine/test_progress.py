"""Progress lines: ``--log-format json`` carries the plain lines' events, one object per line."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import jsonschema
import numpy as np
import pytest

from pipeline.engine.progress import EVENTS, Reporter
from tests.conftest import demo_recipe, log_messages, run_entry, tables_demo

STEPS = """\
  - top_code: {column: age, above: 90}
  - recode: {column: occupation, hierarchy: hierarchies/occupation.csv, level: 1}
"""
KEYS = {"time", "run_id", "level", "event", "message"}


SCHEMA = json.loads((Path(__file__).parents[2] / "schemas" / "log_event.schema.json").read_text())


def json_lines(output: str) -> list[dict]:
    """Every line is one JSON object, valid against the published schema."""
    events = [json.loads(line) for line in output.splitlines() if line.strip()]
    for event in events:
        jsonschema.validate(event, SCHEMA)
    return events


def test_a_run_logs_the_same_events_as_json_as_in_plain_lines(workdir: Path, capfd) -> None:
    recipe = demo_recipe(workdir, STEPS)
    code, plain = run_entry(["run", str(recipe)], capfd)
    assert code == 0, plain
    code, output = run_entry(
        ["run", str(recipe), "--output", "out/json", "--log-format", "json"], capfd
    )
    assert code == 0
    events = json_lines(output)
    assert all(set(e) >= KEYS and e["event"] in EVENTS for e in events)
    manifest = json.loads((workdir / "out" / "json" / "manifest.json").read_text())
    assert {e["run_id"] for e in events} == {manifest["run_id"]}

    def shape(message: str) -> str:  # the same line but for its timing, run id and output
        message = re.sub(r"\(\d+\.\d+ s\)|\b[0-9a-f]{12}\b|out/\w+", "", message)
        return " ".join(message.split())

    assert [shape(e["message"]) for e in events] == [shape(m) for m in log_messages(plain)]
    steps = [e for e in events if e["event"] == "step"]
    assert [e["step"] for e in steps] == ["drop_identifiers", "linking_ids", "top_code", "recode"]
    assert [e["position"] for e in steps] == [[i, 4] for i in range(1, 5)]
    assert all(isinstance(e["seconds"], float) for e in steps)
    read = next(e for e in events if e["message"].startswith("read input"))
    assert read["event"] == "stage" and read["counts"]["records"] == 2000
    (published,) = [e for e in events if e["event"] == "published"]
    assert published["counts"] == {"rows_in": 2000, "rows_out": manifest["rows_out"]}
    started = events[0]
    assert started["event"] == "run_started" and started["counts"] == {"steps": 4}
    assert "name" not in started["inputs"][0]["columns"]  # a direct identifier is never read


@pytest.mark.parametrize(("extra", "code"), [("risk: {k: 1000}\n", 4), ("", 3)])
def test_a_failure_is_one_error_event_with_the_exit_code(
    workdir: Path, capfd, extra: str, code: int
) -> None:
    recipe = demo_recipe(workdir, STEPS, extra=extra, input_path="data/census.csv")
    argv = ["run", str(recipe), "-q", "--log-format", "json"]
    if code == 3:
        argv += ["--input", "data/absent.csv"]
    got, output = run_entry(argv, capfd)
    assert got == code
    (event,) = json_lines(output)  # quiet: only the error
    assert event["event"] == "failed" and event["level"] == "error"
    assert event["exit_code"] == code and event["message"]


def test_gate_only_gives_its_verdict_as_an_event(workdir: Path, capfd) -> None:
    recipe = demo_recipe(workdir, STEPS)
    assert run_entry(["run", str(recipe), "-q"], capfd)[0] == 0
    code, output = run_entry(
        ["run", str(recipe), "--gate-only", "out/run", "--log-format", "json", "-q"], capfd
    )
    assert code == 0
    (event,) = json_lines(output)
    assert event["event"] == "verdict" and event["passed"] is True
    assert event["message"].startswith("out/run: valid against")


def test_a_tabulation_logs_json_and_sends_lineage(workdir: Path, capfd) -> None:
    recipe = tables_demo(workdir)
    (workdir / "lineage").mkdir()
    argv = ["tabulate", str(recipe), "--log-format", "json", "--lineage", "lineage"]
    code, output = run_entry(argv, capfd)
    assert code == 0, output
    events = json_lines(output)
    manifest = json.loads(next((workdir / "out").rglob("manifest.json")).read_text())
    assert events[0]["event"] == "run_started" and events[-1]["event"] == "published"
    assert events[-1]["counts"] == {"tables": len(manifest["tables"])}
    kinds = sorted(p.name.split(".")[2] for p in (workdir / "lineage").iterdir())
    assert kinds == ["COMPLETE", "START"]


def test_facts_are_sorted_by_kind_and_lists_are_never_spelled_out() -> None:
    stream = io.StringIO()
    reporter = Reporter(stream, log_format="json")
    reporter.run_id = "r1"
    with reporter.task("[2/5] recode occupation") as summary:
        summary.update(
            recoded=np.int64(3),
            share=0.5,
            missing="any",
            columns=["a", "secret"],
            ratio=float("inf"),
            warnings=["a warning"],
        )
    step, warning = (json.loads(line) for line in stream.getvalue().splitlines())
    assert step["event"] == "step" and step["step"] == "recode" and step["position"] == [2, 5]
    assert step["counts"] == {"recoded": 3} and step["measures"] == {"share": 0.5}
    assert step["notes"] == {
        "missing": "any",
        "columns": "(2 items, in the manifest)",
        "ratio": "∞",
    }
    assert "secret" not in stream.getvalue()
    assert warning["event"] == "warning" and warning["level"] == "warning"
    with pytest.raises(ValueError, match="unknown log event"):
        reporter.line("x", "no_such_event")
