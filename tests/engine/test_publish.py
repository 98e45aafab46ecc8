"""Fail-closed publishing: a failed or killed run leaves the previous output untouched."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from pipeline import TOOL
from pipeline.cli.app import app
from pipeline.core.errors import RecipeError
from pipeline.engine.publish import Staging, recover
from pipeline.steps import STEPS
from pipeline.steps.registry import Effect
from tests.conftest import demo_recipe

STEPS_YAML = """\
  - top_code: {column: age, above: 90}
  - shuffle_records: {}
"""


def snapshot(out: Path) -> dict[str, str]:
    return {
        str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(out.rglob("*"))
        if p.is_file()
    }


def leftovers(parent: Path) -> list[str]:
    """Hidden entries beside the output, except the lock file a run leaves on purpose."""
    return sorted(
        p.name for p in parent.iterdir() if p.name.startswith(".") and p.suffix != ".lock"
    )


def _boom(df, params, ctx):
    def explode(part, partition_info=None):
        if partition_info and partition_info["number"] == 2:
            raise RuntimeError("disk on fire")
        return part

    return Effect(df.map_partitions(explode, meta=df._meta))


@pytest.mark.slow
def test_failing_step_leaves_previous_output(workdir: Path, monkeypatch) -> None:
    recipe = demo_recipe(workdir, STEPS_YAML)
    runner = CliRunner()
    assert runner.invoke(app, ["run", str(recipe), "-q"]).exit_code == 0
    out = workdir / "out" / "run"
    before = snapshot(out)
    # shuffle_records now raises in the middle of the computation (partition 2 of 4)
    monkeypatch.setitem(STEPS, "shuffle_records", replace(STEPS["shuffle_records"], func=_boom))
    result = runner.invoke(app, ["run", str(recipe), "-q", "--partitions", "4"])
    assert result.exit_code == 1, result.output
    assert "RuntimeError" in result.output
    assert snapshot(out) == before
    assert leftovers(out.parent) == []


def test_input_error_leaves_no_output_and_no_staging(workdir: Path) -> None:
    frame = pd.read_csv(workdir / "data" / "census.csv", dtype=str)
    frame.loc[[3, 10], "income"] = "unknown"
    frame.to_csv(workdir / "data" / "census.csv", index=False)
    recipe = demo_recipe(workdir, STEPS_YAML.replace("age, above: 90", "income, above: 1e7"))
    result = CliRunner().invoke(app, ["run", str(recipe), "-q"])
    assert result.exit_code == 3
    assert "column 'income': 2 value(s) are not numbers (data records 4, 11)" in result.output
    assert "unknown" not in result.output.replace("'income'", "")
    assert not (workdir / "out" / "run").exists()
    assert leftovers(workdir / "out") == []


@pytest.mark.slow
def test_killed_run_leaves_previous_output_and_next_run_cleans_up(
    workdir: Path, census_frame
) -> None:
    big = pd.concat([census_frame] * 100, ignore_index=True)
    big.to_csv(workdir / "data" / "big.csv", index=False)
    recipe = demo_recipe(workdir, STEPS_YAML, input_path="data/big.csv")
    cmd = [sys.executable, "-m", "pipeline", "run", str(recipe), "-q"]
    subprocess.run(cmd, check=True, cwd=workdir)
    out = workdir / "out" / "run"
    before = snapshot(out)
    proc = subprocess.Popen(cmd, cwd=workdir)
    deadline = time.monotonic() + 60
    staging: list[Path] = []
    while time.monotonic() < deadline and not staging:  # the checkpoint (written when too
        # large to hold) or the final pass's spill: the run is writing its staging folder
        staging = [
            *(workdir / "out").glob(".run.staging-*/.work/ingest/part-*"),
            *(workdir / "out").glob(".run.staging-*/.work/final/part-*"),
        ]
        time.sleep(0.02)
    assert staging, "the run never started writing"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert snapshot(out) == before
    assert any(n.startswith(".run.staging-") for n in leftovers(out.parent))
    subprocess.run(cmd, check=True, cwd=workdir)
    assert leftovers(out.parent) == []
    assert snapshot(out)["manifest.json"] != before["manifest.json"]  # a new run_id


@pytest.mark.slow
def test_sigterm_cleans_up(workdir: Path, census_frame) -> None:
    big = pd.concat([census_frame] * 100, ignore_index=True)
    big.to_csv(workdir / "data" / "big.csv", index=False)
    recipe = demo_recipe(workdir, STEPS_YAML, input_path="data/big.csv")
    proc = subprocess.Popen(
        [sys.executable, "-m", "pipeline", "run", str(recipe), "-q"], cwd=workdir
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not list((workdir / "out").glob(".run.staging-*")):
        time.sleep(0.02)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) != 0
    assert not (workdir / "out" / "run").exists()
    assert leftovers(workdir / "out") == []


def test_refuses_to_replace_a_directory_it_did_not_write(tmp_path: Path) -> None:
    target = tmp_path / "home"
    target.mkdir()
    (target / "thesis.docx").write_text("precious")
    with pytest.raises(RecipeError, match="refusing to replace"), Staging(target, "x"):
        pass
    assert (target / "thesis.docx").read_text() == "precious"


def test_recover_restores_output_caught_between_renames(tmp_path: Path) -> None:
    out = tmp_path / "out"
    old = tmp_path / f".out.old-{'a' * 32}"
    old.mkdir()
    (old / "manifest.json").write_text(json.dumps({"tool": TOOL, "schema_version": "1.1"}))
    recover(out)
    assert (out / "manifest.json").exists() and not old.exists()


def test_recover_touches_nothing_without_this_tools_marker(tmp_path: Path) -> None:
    out = tmp_path / "out"
    foreign = tmp_path / f".out.old-{'b' * 32}"
    foreign.mkdir()
    (foreign / "manifest.json").write_text("{}")  # not this tool's manifest
    target = tmp_path / "elsewhere"
    target.mkdir()
    (target / "manifest.json").write_text(json.dumps({"tool": TOOL, "schema_version": "1.1"}))
    planted = tmp_path / f".out.old-{'c' * 32}"
    planted.symlink_to(target)
    staging = tmp_path / f".out.staging-{'d' * 32}"
    staging.mkdir()
    (staging / "keep.txt").write_text("not ours")
    recover(out)
    assert not out.exists()
    assert foreign.is_dir() and planted.is_symlink() and (staging / "keep.txt").exists()
    assert (target / "manifest.json").exists()
