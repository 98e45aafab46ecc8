"""Run a validated recipe: ingest, steps, spill, cut files, manifest, atomic publish."""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import dask
import dask.dataframe
import pyarrow as pa

from pipeline import files
from pipeline.engine import gating, memory
from pipeline.engine import ingest as ingest_mod
from pipeline.engine.apply import PendingChecks, apply_step
from pipeline.engine.inputs import input_columns, read_input, reading, sha256_of
from pipeline.engine.manifest import (
    FileRecord,
    Manifest,
    SourceRecord,
    StepRecord,
    now_utc,
    package_versions,
)
from pipeline.engine.progress import Reporter
from pipeline.engine.publish import MANIFEST, Staging, check_paths
from pipeline.engine.schedulers import use_scheduler
from pipeline.engine.writer import order_bits, spill_partitions, write_output
from pipeline.errors import InputDataError, Problem
from pipeline.gate.data import Dataset, type_names
from pipeline.recipe.loader import LoadedRecipe, StepCall
from pipeline.recipe.models import INTERNAL_PREFIX, Recipe
from pipeline.report.build import snapshot
from pipeline.report.model import Snapshot
from pipeline.report.write import write_report
from pipeline.steps import STEPS
from pipeline.steps.identifiers import DropIdentifiersParams, LinkingIdsParams
from pipeline.steps.registry import ORDER, ROW, StepContext


@dataclass(frozen=True)
class RunOptions:
    """Command-line choices that are not part of the recipe."""

    input_path: str | None = None
    output_dir: str | None = None
    scheduler: str = "threads"
    partitions: int | None = None
    gate_report: str | None = None
    wait: float = 0.0


@dataclass(frozen=True)
class RunResult:
    """A published run."""

    out_dir: Path
    manifest: Manifest


def effective_recipe(loaded: LoadedRecipe, options: RunOptions) -> Recipe:
    """The recipe with ``--input`` / ``--output`` applied."""
    recipe = loaded.recipe
    if options.input_path:
        recipe = recipe.model_copy(
            update={
                "input": recipe.input.model_copy(
                    update={"path": options.input_path, "format": _format_of(options.input_path)}
                )
            }
        )
    if options.output_dir:
        recipe = recipe.model_copy(
            update={"output": recipe.output.model_copy(update={"dir": options.output_dir})}
        )
    return recipe


def _format_of(path: str) -> str | None:
    """The format an ``--input`` override implies: its extension (a folder: Parquet)."""
    return "parquet" if Path(path).is_dir() else None


def automatic_calls(loaded: LoadedRecipe) -> list[StepCall]:
    """The identifier steps derived from ``columns:`` (they run before the recipe's steps)."""
    cols = loaded.recipe.columns
    replaced = {c: s for c, s in cols.linking_ids.items() if s.method != "drop"}
    where = f"{loaded.path} columns"
    return [
        StepCall(
            -1, STEPS["drop_identifiers"], DropIdentifiersParams(columns=cols.removed()), where
        ),
        StepCall(-1, STEPS["linking_ids"], LinkingIdsParams(ids=replaced), where),
    ]


def check_columns(loaded: LoadedRecipe, recipe: Recipe, header: list[str]) -> list[str]:
    """Check every column the recipe names is in the input; return the columns to read.

    Raises:
        InputDataError: listing every missing column and where the recipe names it.

    """
    present = set(header)
    split = files.delimiter_hint(header, recipe.input.delimiter)
    if split:
        raise InputDataError([Problem(f"input {recipe.input.path}: {split}", code="delimiter")])
    problems = []
    named: dict[str, str] = {}
    for column, roles in recipe.columns.roles().items():
        named.setdefault(column, f"columns.{roles[0]}")
    for i, column in enumerate(recipe.input.numeric):
        named.setdefault(column, f"input.numeric[{i}]")
    if recipe.risk and recipe.risk.household:
        named.setdefault(recipe.risk.household, "risk.household")
    for call in loaded.steps:
        for field, column in call.params.columns_used().items():
            named.setdefault(column, f"steps[{call.index}].{call.spec.name}.{field}")
    shown = files.shows_header(header, list(named))
    for column, where in named.items():
        if column not in present:
            hint = files.header_hints(column, header, recipe.input.delimiter, shown)
            problems.append(
                Problem(f"column {column!r} ({where}) is not in the input{hint}",
                        code="missing_column")
            )  # fmt: skip
    if len(present) != len(header):
        problems.append(Problem("the input has duplicate column names", code="duplicate_column"))
    problems += files.column_name_problems(header, INTERNAL_PREFIX)
    removed = set(recipe.columns.removed())
    if recipe.input.resolved_format() == "parquet":
        kept = [c for c in header if c not in removed]
        for column in files.nested_columns(Path(recipe.input.path), kept):
            problems.append(
                Problem(
                    f"column {column!r} holds nested values (lists, structs): "
                    "only flat columns can be anonymized",
                    code="nested_column",
                )
            )
    if problems:
        raise InputDataError(
            problems,
            title=f"input {recipe.input.path} does not fit the recipe "
            f"(columns found: {files.columns_found(header, shown)})",
        )
    return [c for c in header if c not in removed]


