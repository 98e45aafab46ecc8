"""The engine's side of the step contract: only the engine computes.

A step is a function ``(frame, params, ctx)``. It returns the new lazy frame, or it is a
generator that first yields ``Need`` requests (the whole-file values it must know before it
can build its frame, e.g. a quantile's histogram) and then returns the frame. Steps declare
their whole-file checks with ``ctx.defer``; they never call ``compute``.

``apply_step`` runs a step and answers its requests; ``PendingChecks`` holds the deferred
checks and computes them with the next pass over the data, so a check cannot be lost: leaving
a ``with PendingChecks()`` block with checks still unsettled is an error.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any

import dask

from pipeline.errors import InputDataError
from pipeline.steps.registry import Deferred, Need, StepContext, StepFunc, StepParams


class UnsettledChecks(RuntimeError):
    """A run ended with whole-file checks that were never computed (a bug of the caller)."""


class PendingChecks:
    """Whole-file checks deferred by steps, computed in the engine's next pass over the data.

    Use as a context manager; give ``items`` to the steps' ``StepContext(pending=...)``.
    """

    def __init__(self, items: list[Deferred] | None = None) -> None:
        self.items: list[Deferred] = [] if items is None else items
        self.passes: list[str] = []  # what each pass over the data computed

    def __enter__(self) -> PendingChecks:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *rest: object) -> None:
        if exc_type is None:
            self.ensure_settled()

    def ensure_settled(self) -> None:
        """Call before publishing: every deferred check must have been computed.

        Raises:
            UnsettledChecks: some were not (a bug of the caller; nothing may be published).
        """
        if self.items:
            names = ", ".join(sorted({d.fact for d in self.items}))
            raise UnsettledChecks(f"{len(self.items)} whole-file check(s) never settled: {names}")

    def settle(self, *lazy: Any, label: str = "checks") -> tuple:
        """Compute ``lazy`` and every pending check in one pass; raise with every failure.

        Raises:
            InputDataError: listing the problem of each failed check (all of them at once).

        """
        checks = list(self.items)
        self.items.clear()
        values = dask.compute(*lazy, *[check.count for check in checks])
        self.passes.append(label)
        problems = []
        for check, value in zip(checks, values[len(lazy) :], strict=True):
            check.facts[check.fact] = int(value)
            problem = check.problem(int(value))
            if problem is not None:
                problems.append(problem)
        if problems:
            raise InputDataError(problems)
        return values[: len(lazy)]


def apply_step(
    func: StepFunc, frame: Any, params: StepParams, ctx: StepContext, checks: PendingChecks
) -> Any:
    """Run one step; compute each value it asks for (with the pending checks) and send it back.

    Returns:
        The step's new lazy frame.

    """
    out = func(frame, params, ctx)
    if not inspect.isgenerator(out):
        return out
    steps: Iterator[Need] = out
    try:
        need = next(steps)
        while True:
            if not isinstance(need, Need):
                raise TypeError(f"step {ctx.name} yielded {type(need).__name__}, not a Need")
            need = steps.send(checks.settle(*need.lazy, label=ctx.name))
    except StopIteration as done:
        return done.value
