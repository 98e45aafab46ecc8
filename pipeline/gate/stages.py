"""The gate of a run: each stage judged against the recipe, failing closed.

A failed stage writes the gate report (next to the output, never into it) and raises, so the
staging directory is removed and the previous output stays untouched. What a stage checks is its
check kinds' (``pipeline.gate.catalog``), measured by the engine during its passes over the data
(``pipeline.engine.measure``); what is read from the files here is whole-table facts only (row
counts, contract rules).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from pipeline.core.artifact import now_utc
from pipeline.core.errors import GateError, InputDataError
from pipeline.gate import judge
from pipeline.gate.catalog import Evidence, RanStep, kinds
from pipeline.gate.judge import GATE_REPORT, problems
from pipeline.gate.model import GateReport, GateResult
from pipeline.gate.reasons import Reason
from pipeline.io.dataset import Dataset
from pipeline.recipe.loader import LoadedRecipe
from pipeline.recipe.models import Recipe

Page = Callable[[GateReport], object]  # writes a blocked run's page from its gate report


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
        self,
        result: GateResult,
        out_dir: Path,
        before: GateResult | None = None,
        page: Page | None = None,
    ) -> GateReport:
        """The output stage's report; a failure writes it (and ``page``) and raises GateError.

        On success an earlier blocked run's report at ``report_path`` and its page are
        removed (only those this tool wrote). Exit code of the failure: 4.
        """
        outcome = "published" if result.passed else "blocked"
        report = self.report(outcome, input=before, output=result)
        if not result.passed:
            where = self.blocked(report, page)
            raise GateError(
                problems(report),
                title=f"blocked by the gate: nothing published to {out_dir} ({where})",
            )
        judge.remove_stale_report(self.report_path)
        return report

    def blocked(self, report: GateReport, page: Page | None) -> str:
        """Write a blocked run's gate report and its page; say where they are."""
        judge.write_gate_report(self.report_path, report)
        where = f"gate report: {self.report_path}"
        if page is None:
            return where
        try:
            page(report)
        except Exception:  # noqa: BLE001 - the verdict stands without its page
            return f"{where}; its page could not be written"
        return f"{where}, page: {judge.page_path(self.report_path)}"


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

    def input_evidence(self, data: Dataset, header: list[str], whole: set[str]) -> Evidence:
        """What the input stage knows before its pass (``whole``: whole-number columns)."""
        return Evidence(
            stage="input",
            recipe=self.recipe,
            base_dir=self.loaded.base_dir,
            schema=data.schema,
            rows=data.rows(),
            contract=self.loaded.input_contract,
            identifiers_present=frozenset(set(self.recipe.columns.removed()) & set(header)),
            whole_numbers=frozenset(whole),
        )

    def output_evidence(
        self, steps: list[RanStep], schema: pa.Schema, rows: int, rows_in: int, columns: list[str]
    ) -> Evidence:
        """What the output stage knows before its pass (``columns``: those it must have)."""
        return output_evidence(self.loaded, self.recipe, steps, schema, rows, rows_in, columns)

    def judge_input(self, evidence: Evidence, page: Page | None = None) -> GateResult | None:
        """The input stage (contract, undeclared identifiers).

        Raises:
            InputDataError: a check fails (exit 3), after its gate report and ``page`` are
                written.
        """
        result = judge.stage_result(evidence, kinds("input"))
        if not result.checks:
            return None
        if result.passed:
            return result
        report = self.verdict.report("input_rejected", input=result)
        where = self.verdict.blocked(report, page)
        what = [f"breaks its contract {self.recipe.contracts.input}"] if evidence.contract else []
        if any(c.reason == Reason.UNDECLARED_IDENTIFIER for c in result.failures):
            what.append("holds identifiers in columns the recipe does not declare")
        raise InputDataError(
            problems(report),
            title=f"input {self.recipe.input.label} {' and '.join(what)} ({where})",
        )

    def judge_output(
        self, evidence: Evidence, before: GateResult | None, page: Page | None = None
    ) -> GateReport:
        """The output stage; raise GateError (exit 4) with every failure if anything fails."""
        result = judge.stage_result(evidence, kinds("output"))
        result.warnings = list(evidence.utility.warnings) if evidence.utility else []
        return self.verdict.conclude(result, Path(self.recipe.output.dir), before, page)

    @property
    def verdict(self) -> Verdict:
        """How this run's stages conclude."""
        return verdict_of(self.loaded, self.run_id, self.report_path)


def output_evidence(
    loaded: LoadedRecipe,
    recipe: Recipe,
    steps: list[RanStep],
    schema: pa.Schema,
    rows: int,
    rows_in: int,
    columns: list[str],
) -> Evidence:
    """What an output stage (a run's, or ``--gate-only``'s) knows before its pass."""
    return Evidence(
        stage="output",
        recipe=recipe,
        base_dir=loaded.base_dir,
        schema=schema,
        rows=rows,
        steps=steps,
        rows_in=rows_in,
        expected=columns,
        contract=loaded.output_contract,
    )


def verdict_of(loaded: LoadedRecipe, run_id: str, report_path: Path) -> Verdict:
    """The verdict of a run of ``loaded`` (its name and sha256 in every report)."""
    return Verdict(loaded.recipe.name, loaded.sha256, run_id, report_path)


def default_report_path(out_dir: Path) -> Path:
    """Where a run's gate report goes when publication is blocked: beside the output."""
    out_dir = out_dir.absolute()
    return out_dir.parent / f"{out_dir.name}.{GATE_REPORT}"


def uses_row_checks(loaded: LoadedRecipe) -> bool:
    """Whether a run of ``loaded`` validates rows with GX: its data contracts' checks.

    The steps' requirements (caps, levels) are counted by Arrow compute, without GX.
    """
    return loaded.input_contract is not None or loaded.output_contract is not None


def output_dataset(data_dir: Path, recipe: Recipe, types: dict[str, str]) -> Dataset:
    """The data files of an output (Parquet, or CSV read with the run's column types)."""
    if recipe.output.format == "parquet":
        return Dataset.parquet(data_dir)
    return Dataset.csv(data_dir, types, recipe.output.encoding)


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
