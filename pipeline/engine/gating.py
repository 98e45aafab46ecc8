"""The gate inside a run, and ``--gate-only`` re-validation of a published output.

Fail closed: a failed stage writes the gate report (next to the output, never into it) and
raises, so the staging directory is removed and the previous output stays untouched.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from pipeline.dataset import Dataset
from pipeline.errors import GateError, InputDataError, Problem
from pipeline.gate import run as gate_run
from pipeline.gate.checks import RowCheck, table_result
from pipeline.gate.derive import RanStep
from pipeline.gate.model import CheckResult, GateReport, GateResult
from pipeline.gate.run import (
    GATE_REPORT,
    Validated,
    input_gate,
    output_gate,
    problems,
    remove_stale_report,
    run_stage,
    write_gate_report,
)
from pipeline.gate.scanning import scan_checks
from pipeline.manifest import Manifest, StepRecord, now_utc
from pipeline.recipe.loader import LoadedRecipe, StepCall
from pipeline.recipe.models import Recipe
from pipeline.steps.registry import StepParams


def default_report_path(out_dir: Path) -> Path:
    """Where a run's gate report goes when publication is blocked: beside the output."""
    out_dir = out_dir.absolute()
    return out_dir.parent / f"{out_dir.name}.{GATE_REPORT}"


def uses_row_checks(loaded: LoadedRecipe) -> bool:
    """Whether a run of ``loaded`` validates rows with GX (contracts, or steps with row checks)."""
    if loaded.input_contract is not None or loaded.output_contract is not None:
        return True
    return any(type(c.params).requirements is not StepParams.requirements for c in loaded.steps)


def contract_numeric(loaded: LoadedRecipe) -> list[str]:
    """Input-contract columns declared integer or number (read from CSV as numbers)."""
    contract = loaded.input_contract
    if contract is None:
        return []
    removed = set(loaded.recipe.columns.removed())
    return [
        p.name
        for p in contract.table.properties
        if p.logicalType in ("integer", "number") and p.name not in removed
    ]


def _report(loaded: LoadedRecipe, run_id: str, outcome: str, **stages: Any) -> GateReport:
    passed = all(s.passed for s in stages.values() if s is not None)
    return GateReport(
        run_id=run_id,
        generated_at=now_utc(),
        recipe_name=loaded.recipe.name,
        recipe_sha256=loaded.sha256,
        outcome=outcome,
        passed=passed,
        **stages,
    )


@dataclass(frozen=True)
class Measured:
    """What one pass over a stage's data found (see ``pipeline.engine.measure``).

    Attributes:
        validated: The GX row checks' results (None: validate the data's files here).
        scanned: The identifier scan's checks.
        risk: The risk summary of the data (None without key variables).
    """

    validated: Validated | None = None
    scanned: list[CheckResult] = field(default_factory=list)
    risk: dict[str, Any] | None = None


def input_row_checks(loaded: LoadedRecipe, schema: pa.Schema) -> list[RowCheck]:
    """The input contract's row checks."""
    return gate_run.input_row_checks(loaded.input_contract, schema)


def input_scan_columns(recipe: Recipe, data: Dataset) -> list[str]:
    """The input columns scanned for undeclared identifiers (none with ``undeclared: off``)."""
    if recipe.scan.undeclared == "off":
        return []
    declared = {*recipe.columns.removed(), *recipe.columns.linking_ids}
    return [c for c in data.columns if c not in declared]


def check_input(
    loaded: LoadedRecipe,
    recipe: Recipe,
    run_id: str,
    data: Dataset,
    facts: tuple[list[str], set[str]],
    measured: Measured,
    report_path: Path,
) -> GateResult | None:
    """Judge the input contract and the scan for undeclared identifiers; exit 3 on failure.

    ``facts``: the input's header and its whole-number columns.
    """
    started = time.perf_counter()
    contract, (header, whole_numbers) = loaded.input_contract, facts
    scanned = measured.scanned
    if contract is None and not scanned:
        return None
    if contract is None:
        result = run_stage("input", data, [], scanned)
    else:
        identifiers = set(recipe.columns.removed()) & set(header)
        result = input_gate(contract, data, identifiers, whole_numbers, scanned, measured.validated)
    result.seconds = round(time.perf_counter() - started, 3)
    if not result.passed:
        report = _report(loaded, run_id, "input_rejected", input=result)
        write_gate_report(report_path, report)
        what = [f"breaks its contract {recipe.contracts.input}"] if contract else []
        if any(not c.passed for c in scanned):
            what.append("holds identifiers in columns the recipe does not declare")
        raise InputDataError(
            problems(report),
            title=f"input {recipe.input.path} {' and '.join(what)} (gate report: {report_path})",
        )
    return result


def output_scan(recipe: Recipe, data: Dataset) -> list[CheckResult]:
    """The output must scan clean (unless the recipe turns that check off)."""
    if not recipe.scan.output:
        return []
    return scan_checks("output", data, data.columns, recipe.scan, recipe.seed)


def output_row_checks(
    loaded: LoadedRecipe, steps: list[RanStep], schema: pa.Schema
) -> list[RowCheck]:
    """The output stage's GX row checks on the columns of ``schema``."""
    return gate_run.output_row_checks(steps, loaded.base_dir, loaded.output_contract, schema)[0]