def numeric_columns(loaded: LoadedRecipe, recipe: Recipe) -> list[str]:
    """Columns that must hold numbers: used as numbers by a step, the weight, input.numeric."""
    out = list(recipe.input.numeric)
    if recipe.columns.weight:
        out.append(recipe.columns.weight)
    for call in loaded.steps:
        out += call.params.numeric_columns()
    out += gating.contract_numeric(loaded)
    return list(dict.fromkeys(out))


def _read_secrets(recipe: Recipe) -> dict[str, bytes]:
    return {
        column: os.environ[spec.key_env].encode()
        for column, spec in recipe.columns.linking_ids.items()
        if spec.method == "keyed_hash" and spec.key_env
    }


def run_recipe(loaded: LoadedRecipe, options: RunOptions, reporter: Reporter) -> RunResult:
    """Run the recipe and publish its output, or raise with nothing published."""
    started = time.perf_counter()
    recipe = effective_recipe(loaded, options)
    header = input_columns(recipe.input)
    keep = check_columns(loaded, recipe, header)
    out_dir = Path(recipe.output.dir)
    run_id = uuid.uuid4().hex
    report_path = (
        Path(options.gate_report) if options.gate_report else gating.default_report_path(out_dir)
    )
    calls = automatic_calls(loaded) + loaded.steps
    check_paths(out_dir, [Path(recipe.input.path)], report_path)
    staging_area = Staging(out_dir, run_id, options.wait)
    with use_scheduler(options.scheduler) as where, staging_area as staging:
        reporter.line(f"run {run_id[:12]} of {recipe.name} on {where}: {len(calls)} steps")
        frame = read_input(recipe.input, keep, options.partitions)
        secrets = _read_secrets(recipe)
        records: list[StepRecord] = []
        contexts: list[StepContext] = []
        lazy: list = []
        checks = PendingChecks()  # whole-file checks the steps deferred to the next pass

        def checkpoint(frame: dask.dataframe.DataFrame) -> tuple:
            """Ingest the input, check it and measure its risk before any step runs."""
            frame, rows, whole = _checkpoint(frame, loaded, recipe, staging, reporter)
            memory.release()
            with reporter.task("gate: input contract and identifier scan") as summary:
                result = gating.check_input(
                    loaded, recipe, run_id, staging.work / "ingest", header, whole, report_path
                )
                summary["checks"] = len(result.checks) if result else 0
            memory.release()
            with reporter.task("risk before the steps") as summary:
                before = measure_file_risk(
                    Dataset.parquet(staging.work / "ingest"), recipe, staging.work / "spill"
                )
                summary.update(_risk_line(before))
            memory.release()
            return frame, rows, result, before

        for i, call in enumerate(calls):
            if i == len(calls) - len(loaded.steps):  # identifiers gone: checkpoint the input
                frame, rows_in, input_gate, risk_before = checkpoint(frame)
            ctx = StepContext(
                seed=recipe.seed,
                index=i,
                name=call.spec.name,
                columns=recipe.columns,
                base_dir=loaded.base_dir,
                location=call.location,
                secrets=secrets,
                missing=recipe.risk.missing if recipe.risk else "any",
                pending=checks.items,
            )
            label = f"[{i + 1}/{len(calls)}] {call.spec.name} {_target(call)}".rstrip()
            with reporter.task(label) as summary:
                frame = apply_step(call.spec.func, frame, call.params, ctx, checks)
                summary.update(ctx.facts)
            memory.release()
            records.append(_record(call, i, ctx))
            contexts.append(ctx)
            if not call.spec.automatic:
                lazy.append((records[-1], frame[ROW].count(), ctx.metrics))
        if not loaded.steps:
            frame, rows_in, input_gate, risk_before = checkpoint(frame)
        for record in records[: len(calls) - len(loaded.steps)]:
            record.rows_in = record.rows_out = rows_in
        final = frame.drop(columns=[ROW])
        published = final._meta.drop(columns=[ORDER], errors="ignore")
        schema = pa.Schema.from_pandas(published, preserve_index=False)
        bits = order_bits(rows_in) if ORDER in final.columns else None
        with reporter.task("compute and write"):
            spilled = spill_partitions(final, staging.work / "final", bits or 0)
            counts, step_values = checks.settle(spilled, [(n, m) for _, n, m in lazy])
        memory.release()
        previous = rows_in
        for (record, _, _), (rows_out, metrics) in zip(lazy, step_values, strict=True):
            record.rows_in, record.rows_out = previous, int(rows_out)
            record.metrics = {k: int(v) for k, v in metrics.items()}
            previous = record.rows_out
        for record, ctx in zip(records, contexts, strict=True):
            record.facts = dict(ctx.facts)  # with the facts of deferred checks
        with reporter.task("cut output files") as summary:
            files = write_output(
                staging.work / "final", staging.path / "data", recipe.output, schema, bits
            )
            summary["files"] = len(files)
        shutil.rmtree(staging.work / "final")
        memory.release()
        output = gating.output_dataset(staging.path / "data", recipe, type_names(schema))
        with reporter.task("risk after the steps (the files to publish)") as summary:
            risk_after = measure_file_risk(output, recipe, staging.work / "spill")
            summary.update(_risk_line(risk_after))
        memory.release()
        with reporter.task("gate: privacy and output contract") as summary:
            gate = gating.check_output(
                loaded, recipe, run_id,
                output,
                gating.ran_steps(loaded.steps, records), rows_in,
                risk_after.summary if risk_after else None,
                [c for c in keep if c != ROW], input_gate, report_path,
            )  # fmt: skip
            summary["checks"] = len(gate.output.checks) if gate.output else 0
        manifest = Manifest(
            run_id=run_id,
            generated_at=now_utc(),
            recipe_name=recipe.name,
            recipe=SourceRecord(path=str(loaded.path), sha256=loaded.sha256),
            input=SourceRecord(path=recipe.input.path, sha256=sha256_of(Path(recipe.input.path))),
            seed=recipe.seed,
            scheduler=options.scheduler,
            packages=package_versions(),
            rows_in=rows_in,
            rows_out=int(counts["rows"].sum()),
            columns_removed=recipe.columns.removed(),
            columns_out=list(published.columns),
            column_types=type_names(schema),
            steps=records,
            files=[FileRecord(**f) for f in files],
            risk_before=risk_before.summary if risk_before else None,
            risk_after=risk_after.summary if risk_after else None,
            gate=gate,
            seconds=round(time.perf_counter() - started, 3),
        )
        (staging.path / MANIFEST).write_text(manifest.model_dump_json(indent=2) + "\n")
        write_report(staging.path, manifest, recipe, risk_before, risk_after, gate)
        checks.ensure_settled()
        staging.publish()
    reporter.line(f"published {manifest.rows_out} of {manifest.rows_in} rows to {out_dir}")
    return RunResult(out_dir=out_dir, manifest=manifest)


