"""``anonymize scan`` as a user runs it: JSON findings, exit codes, CSV (UTF-8, CP932), Parquet."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from pipeline.cli.scan import main


def run(*args: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "pipeline.cli.entry", "scan", *args]
    return subprocess.run(cmd, capture_output=True, text=True, check=False)


@pytest.mark.slow
@pytest.mark.parametrize("encoding", ["utf-8", "cp932"])
def test_json_findings_on_csv(workdir: Path, encoding: str) -> None:
    path = workdir / "data" / "census.csv"
    if encoding != "utf-8":
        frame = pd.read_csv(path, dtype=str)
        path = workdir / "data" / "census_cp932.csv"
        frame.to_csv(path, index=False, encoding=encoding)
    result = run(str(path), "--format", "json", "--encoding", encoding)
    assert result.returncode == 0, result.stderr
    findings = json.loads(result.stdout)
    assert {f["column"] for f in findings} == {
        "name",
        "address",
        "phone",
        "email",
        "my_number",
        "drivers_licence",
    }
    assert all(
        {"column", "kind", "matches", "rows_checked", "confidence"} <= set(f) for f in findings
    )
    census = pd.read_csv(workdir / "data" / "census.csv", dtype=str)
    assert not any(v in result.stdout for v in census["my_number"].head(100))
    assert not any(v in result.stdout for v in census["name"].head(100))


@pytest.mark.slow
def test_fail_on_findings_exits_5_and_clean_files_exit_0(workdir: Path) -> None:
    census = pd.read_csv(workdir / "data" / "census.csv", dtype=str)
    census[["age", "sex", "municipality"]].to_parquet(workdir / "clean.parquet")
    assert run(str(workdir / "clean.parquet"), "--fail-on-findings").returncode == 0
    result = run(str(workdir / "data" / "census.csv"), "--fail-on-findings", "--sample", "300")
    assert result.returncode == 5
    assert "300 rows scanned" in result.stdout


def test_usage_and_input_errors() -> None:
    assert main(["nope.csv"]) == 3
    assert main(["x.csv", "--sample", "0"]) == 2
    assert main(["x.csv", "--bogus"]) == 2
