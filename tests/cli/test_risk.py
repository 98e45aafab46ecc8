"""``anonymize risk``: disclosure risk of a file for auditors, against sdcMicro's figures."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline.cli.app import app
from tests.conftest import run_entry

runner = CliRunner()
TESTDATA = Path(__file__).resolve().parents[1] / "data" / "sdcmicro_testdata.csv"
KEYS = ["urbrur", "roof", "walls", "water", "electcon", "relat", "sex"]
ARGS = ["risk", str(TESTDATA), "--key-vars", ",".join(KEYS), "--weight", "sampling_weight"]


def test_json_matches_sdcmicro() -> None:
    result = runner.invoke(app, [*ARGS, "--k", "3", "--format", "json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)  # exactly one JSON object on stdout
    assert isinstance(summary, dict)
    assert summary["records"] == 4580
    assert summary["k"] == 3
    assert summary["sample_uniques"] == 157
    assert summary["k_violations"] == 281
    assert summary["expected_reidentifications"] == pytest.approx(10.78, abs=0.005)
    assert summary["global_risk"] * 100 == pytest.approx(0.24, abs=0.005)
    assert summary["global_risk"] == pytest.approx(
        summary["expected_reidentifications"] / 4580, rel=1e-12
    )
    assert 0 < summary["max_individual_risk"] <= 1
    assert list(summary["key_variables"]) == KEYS
    for info in summary["key_variables"].values():
        assert set(info) >= {"categories", "missing"}
        assert info["missing"] == 0
    assert summary["key_variables"]["urbrur"]["categories"] == 2
    assert summary["key_variables"]["sex"]["categories"] == 2
    assert "household_expected_reidentifications" not in summary


def test_k2_violations_are_sample_uniques() -> None:
    result = runner.invoke(app, [*ARGS, "--k", "2", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["k_violations"] == 157


def test_text_format() -> None:
    result = runner.invoke(app, [*ARGS, "--k", "3", "--format", "text"])
    assert result.exit_code == 0, result.output
    assert "sample_uniques: 157" in result.stdout
    assert "k_violations: 281" in result.stdout
    er = re.search(r"expected_reidentifications: ([0-9.eE+-]+)", result.stdout)
    assert er is not None
    assert float(er.group(1)) == pytest.approx(10.78, abs=0.005)
    assert "relat:" in result.stdout and "categories" in result.stdout
    # text is the default
    default = runner.invoke(app, [*ARGS, "--k", "3"])
    assert default.exit_code == 0
    assert default.stdout == result.stdout


def test_household_adds_fields() -> None:
    result = runner.invoke(app, [*ARGS, "--household", "ori_hid", "--format", "json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["sample_uniques"] == 157
    hh_er = summary["household_expected_reidentifications"]
    assert hh_er >= summary["expected_reidentifications"]
    assert summary["household_global_risk"] == pytest.approx(hh_er / 4580, rel=1e-12)
    assert "ori_hid" not in summary["key_variables"]


def test_missing_column_exits_3() -> None:
    args = ["risk", str(TESTDATA), "--key-vars", "urbrur,no_such_col", "--format", "json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 3
    assert "no_such_col" in result.output


def test_missing_file_exits_3(tmp_path: Path) -> None:
    missing = tmp_path / "absent.csv"
    result = runner.invoke(app, ["risk", str(missing), "--key-vars", "a,b"])
    assert result.exit_code == 3
    assert "absent.csv" in result.output


def test_bad_format_exits_2() -> None:
    result = runner.invoke(app, [*ARGS, "--format", "xml"])
    assert result.exit_code == 2
    assert result.stdout == ""


def _names_csv(tmp_path: Path) -> Path:
    path = tmp_path / "people.csv"
    rows = [f"PLANTNAME{i} Taro,{i % 3},{i % 2}" for i in range(40)]
    path.write_text("name,a,b\n" + "\n".join(rows) + "\n")
    return path


def test_weight_column_of_names_is_a_named_error_without_values(tmp_path: Path, capfd) -> None:
    """Before: a traceback quoting the name (`Failed to parse string: '<name>'`)."""
    path = _names_csv(tmp_path)
    for extra in ([], ["--debug"]):
        argv = ["risk", str(path), "--key-vars", "a,b", "--weight", "name", *extra]
        code, output = run_entry(argv, capfd)
        assert code == 3
        assert "weight column 'name': 40 value(s) are not numbers" in output
        assert "PLANTNAME" not in output and "Traceback" not in output


def test_csv_parse_error_names_the_line_never_the_row(tmp_path: Path, capfd) -> None:
    path = _names_csv(tmp_path)
    path.write_text(path.read_text() + "PLANTNAME99 Hanako,1,2,extra\n")
    code, output = run_entry(["risk", str(path), "--key-vars", "a,b", "--debug"], capfd)
    assert code == 3 and "line 42: 4 fields, the header has 3" in output
    assert "PLANTNAME" not in output


@pytest.mark.parametrize(
    "extra", [["--k", "100000000000000000000000"], ["--k", "0"], ["--encoding", "bogus"]]
)
def test_bounded_options_are_usage_errors(extra: list[str]) -> None:
    result = runner.invoke(app, [*ARGS, *extra])
    assert result.exit_code == 2
