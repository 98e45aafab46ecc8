"""Run a validated recipe, phase by phase (see the README's Development section).

prepare -> read (typed checkpoint) -> plan and apply the steps (the engine computes their
reductions in shared passes) while the input is measured beside them
(``pipeline.engine.input_stage``) -> the input's verdict -> compute and write -> cut the
output files and measure them as they are written (``pipeline.engine.produce``) -> gate ->
report, manifest, publish. Each phase returns what it found; what the phases share is the run's
fixed context and the steps as they ran (``pipeline.engine.context``).
"""

from __future__ import annotations

import dataclasses
import functools
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import dask
import dask.dataframe

from pipeline.core.artifact import now_utc
from pipeline.engine import loss, memory
from pipeline.engine.apply import FirstPass, Planned, apply_steps, first_pass
from pipeline.engine.context import Ran, RunContext
from pipeline.engine.input_stage import Input
from pipeline.engine.inputs import input_columns, input_digests
from pipeline.engine.prepare import (
    RunOptions,
    automatic_calls,
    check_columns,
    effective_recipe,
)
from pipeline.engine.produce import Produced, judge_output, produce
from pipeline.engine.progress import Reporter
from pipeline.engine.read_stage import read_input_stage
from pipeline.engine.release import release
from pipeline.engine.series_run import (
    record_state,
    release_id,
    series_context,
    series_steps,
    series_summary,
)
from pipeline.engine.steplog import step_label
from pipeline.engine.stores import (
    Where,
    database_input,
    database_target,
    local_input,
    local_output,
    refuse_remote,
)
from pipeline.gate.gx_engine import warm_up
from pipeline.gate.model import GateReport
from pipeline.gate.stages import Gate, Page, default_report_path, uses_row_checks
from pipeline.io.dataset import type_names
from pipeline.manifest import FileRecord, Manifest, SourceRecord, package_versions
from pipeline.recipe.loader import LoadedRecipe
from pipeline.recipe.models import Recipe
from pipeline.report.codebook import build_codebook, write_codebook
from pipeline.report.notice import missing_release, write_notice
from pipeline.report.write import write_blocked_page, write_report
from pipeline.utility.aggregate import UtilityPlan, with_before


@dataclass(frozen=True)
class RunResult:
    """A published run (``package``: its recipient package folder, when one was written)."""

    out_dir: Path | str  # a store's release: its URL
    manifest: Manifest
    package: Path | None = None


def run_recipe(loaded: LoadedRecipe, options: RunOptions, reporter: Reporter) -> RunResult:
    """Run the recipe and publish its output, or raise with nothing published.

    Phases: read and gate the input -> apply the steps (lazy; the engine computes what they
    need) -> compute and write -> measure the files to publish -> gate -> manifest -> publish.
    """
    started = time.perf_counter()
    if uses_row_checks(loaded):
        warm_up()  # GX's imports overlap the reading of the input
    recipe = effective_recipe(loaded, options)
    refuse_remote(previous=options.previous)
    table = database_target(recipe)  # the outputs are checked before any input is fetched
    with (
        local_output(recipe, options) as (recipe, options, output),
        local_input(recipe) as (recipe, fetched),
    ):
        series = series_context(recipe, options.previous)
        header = input_columns(recipe.input)
        keep = check_columns(loaded, recipe, header)
        if series is not None and series.person not in keep:
            keep = [*keep, series.person]  # read to be fingerprinted, then deleted
        with database_input(recipe, keep, header) as (files_recipe, source):
            where = Where(header, keep, fetched or source, series, output, table)
            result = _run(loaded, options, reporter, files_recipe, where, started)
        return result if output.url is None else dataclasses.replace(result, out_dir=output.url)


