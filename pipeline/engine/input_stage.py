"""The input stage: read into a checkpoint, measured beside the steps, judged before any write.

The input's measure pass (the contract's row checks, the identifier scan, the risk before the
steps) reads the checkpoint in a thread of its own while the steps are planned and their
passes run: neither needs the other, and each alone leaves a core idle for much of its time
(at 2M rows the pass took 2.5 s beside 3.6 s of steps, half of it on one core). Its verdict is
taken before the output is computed, so a rejected input still stops the run before a record is
written, and it comes first: when a step fails on an input the gate rejects, the rejection is
what the run reports.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import dask.dataframe

from pipeline.core import priority
from pipeline.core.columns import INTERNAL_PREFIX
from pipeline.core.errors import AnonymizeError, InputDataError
from pipeline.engine import ingest, memory
from pipeline.engine.apply import FirstPass, call_step
from pipeline.engine.checkpoint import HELD_BYTES, Checkpoint
from pipeline.engine.context import Ran, RunContext
from pipeline.engine.inputs import read_input, reading
from pipeline.engine.measure import measures, risk_line
from pipeline.engine.prepare import numeric_columns
from pipeline.engine.steplog import log_facts, step_label
from pipeline.gate.catalog import Evidence, kinds
from pipeline.gate.model import GateResult
from pipeline.io.dataset import Dataset
from pipeline.recipe.loader import StepCall
from pipeline.report.model import Snapshot
from pipeline.report.write import write_blocked_page

LABEL = "measure and gate the input (contract, scan, risk)"
# the risk's buckets held in memory beside the steps' passes before they go to disk (a pass
# alone holds 256 MiB): the key table of 10M records is built at the same time, and the
# process tree's peak went from 1.8-1.9 GB to 1.9-2.1 GB with the larger share
BESIDE_SPILL_BYTES = 64 << 20
# above this many records the input is measured and judged before the steps, as a pass alone:
# beside the steps the two stages' peaks stack (100M records: 5.4 GB against 3.2 GB in turn;
# 10M: 1.8-1.9 GB, the same as in turn)
BESIDE_MAX_ROWS = 20_000_000


First = Callable[[dask.dataframe.DataFrame], tuple[FirstPass, str]]


@dataclass(frozen=True)
class Input:
    """The input as read and judged.

    Attributes:
        frame: The frame of the checkpoint (identifier steps applied).
        rows: Its records.
        gate: The input stage's result (None when it has no checks).
        risk: The risk before the steps (None without key variables).
    """

    frame: dask.dataframe.DataFrame
    rows: int
    gate: GateResult | None
    risk: Snapshot | None


class _Stopped(Exception):
    """The run stopped (interrupted) while the input was being measured."""


@dataclass(frozen=True)
class _Measured:
    evidence: Evidence
    risk: Snapshot | None
    seconds: float


class InputStage:
    """The input's measure pass, running in a thread from construction; ``verdict`` judges it.

    Attributes:
        frame: The frame of the checkpoint (what the steps read).
        rows: Its records.
        beside: Whether the pass runs beside the steps (else the run takes the verdict first:
            inputs of more than ``BESIDE_MAX_ROWS`` records).

    Use as a context manager around the work done beside it: leaving it with an error takes
    the input's verdict first (a rejection is then the error raised; the pass's own failure
    leaves the error as it was); an interruption stops the pass at its next table and waits
    for its thread.
    """

    def __init__(
        self,
        ctx: RunContext,
        checkpoint: Checkpoint,
        frame: dask.dataframe.DataFrame,
        rows: int,
        whole: set[str],
    ) -> None:
        self.frame, self.rows, self._ctx = frame, rows, ctx
        self.beside = rows <= BESIDE_MAX_ROWS
        self.answers: FirstPass | None = None  # the steps' first pass, fused with the ingest
        self._judged: Input | None = None
        internal = tuple(c for c in frame.columns if c.startswith(INTERNAL_PREFIX))
        self._checkpoint = checkpoint
        self._data: Dataset | None = checkpoint.dataset(internal)
        self._stop = threading.Event()
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="input-stage")
        self._measured: Future[_Measured] | None = self._pool.submit(
            self._measure, self._data, whole
        )
        ctx.passes.append("measure the input")

    def _measure(self, data: Dataset, whole: set[str]) -> _Measured:
        if self.beside:  # the steps' passes first; this pass takes the cores they leave idle
            priority.lower_this_thread()
        started = time.perf_counter()
        ctx = self._ctx
        before = ctx.gate.input_evidence(data, ctx.header, whole)
        spill, share = ctx.staging.work / "spill", BESIDE_SPILL_BYTES if self.beside else None
        with measures(before, kinds("input"), spill, spill_bytes=share) as found:
            found.feed(self._until_stopped(data.chunks(found.columns)))
            risk, results = found.finish(data)
            evidence = found.measured(data, risk, results)
        return _Measured(evidence, risk, time.perf_counter() - started)

    def _until_stopped(self, tables: Iterable) -> Iterator:
        for table in tables:
            if self._stop.is_set():
                raise _Stopped
            yield table

    def verdict(self) -> Input:
        """Wait for the pass and judge the input (once: a later call gives the same).

        Raises:
            InputDataError: the input stage fails (after its gate report and page are written).
        """
        if self._judged is not None or self._measured is None:  # released: judged before
            return self._judged
        ctx = self._ctx
        with ctx.reporter.task(LABEL) as summary:
            try:
                measured = self._measured.result()
            finally:
                self._pool.shutdown()
            out_dir = Path(ctx.recipe.output.dir)
            page = functools.partial(write_blocked_page, ctx.gate.report_path, out_dir, run=None)
            gate = ctx.gate.judge_input(measured.evidence, page)
            summary["checks"] = len(gate.checks) if gate else 0
            summary.update(risk_line(measured.risk))
            summary["seconds"] = measured.seconds
        self._judged = Input(self.frame, self.rows, gate, measured.risk)
        return self._judged

    def release(self) -> None:
        """The input is read for the last time: its held tables may go (after the verdict).

        The output stage, which reads none of it, then peaks without the input beside it.
        """
        self.verdict()
        self._data = self._measured = None
        self._checkpoint.release()

    def __enter__(self) -> InputStage:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if kind is None or self._judged is not None:
            return
        if isinstance(error, Exception):  # the input's verdict first: a rejection replaces it
            try:
                self.verdict()
            except InputDataError:
                raise
            except Exception:  # noqa: BLE001 - the step's error is the one to report
                return
            return
        self._stop.set()  # interrupted: no verdict, the pass ends at its next table
        self._pool.shutdown(wait=True)


def read_input_stage(
    ctx: RunContext, ran: Ran, automatic: list[StepCall], first: First | None = None
) -> InputStage:
    """Read the input (identifier steps applied), checkpoint it, start measuring it.

    ``first``: the steps' first pass on a frame (``pipeline.engine.apply.first_pass``), run
    with the ingest's when the checkpoint's types are known before it (``ingest.typed``); its
    answers are the stage's ``answers`` when the checkpoint's frame has the same columns and
    types as the frame they were computed on.
    """
    frame = read_input(ctx.recipe.input, ctx.keep, ctx.options.partitions)
    total = len(automatic) + len(ctx.loaded.steps)
    for i, call in enumerate(automatic):  # no needs, no checks: applied as they are
        with ctx.reporter.task(step_label(call, i, total)) as summary:
            effect = call_step(call, frame, ctx.step_context(i, call))
            summary.update(log_facts(call, effect.facts))
        ran.add(call, i, effect)
        ctx.checks.add(effect.checks, effect.facts)
        frame = effect.frame
    ran.initial = len(automatic)
    done = _checkpoint(ctx, frame, first)
    ctx.passes.append(" + ".join(["read input", *([done.fused] if done.answers else [])]))
    for record in ran.records:
        record.rows_in = record.rows_out = done.rows
    memory.release()
    stage = InputStage(ctx, done.checkpoint, done.frame, done.rows, done.whole)
    stage.answers = done.answers
    return stage


@dataclass(frozen=True)
class _Checkpointed:
    """The ingest pass's checkpoint, it as a frame, its records and its whole-number columns."""

    checkpoint: Checkpoint
    frame: dask.dataframe.DataFrame
    rows: int
    whole: set[str]
    answers: FirstPass | None = None
    fused: str = ""


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
        typed = ingest.typed(frame, typing) if first is not None else None
        lazy, label = _first_lazy(first, typed)
        result, target = _ingest(ctx, frame, typing, lazy)
        summary["records"] = result.rows
        if result.read_as_missing:
            summary["non_finite_read_as_missing"] = result.read_as_missing
    coalesce = None if ctx.options.partitions else result.rows  # --partitions N: kept as asked
    if target.held:
        memory.small_run()
    checkpointed = target.frame(result.integer_columns, coalesce)
    answers, at = {}, 0
    for key, values in lazy.items() if result.fused else ():  # none: the ingest ran again
        answers[key], at = result.fused[at : at + len(values)], at + len(values)
    if answers and not _same_types(typed, checkpointed):
        answers = {}  # not the frame the steps will see: their first pass runs as usual
    whole = set(result.integer_columns)
    return _Checkpointed(target, checkpointed, result.rows, whole, answers or None, label)


