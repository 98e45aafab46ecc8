"""Loading ODCS v3 contracts: every problem with file:line, unsupported rules refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.contracts.odcs import load_contract
from pipeline.core.errors import RecipeError
from tests.conftest import REPO

HEAD = "apiVersion: v3.0.2\nkind: DataContract\nid: x\nversion: 1.0.0\nstatus: active\n"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "c.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("name", ["census_input.odcs.yaml", "census_output.odcs.yaml"])
def test_bundled_contracts_load(name: str) -> None:
    contract = load_contract(REPO / "data_contracts" / name)
    assert contract.table.properties


def test_every_problem_is_reported_with_its_line(tmp_path: Path) -> None:
    text = HEAD + (
        "schema:\n"
        "  - name: t\n"
        "    quality:\n"
        "      - {type: library, metric: rowCount}\n"  # line 9: no operator
        "    properties:\n"
        "      - name: a\n"
        "        quality:\n"
        "          - {type: sql, query: 'select 1', mustBe: 0}\n"  # line 13: sql refused
        "      - name: b\n"
        "        quality:\n"
        "          - {type: library, metric: mean, mustBe: 0}\n"  # line 16: unknown metric
    )
    with pytest.raises(RecipeError) as info:
        load_contract(write(tmp_path, text))
    shown = str(info.value)
    assert "c.yaml:9" in shown and "needs one of" in shown
    assert "c.yaml:12" in shown or "c.yaml:13" in shown
    assert "type sql are not executed" in shown
    assert "unknown property metric 'mean'" in shown
    assert len(info.value.problems) == 3


def test_missing_file_and_bad_yaml(tmp_path: Path) -> None:
    with pytest.raises(RecipeError, match="not found"):
        load_contract(tmp_path / "nope.yaml")
    with pytest.raises(RecipeError) as info:
        load_contract(write(tmp_path, HEAD + "schema: [\n"))
    assert "c.yaml:" in str(info.value)


def test_wrong_api_version_is_refused(tmp_path: Path) -> None:
    text = HEAD.replace("v3.0.2", "v2.2.0") + "schema:\n  - name: t\n"
    with pytest.raises(RecipeError, match="apiVersion"):
        load_contract(write(tmp_path, text))


def test_rule_operators() -> None:
    from pipeline.contracts.odcs import QualityRule

    rule = QualityRule(metric="nullValues", mustBeLessThan=5, unit="percent")
    assert rule.passes(4, 100) and not rule.passes(5, 100)
    assert rule.threshold() == "mustBeLessThan 5 %"
    between = QualityRule(metric="rowCount", mustBeBetween=[10, 20])
    assert between.passes(10, 0) and between.passes(20, 0) and not between.passes(21, 0)
    wide = QualityRule(metric="rowCount", mustBeBetween=[1000, 100000000])
    assert wide.threshold() == "mustBeBetween 1,000 to 100,000,000"  # never 1e+08
