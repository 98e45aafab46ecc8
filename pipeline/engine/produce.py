"""Produce the output: compute the steps into a spill, cut the files, measure them, judge them.

One pass computes the final frame (with every check and metric the steps left); the files are
cut from the spill and measured as they are written (Parquet) or read back once (CSV, since
text such as ``N/A`` is read as missing); the output gate judges what the pass measured.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass

import dask.dataframe
import pyarrow as pa

from pipeline.core.columns import HIDDEN, MERGED_PREFIX, ORDER, PERSON, ROW, UNIT_PREFIX
from pipeline.engine import loss, memory
from pipeline.engine.context import Ran, RunContext
from pipeline.engine.measure import measures, risk_line
from pipeline.engine.series_record import SeriesRecorder
from pipeline.engine.series_run import SeriesOutcome
from pipeline.engine.writer import order_bits, spill_partitions, write_output
from pipeline.gate.catalog import Evidence, kinds
from pipeline.gate.model import GateReport, GateResult
from pipeline.gate.stages import Page, output_dataset
from pipeline.io.dataset import type_names
from pipeline.report.model import Snapshot
from pipeline.report.profile import Profile, ProfileStream
from pipeline.utility.aggregate import UtilityPlan, lazy_aggregates, lazy_sample, without_before
from pipeline.utility.model import Utility


@dataclass(frozen=True)
class Produced:
    """The output as written to the staging folder, and what was measured of it.

    Attributes:
        schema: The published columns and types.
        files: The data files (path, rows, SHA-256).
        rows: Records published.
        evidence: What the output gate judges.
        risk: The risk snapshot of the output (None without key variables).
        utility: What the protection cost (None without a utility plan).
        outcome: The series' outcome (a release of a series).
        profile: What the published files hold, column by column, as recipients read them (a
            CSV output: its files read back): the codebook's.
    """

    schema: pa.Schema
    files: list[dict]
    rows: int
    evidence: Evidence
    risk: Snapshot | None
    utility: Utility | None
    outcome: SeriesOutcome | None
    profile: Profile


def produce(
    ctx: RunContext,
    ran: Ran,
    frame: dask.dataframe.DataFrame,
    rows_in: int,
    plan: UtilityPlan | None,
    computed: Callable[[], None] | None = None,
) -> Produced:
    """Compute the steps (with every pending check), cut the output files and measure them.

    ``computed`` is called once the steps are computed (the input is not read after that).
    """
    final = frame.drop(columns=[ROW, *[c for c in frame.columns if c.startswith(UNIT_PREFIX)]])
    lazy: tuple = ()
    if plan is not None:
        lazy = (lazy_aggregates(final, plan), lazy_sample(frame, plan, rows_in, ROW))
        final = without_before(final, plan)
    side = [c for c in final.columns if c in (PERSON, HIDDEN) or c.startswith(MERGED_PREFIX)]
    published = final._meta.drop(columns=[ORDER, *side], errors="ignore")
    schema = pa.Schema.from_pandas(published, preserve_index=False)
    side_schema = pa.Schema.from_pandas(final._meta[side], preserve_index=False) if side else None
    bits = order_bits(rows_in) if ORDER in final.columns else None
    rows, utility = _compute_and_write(ctx, ran, final, bits, rows_in, plan, lazy)
    if computed is not None:
        computed()
    sink = _series_sink(ctx, schema, side_schema)
    outcome = sink[2] if sink else None
    files, evidence, risk, profile = _cut_and_measure(
        ctx, ran, schema, rows, bits, rows_in, sink, utility
    )
    return Produced(schema, files, rows, evidence, risk, utility, outcome, profile)


def _compute_and_write(
    ctx: RunContext,
    ran: Ran,
    final: dask.dataframe.DataFrame,
    bits: int | None,
    rows_in: int,
    plan: UtilityPlan | None,
    lazy: tuple,
) -> tuple[int, Utility | None]:
    """The pass that computes the final frame into the spill; every metric and check settled."""
    work = ctx.staging.work
    own = ran.initial  # the identifier (and series) steps applied when the input was read
    steps = list(zip(ran.records[own:], ran.effects[own:], strict=True))
    with ctx.reporter.task("compute and write"):
        spilled = spill_partitions(final, work / "final", bits or 0)
        counted = [(e.frame[ROW].count(), e.metrics) for _, e in steps]
        counts, step_values, aggregates = ctx.checks.settle(
            spilled, counted, lazy, label="compute and write"
        )
    memory.release()
    previous = rows_in
    for (record, _), (rows_out, metrics) in zip(steps, step_values, strict=True):
        record.rows_in, record.rows_out = previous, int(rows_out)
        record.metrics = {k: int(v) for k, v in metrics.items()}
        previous = record.rows_out
    for record, effect in zip(ran.records, ran.effects, strict=True):
        record.facts = dict(effect.facts)  # with the counts of the checks settled since
    utility = None
    if plan is not None:
        calls = [(c.params, r.facts) for c, (r, _) in zip(ctx.loaded.steps, steps, strict=False)]
        found, sample = aggregates
        utility = loss.measured(ctx.recipe, plan, found, calls, ctx.loaded.base_dir, rows_in)
        utility = loss.analysed(ctx.recipe, plan, utility, sample)
    return int(counts["rows"].sum()), utility


def _series_sink(
    ctx: RunContext, schema: pa.Schema, side: pa.Schema | None
) -> tuple[pa.Schema, object, SeriesOutcome] | None:
    """The writer's side columns, where they go (the series' recorder) and the outcome."""
    if ctx.series is None or side is None:
        return None
    recorder = SeriesRecorder(ctx.recipe, set(schema.names), ctx.staging.work / "series")
    return side, recorder.add, SeriesOutcome(ctx.series, recorder)


def _cut_and_measure(
    ctx: RunContext,
    ran: Ran,
    schema: pa.Schema,
    rows: int,
    bits: int | None,
    rows_in: int,
    sink: tuple | None,
    utility: Utility | None,
) -> tuple[list[dict], Evidence, Snapshot | None, Profile]:
    """Cut the output files and measure them: the output stage's checks and the risk.

    Parquet files hold exactly the tables the writer hands them, so those tables feed the
    measures as they are written. CSV text is read back as recipients will read it (a value
    such as ``N/A`` becomes missing), so a CSV output is measured on its files, read once.
    """
    work, data = ctx.staging.work, ctx.staging.path / "data"
    spec, types = ctx.recipe.output, type_names(schema)
    as_written = spec.format == "parquet"
    side = sink[:2] if sink else ()
    if not as_written:
        with ctx.reporter.task("cut output files") as summary:
            files = write_output(work / "final", data, spec, schema, bits, None, *side)
            summary["files"] = len(files)
        ctx.passes.append("cut the output")
    output = output_dataset(data, ctx.recipe, types)
    person = ctx.series.person if ctx.series is not None else None
    keep = [c for c in ctx.keep if c not in (ROW, person)]
    measured = schema if as_written else output.schema
    before = ctx.gate.output_evidence(ran.for_gate(ctx.loaded), measured, rows, rows_in, keep)
    profile = ProfileStream(measured, ctx.recipe.columns.weight)  # as recipients read the files
    label = "(checks, scan, risk)"
    label = f"cut and measure the output {label}" if as_written else f"measure the output {label}"
    with (
        ctx.reporter.task(label) as summary,
        measures(before, kinds("output"), work / "spill", [profile]) as found,
    ):
        if as_written:
            files = write_output(work / "final", data, spec, schema, bits, found.add, *side)
            summary["files"] = len(files)
            output = output_dataset(data, ctx.recipe, types)  # the files just written
        else:
            found.feed(output.chunks(found.columns))
        shutil.rmtree(work / "final")
        risk, results = found.finish(output)
        merged = sink[2].finish().summary if sink else None
        evidence = found.measured(output, risk, results, utility=utility, series=merged)
        summary.update(risk_line(risk))
    ctx.passes.append("cut and measure the output" if as_written else "measure the output")
    memory.release()
    return files, evidence, risk, profile.finish()


def judge_output(
    ctx: RunContext, evidence: Evidence, before: GateResult | None, page: Page
) -> GateReport:
    """The output gate on the files about to be published (their measures taken as written).

    ``page`` writes a blocked run's page beside its gate report.
    """
    with ctx.reporter.task("gate: privacy and output contract") as summary:
        report = ctx.gate.judge_output(evidence, before, page)
        summary["checks"] = len(report.output.checks) if report.output else 0
    return report
