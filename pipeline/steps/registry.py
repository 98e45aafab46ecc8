"""The step registry: a plain dict of name -> StepSpec, filled by the ``@step`` decorator.

A step is a small typed function ``def name(df, params, ctx) -> df`` over a dask DataFrame; one
that needs whole-file values first yields ``Need`` requests (only the engine computes).
Its parameters are a pydantic model (validated before anything runs) and its docstring is the
user documentation that ``anonymize steps`` prints.
"""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import dask.dataframe as dd
from pydantic import BaseModel, ConfigDict

from pipeline.errors import Problem
from pipeline.gate.checks import RowCheck
from pipeline.recipe.models import INTERNAL_PREFIX, ColumnsSpec

ROW = f"{INTERNAL_PREFIX}row"  # position of the record in the input file, added by the engine
ORDER = f"{INTERNAL_PREFIX}order"  # published position key (shuffle_records); the writer sorts


class StepParams(BaseModel):
    """Base of every step's parameter model.

    ``column_fields`` names the fields that hold a column name (checked against the columns that
    exist when the step runs); ``numeric_fields`` the ones whose column must hold numbers;
    ``writes_fields`` the ones whose column the step rewrites. ``removes_rows`` is true for steps
    that may delete records (the gate reconciles row counts against it).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    column_fields: ClassVar[tuple[str, ...]] = ()
    numeric_fields: ClassVar[tuple[str, ...]] = ()
    writes_fields: ClassVar[tuple[str, ...]] = ()
    removes_rows: ClassVar[bool] = False

    def columns_written(self) -> list[str]:
        """Columns whose values this step replaces (missing values aside)."""
        return [getattr(self, f) for f in self.writes_fields if getattr(self, f) is not None]

    def output_checks(self, facts: dict[str, Any], base_dir: Path) -> list[RowCheck]:
        """Row checks the gate derives from this step for the published data; none by default.

        ``facts`` are the step's computed facts (e.g. a quantile threshold). The gate uses them
        only when no later step rewrites the same column.
        """
        return []

    def columns_used(self) -> dict[str, str]:
        """Return {field: column} for the fields that name a column (None values skipped)."""
        return {f: getattr(self, f) for f in self.column_fields if getattr(self, f) is not None}

    def numeric_columns(self) -> list[str]:
        """Columns this step reads as numbers."""
        return [getattr(self, f) for f in self.numeric_fields if getattr(self, f) is not None]

    def recipe_problems(self, columns: ColumnsSpec) -> list[tuple[str, str]]:
        """Problems with the rest of the recipe, as (field, message); none by default."""
        return []


class NoParams(StepParams):
    """A step without parameters (write ``{}``)."""


@dataclass
class Deferred:
    """A whole-file check deferred to the engine's next pass (see ``StepContext.defer``)."""

    count: Any
    facts: dict[str, Any]
    fact: str
    problem: Callable[[int], Problem | None]


@dataclass(frozen=True)
class Need:
    """What a step must know before it can go on: lazy dask values for the engine to compute.

    A step that needs whole-file values is a generator: ``values = yield Need((lazy, ...))``.
    The engine computes them in one pass (together with the checks waiting for a pass) and
    sends back the tuple of results.
    """

    lazy: tuple


def from_plan(plan: Generator[tuple, tuple, Any]) -> Generator[Need, tuple, Any]:
    """Pass the lazy tuples a plan yields (e.g. a quantile's passes) on as ``Need`` requests."""
    try:
        lazy = next(plan)
        while True:
            lazy = plan.send((yield Need(lazy)))
    except StopIteration as done:
        return done.value


@dataclass
class StepContext:
    """What a step may use besides its frame: the seed, column roles and a place for facts.

    ``facts`` are computed numbers worth recording in the manifest (e.g. a top-code cap);
    ``metrics`` are lazy dask scalars evaluated together with the final write. There is no
    ``compute`` here: a step asks the engine for whole-file values by yielding a ``Need``.
    """

    seed: int
    index: int
    name: str
    columns: ColumnsSpec
    base_dir: Path = Path(".")
    location: str = ""
    secrets: dict[str, bytes] = field(default_factory=dict, repr=False)
    missing: str = "any"  # the recipe's missing-value convention of key variables (risk.missing)
    facts: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    pending: list[Deferred] = field(default_factory=list, repr=False)

    def defer(self, count: Any, fact: str, problem: Callable[[int], Problem | None]) -> None:
        """Leave a whole-file check for the next pass over the data instead of a pass of its own.

        ``count`` (a lazy dask integer) becomes ``facts[fact]``; ``problem(count)`` returns the
        problem that stops the run, or None. The engine shares ``pending`` between the steps of
        a run (``pipeline.engine.apply.PendingChecks``) and settles every check before anything
        is published.
        """
        self.pending.append(Deferred(count, self.facts, fact, problem))

    def derive_key(self, label: str) -> bytes:
        """Return 32 bytes derived from the seed, this step's position and ``label``."""
        material = f"anonymize:{self.seed}:{self.index}:{self.name}:{label}".encode()
        return hashlib.sha256(material).digest()


StepFunc = Callable[
    [dd.DataFrame, Any, StepContext], dd.DataFrame | Generator[Need, tuple, dd.DataFrame]
]


@dataclass(frozen=True)
class StepSpec:
    """A registered step: its function, parameter model and documentation."""

    name: str
    func: StepFunc
    params: type[StepParams]
    automatic: bool = False

    @property
    def doc(self) -> str:
        """The user documentation (the function's docstring)."""
        return inspect.cleandoc(self.func.__doc__ or "")

    @property
    def summary(self) -> str:
        """The first line of the documentation."""
        return self.doc.splitlines()[0] if self.doc else ""


STEPS: dict[str, StepSpec] = {}


def step(
    name: str, params: type[StepParams] = NoParams, automatic: bool = False
) -> Callable[[StepFunc], StepFunc]:
    """Register ``func`` as the step ``name`` with its parameter model.

    Args:
        name: The key used in recipes.
        params: The pydantic model of the step's parameters.
        automatic: True for steps the engine runs from ``columns:`` (not callable in ``steps:``).

    """

    def register(func: StepFunc) -> StepFunc:
        if name in STEPS:
            raise ValueError(f"step {name!r} is registered twice")
        STEPS[name] = StepSpec(name=name, func=func, params=params, automatic=automatic)
        return func

    return register
