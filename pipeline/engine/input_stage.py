"""The input stage: the checkpoint measured beside the steps, judged before any write.

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
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import dask.dataframe

from pipeline.core import priority
from pipeline.core.columns import INTERNAL_PREFIX
from pipeline.core.errors import InputDataError
from pipeline.engine.checkpoint import Checkpoint
from pipeline.engine.context import RunContext
from pipeline.engine.measure import measures, risk_line
from pipeline.gate.catalog import Evidence, kinds
from pipeline.gate.model import GateResult
from pipeline.io.dataset import Dataset
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
