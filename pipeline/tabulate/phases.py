"""Run a tabulation recipe: compute with dask, protect, check, publish all or nothing.

Before anything is published the gate verifies, per table, that every primary cell is hidden
with an interval at least as wide as required (``interval_too_narrow``) and that the written
files hold no value of a hidden cell (``hidden_value_published``). A failure exits 4 with
nothing published (the report goes beside the output, as for microdata runs).
"""

from __future__ import annotations

import functools
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import BaseModel, Field

from pipeline.core.artifact import now_utc
from pipeline.core.errors import GateError, Problem
from pipeline.engine.inputs import input_columns, read_input, reading, sha256_of
from pipeline.engine.progress import Reporter
from pipeline.engine.release import release
from pipeline.engine.stores import spooled
from pipeline.gate.catalog import Evidence, kinds
from pipeline.gate.judge import stage_result
from pipeline.gate.model import GateReport
from pipeline.gate.stages import Verdict, default_report_path
from pipeline.manifest import RunHeader, SourceRecord, package_versions
from pipeline.report.write import write_blocked_page
from pipeline.tabulate.checks import Protected
from pipeline.tabulate.compute import assemble_cells, check_finite, plan_cells, prepare
from pipeline.tabulate.inputs import check_classified, check_input, numbers
from pipeline.tabulate.linked import families, finest_plan, protect_linked
from pipeline.tabulate.load import LoadedTabulation
from pipeline.tabulate.model import Rules, TableSpec, TabulationRecipe
from pipeline.tabulate.order import View, arrange, labelled, view
from pipeline.tabulate.output import published, write_table
from pipeline.tabulate.pages import review_page, tables_page
from pipeline.tabulate.protect import suppress
from pipeline.tabulate.review import CheckReport, cell_checks, report_text
from pipeline.tabulate.secondary import Unprotectable


class TableRecord(BaseModel):
    """One published table."""

    name: str
    statistic: str
    cells: int = Field(description="Cells and margins.")
    primary: int = Field(description="Cells failing a rule (hidden).")
    secondary: int = Field(description="Cells hidden to protect the primary ones.")
    files: list[str]


class TabulationManifest(RunHeader):
    """What a tabulation run produced (``OUT/manifest.json``)."""

    packages: dict[str, str]
    rules: dict[str, Any]
    tables: list[TableRecord]
    gate: GateReport
    seconds: float


def run_tabulation(
    loaded: LoadedTabulation,
    output_dir: str | None,
    scheduler: str,
    reporter: Reporter,
    gate_report: str | None = None,
    wait: float = 0.0,
) -> TabulationManifest:
    """Compute, protect, check and publish every table of the recipe (all or nothing)."""
    started = time.perf_counter()
    header = input_columns(loaded.recipe.input)
    columns = check_input(loaded, header)
    with spooled(loaded.recipe.input, columns, header) as (files, source):
        recipe = loaded.recipe.model_copy(update={"input": files})
        where = _Where(columns, source, output_dir, gate_report, started)
        return _tabulate(loaded, recipe, where, scheduler, reporter, wait)


@dataclass(frozen=True)
class _Where:
    """A tabulation's input columns and name, where it publishes, and when it started."""

    columns: list[str]
    source: str  # the input as the manifest names it (a database: URL without secrets)
    output_dir: str | None
    gate_report: str | None
    started: float