def _run(
    loaded: LoadedRecipe,
    options: RunOptions,
    reporter: Reporter,
    recipe: Recipe,
    where: Where,
    started: float,
) -> RunResult:
    """``run_recipe`` once the input is local files and the output a local folder."""
    header, keep, source, series = where.header, where.keep, where.source, where.series
    out_dir = Path(recipe.output.dir)
    run_id = uuid.uuid4().hex
    report_path = Path(options.gate_report) if options.gate_report else default_report_path(out_dir)
    inputs = [Path(recipe.input.path)]
    with release(out_dir, inputs, report_path, run_id, options.scheduler, options.wait) as out:
        gate = Gate(loaded, recipe, run_id, report_path)
        digest, records = input_digests(recipe.input, keep)  # once: tokens, the manifest
        ctx = RunContext(
            loaded,
            recipe,
            options,
            reporter,
            run_id,
            header,
            keep,
            gate,
            out.staging,
            out.checks,
            digest,
            release_id(records or digest, series),
            series,
            source=source,
            records_sha256=records,
        )
        first, last = series_steps(loaded, recipe) if series is not None else ([], [])
        automatic = [*first, *automatic_calls(loaded)]
        total = len(automatic) + len(loaded.steps) + len(last)
        reporter.started(
            f"run {run_id[:12]} of {recipe.name} on {out.where}: {total} steps",
            run_id,
            (recipe.name, out.where),
            (source, keep, where.output.shown),
            steps=total,
        )
        if series is None and recipe.series is not None:
            reporter.line(
                f"no series state kept: {recipe.series.key_env} is not set (judged alone)",
                "warning",
            )
        ran = Ran(last=last)
        first = functools.partial(_first, ctx, ran, total)
        stage, answers = read_input_stage(ctx, ran, automatic, first)
        if not stage.beside:  # a large input: measured alone, its peak not on the steps'
            stage.verdict()
        with stage:  # the input is measured beside the steps; its verdict comes first
            frame, plan = _apply(ctx, ran, stage.frame, total, answers)
        read = stage.verdict()
        memory.release()
        made = produce(ctx, ran, frame, read.rows, plan, stage.release)
        page = _blocked_page(ctx, ran, read, made, started)
        report = judge_output(ctx, made.evidence, read.gate, page)
        manifest = _manifest(ctx, ran, read, made, report, started)
        summary = record_state(ctx, ran, made.outcome, manifest)
        staged = out.staging.path
        write_report(staged, manifest, recipe, read.risk, made.risk, report, summary)
        write_notice(staged, manifest, recipe, ran.for_gate(loaded), loaded.base_dir)
        write_codebook(
            staged,
            build_codebook(
                manifest, recipe, ran.for_gate(loaded), loaded.base_dir, made.schema, made.profile
            ),
        )
        if where.table is not None:  # staged, checked, swapped in one commit; before the rename
            where.table.load(staged / "data", manifest.rows_out, manifest.columns_out, run_id)
        manifest = out.publish(manifest, recipe.output.signing_key_env)
    where.output.finish()  # a store: the files, then the manifest (its commit point)
    reporter.line(
        f"passes over the data: {len(ctx.passes)}", "passes", counts={"passes": len(ctx.passes)}
    )
    for i, what in enumerate(ctx.passes, start=1):
        reporter.line(
            f"pass {i} of {len(ctx.passes)}: {what}", "passes", position=[i, len(ctx.passes)]
        )
    for line in loss.summary_lines(made.utility):
        reporter.line(line, "warning" if line.startswith("warning: ") else "cost")
    if missing := missing_release(recipe, manifest.columns_out):
        reporter.line(f"warning: the public notice lacks (recipe release:): {missing}", "warning")
    if where.table is not None:
        reporter.line(f"loaded {manifest.rows_out} rows into {where.table.shown}")
    reporter.line(
        f"published {manifest.rows_out} of {manifest.rows_in} rows to {where.output.shown}",
        "published",
        counts={"rows_in": manifest.rows_in, "rows_out": manifest.rows_out},
        output=where.output.shown,
        columns=list(manifest.columns_out),
    )
    return RunResult(out_dir=out_dir, manifest=manifest)


def _blocked_page(ctx: RunContext, ran: Ran, read: Input, made: Produced, started: float) -> Page:
    """What writes the page of this run if the gate blocks it: the report it would have had."""

    def page(gate: GateReport) -> None:
        manifest = _manifest(ctx, ran, read, made, gate, started)
        summary = series_summary(ctx, ran, made.outcome)
        run = (manifest, ctx.recipe, read.risk, made.risk, summary)
        write_blocked_page(ctx.gate.report_path, Path(ctx.recipe.output.dir), gate, run)

    return page


def _planned(
    ctx: RunContext, ran: Ran, frame: dask.dataframe.DataFrame, total: int
) -> tuple[dask.dataframe.DataFrame, list[Planned], UtilityPlan | None]:
    """The frame the recipe's steps start from, their plan, and the utility plan."""
    plan = loss.plan_for(ctx.recipe, frame, [c.params for c in ctx.loaded.steps])
    if plan is not None:
        frame = with_before(frame, plan)
    calls = [*ctx.loaded.steps, *ran.last]
    planned = [
        Planned.of(call, ctx.step_context(i, call), step_label(call, i, total))
        for i, call in enumerate(calls, start=ran.initial)
    ]
    return frame, planned, plan


def _first(ctx: RunContext, ran: Ran, total: int, frame: dask.dataframe.DataFrame) -> FirstPass:
    """The steps' first pass on ``frame`` (the ingest computes it with its own)."""
    start, planned, _ = _planned(ctx, ran, frame, total)
    return first_pass(start, planned, ctx.checks.counts())


def _apply(
    ctx: RunContext,
    ran: Ran,
    frame: dask.dataframe.DataFrame,
    total: int,
    answers: FirstPass | None = None,
) -> tuple[dask.dataframe.DataFrame, UtilityPlan | None]:
    """Apply the recipe's steps, then the series': lazy; their needs in shared passes.

    ``answers``: their first pass, computed with the ingest's. Returns the frame and the
    utility plan (each measured value kept as it was before).
    """
    frame, planned, plan = _planned(ctx, ran, frame, total)
    frame, effects = apply_steps(frame, planned, ctx.checks, ctx.reporter.task, answers)
    for entry, effect in zip(planned, effects, strict=True):
        ran.add(entry.call, entry.ctx.index, effect)
    memory.release()
    return frame, plan


def _manifest(
    ctx: RunContext, ran: Ran, read: Input, made: Produced, gate: GateReport, started: float
) -> Manifest:
    recipe, loaded = ctx.recipe, ctx.loaded
    return Manifest(
        run_id=ctx.run_id,
        generated_at=now_utc(),
        recipe_name=recipe.name,
        recipe=SourceRecord(path=str(loaded.path), sha256=loaded.sha256),
        input=SourceRecord(
            path=ctx.source or recipe.input.path,
            sha256=ctx.input_sha256,
            records_sha256=ctx.records_sha256,
        ),
        seed=recipe.seed,
        scheduler=ctx.options.scheduler,
        packages=package_versions(),
        rows_in=read.rows,
        rows_out=made.rows,
        columns_removed=recipe.columns.removed(),
        columns_out=list(made.schema.names),
        column_types=type_names(made.schema),
        steps=ran.records,
        files=[FileRecord(**f) for f in made.files],
        risk_before=read.risk.summary if read.risk else None,
        risk_after=made.risk.summary if made.risk else None,
        utility=made.utility,
        gate=gate,
        seconds=round(time.perf_counter() - started, 3),
    )
