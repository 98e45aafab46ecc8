"""What a run's phases share: the run's fixed context, and the steps as they ran.

``RunContext`` is fixed before a record is read; ``Ran`` grows as the phases apply steps.
Everything else a phase finds it returns (``pipeline.engine.phases``,
``pipeline.engine.produce``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pipeline.engine.apply import PendingChecks
from pipeline.engine.prepare import RunOptions, read_secrets
from pipeline.engine.progress import Reporter
from pipeline.engine.publish import Staging
from pipeline.engine.steplog import ran_steps, step_record
from pipeline.gate.catalog import RanStep
from pipeline.gate.stages import Gate
from pipeline.manifest import StepRecord
from pipeline.recipe.loader import LoadedRecipe, StepCall
from pipeline.recipe.models import Recipe
from pipeline.series.context import SeriesContext
from pipeline.steps.registry import Effect, StepContext


@dataclass(frozen=True)
class RunContext:
    """What a run knows before it reads a record.

    Attributes:
        loaded: The recipe as loaded (contracts, base folder, sha256).
        recipe: The effective recipe (``--input`` / ``--output`` applied).
        options: The command's options.
        reporter: Where the progress lines go.
        run_id: The run's id.
        header: The input's columns.
        keep: The input columns read (identifier columns never are).
        gate: The run's gate.
        staging: The staging folder the output is written into.
        checks: The checks steps leave for the engine to settle in its passes.
        input_sha256: The SHA-256 of the input, taken once before it is read.
        release: What makes this release itself: fresh tokens come from it.
        series: The series the release belongs to (None: judged alone).
        passes: Each pass over the data, by what it did (appended as the passes run).
        source: The input as the manifest names it (empty: its path).
        records_sha256: The records' digest when the release is identified by its records.
    """

    loaded: LoadedRecipe
    recipe: Recipe
    options: RunOptions
    reporter: Reporter
    run_id: str
    header: list[str]
    keep: list[str]
    gate: Gate
    staging: Staging
    checks: PendingChecks
    input_sha256: str
    release: str
    series: SeriesContext | None = None
    passes: list[str] = field(default_factory=list)
    source: str = ""  # the input as the manifest names it (a database: URL without secrets)
    records_sha256: str | None = None  # input.identity: records: the records' digest

    def __post_init__(self) -> None:
        self.checks.passes = self.passes  # the engine's computes for steps are passes too

    def step_context(self, i: int, call: StepCall) -> StepContext:
        """What the step at position ``i`` is told of the run."""
        recipe = self.recipe
        return StepContext(
            seed=recipe.seed,
            index=i,
            name=call.spec.name,
            columns=recipe.columns,
            base_dir=self.loaded.base_dir,
            location=call.location,
            secrets=read_secrets(recipe),
            missing=recipe.risk.missing if recipe.risk else "any",
            release=self.release,
            series=self.series,
        )


@dataclass
class Ran:
    """The steps as they ran, automatic ones first: their manifest records and effects.

    Attributes:
        records: The manifest's step records (row counts and metrics settled by the engine).
        effects: What each step did.
        initial: How many steps were applied while the input was read (identifiers, series).
        last: The series' step, applied after the recipe's.
    """

    records: list[StepRecord] = field(default_factory=list)
    effects: list[Effect] = field(default_factory=list)
    initial: int = 0
    last: list[StepCall] = field(default_factory=list)

    def add(self, call: StepCall, index: int, effect: Effect) -> None:
        """Record a step applied at position ``index``."""
        self.records.append(step_record(call, index, effect))
        self.effects.append(effect)

    def for_gate(self, loaded: LoadedRecipe) -> list[RanStep]:
        """The recipe's steps (then the series') as the gate sees them."""
        return ran_steps(loaded.steps, self.records, self.last)