def _first_lazy(first: First | None, typed: dask.dataframe.DataFrame | None) -> tuple:
    """The steps' first pass on ``typed`` (none without it, or when a step fails on it)."""
    if first is None or typed is None:
        return {}, ""
    try:
        return first(typed)
    except Exception:  # noqa: BLE001 - the step fails again where it runs, after the verdict
        return {}, ""


def _ingest(
    ctx: RunContext, frame: dask.dataframe.DataFrame, typing: ingest.Typing, lazy: FirstPass
) -> tuple[ingest.IngestResult, Checkpoint]:
    """The ingest pass (with ``lazy``) into a checkpoint; its result and the checkpoint.

    The error of a pass with the steps' values may be theirs: the ingest runs again without
    them, and either the input's error comes again or theirs in their own pass, after the
    input's verdict, as it would without the fusion.
    """
    budget = HELD_BYTES if ctx.options.scheduler == "threads" else 0  # else: other processes
    target = Checkpoint(ctx.staging.work / "ingest", budget)
    flat = tuple(v for values in lazy.values() for v in values)
    if not flat:
        return ingest.ingest(frame, typing, target), target
    try:
        return ingest.ingest(frame, typing, target, flat), target
    except AnonymizeError:
        raise
    except Exception:  # noqa: BLE001 - raised again below, or by the step's own pass
        again = Checkpoint(ctx.staging.work / "ingest-again", budget)
        return ingest.ingest(frame, typing, again), again


def _same_types(a: dask.dataframe.DataFrame, b: dask.dataframe.DataFrame) -> bool:
    """Whether two frames have the same columns, in the same order, of the same types."""
    return list(a.columns) == list(b.columns) and all(
        a.dtypes[c] == b.dtypes[c] and str(a.dtypes[c]) == str(b.dtypes[c]) for c in a.columns
    )
