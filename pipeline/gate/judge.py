"""Judge the gate's stages: every check of a stage's kinds on its evidence, all collected.

The input stage checks the input contract and scans for undeclared identifiers on the ingested
data (identifier columns are never read: the contract may only require that they exist). The
output stage checks the recipe-derived privacy expectations and the output contract on the
files about to be published. What each stage checks is its kinds' (``pipeline.gate.catalog``).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from pipeline.core.errors import Problem
from pipeline.core.numbers import number
from pipeline.gate.catalog import CheckKind, Evidence, judged
from pipeline.gate.gx_engine import engine_version
from pipeline.gate.model import GateReport, GateResult
from pipeline.io.owned import is_gate_report, remove_if_ours, remove_page_if_ours, replace_file

GATE_REPORT = "gate_report.json"
BLOCKED_PAGE = "blocked-run"  # the kind of page a blocked run leaves beside its gate report


def stage_result(evidence: Evidence, chosen: Sequence[CheckKind]) -> GateResult:
    """The stage's result: every check of the ``chosen`` kinds on the measured ``evidence``."""
    started = time.perf_counter()
    checks = judged(chosen, evidence)
    validated = any(c.engine == "great_expectations" for c in checks)
    return GateResult(
        stage=evidence.stage,
        passed=all(c.passed for c in checks),
        checks=checks,
        batches=evidence.batches,
        rows=evidence.validated,
        seconds=round(time.perf_counter() - started, 3),
        engine_versions={"great_expectations": engine_version()} if validated else {},
    )


def problems(report: GateReport) -> list[Problem]:
    """Every failed check as a problem line (reason code, id, what, observed vs required)."""
    out = []
    for check in report.failures:
        observed = "n/a" if check.observed is None else number(check.observed)
        out.append(
            Problem(
                f"{check.description}: observed {observed}, required {check.threshold}",
                location=f"[{check.reason}] {check.stage} {check.id}:",
                code=check.reason,
            )
        )
    return out


def write_gate_report(path: Path, report: GateReport) -> Path:
    """Write the gate report JSON (counts and names only, never values).

    Only a gate report written by this tool is replaced (see ``pipeline.io.owned``).

    Raises:
        RecipeError: ``path`` is a directory, a symlink or another file (exit 2).
    """
    text = report.model_dump_json(indent=2) + "\n"
    return replace_file(path, text, is_gate_report, "gate report")


def remove_stale_report(path: Path) -> None:
    """Remove an earlier blocked run's gate report at ``path`` and its page (if ours)."""
    remove_if_ours(path, is_gate_report)
    remove_page_if_ours(page_path(path), BLOCKED_PAGE)


def page_path(report_path: Path) -> Path:
    """Where a blocked run's page goes: beside its gate report (``X.gate_report.html``)."""
    if report_path.suffix == ".json":
        return report_path.with_suffix(".html")
    return report_path.parent / f"{report_path.name}.html"
