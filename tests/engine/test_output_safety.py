"""The tool never deletes, overwrites or follows a symlink to a file it did not write.

Each test plants something a user (or an attacker) could have left where a run writes, and
checks the run refuses (exit 2) or steps around it, leaving every byte as it was.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from pipeline.cli.app import app
from tests.conftest import demo_recipe, tree

STEPS = "  - top_code: {column: age, above: 90}\n"


def invoke(*args: str):
    return CliRunner().invoke(app, list(args))


def test_a_folder_with_someone_elses_manifest_is_not_replaced(workdir: Path) -> None:
    web = workdir / "out" / "run"
    web.mkdir(parents=True)
    (web / "manifest.json").write_text(json.dumps({"name": "webapp", "version": 3}))
    (web / "index.html").write_text("<h1>home</h1>")
    before = tree(web)
    result = invoke("run", str(demo_recipe(workdir, STEPS)), "-q")
    assert result.exit_code == 2, result.output
    assert "holds no manifest.json written by this tool" in result.output
    assert tree(web) == before


@pytest.mark.slow
def test_an_earlier_output_with_a_users_file_added_is_not_replaced(workdir: Path) -> None:
    recipe = demo_recipe(workdir, STEPS)
    assert invoke("run", str(recipe), "-q").exit_code == 0
    notes = workdir / "out" / "run" / "notes.txt"
    notes.write_text("my notes")
    result = invoke("run", str(recipe), "-q")
    assert result.exit_code == 2 and "notes.txt" in result.output
    assert notes.read_text() == "my notes"


@pytest.mark.slow
def test_a_symlinked_output_is_refused_and_its_target_untouched(workdir: Path) -> None:
    recipe = demo_recipe(workdir, STEPS, output="out/elsewhere")
    assert invoke("run", str(recipe), "-q").exit_code == 0  # a real output of this tool
    target = workdir / "out" / "elsewhere"
    before = tree(target)
    (workdir / "out" / "run").symlink_to(target)
    result = invoke("run", str(recipe), "-q", "--output", "out/run")
    assert result.exit_code == 2 and "symbolic link" in result.output
    assert tree(target) == before and (workdir / "out" / "run").is_symlink()
    assert not list((workdir / "out").glob(".run.old-*"))


@pytest.mark.slow
def test_a_planted_old_symlink_is_never_renamed_into_place(workdir: Path) -> None:
    victim = workdir / "victim"
    victim.mkdir()
    (victim / "manifest.json").write_text("{}")
    (workdir / "out").mkdir()
    planted = workdir / "out" / f".run.old-{'0' * 32}"
    planted.symlink_to(victim)
    result = invoke("run", str(demo_recipe(workdir, STEPS)), "-q")
    assert result.exit_code == 0, result.output
    out = workdir / "out" / "run"
    assert out.is_dir() and not out.is_symlink()
    assert planted.is_symlink() and (victim / "manifest.json").read_text() == "{}"


def test_gate_report_never_deletes_a_users_file(workdir: Path) -> None:
    """A passing run removed FILE (here: the input CSV) given as --gate-report."""
    data = workdir / "data" / "census.csv"
    before = data.read_bytes()
    result = invoke("run", str(demo_recipe(workdir, STEPS)), "-q", "--gate-report", str(data))
    assert result.exit_code == 2 and "refusing" in result.output
    assert data.read_bytes() == before


def test_gate_report_is_not_written_through_a_planted_symlink(workdir: Path) -> None:
    victim = workdir / "victim.txt"
    victim.write_text("precious")
    (workdir / "out").mkdir()
    (workdir / "out" / "run.gate_report.json").symlink_to(victim)
    recipe = demo_recipe(workdir, STEPS, extra="risk: {k: 1000}\n")  # the gate would block
    result = invoke("run", str(recipe), "-q")
    assert result.exit_code == 2 and "symbolic link" in result.output
    assert victim.read_text() == "precious"


def test_gate_report_paths_that_are_folders_or_other_files_are_refused(workdir: Path) -> None:
    recipe = demo_recipe(workdir, STEPS, extra="risk: {k: 1000}\n")
    (workdir / "reports").mkdir()
    result = invoke("run", str(recipe), "-q", "--gate-report", "reports")
    assert result.exit_code == 2 and "is a directory" in result.output
    other = workdir / "other.json"
    other.write_text(json.dumps({"tool": "someone-else", "outcome": "blocked"}))
    result = invoke("run", str(recipe), "-q", "--gate-report", str(other))
    assert result.exit_code == 2 and json.loads(other.read_text())["tool"] == "someone-else"


@pytest.mark.slow
def test_blocked_then_passing_run_replaces_then_removes_its_own_report(workdir: Path) -> None:
    report = workdir / "out" / "run.gate_report.json"
    blocked = demo_recipe(workdir, STEPS, extra="risk: {k: 1000}\n")
    assert invoke("run", str(blocked), "-q").exit_code == 4
    assert json.loads(report.read_text())["tool"] == "anonymize-pipeline"
    assert invoke("run", str(blocked), "-q").exit_code == 4  # replaced: it is ours
    assert invoke("run", str(demo_recipe(workdir, STEPS)), "-q").exit_code == 0
    assert not report.exists()


def test_output_inside_a_parquet_input_folder_is_refused(workdir: Path) -> None:
    folder = workdir / "data" / "pq"
    folder.mkdir()
    pd.read_csv(workdir / "data" / "census.csv", dtype=str).to_parquet(folder / "a.parquet")
    recipe = demo_recipe(workdir, STEPS, input_path="data/pq", output="data/pq/out")
    result = invoke("run", str(recipe), "-q")
    assert result.exit_code == 2 and "inside the input" in result.output
    assert sorted(p.name for p in folder.iterdir()) == ["a.parquet"]


@pytest.mark.slow
def test_a_second_run_on_a_locked_output_exits_6(workdir: Path) -> None:
    recipe = demo_recipe(workdir, STEPS)
    (workdir / "out").mkdir()
    fd = os.open(workdir / "out" / ".run.lock", os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        result = invoke("run", str(recipe), "-q")
        assert result.exit_code == 6 and ".run.lock" in result.output
        started = time.monotonic()
        assert invoke("run", str(recipe), "-q", "--wait", "1").exit_code == 6
        assert time.monotonic() - started >= 1.0
    finally:
        os.close(fd)
    assert invoke("run", str(recipe), "-q", "--wait", "1").exit_code == 0


def test_a_planted_lock_symlink_is_refused(workdir: Path) -> None:
    victim = workdir / "victim.txt"
    victim.write_text("precious")
    (workdir / "out").mkdir()
    (workdir / "out" / ".run.lock").symlink_to(victim)
    result = invoke("run", str(demo_recipe(workdir, STEPS)), "-q")
    assert result.exit_code == 2 and "lock file" in result.output
    assert victim.read_text() == "precious"


@pytest.mark.slow
def test_a_users_file_inside_an_earlier_output_is_never_deleted(workdir: Path) -> None:
    recipe = demo_recipe(workdir, STEPS)
    assert invoke("run", str(recipe), "-q").exit_code == 0
    for relative in ("data/NOTES.txt", "review/signoff.txt"):
        note = workdir / "out" / "run" / relative
        note.parent.mkdir(exist_ok=True)
        note.write_text("mine")
        result = invoke("run", str(recipe), "-q")
        assert result.exit_code == 2 and relative in result.output, result.output
        assert note.read_text() == "mine"
        note.unlink()


@pytest.mark.slow
def test_an_output_swapped_after_the_check_is_put_back_untouched(
    workdir: Path, monkeypatch
) -> None:
    """Between the last check and the rename another program replaces the output."""
    import pipeline.engine.publish as publish

    recipe = demo_recipe(workdir, STEPS)
    assert invoke("run", str(recipe), "-q").exit_code == 0
    out = workdir / "out" / "run"
    real, calls = publish.check_replaceable, []

    def swapping(path: Path) -> None:
        real(path)
        calls.append(path)
        if len(calls) == 3:  # the check just before the rename: now swap the folder
            out.rename(workdir / "out" / "aside")
            out.mkdir()
            (out / "thesis.docx").write_text("precious")

    monkeypatch.setattr(publish, "check_replaceable", swapping)
    result = invoke("run", str(recipe), "-q")
    assert result.exit_code == 2, result.output
    assert (out / "thesis.docx").read_text() == "precious"
    assert not list((workdir / "out").glob(".run.*-*"))
