"""The command line: help, steps, validate, exit codes, overrides."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from pipeline.cli.app import app
from pipeline.steps import STEPS
from tests.conftest import demo_recipe, write_recipe

runner = CliRunner()


def test_help_documents_exit_codes() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for text in ("0 published", "2 recipe or usage error", "3 input problem", "4 blocked"):
        assert text in " ".join(result.output.split())


def test_steps_lists_every_step_with_doc_and_parameters() -> None:
    result = runner.invoke(app, ["steps"])
    assert result.exit_code == 0
    for name, spec in STEPS.items():
        assert name in result.output
        assert spec.summary in result.output
    assert "quantile" in result.output and "replace_with" in result.output
    one = runner.invoke(app, ["steps", "top_code"])
    assert one.exit_code == 0 and "subsample" not in one.output
    assert runner.invoke(app, ["steps", "nope"]).exit_code == 2


def test_validate_ok_and_errors(workdir: Path) -> None:
    good = demo_recipe(workdir, "  - top_code: {column: age, above: 90}\n")
    result = runner.invoke(app, ["validate", str(good)])
    assert result.exit_code == 0, result.output
    bad = demo_recipe(workdir, "  - top_code: {column: age, above: ninety}\n")
    result = runner.invoke(app, ["validate", str(bad)])
    assert result.exit_code == 2
    line = bad.read_text().splitlines().index("- top_code: {column: age, above: ninety}") + 1
    assert f"{bad}:{line} steps[0].top_code.above: expected a number" in result.output


def test_validate_never_imports_the_engine(workdir: Path) -> None:
    """Checking a recipe and its input's CSV header loads no dask, pandas, Arrow, scipy or GX.

    Nor jinja2: the command starts in about 0.3 s (issue 28), most of it pydantic and numpy.
    """
    recipe = demo_recipe(workdir, "  - top_code: {column: age, above: 90}\n")
    code = (
        "import sys\n"
        "from pipeline.cli.entry import _dispatch\n"
        f"sys.argv = ['anonymize', 'validate', {str(recipe)!r}]\n"
        "try:\n    _dispatch()\nexcept SystemExit:\n    pass\n"
        "heavy = ('dask', 'distributed', 'pandas', 'pyarrow', 'scipy', 'great_expectations', "
        "'jinja2')\n"
        "print('loaded:', *[m for m in heavy if m in sys.modules])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, cwd=workdir
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "valid" in done.stdout and done.stdout.splitlines()[-1] == "loaded:"


def test_validate_checks_input_columns(workdir: Path) -> None:
    recipe = demo_recipe(workdir, "  - top_code: {column: agee, above: 90}\n")
    result = runner.invoke(app, ["validate", str(recipe)])
    assert result.exit_code == 3
    assert "column 'agee' (steps[0].top_code.column) is not in the input" in result.output
    assert runner.invoke(app, ["validate", str(recipe), "--no-input"]).exit_code == 0


def test_missing_input_and_missing_columns_exit_3(workdir: Path) -> None:
    recipe = demo_recipe(workdir, "  - shuffle_records: {}\n", input_path="data/none.csv")
    result = runner.invoke(app, ["run", str(recipe)])
    assert result.exit_code == 3 and "data/none.csv not found" in result.output
    frame = pd.read_csv(workdir / "data" / "census.csv", dtype=str)
    frame.drop(columns=["my_number", "weight"]).to_csv(workdir / "data" / "x.csv", index=False)
    result = runner.invoke(app, ["run", str(recipe), "--input", "data/x.csv"])
    assert result.exit_code == 3
    # every missing column is listed, including a declared identifier (renamed identifiers
    # must not slip through)
    assert "'my_number' (columns.identification_codes)" in result.output
    assert "'weight' (columns.weight)" in result.output


def test_wrong_encoding_exit_3(workdir: Path, census_frame) -> None:
    census_frame.to_csv(workdir / "data" / "sjis.csv", index=False, encoding="cp932")
    recipe = demo_recipe(workdir, "  - shuffle_records: {}\n", input_path="data/sjis.csv")
    result = runner.invoke(app, ["run", str(recipe)])
    assert result.exit_code == 3
    assert "not valid utf-8 text" in result.output and "cp932" in result.output


def test_unknown_scheduler_is_a_usage_error(workdir: Path) -> None:
    recipe = demo_recipe(workdir, "  - shuffle_records: {}\n")
    result = runner.invoke(app, ["run", str(recipe), "--scheduler", "gpu"])
    assert result.exit_code == 2 and "threads" in result.output


@pytest.mark.slow
def test_output_override_and_csv_format(workdir: Path) -> None:
    recipe = demo_recipe(
        workdir,
        "  - recode: {column: municipality, hierarchy: jp_region, level: prefecture}\n",
        fmt="csv",
    )
    result = runner.invoke(app, ["run", str(recipe), "--output", "elsewhere", "-q"])
    assert result.exit_code == 0, result.output
    files = list((workdir / "elsewhere" / "data").glob("*.csv"))
    data = pd.read_csv(files[0], dtype=str)
    assert data["municipality"].str.fullmatch(r"\d\d").all()
    assert (data["municipality"] == "01").any() or data["municipality"].str.startswith("0").any()
    assert not (workdir / "out").exists()


@pytest.mark.slow
def test_keyed_hash_key_never_written(workdir: Path, monkeypatch) -> None:
    key = "k3y-material-that-is-long-enough"
    monkeypatch.setenv("ANON_TEST_KEY", key)
    body = demo_recipe(workdir, "  - shuffle_records: {}\n").read_text()
    body = body.replace(
        "household_id: surrogate", "household_id: {method: keyed_hash, key_env: ANON_TEST_KEY}"
    )
    recipe = write_recipe(workdir, body, "keyed.yaml")
    result = runner.invoke(app, ["run", str(recipe)])
    assert result.exit_code == 0, result.output
    out = workdir / "out" / "run"
    assert key not in result.output
    for path in out.rglob("*"):
        if path.is_file():
            assert key.encode() not in path.read_bytes()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["steps"][1]["params"]["ids"]["household_id"]["key_env"] == "ANON_TEST_KEY"
    data = pd.read_parquet(out / "data")
    assert data["household_id"].str.fullmatch(r"[0-9a-f]{32}").all()


def test_empty_and_unbounded_options_are_usage_errors(workdir: Path) -> None:
    recipe = demo_recipe(workdir, "  - shuffle_records: {}\n")
    for args in (
        ["--output", ""],
        ["--input", " "],
        ["--gate-report", ""],
        ["--partitions", "1000000000"],
        ["--wait", "-1"],
    ):
        result = runner.invoke(app, ["run", str(recipe), *args])
        assert result.exit_code == 2, (args, result.output)
    assert not (workdir / "out").exists()


def test_demo_data_never_overwrites_and_refuses_unknown_encodings(tmp_path: Path) -> None:
    existing = tmp_path / "mine.csv"
    existing.write_text("precious")
    assert runner.invoke(app, ["demo-data", str(existing), "--rows", "5"]).exit_code == 2
    assert existing.read_text() == "precious"
    assert runner.invoke(app, ["demo-data", str(tmp_path), "--rows", "5"]).exit_code == 2
    bogus = runner.invoke(app, ["demo-data", str(tmp_path / "x.csv"), "--encoding", "bogus"])
    assert bogus.exit_code == 2 and not (tmp_path / "x.csv").exists()
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    (tmp_path / "link.csv").symlink_to(victim)
    forced = runner.invoke(app, ["demo-data", str(tmp_path / "link.csv"), "--force"])
    assert forced.exit_code == 2 and victim.read_text() == "precious"
    result = runner.invoke(app, ["demo-data", str(existing), "--rows", "5", "--force"])
    assert result.exit_code == 0 and len(existing.read_text().splitlines()) == 6
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.csv", "mine.csv", "victim.txt"]


def test_unknown_step_and_scheduler_names_get_a_hint() -> None:
    from typer.testing import CliRunner

    from pipeline.cli.app import app

    result = CliRunner().invoke(app, ["steps", "recod"])
    assert result.exit_code == 2 and "did you mean 'recode'?" in result.output
    result = CliRunner().invoke(app, ["run", "r.yaml", "--scheduler", "thread"])
    assert result.exit_code == 2 and "did you mean 'threads'?" in result.output


def test_help_shows_no_type_beside_flags_and_fits_80_columns(capfd, monkeypatch) -> None:
    from tests.conftest import run_entry

    for command in ("run", "tabulate", "validate", "demo-data"):
        result = runner.invoke(app, [command, "--help"], env={"COLUMNS": "80"})
        assert result.exit_code == 0, result.output
        assert "<bool>" not in result.output and "--no-debug" not in result.output
        assert max(len(line) for line in result.output.splitlines()) <= 80, result.output
    shown = runner.invoke(app, ["run", "--help"]).output
    assert "--package DIR" in shown and re.search(r"^  --debug +Show", shown, re.MULTILINE)
    monkeypatch.setenv("COLUMNS", "80")
    for command in ("risk", "scan", "utility"):
        code, output = run_entry([command, "--help"], capfd)
        assert code == 0 and "--delimiter CHAR" in output
        assert max(len(line) for line in output.splitlines()) <= 80, output


def test_run_and_validate_point_a_tabulation_recipe_to_tabulate(workdir: Path) -> None:
    body = "version: 1\nkind: tabulation\nname: t\ninput: {path: data/census.csv}\n"
    recipe = write_recipe(workdir, body + "output: {dir: out/t}\ntables: []\n")
    result = runner.invoke(app, ["run", str(recipe)])
    assert result.exit_code == 2 and "run it with `anonymize tabulate`" in result.output
    assert "unknown key" not in result.output
