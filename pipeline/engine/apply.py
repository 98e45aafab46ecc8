"""The apply phase: the engine alone computes, in as few passes over the data as it can.

Steps are pure: ``(frame, params, ctx) -> Effect``. What a step needs to know about the whole
file it declares in ``params.needs`` (reductions). :func:`apply_steps` builds the frames step by
step; when a step waits for its needs, the engine gathers every reduction that can be computed
at that point, for this step and for later ones, and computes them together in one pass with
the checks waiting for a pass (:class:`PendingChecks`).

A later step's reduction can run early because a reduction reads only its declared columns:
the engine evaluates it on a stand-in frame made of the frames built so far plus the later steps
that are ready, leaving out the steps still waiting; this is exact when none of the left-out
steps writes a column the reduction (or a step applied after them) reads, and none removes
records (each step's ``declare`` says what it reads and writes and whether it removes rows).
Leaving a ``with PendingChecks()`` block with checks unsettled is an error, so a check cannot
be lost. The first pass can be computed by the caller with a pass of its own over the same
records (:func:`first_pass`: the ingest's, on a Parquet input).
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass, field, replace
from typing import Any

import dask

from pipeline.core.errors import InputDataError
from pipeline.engine.steplog import log_facts
from pipeline.recipe.loader import StepCall
from pipeline.reductions import Reduction
from pipeline.steps.registry import Check, Effect, StepContext


class UnsettledChecks(RuntimeError):
    """A run ended with whole-file checks that were never computed (a bug of the caller)."""


@dataclass
class _Waiting:
    check: Check
    facts: dict[str, Any]  # where the count goes


class PendingChecks:
    """Whole-file checks left by steps, computed with the engine's next pass over the data.

    Use as a context manager; ``add`` each step's checks with the facts they belong to.
    """

    def __init__(self, checks: list[tuple[Check, dict[str, Any]]] | None = None) -> None:
        self.items: list[_Waiting] = [_Waiting(c, f) for c, f in checks or []]
        self.passes: list[str] = []  # what each pass over the data computed

    def __enter__(self) -> PendingChecks:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *rest: object) -> None:
        if exc_type is None:
            self.ensure_settled()

    def add(self, checks: tuple[Check, ...], facts: dict[str, Any]) -> None:
        """Wait for the next pass with ``checks``; their counts go to ``facts``."""
        self.items += [_Waiting(c, facts) for c in checks]

    def ensure_settled(self) -> None:
        """Call before publishing: every check must have been computed.

        Raises:
            UnsettledChecks: some were not (a bug of the caller; nothing may be published).
        """
        if self.items:
            names = ", ".join(sorted({w.check.fact for w in self.items}))
            raise UnsettledChecks(f"{len(self.items)} whole-file check(s) never settled: {names}")

    def settle(self, *lazy: Any, label: str = "checks") -> tuple:
        """Compute ``lazy`` and every pending check in one pass; raise with every failure.

        Raises:
            InputDataError: listing the problem of each failed check (all of them at once).

        """
        waiting = list(self.items)
        self.items.clear()
        values = dask.compute(*lazy, *[w.check.count for w in waiting])
        self.passes.append(label)
        _judge(waiting, values[len(lazy) :])
        return values[: len(lazy)]

    def counts(self) -> tuple:
        """The lazy counts of the checks waiting, in order (for a pass of the caller's)."""
        return tuple(w.check.count for w in self.items)

    def answer(self, counts: tuple) -> None:
        """Settle every waiting check with ``counts`` (``counts()``, computed by the caller).

        Raises:
            InputDataError: listing the problem of each failed check (all of them at once).
        """
        waiting = list(self.items)
        self.items.clear()
        _judge(waiting, counts)


def _judge(waiting: list[_Waiting], counts: tuple) -> None:
    """Record each check's count in its facts; raise with the problem of every failed one."""
    problems = []
    for item, value in zip(waiting, counts, strict=True):
        item.facts[item.check.fact] = int(value)
        problem = item.check.problem(int(value))
        if problem is not None:
            problems.append(problem)
    if problems:
        raise InputDataError(problems)


@dataclass
class Planned:
    """One step of the plan: its call, its context (answers filled in) and what it needs."""

    call: StepCall
    ctx: StepContext
    label: str
    needs: dict[str, Reduction]
    values: dict[str, Any] = field(default_factory=dict)
    reads: set[str] | None = None
    writes: set[str] = field(default_factory=set)
    removes_rows: bool = False

    @classmethod
    def of(cls, call: StepCall, ctx: StepContext, label: str) -> Planned:
        """The plan entry of ``call`` (its needs and columns from its parameters)."""
        declared = call.params.declare(ctx.columns)
        reads = None if declared.reads is None else set(declared.reads)
        return cls(
            call,
            ctx,
            label,
            call.params.needs(ctx),
            reads=reads,
            writes=set(declared.touched),
            removes_rows=declared.removes_rows,
        )

    @property
    def ready(self) -> bool:
        """Every need answered."""
        return len(self.values) == len(self.needs)

    def apply(self, frame: Any) -> Effect:
        """The step's effect on ``frame`` with its answers (a pure call: nothing computed)."""
        return call_step(self.call, frame, replace(self.ctx, values=self.values))


def call_step(call: StepCall, frame: Any, ctx: StepContext) -> Effect:
    """Call a step's function; what it returns must be an :class:`Effect`."""
    effect = call.spec.func(frame, call.params, ctx)
    if not isinstance(effect, Effect):
        raise TypeError(f"step {call.spec.name} returned {type(effect).__name__}, not an Effect")
    return effect


@dataclass
class _Running:
    """A reduction being computed: its plan and the lazy values of its current pass."""

    step: int
    name: str
    plan: Generator[tuple, tuple, Any]
    lazy: tuple = ()


Report = Callable[[str], Any]  # a label -> a context manager timing the work (Reporter.task)


def apply_steps(
    frame: Any,
    steps: list[Planned],
    checks: PendingChecks,
    task: Report,
    answers: FirstPass | None = None,
) -> tuple[Any, list[Effect]]:
    """Apply ``steps`` in order to ``frame``, computing their needs in shared passes.

    Each step's checks are added to ``checks``, which every pass settles. ``task(label)``
    times each step (its effect's facts go into the summary it yields) and each pass.
    ``answers``: the values of the first pass, computed by the caller with a pass of its own
    over the same records (:func:`first_pass`): the waiting checks are settled with them, as
    a pass settles them, before any reduction gets its values (a reduction they do not answer
    runs in the next pass). They are let go once sent (the units of every household).

    Returns:
        The final lazy frame and each step's effect (in order).

    """
    effects: list[Effect] = []
    running: dict[tuple[int, str], _Running] = {}
    memo: dict[tuple[int, str], Effect] = {}  # (step, input frame) -> its effect
    while True:
        while len(effects) < len(steps) and steps[len(effects)].ready:
            planned, key = steps[len(effects)], (len(effects), frame._name)
            with task(planned.label) as summary:  # a step's own work runs once per input frame
                effect = memo[key] if key in memo else planned.apply(frame)
                summary.update(log_facts(planned.call, effect.facts))
            checks.add(effect.checks, effect.facts)
            memo[key] = effect
            effects.append(effect)
            frame = effect.frame
            _known(effect, steps, len(effects), running)
        if len(effects) == len(steps):
            return frame, effects
        _start(frame, steps, len(effects), running, memo)
        if answers is not None:  # the first pass, computed with the caller's
            given, answers = answers, None
            fits = len(given.checks) == len(checks.items)  # the checks waiting, in order
            if fits:
                checks.answer(given.checks)
                _answer(running, steps, given.needs)
            given.needs.clear()  # the plans hold what they keep of them
            if fits:
                continue
        if running:
            _one_pass(running, steps, checks, task)


@dataclass
class FirstPass:
    """The first pass ``apply_steps`` makes: lazy (``first_pass``) or computed (``answered``).

    Attributes:
        needs: Each running reduction's values, by (step, need).
        checks: The counts of the checks waiting at the pass, in order.
        label: What the pass computes (``top_code: quantile 0.99 of income + ...``).
    """

    needs: dict[tuple[int, str], tuple]
    checks: tuple
    label: str

    def flat(self) -> tuple:
        """Every value of the pass, in order."""
        return (*(v for values in self.needs.values() for v in values), *self.checks)

    def answered(self, values: tuple) -> FirstPass:
        """The pass with ``values`` (``flat``'s, computed) in place of the lazy ones."""
        needs, at = {}, 0
        for key, lazy in self.needs.items():
            needs[key], at = tuple(values[at : at + len(lazy)]), at + len(lazy)
        return FirstPass(needs, tuple(values[at:]), self.label)


def first_pass(frame: Any, steps: list[Planned], waiting: tuple = ()) -> FirstPass:
    """The first pass ``apply_steps`` would make on ``frame``, lazy.

    ``waiting``: the lazy counts of the checks waiting before the steps (``counts()``); the
    checks of the steps applied before the pass follow them. Nothing is computed and ``steps``
    are left as they were (the plan runs on copies). The caller computes the values with a
    pass of its own over the same records, in the same order, types and partitions, and gives
    them to ``apply_steps`` as ``answers``.
    """
    steps = [replace(s, values=dict(s.values)) for s in steps]
    running: dict[tuple[int, str], _Running] = {}
    memo: dict[tuple[int, str], Effect] = {}
    done, checks = 0, list(waiting)
    while done < len(steps) and steps[done].ready:
        effect = steps[done].apply(frame)
        frame, done = effect.frame, done + 1
        checks += [c.count for c in effect.checks]
        _known(effect, steps, done, running)
    if done < len(steps):
        _start(frame, steps, done, running, memo)
    needs = {key: item.lazy for key, item in running.items()}
    return FirstPass(needs, tuple(checks), _label(list(running.values()), steps))


def _answer(running: dict, steps: list[Planned], given: dict[tuple[int, str], tuple]) -> None:
    """Send the caller's first-pass values to the running reductions they answer."""
    for key, item in list(running.items()):
        if key in given and not _advance(item, steps, given[key]):
            del running[key]


def _label(items: list[_Running], steps: list[Planned]) -> str:
    return " + ".join(
        f"{steps[r.step].call.spec.name}: {steps[r.step].needs[r.name].label}" for r in items
    )


def _known(effect: Effect, steps: list[Planned], nxt: int, running: dict) -> None:
    """Answer the next step's needs that the step just applied knows of its frame."""
    if nxt >= len(steps) or not effect.known:
        return
    for name, reduction in steps[nxt].needs.items():
        if name not in steps[nxt].values and reduction in effect.known:
            steps[nxt].values[name] = effect.known[reduction]
            running.pop((nxt, name), None)  # started early on a stand-in: no longer needed


def _start(frame: Any, steps: list[Planned], done: int, running: dict, memo: dict) -> None:
    """Start every reduction of steps ``done..`` that can be computed now."""
    for i in range(done, len(steps)):
        if all(n in steps[i].values or (i, n) in running for n in steps[i].needs):
            continue  # nothing of this step's left to start
        stand_in = _stand_in(frame, steps, done, i, memo)
        if stand_in is None:
            continue
        sub, tainted = stand_in
        for name, reduction in steps[i].needs.items():
            if (i, name) in running or name in steps[i].values:
                continue
            if tainted.intersection(reduction.columns):
                continue
            plan = reduction.plan(sub[list(reduction.columns)])
            item = _Running(i, name, plan)
            if _advance(item, steps, None):
                running[(i, name)] = item


def _stand_in(
    frame: Any, steps: list[Planned], done: int, i: int, memo: dict
) -> tuple[Any, set[str]] | None:
    """A frame equal to step ``i``'s input frame on every column but the tainted ones.

    Steps ``done..i-1`` that are ready and read no tainted column are applied; the others are
    left out and taint what they write. None when a left-out step may remove records (or may
    write any column): then no reduction of step ``i`` can run yet.
    """
    tainted: set[str] = set()
    for k in range(done, i):
        step = steps[k]
        reads = step.reads
        if step.ready and reads is not None and not (reads & tainted):
            if (k, frame._name) not in memo:  # once per input frame (a stand-in may differ)
                memo[(k, frame._name)] = step.apply(frame)
            frame = memo[(k, frame._name)].frame
            continue
        if step.removes_rows:
            return None
        tainted |= step.writes
    return frame, tainted


def _advance(item: _Running, steps: list[Planned], values: tuple | None) -> bool:
    """Send a pass's values to a reduction; True while it needs another pass."""
    try:
        item.lazy = next(item.plan) if values is None else item.plan.send(values)
    except StopIteration as done:
        steps[item.step].values[item.name] = done.value
        return False
    return True


def _one_pass(running: dict, steps: list[Planned], checks: PendingChecks, task: Report) -> None:
    """Compute the current pass of every running reduction (and the pending checks) at once."""
    items = list(running.values())
    label = _label(items, steps)
    with task(f"pass: {label}"):
        flat = [v for r in items for v in r.lazy]
        values = checks.settle(*flat, label=label)
    at = 0
    for item in items:
        mine, at = values[at : at + len(item.lazy)], at + len(item.lazy)
        if not _advance(item, steps, tuple(mine)):
            del running[(item.step, item.name)]
