"""Great Expectations in a process of its own: its imports and validations off this interpreter.

GX takes 3-5 s of imports and validates in Python (two modules it imports for nothing the gate
asks, scipy.stats and altair, run only if first used: :data:`DEFERRED`); in the run's
process both held the interpreter lock beside the ingest and the measures (a 2M-row run spent
17 s of its threads' time waiting on them). One worker process (``python -m
pipeline.gate.gx_worker``, never a fork: the run has threads; never a re-import of the caller's
script, as multiprocessing's ``spawn`` would do) imports GX once and validates one column's
values per request; the run goes on meanwhile and collects the counts when it needs them.

Requests and answers are pickles over the worker's standard input and output, answered in
order. Only counts (or positions of unexpected distinct values) come back, never a value or a
library's message: the worker's own standard output and error go to the null device, and it
catches every error of a validation and answers ``None`` for its expectations, which the gate
treats as a check that could not run (fail closed). A worker that dies (killed, out of memory)
fails its pending requests the same way, and the next request starts a new one.
"""

from __future__ import annotations

import atexit
import importlib.abc
import importlib.util
import os
import pickle
import queue
import subprocess
import sys
import threading
from collections import deque
from concurrent.futures import Future
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported where used: the run starts the worker before its own imports
    import pandas as pd
    import pyarrow as pa

Expectation = tuple[int, str, dict[str, Any]]  # (key, GX expectation class, its arguments)
Counts = list[tuple[int, Any]]  # (key, unexpected count | positions of unexpected values | None)

_LOCK = threading.Lock()
_WORKER: list[_Worker] = []
_STATE: dict[str, Any] = {}  # in the worker: GX's batch definition and the suites built


class WorkerDied(RuntimeError):
    """The worker ended before it answered (killed, out of memory, stopped)."""


class _Worker:
    """The parent's side: the process, the requests waiting for answers, their writer and reader.

    Requests are written by a thread of their own: a worker still importing GX reads nothing,
    and a request larger than the pipe's buffer would hold the run's thread until it does.
    """

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "pipeline.gate.gx_worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        self.pending: deque[Future] = deque()
        self.outbox: queue.SimpleQueue[tuple | None] = queue.SimpleQueue()
        threading.Thread(target=self._write, name="gx-requests", daemon=True).start()
        threading.Thread(target=self._read, name="gx-answers", daemon=True).start()

    def send(self, request: tuple) -> Future:
        """Queue ``request``; its answer comes as the future's result (under ``_LOCK``)."""
        future: Future = Future()
        self.pending.append(future)
        self.outbox.put(request)
        return future

    def _write(self) -> None:
        stdin = self.process.stdin
        try:
            while (request := self.outbox.get()) is not None:
                pickle.dump(request, stdin, protocol=pickle.HIGHEST_PROTOCOL)
                stdin.flush()
        except Exception:  # noqa: BLE001 - the pipe broke: the worker is gone (the reader says so)
            self.process.kill()

    def _read(self) -> None:
        stream = self.process.stdout
        try:
            while True:
                answer = pickle.load(stream)
                self.pending.popleft().set_result(answer)
        except Exception:  # noqa: BLE001 - EOF, a torn or unasked-for answer: the worker is gone
            self.process.kill()  # nothing it says is trusted any more; no request may hang
        with _LOCK:  # a request sent from now on goes to a new worker
            if self in _WORKER:
                _WORKER.remove(self)
            while self.pending:
                self.pending.popleft().set_exception(WorkerDied("GX's worker ended"))
        self.outbox.put(None)  # the writer stops

    def kill(self) -> None:
        self.outbox.put(None)
        self.process.kill()
        self.process.wait()


def submit(table: pa.Table, expectations: list[Expectation], distinct: bool) -> Future:
    """Validate the one column of ``table`` in the worker; a future of its :data:`Counts`.

    Args:
        table: One column's values (the distinct ones when ``distinct``).
        expectations: The expectations on that column.
        distinct: Answer the positions of the unexpected values instead of their count.

    """
    with _LOCK:
        return _worker().send((table, expectations, distinct))


def warm_up() -> None:
    """Start the worker and its imports now (they overlap the reading of the input)."""
    with _LOCK:
        _worker()


def stop() -> None:
    """End the worker without waiting for what it is doing (the command is over)."""
    with _LOCK:
        workers = list(_WORKER)
        _WORKER.clear()
    for worker in workers:
        worker.kill()


def _worker() -> _Worker:
    if not _WORKER:
        _WORKER.append(_Worker())
    return _WORKER[0]


atexit.register(stop)


def main(requests: IO[bytes], answers: IO[bytes]) -> None:
    """In the worker: answer each request in order until the parent closes the pipe."""
    _start()
    while True:
        try:
            table, expectations, distinct = pickle.load(requests)
        except EOFError:
            return
        pickle.dump(_validate(table, expectations, distinct), answers, pickle.HIGHEST_PROTOCOL)
        answers.flush()


