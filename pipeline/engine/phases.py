"""Run a validated recipe, phase by phase (see the README's Development section).

prepare -> read (typed checkpoint) -> measure and gate the input -> plan and apply the steps
(the engine computes their reductions in shared passes) -> compute and write -> cut the
output files and measure them as they are written -> gate -> report, manifest, publish.
"""

from __future__ import annotations

import hashlib
import shutil
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import dask
import dask.dataframe
import pyarrow as pa

from pipeline.core.artifact import now_utc
from pipeline.core.columns import (
    HIDDEN,
    INTERNAL_PREFIX,
    MERGED_PREFIX,
    ORDER,
    PERSON,
    ROW,
    UNIT_PREFIX,
)
from pipeline.engine import ingest as ingest_mod
from pipeline.engine import loss, memory
from pipeline.engine.apply import PendingChecks, Planned, apply_steps, call_step
from pipeline.engine.audit import ran_steps
from pipeline.engine.inputs import input_columns, read_input, reading, sha256_of
from pipeline.engine.measure import measures, risk_line
from pipeline.engine.prepare import (
    RunOptions,
    automatic_calls,
    check_columns,
    effective_recipe,
    numeric_columns,
    read_secrets,
)
from pipeline.engine.progress import Reporter
from pipeline.engine.publish import Staging
from pipeline.engine.release import release
from pipeline.engine.series_record import SeriesRecorder
from pipeline.engine.series_run import (
    SeriesOutcome,
    generalize_levels,
    merged_checks,
    series_context,
    series_steps,
    summary_of,
)
from pipeline.engine.steplog import step_label, step_record
from pipeline.engine.writer import order_bits, spill_partitions, write_output
from pipeline.gate.gx_engine import warm_up
from pipeline.gate.model import GateReport, GateResult
from pipeline.gate.stages import (
    Gate,
    Measured,
    Produced,
    default_report_path,
    output_dataset,
    uses_row_checks,
)
from pipeline.io.dataset import Dataset, type_names
from pipeline.manifest import (
    FileRecord,
    Manifest,
    SourceRecord,
    StepRecord,
    package_versions,
)
from pipeline.recipe.loader import LoadedRecipe, StepCall
from pipeline.recipe.models import Recipe
from pipeline.report.model import SeriesSummary, Snapshot
from pipeline.report.notice import write_notice
from pipeline.report.write import write_report
from pipeline.series.context import SeriesContext
from pipeline.series.state import ReleaseRecord
from pipeline.steps.registry import Effect, StepContext
from pipeline.utility.aggregate import UtilityPlan, lazy_aggregates, with_before, without_before
from pipeline.utility.model import Utility


@dataclass(frozen=True)
class RunResult:
    """A published run (``package``: its recipient package folder, when one was written)."""

    out_dir: Path
    manifest: Manifest
    package: Path | None = None


@dataclass
class _Run:
    """One run's context, shared by its phases."""

    loaded: LoadedRecipe
    recipe: Recipe
    options: RunOptions
    reporter: Reporter
    run_id: str
    header: list[str]
    keep: list[str]
    gate: Gate
    staging: Staging
    checks: PendingChecks
    records: list[StepRecord] = field(default_factory=list)
    effects: list[Effect] = field(default_factory=list)  # of every step, automatic ones first
    rows_in: int = 0
    input_gate: GateResult | None = None
    risk_before: Snapshot | None = None
    risk_after: Snapshot | None = None
    utility_plan: UtilityPlan | None = None
    utility: Utility | None = None
    utility_lazy: tuple = ()
    passes: list[str] = field(default_factory=list)  # each pass over the data, by what it did
    release: str = ""  # the input's SHA-256: this release's identity
    initial: int = 0  # steps applied while the input was read (identifiers, series)
    last: list[StepCall] = field(default_factory=list)  # the series' step after the recipe's
    side: pa.Schema | None = None  # the series' columns beside the data (never published)
    series: SeriesContext | None = None
    outcome: SeriesOutcome | None = None

    def __post_init__(self) -> None:
        self.checks.passes = self.passes  # the engine's computes for steps are passes too


