"""One step on one frame, as a run applies it: for notebooks (``api.apply_step``) and tests.

The step's needs are computed first (``compute_now``: pass after pass over the frame), then the
step is called with the answers, then the checks it left are settled (a failed one raises with
every problem), and its lazy metrics are computed into its facts. Nothing else of a run happens
here: no identifiers are deleted, nothing is measured, gated or written.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd
from pydantic import ValidationError

from pipeline.core.columns import INTERNAL_PREFIX, ORDER, ROW, ColumnsSpec
from pipeline.core.errors import Problem, RecipeError
from pipeline.engine.apply import PendingChecks, call_step
from pipeline.engine.ingest import number_dtype, to_numbers
from pipeline.recipe.loader import StepCall, collect_errors
from pipeline.reductions import compute_now
from pipeline.steps import STEPS, StepContext, StepParams
from pipeline.steps.registry import Effect, StepFunc


@dataclass(frozen=True)
class StepResult:
    """A step's output and what it recorded.

    Attributes:
        frame: The records after the step, in their published order (engine columns dropped
            unless asked for).
        facts: The step's facts (as in the manifest), its checks' counts and metrics included.
    """

    frame: pd.DataFrame
    facts: dict[str, Any]


def load_params(name: str, params: Mapping[str, Any], base_dir: Path) -> StepParams:
    """Validate a step's parameters as the loader does (every problem at once, exit 2)."""
    spec = STEPS.get(name)
    if spec is None:
        known = ", ".join(sorted(n for n, s in STEPS.items() if not s.automatic))
        raise RecipeError(
            [Problem(f"unknown step {name!r}; valid steps: {known}", code="unknown_step")]
        )
    try:
        return spec.params.model_validate(dict(params), context={"base_dir": str(base_dir)})
    except ValidationError as exc:
        problems: list[Problem] = []

        def at(loc: tuple, message: str, code: str = "invalid") -> None:
            problems.append(Problem(message, ".".join(map(str, loc)), code))

        collect_errors(exc, (name,), spec.params, at)
        raise RecipeError(problems) from None


def typed(
    frame: pd.DataFrame, params: StepParams, columns: ColumnsSpec, position: bool = True
) -> pd.DataFrame:
    """The frame as the ingest types it, with each record's position (``ROW``) if asked.

    Columns the step reads as numbers, and the weight, are parsed as numbers.
    """
    out = frame.reset_index(drop=True)
    numeric = {*params.declare(columns).numeric, *([columns.weight] if columns.weight else [])}
    for column in sorted(c for c in numeric if c in out.columns):
        out[column] = to_numbers(out[column], number_dtype(out[column].dtype))
    if position and ROW not in out.columns:
        out[ROW] = np.arange(len(out), dtype=np.int64)
    return out


def settled(
    func: StepFunc,
    frame: dd.DataFrame,
    params: StepParams,
    ctx: StepContext,
    guard: Callable[[], AbstractContextManager[Any]] = nullcontext,
) -> Effect:
    """The step's effect as the engine gets it, its checks settled.

    Its needs are computed first (``ctx.values``), then the step is called (inside ``guard``:
    tests forbid computing there), then its checks are settled (their counts added to the
    effect's facts).
    """
    values = {name: compute_now(r, frame) for name, r in params.needs(ctx).items()}
    with guard():
        effect = func(frame, params, dataclasses.replace(ctx, values=values))
    with PendingChecks([(check, effect.facts) for check in effect.checks]) as checks:
        checks.settle()
    return effect


def run_one(
    frame: dd.DataFrame,
    call: StepCall,
    ctx: StepContext,
    guard: Callable[[], AbstractContextManager[Any]] = nullcontext,
) -> tuple[dd.DataFrame, dict[str, Any]]:
    """The step's lazy output frame and its facts: needs computed, checks settled, metrics in."""

    def func(frame: dd.DataFrame, params: StepParams, ctx: StepContext) -> Effect:
        return call_step(call, frame, ctx)

    effect = settled(func, frame, call.params, ctx, guard)
    facts = dict(effect.facts)
    names = list(effect.metrics)
    for name, value in zip(names, dask.compute(*effect.metrics.values()), strict=True):
        facts[name] = int(value) if isinstance(value, (int, np.integer)) else value
    return effect.frame, facts


def published(frame: pd.DataFrame, keep_engine_columns: bool = False) -> pd.DataFrame:
    """The computed frame in published order (by ``ORDER`` when a step shuffled it)."""
    if ORDER in frame.columns:
        frame = frame.sort_values(ORDER, kind="stable")
    frame = frame.reset_index(drop=True)
    if keep_engine_columns:
        return frame
    return frame[[c for c in frame.columns if not str(c).startswith(INTERNAL_PREFIX)]]


def apply_step(
    frame: pd.DataFrame,
    name: str,
    params: Mapping[str, Any],
    columns: ColumnsSpec,
    seed: int = 0,
    partitions: int = 1,
    base_dir: Path = Path("."),
    keep_engine_columns: bool = False,
) -> StepResult:
    """Apply the step ``name`` with ``params`` to a pandas frame (see ``api.apply_step``)."""
    model = load_params(name, params, base_dir)
    spec = STEPS[name]
    call = StepCall(index=0, spec=spec, params=model, location=f"step {name}")
    ctx = StepContext(
        seed=seed, index=0, name=name, columns=columns, base_dir=base_dir, location=f"step {name}"
    )
    lazy = dd.from_pandas(typed(frame, model, columns), npartitions=max(1, partitions), sort=False)
    out, facts = run_one(lazy, call, ctx)
    return StepResult(published(out.compute(), keep_engine_columns), facts)