def _start() -> None:
    """In the worker: no library log or warning reaches its standard error; GX imported."""
    import logging
    import warnings

    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    logging.getLogger().addHandler(logging.NullHandler())
    warnings.simplefilter("ignore")
    defer_unused_imports()
    try:
        _batch_definition()
    except Exception:  # noqa: BLE001 - every validation will then answer None: fail closed
        _STATE["broken"] = True


# Modules GX imports when it is imported, for what the gate never asks of it: one expectation
# (the KL divergence's, with its chart) imports scipy.stats and altair at the top of its module.
# They are loaded when first used instead: 1.1-1.2 s of the worker's 3.2 s of CPU before its
# first answer (`python -X importtime`), on a machine whose two cores the run needs.
DEFERRED = ("scipy.stats", "altair")


class _OnFirstUse(importlib.abc.MetaPathFinder):
    """Finds the :data:`DEFERRED` modules as usual, but runs them when first used."""

    def find_spec(self, name: str, path: Any, target: Any = None) -> Any:  # noqa: ARG002
        """The module's own spec with its loader made lazy (None: not one of ours)."""
        if name not in DEFERRED:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None and spec.loader is not None:
                spec.loader = importlib.util.LazyLoader(spec.loader)
                return spec
        return None


def defer_unused_imports() -> None:
    """In the worker: the :data:`DEFERRED` modules are run when first used, not when imported.

    A module loaded this way is the module itself (``importlib.util.LazyLoader``): the first
    attribute read runs it, so anything GX does use works as before.
    """
    if not any(isinstance(f, _OnFirstUse) for f in sys.meta_path):
        sys.meta_path.insert(0, _OnFirstUse())


def _batch_definition() -> Any:
    if "batch" not in _STATE:
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig
        from great_expectations.execution_engine import pandas_execution_engine

        # GX fingerprints every pandas batch it loads (a full-frame hash, twice per validation)
        # only to label it; measured, that was 95% of the gate's time on 1M rows. Frames larger
        # than HASH_THRESHOLD bytes are never fingerprinted, so with 0 none is.
        pandas_execution_engine.HASH_THRESHOLD = 0
        context = gx.get_context(mode="ephemeral")
        context.variables.progress_bars = ProgressBarsConfig(globally=False)
        source = context.data_sources.add_pandas("anonymize_gate")
        asset = source.add_dataframe_asset("batch")
        _STATE["batch"] = asset.add_batch_definition_whole_dataframe("whole")
    return _STATE["batch"]


def _suite(expectations: list[Expectation]) -> Any:
    key = repr(expectations)
    if key not in _STATE:
        import great_expectations as gx
        import great_expectations.expectations as gxe

        made = [getattr(gxe, name)(**kwargs, meta={"k": k}) for k, name, kwargs in expectations]
        _STATE[key] = gx.ExpectationSuite(name="anonymize_gate", expectations=made)
    return _STATE[key]


def gx_frame(table: pa.Table) -> pd.DataFrame:
    """A batch in the dtypes GX checks fastest: numpy numbers (NaN for missing), Arrow text.

    GX compares nullable ``Int64`` values one Python object at a time but numpy columns in one
    vectorized pass (measured: 10x on 1M rows); it skips missing values either way. An integer
    column with missing values becomes float64 only where that is exact (|x| <= 2**53).
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    from pipeline.io.dataset import NULLABLE

    frame = table.to_pandas(ignore_metadata=True)  # no pandas metadata: no Int64 restored
    for name, column in zip(table.column_names, table.columns, strict=True):
        if pa.types.is_integer(column.type) and column.null_count and len(column):
            low, high = pc.min_max(column).values()
            if max(abs(low.as_py() or 0), abs(high.as_py() or 0)) > 2**53:
                frame[name] = column.to_pandas(types_mapper=NULLABLE.get)
    return frame


def _validate(table: pa.Table, expectations: list[Expectation], distinct: bool) -> Counts:
    """In the worker: each expectation's unexpected count (or positions); None where it raised."""
    nothing: Counts = [(k, None) for k, _, _ in expectations]
    if _STATE.get("broken"):
        return nothing
    try:
        batch = _batch_definition().get_batch(batch_parameters={"dataframe": gx_frame(table)})
        fmt = {"result_format": "COMPLETE" if distinct else "BASIC", "partial_unexpected_count": 0}
        outcome = batch.validate(_suite(expectations), result_format=fmt)
    except Exception:  # noqa: BLE001 - a library's message may quote values: only None leaves
        return nothing
    counts: Counts = []
    for result in outcome.results:
        found = result.result or {}
        value = found.get("unexpected_index_list" if distinct else "unexpected_count")
        if distinct and value is not None:
            value = [int(i) for i in value]
        counts.append((int(result.expectation_config.meta["k"]), value))
    return counts


if __name__ == "__main__":
    # the protocol keeps the real standard output; anything a library prints goes nowhere
    _answers = os.fdopen(os.dup(1), "wb")
    _null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(_null, 1)
    os.dup2(_null, 2)
    main(sys.stdin.buffer, _answers)