def run_recipe(loaded: LoadedRecipe, options: RunOptions, reporter: Reporter) -> RunResult:
    """Run the recipe and publish its output, or raise with nothing published.

    Phases: read and gate the input -> apply the steps (lazy; the engine computes what they
    need) -> compute and write -> measure the files to publish -> gate -> manifest -> publish.
    """
    started = time.perf_counter()
    if uses_row_checks(loaded):
        warm_up()  # GX's imports overlap the reading of the input
    recipe = effective_recipe(loaded, options)
    series = series_context(recipe, options.previous)
    header = input_columns(recipe.input)
    keep = check_columns(loaded, recipe, header)
    if series is not None and series.person not in keep:
        keep = [*keep, series.person]  # read to be fingerprinted, then deleted
    out_dir = Path(recipe.output.dir)
    run_id = uuid.uuid4().hex
    report_path = Path(options.gate_report) if options.gate_report else default_report_path(out_dir)
    inputs = [Path(recipe.input.path)]
    with release(out_dir, inputs, report_path, run_id, options.scheduler, options.wait) as out:
        gate = Gate(loaded, recipe, run_id, report_path)
        run = _Run(
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
            release=_release_id(recipe, series),
            series=series,
        )
        first, last = series_steps(loaded, recipe) if series is not None else ([], [])
        automatic = [*first, *automatic_calls(loaded)]
        total = len(automatic) + len(loaded.steps) + len(last)
        reporter.line(f"run {run_id[:12]} of {recipe.name} on {out.where}: {total} steps")
        if series is None and recipe.series is not None:
            reporter.line(
                f"no series state kept: {recipe.series.key_env} is not set (judged alone)"
            )
        frame = _read_and_gate_input(run, automatic)
        run.last = last
        frame = _apply(run, frame, len(automatic), total, last)
        schema, files, rows_out, measured = _write(run, frame)
        output = output_dataset(out.staging.path / "data", recipe, type_names(schema))
        report = _judge_output(run, output, measured)
        manifest = _manifest(run, schema, files, rows_out, run.risk_after, report, started)
        summary = _series_state(run, manifest)
        write_report(
            out.staging.path, manifest, recipe, run.risk_before, run.risk_after, report, summary
        )
        ran = ran_steps(loaded.steps, run.records, last)
        write_notice(out.staging.path, manifest, recipe, ran, loaded.base_dir)
        manifest = out.publish(manifest, recipe.output.signing_key_env)
    reporter.line(f"passes over the data: {len(run.passes)} ({', '.join(run.passes)})")
    for line in loss.summary_lines(run.utility):
        reporter.line(line)
    reporter.line(f"published {manifest.rows_out} of {manifest.rows_in} rows to {out_dir}")
    return RunResult(out_dir=out_dir, manifest=manifest)


def _release_id(recipe: Recipe, series: SeriesContext | None) -> str:
    """What makes this release itself: its input (and, in a series, the release before it).

    Fresh tokens come from it: another input, or another night on the same file, gives other
    tokens; a rerun of the same release gives the same bytes.
    """
    digest = sha256_of(Path(recipe.input.path))
    if series is None or series.state is None:
        return digest
    return hashlib.sha256(f"{digest}:{series.state.header.run_id}".encode()).hexdigest()


def _series_state(run: _Run, manifest: Manifest) -> SeriesSummary:
    """Write the series' next state into the staging folder; the report's series section."""
    last = run.records[-1]
    facts = {**last.facts, **last.metrics} if run.outcome is not None else None
    if run.outcome is not None:
        seen = int((facts or {}).get("persons_seen", 0))
        record = ReleaseRecord(
            run_id=run.run_id,
            generated_at=manifest.generated_at,
            records=manifest.rows_out,
            persons_seen=seen,
        )
        levels = generalize_levels(run.loaded, run.records)
        run.outcome.write(run.staging.path, run.recipe, record, levels)
    merged = run.outcome.merged if run.outcome is not None else None
    return summary_of(run.series, run.recipe, facts, merged)


def _read_and_gate_input(run: _Run, automatic: list[StepCall]) -> dask.dataframe.DataFrame:
    """Read the input (identifier steps applied), checkpoint it, gate it, measure its risk."""
    frame = read_input(run.recipe.input, run.keep, run.options.partitions)
    total = len(automatic) + len(run.loaded.steps)
    for i, call in enumerate(automatic):  # no needs, no checks: applied as they are
        with run.reporter.task(step_label(call, i, total)) as summary:
            effect = call_step(call, frame, _context(run, i, call))
            summary.update(effect.facts)
        run.records.append(step_record(call, i, effect))
        run.effects.append(effect)
        run.checks.add(effect.checks, effect.facts)
        frame = effect.frame
    run.initial = len(automatic)
    frame, run.rows_in, whole = _checkpoint(run, frame)
    run.passes.append("read input")
    for record in run.records:
        record.rows_in = record.rows_out = run.rows_in
    memory.release()
    work = run.staging.work
    internal = tuple(c for c in frame.columns if c.startswith(INTERNAL_PREFIX))
    data = Dataset.parquet(work / "ingest", hidden=internal)
    label = "measure and gate the input: contract, identifier scan, risk"
    with run.reporter.task(label) as summary:
        checks, scan = run.gate.input_checks(data.schema), run.gate.input_scan(data)
        with measures(
            "input", run.recipe, data.schema, run.rows_in, checks, scan, work / "spill"
        ) as found:
            found.feed(data.chunks(found.columns))
            measured = Measured(found.validated(), found.scanned(data))
            run.risk_before = found.snapshot()
        run.input_gate = run.gate.judge_input(data, run.header, whole, measured)
        summary["checks"] = len(run.input_gate.checks) if run.input_gate else 0
        summary.update(risk_line(run.risk_before))
    run.passes.append("measure the input")
    memory.release()
    return frame


