"""The gate of a run: each stage judged against the recipe, failing closed.

A failed stage writes the gate report (next to the output, never into it) and raises, so the
staging directory is removed and the previous output stays untouched. The row checks and the
scan are measured by the engine during its passes over the data (``Measured``); what is read
from the files here is whole-table facts only (row counts, column sets, contract rules).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from pipeline.core.artifact import now_utc
from pipeline.core.errors import GateError, InputDataError
from pipeline.core.requirements import GroupSize
from pipeline.gate import judge
from pipeline.gate.checks import RowCheck
from pipeline.gate.derive import RanStep
from pipeline.gate.groups import group_needs
from pipeline.gate.judge import GATE_REPORT, Validated, problems
from pipeline.gate.model import CheckResult, GateReport, GateResult
from pipeline.gate.scanning import scan_checks
from pipeline.gate.utility import utility_checks
from pipeline.io.dataset import Dataset
from pipeline.recipe.loader import LoadedRecipe
from pipeline.recipe.models import Recipe
from pipeline.steps.registry import StepParams
from pipeline.utility.model import Utility


@dataclass(frozen=True)
class Measured:
    """What one pass over a stage's data found (see ``pipeline.engine.measure``).

    Attributes:
        validated: The GX row checks' results (None: validate the data's files here).
        scanned: Whole-table checks of the pass (identifier scan, microaggregation groups).
        risk: The risk summary of the data (None without key variables).
        utility: The information loss of the run (output stage of a run only).
    """

    validated: Validated | None = None
    scanned: list[CheckResult] = field(default_factory=list)
    risk: dict[str, Any] | None = None
    utility: Utility | None = None


@dataclass(frozen=True)
class Produced:
    """What the run made of its input: the steps that ran, input rows, the columns expected."""

    steps: list[RanStep]
    rows_in: int
    columns: list[str]


@dataclass(frozen=True)
class Verdict:
    """How a stage concludes: a report, written beside the output and raised when it fails.

    Attributes:
        recipe_name: The recipe's name (in the report).
        recipe_sha256: The recipe file's SHA-256 (in the report).
        run_id: The run's id (in the report).
        report_path: Where the gate report goes when a stage fails.
    """

    recipe_name: str
    recipe_sha256: str
    run_id: str
    report_path: Path

    def report(self, outcome: str, **stages: Any) -> GateReport:
        """The gate report of the run from its stages' results."""
        passed = all(s.passed for s in stages.values() if s is not None)
        return GateReport(
            run_id=self.run_id,
            generated_at=now_utc(),
            recipe_name=self.recipe_name,
            recipe_sha256=self.recipe_sha256,
            outcome=outcome,
            passed=passed,
            **stages,
        )

    def conclude(
        self, result: GateResult, out_dir: Path, before: GateResult | None = None
    ) -> GateReport:
        """The output stage's report; a failure writes it and raises GateError (exit 4).

        On success an earlier blocked run's report at ``report_path`` is removed (only one
        this tool wrote).
        """
        outcome = "published" if result.passed else "blocked"
        report = self.report(outcome, input=before, output=result)
        if not result.passed:
            judge.write_gate_report(self.report_path, report)
            raise GateError(
                problems(report),
                title=f"blocked by the gate: nothing published to {out_dir} "
                f"(gate report: {self.report_path})",
            )
        judge.remove_stale_report(self.report_path)
        return report


