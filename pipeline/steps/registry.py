"""The step registry and the step contract: a plain dict of name -> StepSpec (``@step``).

A step is a small, pure, typed function ``def name(df, params, ctx) -> Effect`` over a lazy dask
DataFrame. It never computes. What it must know about the whole file it declares in its
parameters' ``needs`` (reductions, see ``pipeline.reductions``); the engine computes them in its
passes over the data and hands the answers over in ``ctx.values``. The step returns an
:class:`Effect`: its new lazy frame, the facts worth recording, lazy metrics and the whole-file
checks it leaves for the engine. Its parameters are a pydantic model (validated before anything
runs), which also says which columns the step reads and writes (the engine plans its passes
with that), and its docstring is the user documentation that ``anonymize steps`` prints.
"""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import dask.dataframe as dd
from pydantic import Field

from pipeline.columns import ColumnsSpec
from pipeline.errors import Problem
from pipeline.requirements import Requirement
from pipeline.strict import StrictModel

if TYPE_CHECKING:
    from pipeline.reductions import Reduction


class StepParams(StrictModel):
    """Base of every step's parameter model.

    ``column_fields`` names the fields that hold a column name (checked against the columns that
    exist when the step runs); ``numeric_fields`` the ones whose column must hold numbers;
    ``writes_fields`` the ones whose column the step rewrites. ``removes_rows`` is true for steps
    that may delete records (the gate reconciles row counts against it).
    """

    column_fields: ClassVar[tuple[str, ...]] = ()
    numeric_fields: ClassVar[tuple[str, ...]] = ()
    writes_fields: ClassVar[tuple[str, ...]] = ()
    removes_rows: ClassVar[bool] = False

    def columns_written(self) -> list[str]:
        """Columns whose values this step replaces (missing values aside)."""
        return [getattr(self, f) for f in self.writes_fields if getattr(self, f) is not None]

    def requirements(self, facts: dict[str, Any], base_dir: Path) -> list[Requirement]:
        """What the published data must satisfy because of this step; nothing by default.

        ``facts`` are the step's computed facts (e.g. a quantile threshold). The gate checks
        them on every row, only when no later step rewrites the same column.
        """
        return []

    def generalizes(self, facts: dict[str, Any], base_dir: Path) -> dict[str, tuple[int, int]]:
        """Columns this step generalizes, each with (level, height) of its hierarchy; none.

        The information-loss measures count a released value as level/height lost (precision).
        """
        return {}

    def perturbs(self) -> dict[str, str]:
        """Columns whose values this step perturbs: {column: "numeric" | "categorical"}; none.

        Their disclosure risk and loss as perturbed variables are measured in every run
        (interval disclosure, record linkage and SSE/SST; PRAM's shares of values changed).
        """
        return {}

    def columns_used(self) -> dict[str, str]:
        """Return {field: column} for the fields that name a column (None values skipped)."""
        return {f: getattr(self, f) for f in self.column_fields if getattr(self, f) is not None}

    def numeric_columns(self) -> list[str]:
        """Columns this step reads as numbers."""
        return [getattr(self, f) for f in self.numeric_fields if getattr(self, f) is not None]

    def recipe_problems(self, columns: ColumnsSpec) -> list[tuple[str, str]]:
        """Problems with the rest of the recipe, as (field, message); none by default."""
        return []

    def needs(self, ctx: StepContext) -> dict[str, Reduction]:
        """The whole-file facts the step needs, by name (see ``pipeline.reductions``).

        None by default. The engine computes them and gives them to the step in ``ctx.values``.
        """
        return {}

    def reads(self, columns: ColumnsSpec) -> set[str] | None:
        """Every column the step's frame function reads (None: any column).

        By default the columns its fields name. The engine relies on it to run reductions early.
        """
        return set(self.columns_used().values())

    def replaces(self, columns: ColumnsSpec) -> set[str]:
        """Columns whose values the step replaces by others (setting missing aside).

        By default ``columns_written``; the gate drops an earlier step's check on such a column.
        """
        return set(self.columns_written())

    def writes(self, columns: ColumnsSpec) -> set[str]:
        """Every column whose values the step may change or add; by default ``columns_written``."""
        return set(self.columns_written())