def _apply(
    run: _Run, frame: dask.dataframe.DataFrame, first: int, total: int, last: list[StepCall]
) -> dask.dataframe.DataFrame:
    """Apply the recipe's steps, then ``last`` (the series'): lazy; needs in shared passes."""
    run.utility_plan = loss.plan_for(run.recipe, frame, [c.params for c in run.loaded.steps])
    if run.utility_plan is not None:  # each measured value as it was before the steps
        frame = with_before(frame, run.utility_plan)
    planned = [
        Planned.of(call, _context(run, i, call), step_label(call, i, total))
        for i, call in enumerate([*run.loaded.steps, *last], start=first)
    ]
    frame, effects = apply_steps(frame, planned, run.checks, run.reporter.task)
    for entry, effect in zip(planned, effects, strict=True):
        run.records.append(step_record(entry.call, entry.ctx.index, effect))
        run.effects.append(effect)
    memory.release()
    return frame


def _context(run: _Run, i: int, call: StepCall) -> StepContext:
    recipe = run.recipe
    return StepContext(
        seed=recipe.seed,
        index=i,
        name=call.spec.name,
        columns=recipe.columns,
        base_dir=run.loaded.base_dir,
        location=call.location,
        secrets=read_secrets(recipe),
        missing=recipe.risk.missing if recipe.risk else "any",
        release=run.release,
        series=run.series,
    )


def _write(
    run: _Run, frame: dask.dataframe.DataFrame
) -> tuple[pa.Schema, list[dict], int, Measured]:
    """Compute the steps (with every pending check), cut the output files and measure them."""
    final = frame.drop(columns=[ROW, *[c for c in frame.columns if c.startswith(UNIT_PREFIX)]])
    if run.utility_plan is not None:
        run.utility_lazy = lazy_aggregates(final, run.utility_plan)
        final = without_before(final, run.utility_plan)
    side = [c for c in final.columns if c in (PERSON, HIDDEN) or c.startswith(MERGED_PREFIX)]
    published = final._meta.drop(columns=[ORDER, *side], errors="ignore")
    schema = pa.Schema.from_pandas(published, preserve_index=False)
    if side:
        run.side = pa.Schema.from_pandas(final._meta[side], preserve_index=False)
    bits = order_bits(run.rows_in) if ORDER in final.columns else None
    rows = _compute_and_write(run, final, bits)
    files, measured = _cut_and_measure(run, schema, rows, bits)
    return schema, files, rows, measured


def _compute_and_write(run: _Run, final: dask.dataframe.DataFrame, bits: int | None) -> int:
    """The pass that computes the final frame into the spill; every metric and check settled."""
    work = run.staging.work
    own = run.initial  # the identifier (and series) steps applied when the input was read
    steps = list(zip(run.records[own:], run.effects[own:], strict=True))
    with run.reporter.task("compute and write"):
        spilled = spill_partitions(final, work / "final", bits or 0)
        lazy = [(e.frame[ROW].count(), e.metrics) for _, e in steps]
        counts, step_values, aggregates = run.checks.settle(
            spilled, lazy, run.utility_lazy, label="compute and write"
        )
    memory.release()
    previous = run.rows_in
    for (record, _), (rows_out, metrics) in zip(steps, step_values, strict=True):
        record.rows_in, record.rows_out = previous, int(rows_out)
        record.metrics = {k: int(v) for k, v in metrics.items()}
        previous = record.rows_out
    for record, effect in zip(run.records, run.effects, strict=True):
        record.facts = dict(effect.facts)  # with the counts of the checks settled since
    if run.utility_plan is not None:
        ran = [(c.params, r.facts) for c, (r, _) in zip(run.loaded.steps, steps, strict=False)]
        run.utility = loss.measured(
            run.recipe, run.utility_plan, aggregates, ran, run.loaded.base_dir, run.rows_in
        )
    return int(counts["rows"].sum())


