"""The read stage: the input read once into the ingest's checkpoint, then measured beside.

The identifier steps are applied to the input's frame, the ingest pass puts its partitions in a
checkpoint (``engine.checkpoint``) and the input stage starts measuring it
(``engine.input_stage``). When the types the checkpoint will hold are known before the read (a
Parquet input: no text parsed as numbers) and the input is measured beside the steps, the
steps' first pass (``engine.apply.first_pass``) is computed with the ingest's, on the input's
frame typed as the checkpoint will be; its answers are used when the checkpoint's frame has the
same columns and types.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import dask.dataframe

from pipeline.engine import ingest, input_stage, memory
from pipeline.engine.apply import FirstPass, call_step
from pipeline.engine.checkpoint import HELD_BYTES, Checkpoint
from pipeline.engine.context import Ran, RunContext
from pipeline.engine.input_stage import InputStage
from pipeline.engine.inputs import read_input, reading
from pipeline.engine.prepare import numeric_columns
from pipeline.engine.steplog import log_facts, step_label
from pipeline.io import files
from pipeline.recipe.loader import StepCall

if TYPE_CHECKING:
    import pandas as pd

First = Callable[[dask.dataframe.DataFrame], FirstPass]


def read_input_stage(
    ctx: RunContext, ran: Ran, automatic: list[StepCall], first: First | None = None
) -> tuple[InputStage, FirstPass | None]:
    """Read the input (identifier steps applied), checkpoint it, start measuring it.

    ``first``: the steps' first pass on a frame (``pipeline.engine.apply.first_pass``), run
    with the ingest's when the checkpoint's types are known before it (``ingest.typed``) and
    the input is measured beside the steps (``_fusable``). Returns the stage, and the first
    pass's values when the checkpoint's frame has the same partitions, columns and types as
    the frame they were computed on (else None).
    """
    frame = read_input(ctx.recipe.input, ctx.keep, ctx.options.partitions)
    total = len(automatic) + len(ctx.loaded.steps)
    for i, call in enumerate(automatic):  # no needs: applied as they are, checks waiting
        with ctx.reporter.task(step_label(call, i, total)) as summary:
            effect = call_step(call, frame, ctx.step_context(i, call))
            summary.update(log_facts(call, effect.facts))
        ran.add(call, i, effect)
        ctx.checks.add(effect.checks, effect.facts)
        frame = effect.frame
    ran.initial = len(automatic)
    done = _checkpoint(ctx, frame, first)
    ctx.passes.append(" + ".join(["read input", *([done.answers.label] if done.answers else [])]))
    for record in ran.records:
        record.rows_in = record.rows_out = done.rows
    memory.release()
    return InputStage(ctx, done.checkpoint, done.frame, done.rows, done.whole), done.answers


@dataclass(frozen=True)
class _Checkpointed:
    """The ingest pass's checkpoint, it as a frame, its records and its whole-number columns."""

    checkpoint: Checkpoint
    frame: dask.dataframe.DataFrame
    rows: int
    whole: set[str]
    answers: FirstPass | None = None


def _checkpoint(
    ctx: RunContext, frame: dask.dataframe.DataFrame, first: First | None
) -> _Checkpointed:
    """The ingest pass into a checkpoint, with the steps' first pass when it can be fused.

    Held in memory under ``HELD_BYTES`` with the threads scheduler (the others' workers are
    other processes), else Parquet files in staging.
    """
    recipe = ctx.recipe
    with ctx.reporter.task("read input") as summary, reading(recipe.input):
        numeric = numeric_columns(ctx.loaded, recipe)
        typing = ingest.typing_of(frame, numeric, recipe.input.non_finite)
        typed = ingest.typed(frame, typing) if first is not None and _fusable(ctx) else None
        lazy = _first_lazy(first, typed)
        table, values, target = _ingest(ctx, frame, typing, lazy.flat() if lazy else ())
        result = ingest.judged(table, typing)
        summary["records"] = result.rows
        if result.read_as_missing:
            summary["non_finite_read_as_missing"] = result.read_as_missing
    coalesce = None if ctx.options.partitions else result.rows  # --partitions N: kept as asked
    if target.held:
        memory.small_run()
    checkpointed = target.frame(result.integer_columns, coalesce)
    answers = lazy.answered(values) if lazy and values else None  # none: the ingest ran again
    if answers and not _same_frames(typed, checkpointed):
        answers = None  # not the frame the steps will see: their first pass runs as usual
    whole = set(result.integer_columns)
    return _Checkpointed(target, checkpointed, result.rows, whole, answers)


def _fusable(ctx: RunContext) -> bool:
    """Whether the steps' first pass may run with the ingest.

    A Parquet input measured beside the steps (its records known from its footers). A larger
    one is measured alone before them, and the pass's values (the units of every household:
    43M at 100M records, 688 MB) would stack on that stage's peak, for no time saved (the 100M
    demo: 37.2 s for the ingest with the pass, 26.7 + 9.6 s apart).
    """
    spec = ctx.recipe.input
    if spec.resolved_format() != "parquet":
        return False
    return files.parquet_rows(Path(spec.path or "")) <= input_stage.BESIDE_MAX_ROWS


def _first_lazy(first: First | None, typed: dask.dataframe.DataFrame | None) -> FirstPass | None:
    """The steps' first pass on ``typed``, lazy.

    None without it, without reductions, or when a step fails on it (it fails again where it
    runs, after the input's verdict).
    """
    if first is None or typed is None:
        return None
    try:
        lazy = first(typed)
    except Exception:  # noqa: BLE001 - raised again by the step where it runs
        return None
    return lazy if lazy.needs else None


def _ingest(
    ctx: RunContext, frame: dask.dataframe.DataFrame, typing: ingest.Typing, flat: tuple
) -> tuple[pd.DataFrame, tuple, Checkpoint]:
    """The ingest pass (with ``flat``) into a checkpoint: its counts, values and checkpoint.

    Any error of a pass with the steps' values may be theirs: the ingest then runs alone,
    into a fresh checkpoint (the failed pass's tasks may still be writing theirs), and either
    the input's error comes again or theirs in their own pass, after the input's verdict.
    """
    budget = HELD_BYTES if ctx.options.scheduler == "threads" else 0  # else: other processes
    target = Checkpoint(ctx.staging.work / "ingest", budget)
    try:
        return *ingest.ingest_pass(frame, typing, target, flat), target
    except Exception:
        if not flat:  # the input's own error
            raise
        target.release()  # its tables go now; the failed pass's with the error, below
    again = Checkpoint(ctx.staging.work / "ingest-again", budget)
    return *ingest.ingest_pass(frame, typing, again), again


def _same_frames(a: dask.dataframe.DataFrame, b: dask.dataframe.DataFrame) -> bool:
    """Whether two frames have the same partitions and columns, in order, of the same types."""
    return (
        a.npartitions == b.npartitions
        and list(a.columns) == list(b.columns)
        and all(a.dtypes[c] == b.dtypes[c] and str(a.dtypes[c]) == str(b.dtypes[c]) for c in a)
    )