def _tabulate(
    loaded: LoadedTabulation,
    recipe: TabulationRecipe,
    where: _Where,
    scheduler: str,
    reporter: Reporter,
    wait: float,
) -> TabulationManifest:
    """``run_tabulation`` once the input is files (``recipe.input``)."""
    columns, started = where.columns, where.started
    out_dir = Path(where.output_dir or recipe.output.dir)
    gate_report = where.gate_report
    report_path = Path(gate_report) if gate_report else default_report_path(out_dir)
    run_id = uuid.uuid4().hex
    inputs = [Path(recipe.input.path)]
    with release(out_dir, inputs, report_path, run_id, scheduler, wait) as out:
        staging, deferred = out.staging, out.checks  # whole-file checks, settled with the tables
        reporter.started(
            f"tabulation {run_id[:12]} of {recipe.name} on {out.where}",
            run_id,
            (recipe.name, out.where),
            (where.source, columns, out_dir),
            tables=len(recipe.tables),
        )
        ddf = numbers(read_input(recipe.input, columns, None), loaded, deferred)
        prepared = {
            s.name: prepare(ddf, s, loaded.base_dir, deferred, f"{loaded.path} tables[{i}]")
            for i, s in enumerate(recipe.tables)
        }
        plans: dict = {s.name: plan_cells(prepared[s.name], s) for s in recipe.tables}
        linked = families(recipe.tables)
        plans["__finest"] = [finest_plan(prepared, family) for family in linked]
        with (
            reporter.task(f"compute {len(recipe.tables)} tables in one pass"),
            reading(recipe.input),
        ):
            (computed,) = deferred.settle(plans)
        check_classified(loaded, computed)
        joint = protect_linked(computed, linked, recipe.rules)
        records, protected, sections, reports = [], [], [], {}
        for spec in recipe.tables:
            with reporter.task(f"table {spec.name}") as summary:
                checked, layout = _protected(
                    computed[spec.name], spec, recipe.rules, loaded, joint.get(spec.name)
                )
                frame = labelled(published(checked, spec), layout)
                files = write_table(frame, staging.path / "tables", spec.name)
                protected.append(Protected(spec.name, checked, files))
                reports[spec.name] = cell_checks(checked)
                sections.append((spec, frame, layout))
                n = checked["suppression"].value_counts()
                record = TableRecord(
                    name=spec.name,
                    statistic=spec.statistic,
                    cells=len(checked),
                    primary=int(n.get("primary", 0)),
                    secondary=int(n.get("secondary", 0)),
                    files=[str(f.relative_to(staging.path)) for f in files],
                )
                summary.update(primary=record.primary, secondary=record.secondary)
                records.append(record)
        evidence = Evidence("output", recipe, tables=protected)
        result = stage_result(evidence, kinds("output", scope="tables"))
        verdict = Verdict(recipe.name, loaded.sha256, run_id, report_path)
        page = functools.partial(write_blocked_page, report_path, out_dir, run=None)
        gate = verdict.conclude(result, out_dir, page=page)  # a failure writes them and raises
        generated = now_utc()
        review = CheckReport(
            run_id=run_id,
            generated_at=generated,
            recipe_name=recipe.name,
            rules=recipe.rules,
            tables=reports,
            linked=[[s.name for s in family] for family in linked],
        )
        _write_pages(staging.path, review, sections, gate, recipe)
        manifest = TabulationManifest(
            run_id=run_id,
            generated_at=generated,
            recipe_name=recipe.name,
            recipe=SourceRecord(path=str(loaded.path), sha256=loaded.sha256),
            input=SourceRecord(path=where.source, sha256=sha256_of(Path(recipe.input.path))),
            packages=package_versions(),
            rules=recipe.rules.model_dump(),
            tables=records,
            gate=gate,
            seconds=round(time.perf_counter() - started, 3),
        )
        manifest = out.publish(manifest)
    reporter.line(
        f"published {len(records)} tables to {out_dir}",
        "published",
        counts={"tables": len(records)},
        output=str(out_dir),
    )
    return manifest


def _write_pages(
    folder: Path,
    review: CheckReport,
    sections: list[tuple[TableSpec, pd.DataFrame, View]],
    gate: GateReport,
    recipe: TabulationRecipe,
) -> None:
    """``tables/tables.html`` for recipients; ``review/check_report.json`` and its page."""
    page = tables_page(review, sections, gate, recipe)
    (folder / "tables" / "tables.html").write_text(page, encoding="utf-8")
    (folder / "review").mkdir()
    (folder / "review" / "check_report.json").write_text(report_text(review), encoding="utf-8")
    page = review_page(review, sections)
    (folder / "review" / "check_report.html").write_text(page, encoding="utf-8")


def _protected(
    computed: dict,
    spec: TableSpec,
    rules: Rules,
    loaded: LoadedTabulation,
    joint: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, View]:
    """A table's cells with their verdicts, in the published order, and its layout.

    ``joint``: its verdicts already taken with the tables it is linked with.

    Raises:
        InputDataError: a sum overflows.
        GateError: no suppression pattern protects the primary cells.
    """
    if joint is not None:
        checked = joint
    else:
        cells = assemble_cells(computed, spec)
        check_finite(cells, spec)
        try:
            checked = suppress(cells, spec, rules)
        except Unprotectable as exc:
            raise GateError(
                [Problem(str(exc), location=f"table {spec.name}:", code="unprotectable")]
            ) from None
    layout = view(checked, spec, loaded.base_dir)
    return arrange(checked, layout), layout