def _checkpoint(
    frame: dask.dataframe.DataFrame,
    loaded: LoadedRecipe,
    recipe: Recipe,
    staging: Staging,
    reporter: Reporter,
) -> tuple[dask.dataframe.DataFrame, int, set[str]]:
    target = staging.work / "ingest"
    with reporter.task("read input") as summary, reading(recipe.input):
        numeric = numeric_columns(loaded, recipe)
        result = ingest_mod.ingest(frame, numeric, target, recipe.input.non_finite)
        summary["records"] = result.rows
        if result.read_as_missing:
            summary["non_finite_read_as_missing"] = result.read_as_missing
    frame = ingest_mod.read_checkpoint(target, result.integer_columns)
    return frame, result.rows, set(result.integer_columns)


def measure_file_risk(data: Dataset, recipe: Recipe, spill: Path) -> Snapshot | None:
    """Disclosure risk of a set of files over the recipe's key variables.

    The files are streamed a million rows at a time; records are regrouped on disk under
    ``spill`` when they do not fit the memory share (see ``pipeline.risk.stream``).
    """
    keys = recipe.columns.key_variables
    if not keys:
        return None
    present = set(data.columns)
    missing = [c for c in keys if c not in present]
    if missing:
        raise KeyError(f"key variables not in the data: {', '.join(missing)}")
    return snapshot(data.chunks, recipe, present, spill)


def _risk_line(snap: Snapshot | None) -> dict:
    if snap is None:
        return {"skipped": "no key_variables"}
    names = ("k_violations", "sample_uniques", "global_risk")
    return {name: snap.summary[name] for name in names}


def _target(call: StepCall) -> str:
    used = call.params.columns_used()
    if call.spec.name == "drop_identifiers":
        return f"({len(call.params.columns)} columns)"
    if call.spec.name == "linking_ids":
        return " ".join(call.params.ids)
    return " ".join(used.values())


def _record(call: StepCall, index: int, ctx: StepContext) -> StepRecord:
    return StepRecord(
        index=index,
        name=call.spec.name,
        automatic=call.spec.automatic,
        params=json.loads(call.params.model_dump_json()),
        rows_in=0,
        rows_out=0,
        facts=dict(ctx.facts),
    )