class NoParams(StepParams):
    """A step without parameters (write ``{}``)."""


class PerturbParams(StepParams):
    """Base of the steps that perturb numeric ``variables`` (noise, microaggregation, swaps).

    The variables are columns of numbers that the step rewrites, and their risk and loss as
    perturbed variables are measured in every run.
    """

    variables: list[str] = Field(min_length=1, max_length=60, description="Numeric columns.")

    def perturbs(self) -> dict[str, str]:
        """The variables are perturbed."""
        return {c: "numeric" for c in self.variables}

    def columns_used(self) -> dict[str, str]:
        """Each variable is a column of the data."""
        return {f"variables[{i}]": c for i, c in enumerate(self.variables)}

    def numeric_columns(self) -> list[str]:
        """The variables are numbers."""
        return list(self.variables)

    def recipe_problems(self, columns: ColumnsSpec) -> list[tuple[str, str]]:
        """Each variable is listed once."""
        return repeated(self.variables, "variables", "variable")

    def writes(self, columns: ColumnsSpec) -> set[str]:
        """The variables."""
        return set(self.variables)

    def replaces(self, columns: ColumnsSpec) -> set[str]:
        """The variables."""
        return set(self.variables)


def repeated(names: list[str], field: str, what: str) -> list[tuple[str, str]]:
    """A problem (``field[i]``, message) for each column listed again in ``names``."""
    return [
        (f"{field}[{i}]", f"{name!r} is listed twice; list each {what} once")
        for i, name in enumerate(names)
        if name in names[:i]
    ]


@dataclass(frozen=True)
class Check:
    """A whole-file check a step leaves for the engine's next pass over the data.

    ``count`` (a lazy dask integer) becomes the step's fact ``fact``; ``problem(count)`` returns
    the problem that stops the run, or None. The engine settles every check before anything is
    published (``pipeline.engine.apply.PendingChecks``).
    """

    count: Any
    fact: str
    problem: Callable[[int], Problem | None]


@dataclass(frozen=True)
class Effect:
    """What a step did: its new lazy frame and what the engine records or computes for it.

    Attributes:
        frame: The new lazy frame.
        facts: Numbers worth recording in the manifest (e.g. a top-code cap); never a data value.
        metrics: Lazy dask integers, computed with the final write (e.g. values changed).
        checks: Whole-file checks for the engine to settle (see :class:`Check`).
        known: Reductions of ``frame`` the step already knows the answer of (e.g. the key
            combinations after a generalization); a next step needing one gets it without a pass.
    """

    frame: dd.DataFrame
    facts: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    checks: tuple[Check, ...] = ()
    known: dict[Reduction, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StepContext:
    """What a step may use besides its frame and parameters (read only).

    ``values`` holds the computed answers of the step's ``needs``. There is no ``compute``
    here: a step declares what it needs and the engine computes it.
    """

    seed: int
    index: int
    name: str
    columns: ColumnsSpec
    base_dir: Path = Path(".")
    location: str = ""
    secrets: Mapping[str, bytes] = field(default_factory=dict, repr=False)
    missing: str = "any"  # the recipe's missing-value convention of key variables (risk.missing)
    values: Mapping[str, Any] = field(default_factory=dict, repr=False)
    release: str = ""  # this release's identity (the input's SHA-256): fresh surrogate tokens
    series: Any = field(default=None, repr=False)  # a release series (SeriesContext) or None

    def derive_key(self, label: str) -> bytes:
        """Return 32 bytes derived from the seed, this step's position and ``label``."""
        material = f"anonymize:{self.seed}:{self.index}:{self.name}:{label}".encode()
        return hashlib.sha256(material).digest()


StepFunc = Callable[[dd.DataFrame, Any, StepContext], Effect]


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
