"""What a check says in words: figures for people, as on the pages and in the log."""

from __future__ import annotations

from pipeline.gate.checks import cap_check
from pipeline.gate.judge import problems
from pipeline.gate.model import GateReport, GateResult


def test_a_cap_and_an_observed_figure_are_never_in_scientific_notation() -> None:
    check = cap_check("income", 17072895.0, upper=True)
    assert check.description == "no value of income above 17,072,895"
    assert check.threshold == "0 rows above 17,072,895"
    result = check.result("output", 12345678.0, 5).model_copy(update={"passed": False})
    report = GateReport(
        run_id="r",
        generated_at="2026-12-06T00:00:00Z",
        recipe_name="t",
        recipe_sha256="0" * 64,
        outcome="blocked",
        passed=False,
        output=GateResult(stage="output", passed=False, checks=[result]),
    )
    (line,) = problems(report)
    assert "observed 12,345,678, required 0 rows above 17,072,895" in line.message
    assert "e+0" not in line.message