@dataclass(frozen=True)
class Gate:
    """One microdata run's gate: the recipe it enforces and where its report goes when it blocks.

    Attributes:
        loaded: The recipe as loaded (contracts, base folder, sha256).
        recipe: The effective recipe (``--input`` / ``--output`` applied).
        run_id: The run's id (in the report).
        report_path: Where the gate report goes when a stage fails.
    """

    loaded: LoadedRecipe
    recipe: Recipe
    run_id: str
    report_path: Path

    def input_checks(self, schema: pa.Schema) -> list[RowCheck]:
        """The input contract's GX row checks."""
        return judge.input_row_checks(self.loaded.input_contract, schema)

    def input_scan(self, data: Dataset) -> list[str]:
        """The input columns scanned for undeclared identifiers (none with ``undeclared: off``)."""
        if self.recipe.scan.undeclared == "off":
            return []
        declared = {*self.recipe.columns.removed(), *self.recipe.columns.linking_ids}
        return [c for c in data.columns if c not in declared]

    def output_checks(self, steps: list[RanStep], schema: pa.Schema) -> list[RowCheck]:
        """The output stage's GX row checks on the columns of ``schema``."""
        contract = self.loaded.output_contract
        columns = self.recipe.columns
        return judge.output_row_checks(steps, self.loaded.base_dir, contract, schema, columns)[0]

    def output_groups(self, steps: list[RanStep], schema: pa.Schema) -> list[tuple[str, GroupSize]]:
        """The output stage's microaggregation group checks on the columns of ``schema``."""
        needs = group_needs(steps, self.loaded.base_dir, self.recipe.columns)
        present = set(schema.names)
        return [(i, n) for i, n in needs if {*n.columns, *n.strata} <= present]

    def output_scan(self, schema: pa.Schema) -> list[str]:
        """The output columns scanned for identifiers (all, unless ``scan.output: false``)."""
        return list(schema.names) if self.recipe.scan.output else []

    def judge_input(
        self, data: Dataset, header: list[str], whole_numbers: set[str], measured: Measured
    ) -> GateResult | None:
        """The input stage (contract, undeclared identifiers); exit 3 on failure."""
        started = time.perf_counter()
        contract, scanned = self.loaded.input_contract, measured.scanned
        if contract is None and not scanned:
            return None
        if contract is None:
            result = judge.run_stage("input", data, [], scanned)
        else:
            present = set(self.recipe.columns.removed()) & set(header)
            result = judge.input_gate(
                contract, data, present, whole_numbers, scanned, measured.validated
            )
        result.seconds = round(time.perf_counter() - started, 3)
        if result.passed:
            return result
        report = self.verdict.report("input_rejected", input=result)
        judge.write_gate_report(self.report_path, report)
        what = [f"breaks its contract {self.recipe.contracts.input}"] if contract else []
        if any(not c.passed for c in scanned):
            what.append("holds identifiers in columns the recipe does not declare")
        raise InputDataError(
            problems(report),
            title=f"input {self.recipe.input.path} {' and '.join(what)} "
            f"(gate report: {self.report_path})",
        )

    def judge_output(
        self, data: Dataset, produced: Produced, measured: Measured, before: GateResult | None
    ) -> GateReport:
        """The output stage; raise GateError (exit 4) with every failure if anything fails."""
        started = time.perf_counter()
        extra = [*measured.scanned, *utility_checks(self.recipe, "output", measured.utility)]
        result = judge.output_gate(
            self.recipe,
            self.loaded.base_dir,
            data,
            produced.steps,
            produced.rows_in,
            measured.risk,
            produced.columns,
            self.loaded.output_contract,
            extra,
            measured.validated,
        )
        result.seconds = round(time.perf_counter() - started, 3)
        result.warnings = list(measured.utility.warnings) if measured.utility else []
        return self.verdict.conclude(result, Path(self.recipe.output.dir), before)

    @property
    def verdict(self) -> Verdict:
        """How this run's stages conclude."""
        return verdict_of(self.loaded, self.run_id, self.report_path)


def verdict_of(loaded: LoadedRecipe, run_id: str, report_path: Path) -> Verdict:
    """The verdict of a run of ``loaded`` (its name and sha256 in every report)."""
    return Verdict(loaded.recipe.name, loaded.sha256, run_id, report_path)


def default_report_path(out_dir: Path) -> Path:
    """Where a run's gate report goes when publication is blocked: beside the output."""
    out_dir = out_dir.absolute()
    return out_dir.parent / f"{out_dir.name}.{GATE_REPORT}"


def uses_row_checks(loaded: LoadedRecipe) -> bool:
    """Whether a run of ``loaded`` validates rows with GX (contracts, or steps' requirements)."""
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


def output_dataset(data_dir: Path, recipe: Recipe, types: dict[str, str]) -> Dataset:
    """The data files of an output (Parquet, or CSV read with the run's column types)."""
    if recipe.output.format == "parquet":
        return Dataset.parquet(data_dir)
    return Dataset.csv(data_dir, types, recipe.output.encoding)


def rescanned(recipe: Recipe, data: Dataset) -> list[CheckResult]:
    """The output's scan read from its files (``--gate-only``), unless turned off."""
    if not recipe.scan.output:
        return []
    return scan_checks("output", data, data.columns, recipe.scan, recipe.seed)


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
    lines += [f"  warning: {w}" for r in (report.input, report.output) if r for w in r.warnings]
    return lines
