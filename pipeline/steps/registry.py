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
from fnmatch import fnmatchcase as fnmatch
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import Field

from pipeline.core.columns import ROW, ColumnsSpec
from pipeline.core.errors import Problem
from pipeline.core.requirements import Requirement
from pipeline.core.strict import StrictModel
from pipeline.steps.declaration import (  # noqa: F401 - the steps import them from here
    SUPPRESSED,
    Declaration,
    Description,
    UndescribedStep,
    Wording,
)

if TYPE_CHECKING:
    import dask.dataframe as dd

    from pipeline.reductions import Reduction


class StepParams(StrictModel):
    """Base of every step's parameter model: the parameters and the step's declaration.

    A step declares itself once, here: ``declare`` says which columns it reads and changes
    (:class:`~pipeline.steps.declaration.Declaration`), ``needs`` which whole-file facts it
    needs, ``requirements`` what the gate checks because of it, ``wording`` how it is described
    to the public, and ``examples`` parameter sets over the demo's columns (shown by
    ``anonymize steps``; the contract test runs every one). ``column_fields`` names the fields
    that hold a column name (checked against the columns that exist when the step runs).
    ``logged`` names the facts the run's log shows (shell patterns): counts, and words of the
    recipe; never a figure derived from the data (a cap, a level, a matrix: the manifest's).
    """

    column_fields: ClassVar[tuple[str, ...]] = ()
    wording: ClassVar[Wording | None] = None
    record_wording: ClassVar[Wording | None] = None
    examples: ClassVar[tuple[dict[str, Any], ...]] = ()
    in_series: ClassVar[bool] = False  # runs only in a release series (ctx.series is set)
    logged: ClassVar[tuple[str, ...]] = ()  # facts the log shows: counts and recipe words

    @classmethod
    def log_facts(cls, facts: Mapping[str, Any]) -> dict[str, Any]:
        """The facts the run's log shows (``logged``), in the facts' order."""
        return {k: v for k, v in facts.items() if any(fnmatch(k, p) for p in cls.logged)}

    def categories(self, base_dir: Path) -> dict[str, dict[str, Wording]]:
        """What the values it writes mean, per column (``{"age": {"15": 15-19}}``).

        The codebook labels the published categories with them (bands as ranges); by default
        a step writes no category of its own.
        """
        return {}

    def declare(self, columns: ColumnsSpec) -> Declaration:
        """The columns the step reads and changes; by default it reads its fields' columns."""
        return Declaration(reads=set(self.columns_used().values()))

    def columns_used(self) -> dict[str, str]:
        """Return {field: column} for the fields that name a column (None values skipped)."""
        return {f: getattr(self, f) for f in self.column_fields if getattr(self, f) is not None}

    def requirements(self, facts: dict[str, Any], base_dir: Path) -> list[Requirement]:
        """What the published data must satisfy because of this step; nothing by default.

        ``facts`` are the step's computed facts (e.g. a quantile threshold). The gate checks
        them on every row, only when no later step replaces the same column.
        """
        return []

    def generalizes(self, facts: dict[str, Any], base_dir: Path) -> dict[str, tuple[int, int]]:
        """Columns this step generalizes, each with (level, height) of its hierarchy; none.

        The information-loss measures count a released value as level/height lost (precision).
        """
        return {}

    def recipe_problems(self, columns: ColumnsSpec) -> list[tuple[str, str]]:
        """Problems with the rest of the recipe, as (field, message); none by default."""
        return []

    def needs(self, ctx: StepContext) -> dict[str, Reduction]:
        """The whole-file facts the step needs, by name (see ``pipeline.reductions``).

        None by default. The engine computes them and gives them to the step in ``ctx.values``.
        """
        return {}

    def changed(self, facts: dict[str, Any], columns: ColumnsSpec) -> set[str]:
        """The published columns whose values this run of the step changed.

        By default the columns it writes (the engine's own columns aside).
        """
        return set(self.declare(columns).published())

    def describe(self, facts: dict[str, Any], base_dir: Path, columns: ColumnsSpec) -> Description:
        """How the step changed the published data, in words for the notice and codebook.

        Raises:
            UndescribedStep: it changed columns but has no ``wording``.
        """
        changed = self.changed(facts, columns)
        if changed and self.wording is None:
            raise UndescribedStep(type(self).__name__, changed)
        return Description({c: self.wording for c in changed}, self.record_wording)  # type: ignore[misc]


class NoParams(StepParams):
    """A step without parameters (write ``{}``)."""


class PerturbParams(StepParams):
    """Base of the steps that perturb numeric ``variables`` (noise, microaggregation, swaps).

    The variables are columns of numbers that the step rewrites, and their risk and loss as
    perturbed variables are measured in every run.
    """

    variables: list[str] = Field(min_length=1, max_length=60, description="Numeric columns.")

    def declare(self, columns: ColumnsSpec) -> Declaration:
        """Reads the row position (it seeds each record's draw) and the variables; replaces them."""
        return Declaration(
            reads={ROW, *self.variables},
            numeric=self.variables,
            writes=self.variables,
            replaces=self.variables,
            perturbs={c: "numeric" for c in self.variables},
        )

    def columns_used(self) -> dict[str, str]:
        """Each variable is a column of the data."""
        return {f"variables[{i}]": c for i, c in enumerate(self.variables)}

    def recipe_problems(self, columns: ColumnsSpec) -> list[tuple[str, str]]:
        """Each variable is listed once."""
        return repeated(self.variables, "variables", "variable")


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


StepFunc = Callable[["dd.DataFrame", Any, StepContext], Effect]


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
