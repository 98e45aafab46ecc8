"""Run the gate's stages: GX row checks per batch plus whole-table checks, all collected.

The input stage checks the input contract on the ingested data (identifier columns are never
read: the contract may only require that they exist). The output stage checks the recipe-derived
privacy expectations and the output contract on the files about to be published.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import pyarrow as pa

from pipeline.contracts.odcs import Contract
from pipeline.core.columns import ColumnsSpec
from pipeline.core.errors import Problem
from pipeline.gate import contracts as contract_checks
from pipeline.gate import derive
from pipeline.gate.checks import RowCheck, Stage
from pipeline.gate.gx_engine import engine_version, validate_tables
from pipeline.gate.model import CheckResult, GateReport, GateResult
from pipeline.io.dataset import Dataset
from pipeline.io.owned import is_gate_report, remove_if_ours, replace_file
from pipeline.recipe.models import Recipe
from pipeline.risk.summary import RiskSummary

GATE_REPORT = "gate_report.json"


Validated = tuple[list[CheckResult], int, int]  # what RowValidator.finish gives


def run_stage(
    stage: Stage,
    data: Dataset,
    rows: Sequence[RowCheck],
    table: Sequence[CheckResult],
    validated: Validated | None = None,
) -> GateResult:
    """Validate ``rows`` checks with GX and add the ``table`` results.

    ``validated`` are the rows' results from a validator fed during one of the engine's passes
    (the checks in the same order); without it the data's tables are read and validated here.
    """
    started = time.perf_counter()
    needed = list(dict.fromkeys(c.column for c in rows if c.column))
    results, batches, counted = validated or ([], 0, 0)
    if validated is not None and [r.id for r in results] != [c.id for c in rows]:
        # the pass validated other checks than the stage derives from these files: never
        # judge with results that do not belong to them (a bug of the caller)
        raise RuntimeError(f"{stage} stage: the validated row checks are not the stage's")
    if rows and validated is None:
        results, batches, counted = validate_tables(data.chunks(needed), list(rows), stage)
    checks = [*table, *results]
    return GateResult(
        stage=stage,
        passed=all(c.passed for c in checks),
        checks=checks,
        batches=batches,
        rows=counted,
        seconds=round(time.perf_counter() - started, 3),
        engine_versions={"great_expectations": engine_version()} if rows else {},
    )


def input_gate(
    contract: Contract,
    data: Dataset,
    identifiers_present: set[str],
    whole_numbers: set[str],
    extra: Sequence[CheckResult] = (),
    validated: Validated | None = None,
) -> GateResult:
    """Check the input contract before any step runs (plus ``extra`` table checks).

    ``validated``: the results of :func:`input_row_checks`, validated during a pass.
    """
    table = contract_checks.table_checks(
        contract, data, "input", whole_numbers, identifiers_present
    )
    rows = input_row_checks(contract, data.schema)
    return run_stage("input", data, rows, [*extra, *table], validated)


def input_row_checks(contract: Contract | None, schema: pa.Schema) -> list[RowCheck]:
    """The input contract's row checks on the columns of ``schema``."""
    return [] if contract is None else contract_checks.row_checks(contract, schema)


def output_row_checks(
    steps: Sequence[derive.RanStep],
    base_dir: Path,
    contract: Contract | None,
    schema: pa.Schema,
    columns: ColumnsSpec,
) -> tuple[list[RowCheck], list[RowCheck]]:
    """The output stage's row checks: (those on columns of ``schema``, those on absent ones)."""
    rows = derive.row_checks(steps, base_dir, columns)
    if contract is not None:
        rows += contract_checks.row_checks(contract, schema)
    present = set(schema.names)
    return [c for c in rows if c.column in present], [c for c in rows if c.column not in present]


def output_gate(
    recipe: Recipe,
    base_dir: Path,
    data: Dataset,
    steps: Sequence[derive.RanStep],
    rows_in: int,
    risk_summary: RiskSummary | None,
    expected_columns: list[str],
    contract: Contract | None = None,
    extra: Sequence[CheckResult] = (),
    validated: Validated | None = None,
) -> GateResult:
    """Check the recipe-derived privacy expectations and the output contract.

    ``validated``: the results of :func:`output_row_checks` (the present ones), validated on
    the batches being written.
    """
    rows, missing = output_row_checks(steps, base_dir, contract, data.schema, recipe.columns)
    table = [
        *extra,
        *derive.column_checks(recipe, "output", data.columns, expected_columns),
        derive.row_count_check("output", rows_in, steps, data.rows(), recipe.columns),
        *derive.risk_checks(recipe, "output", risk_summary),
    ]
    if contract is not None:
        table += contract_checks.table_checks(contract, data, "output", set())
    return run_stage("output", data, rows, [*table, *map(_absent, missing)], validated)


def _absent(check: RowCheck) -> CheckResult:
    """A row check whose column is not in the data fails (the column set check says why)."""
    return check.result("output", 0, 0).model_copy(
        update={
            "passed": False,
            "observed": None,
            "description": f"{check.description} (column {check.column} is not in the output)",
        }
    )


def problems(report: GateReport) -> list[Problem]:
    """Every failed check as a problem line (reason code, id, what, observed vs required)."""
    out = []
    for check in report.failures:
        observed = "n/a" if check.observed is None else f"{check.observed:g}"
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
    """Remove an earlier blocked run's gate report at ``path``, if this tool wrote it."""
    remove_if_ours(path, is_gate_report)