def _cut_and_measure(
    run: _Run, schema: pa.Schema, rows: int, bits: int | None
) -> tuple[list[dict], Measured]:
    """Cut the output files and measure them: the output's row checks, scan and risk.

    Parquet files hold exactly the tables the writer hands them, so those tables feed the
    measures as they are written. CSV text is read back as recipients will read it (a value
    such as ``N/A`` becomes missing), so a CSV output is measured on its files, read once.
    """
    work, data = run.staging.work, run.staging.path / "data"
    spec, types = run.recipe.output, type_names(schema)
    as_written = spec.format == "parquet"
    side = _series_sink(run, schema)
    if not as_written:
        with run.reporter.task("cut output files") as summary:
            files = write_output(work / "final", data, spec, schema, bits, None, *side)
            summary["files"] = len(files)
        run.passes.append("cut the output")
    output = output_dataset(data, run.recipe, types)
    measured_schema = schema if as_written else output.schema
    ran = ran_steps(run.loaded.steps, run.records, run.last)
    checks = run.gate.output_checks(ran, measured_schema)
    groups = run.gate.output_groups(ran, measured_schema)
    scan = run.gate.output_scan(measured_schema)
    label = "output row checks, identifier scan, risk"
    label = f"cut output files, measure them: {label}" if as_written else f"measure: {label}"
    with (
        run.reporter.task(label) as summary,
        measures(
            "output", run.recipe, measured_schema, rows, checks, scan, work / "spill", groups
        ) as found,
    ):
        if as_written:
            files = write_output(work / "final", data, spec, schema, bits, found.add, *side)
            summary["files"] = len(files)
            output = output_dataset(data, run.recipe, types)  # the files just written
        else:
            found.feed(output.chunks(found.columns))
        shutil.rmtree(work / "final")
        run.risk_after = found.snapshot()
        series = []
        if run.outcome is not None:
            series = merged_checks(run.recipe, run.outcome.finish().summary)
        measured = Measured(
            found.validated(),
            [*found.scanned(output), *found.grouped(), *series],
            run.risk_after.summary if run.risk_after else None,
            run.utility,
        )
        summary.update(risk_line(run.risk_after))
    run.passes.append("cut and measure the output" if as_written else "measure the output")
    memory.release()
    return files, measured


def _series_sink(run: _Run, schema: pa.Schema) -> tuple:
    """The writer's side columns and where they go (the series' recorder), or nothing."""
    if run.series is None or run.side is None:
        return ()
    recorder = SeriesRecorder(run.recipe, set(schema.names), run.staging.work / "series")
    run.outcome = SeriesOutcome(run.series, recorder)
    return (run.side, recorder.add)


def _judge_output(run: _Run, output: Dataset, measured: Measured) -> GateReport:
    """The output gate on the files about to be published (their measures taken as written)."""
    with run.reporter.task("gate: privacy and output contract") as summary:
        person = run.series.person if run.series is not None else None
        keep = [c for c in run.keep if c not in (ROW, person)]
        produced = Produced(ran_steps(run.loaded.steps, run.records, run.last), run.rows_in, keep)
        report = run.gate.judge_output(output, produced, measured, run.input_gate)
        summary["checks"] = len(report.output.checks) if report.output else 0
    return report


def _manifest(
    run: _Run,
    schema: pa.Schema,
    files: list[dict],
    rows_out: int,
    risk_after: Snapshot | None,
    gate: GateReport,
    started: float,
) -> Manifest:
    recipe, loaded = run.recipe, run.loaded
    return Manifest(
        run_id=run.run_id,
        generated_at=now_utc(),
        recipe_name=recipe.name,
        recipe=SourceRecord(path=str(loaded.path), sha256=loaded.sha256),
        input=SourceRecord(path=recipe.input.path, sha256=sha256_of(Path(recipe.input.path))),
        seed=recipe.seed,
        scheduler=run.options.scheduler,
        packages=package_versions(),
        rows_in=run.rows_in,
        rows_out=rows_out,
        columns_removed=recipe.columns.removed(),
        columns_out=list(schema.names),
        column_types=type_names(schema),
        steps=run.records,
        files=[FileRecord(**f) for f in files],
        risk_before=run.risk_before.summary if run.risk_before else None,
        risk_after=risk_after.summary if risk_after else None,
        utility=run.utility,
        gate=gate,
        seconds=round(time.perf_counter() - started, 3),
    )


def _checkpoint(run: _Run, frame: dask.dataframe.DataFrame) -> tuple:
    """The ingest pass: (the checkpoint as a frame, records, whole-number columns)."""
    target = run.staging.work / "ingest"
    recipe = run.recipe
    with run.reporter.task("read input") as summary, reading(recipe.input):
        numeric = numeric_columns(run.loaded, recipe)
        result = ingest_mod.ingest(frame, numeric, target, recipe.input.non_finite)
        summary["records"] = result.rows
        if result.read_as_missing:
            summary["non_finite_read_as_missing"] = result.read_as_missing
    frame = ingest_mod.read_checkpoint(target, result.integer_columns)
    return frame, result.rows, set(result.integer_columns)