def ran_steps(calls: list[StepCall], records: list[StepRecord]) -> list[RanStep]:
    """Pair the recipe's step calls with their records (automatic steps left out)."""
    own = [r for r in records if not r.automatic]
    return [
        RanStep(c.index, c.spec.name, c.params, r.facts, r.rows_in, r.rows_out)
        for c, r in zip(calls, own, strict=False)
    ]


def output_dataset(data_dir: Path, recipe: Recipe, types: dict[str, str]) -> Dataset:
    """The data files of an output (Parquet, or CSV read with the run's column types)."""
    if recipe.output.format == "parquet":
        return Dataset.parquet(data_dir)
    return Dataset.csv(data_dir, types, recipe.output.encoding)


def check_output(
    loaded: LoadedRecipe,
    recipe: Recipe,
    run_id: str,
    data: Dataset,
    produced: tuple[list[RanStep], int, list[str]],
    measured: Measured,
    input_result: GateResult | None,
    report_path: Path,
) -> GateReport:
    """Judge the output stage; raise GateError (exit 4) with every failure if anything fails.

    ``produced``: the steps that ran, the input's row count and the columns expected out.
    """
    started = time.perf_counter()
    steps, rows_in, expected_columns = produced
    result = output_gate(
        recipe, loaded.base_dir, data, steps, rows_in, measured.risk, expected_columns,
        loaded.output_contract, measured.scanned, measured.validated,
    )  # fmt: skip
    result.seconds = round(time.perf_counter() - started, 3)
    outcome = "published" if result.passed else "blocked"
    report = _report(loaded, run_id, outcome, input=input_result, output=result)
    if not result.passed:
        write_gate_report(report_path, report)
        raise GateError(
            problems(report),
            title=f"blocked by the gate: nothing published to {recipe.output.dir} "
            f"(gate report: {report_path})",
        )
    remove_stale_report(report_path)  # of an earlier blocked run, if this tool wrote it
    return report


def gate_only(loaded: LoadedRecipe, recipe: Recipe, out_dir: Path) -> GateReport:
    """Re-validate a published output against the recipe (for auditors); writes nothing.

    Raises:
        GateError: a data file cannot be read at all (the output is invalid, exit 4).
        InputDataError: ``out_dir`` holds no manifest of a published output (exit 3).
    """
    try:
        return _gate_only(loaded, recipe, out_dir)
    except InputDataError as exc:
        if any(p.code == "file_unreadable" for p in exc.problems):
            raise GateError(exc.problems, title=f"{out_dir}: INVALID output") from None
        raise


def _gate_only(loaded: LoadedRecipe, recipe: Recipe, out_dir: Path) -> GateReport:
    from pipeline.report.build import snapshot

    try:
        manifest = Manifest.model_validate_json((out_dir / "manifest.json").read_text())
    except (OSError, ValueError):
        raise InputDataError(
            [Problem(f"{out_dir} holds no readable manifest.json", code="no_manifest")],
            title="not a published output",
        ) from None
    data = output_dataset(out_dir / "data", recipe, manifest.column_types)
    extra = [_recipe_matches(loaded, manifest), _integrity(out_dir, manifest)]
    extra += output_scan(recipe, data)
    summary = None
    keys = recipe.columns.key_variables
    if keys and set(keys) <= set(data.columns):  # a missing key fails the column-set check
        summary = snapshot(data.chunks, recipe, set(data.columns)).summary
    steps = ran_steps(loaded.steps, manifest.steps)
    result = output_gate(
        recipe, loaded.base_dir, data, steps, manifest.rows_in, summary, manifest.columns_out,
        loaded.output_contract, extra,
    )  # fmt: skip
    outcome = "valid" if result.passed else "invalid"
    return _report(loaded, manifest.run_id, outcome, output=result)


def _recipe_matches(loaded: LoadedRecipe, manifest: Manifest) -> CheckResult:
    same = manifest.recipe.sha256 == loaded.sha256
    return table_result(
        "output", "manifest.recipe", "recipe_mismatch",
        "the output was produced by this recipe (sha256 in manifest.json)", int(not same),
        "same sha256", same,
    )  # fmt: skip


def _integrity(out_dir: Path, manifest: Manifest) -> CheckResult:
    listed = {f.path: f.sha256 for f in manifest.files}
    found = {str(p.relative_to(out_dir)) for p in (out_dir / "data").glob("*") if p.is_file()}
    bad = len(found ^ set(listed))
    for rel, digest in listed.items():
        path = out_dir / rel
        if path.is_file() and hashlib.sha256(path.read_bytes()).hexdigest() != digest:
            bad += 1
    return table_result(
        "output", "manifest.files", "file_integrity",
        f"the {len(listed)} data files are exactly those listed in manifest.json, unchanged",
        bad, "0 files changed, missing or added", bad == 0,
    )  # fmt: skip


def summary_lines(report: GateReport) -> list[str]:
    """A readable summary: one line per stage, one per failure."""
    lines = []
    for result in (report.input, report.output):
        if result is None:
            continue
        failed = len(result.failures)
        lines.append(
            f"gate {result.stage}: {len(result.checks) - failed}/{len(result.checks)} checks "
            f"passed ({result.rows} rows in {result.batches} batches, {result.seconds:.2f} s)"
        )
    lines += [f"  {p}" for p in problems(report)]
    return lines
