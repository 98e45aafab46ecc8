"""A run of a release series: checked before it starts, its own steps, and what it leaves.

``series_context`` works out, before anything runs, whether this run is part of a series (the
recipe declares ``series:`` and the key is in its environment variable) and reads the previous
release's state (``--previous``), refusing anything it cannot trust. ``series_steps`` gives the
series' own steps (the first and the last of the run); ``SeriesOutcome`` turns the merged view
measured while the files were written into the gate's checks, the next state and the report's
summary.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.core.columns import MIN_KEY_BYTES
from pipeline.core.errors import InputDataError, Problem, RecipeError
from pipeline.engine.context import Ran, RunContext
from pipeline.engine.series_record import SeriesRecorder, first_header
from pipeline.io.owned import tool_json
from pipeline.manifest import Manifest
from pipeline.recipe.loader import LoadedRecipe, StepCall
from pipeline.recipe.models import Recipe
from pipeline.report.model import SeriesSummary, Snapshot
from pipeline.series.context import SeriesContext, step_signature
from pipeline.series.state import ReleaseRecord, SeriesKey, SeriesState, read_state, write_state
from pipeline.steps import STEPS
from pipeline.steps.series import SeriesParams, SeriesPersonParams


def _usage(message: str, code: str) -> RecipeError:
    return RecipeError([Problem(message, code=code)], title="--previous cannot be used")


def series_context(recipe: Recipe, previous: str | None) -> SeriesContext | None:
    """The run's series, or None (judged alone); ``--previous`` checked before anything runs.

    Raises:
        RecipeError: ``--previous`` without a series, without its key, or naming a folder that
            is not this recipe's release or is the output itself (exit 2).
        InputDataError: a previous release without a series state, or a changed one (exit 3).
    """
    spec = recipe.series
    if spec is None:
        if previous is not None:
            raise _usage(
                "--previous needs a release series: declare series: {person: COLUMN, "
                "key_env: VARIABLE} in the recipe (the column identifying a person "
                "across releases)",
                "no_series",
            )
        return None
    secret = os.environ.get(spec.key_env)
    if secret is not None and len(secret.encode()) < MIN_KEY_BYTES:
        raise _usage(
            f"the key in {spec.key_env} (series.key_env) is too short: use at least "
            f"{MIN_KEY_BYTES} bytes",
            "short_key",
        )
    if secret is None:
        if previous is not None:
            raise _usage(
                f"--previous needs the series key: environment variable {spec.key_env} "
                "(series.key_env) is not set",
                "no_key",
            )
        return None
    key = SeriesKey.of(secret.encode())
    state = None
    if previous is not None:
        folder = Path(previous)
        _check_previous(folder, recipe)
        expect = {
            "recipe_name": recipe.name,
            "person": spec.person,
            "key_variables": list(recipe.columns.key_variables),
        }
        state = read_state(folder, key, expect)
    return SeriesContext(key, spec.person, spec.withhold, state, previous)


def _check_previous(folder: Path, recipe: Recipe) -> None:
    if folder.is_symlink():
        raise _usage(f"--previous {folder} is a symbolic link: give the real folder", "symlink")
    if not folder.is_dir():
        problem = Problem(
            f"--previous {folder} does not exist or is not a folder", code="no_previous"
        )
        raise InputDataError([problem], title="--previous cannot be used")
    if folder.resolve() == Path(recipe.output.dir).resolve():
        raise _usage(
            f"--previous {folder} is the output itself: publish each release to a "
            "folder of its own (e.g. out/2026-12-06) and name the last one",
            "previous_is_output",
        )
    manifest = tool_json(folder / "manifest.json")
    if manifest is None:
        raise _usage(
            f"--previous {folder} is not a release published by this tool (no "
            "manifest.json of its own)",
            "not_a_release",
        )
    if manifest.get("recipe_name") != recipe.name:
        raise _usage(f"--previous {folder} belongs to another recipe (recipe_name)", "other_recipe")


def series_steps(loaded: LoadedRecipe, recipe: Recipe) -> tuple[list[StepCall], list[StepCall]]:
    """The series' first step (fingerprints) and last step (the merged view's protection)."""
    assert recipe.series is not None and recipe.risk is not None
    keys = list(recipe.columns.key_variables)
    where = f"{loaded.path} series"
    importance = None
    for call in loaded.steps:
        if call.spec.name == "local_suppression" and call.params.importance is not None:
            importance = list(call.params.importance)
    person = SeriesPersonParams(person=recipe.series.person)
    last = SeriesParams(
        k=max(2, recipe.risk.k), keys=keys, withhold=recipe.series.withhold, importance=importance
    )
    return (
        [StepCall(-1, STEPS["series_person"], person, where)],
        [StepCall(-1, STEPS["series"], last, where)],
    )


@dataclass
class SeriesOutcome:
    """A release's series: the recorder of its files, then its state and summary."""

    context: SeriesContext
    recorder: SeriesRecorder
    merged: Snapshot | None = None

    def finish(self) -> Snapshot:
        """The merged view of the files written (call once they are all written)."""
        self.merged = self.recorder.snapshot()
        return self.merged

    def write(
        self,
        folder: Path,
        recipe: Recipe,
        release: ReleaseRecord,
        levels: dict[str, dict[str, int]],
    ) -> SeriesState:
        """Write the next state into ``folder`` (the staging directory)."""
        before = self.context.state or SeriesState.empty(
            first_header(recipe, release.run_id, release.generated_at)
        )
        state = self.recorder.state(before, release, levels)
        header = state.header.model_copy(
            update={"run_id": release.run_id, "generated_at": release.generated_at}
        )
        state.header = write_state(
            folder,
            SeriesState(header, state.fps, state.rows, state.hidden, state.known),
            self.context.key,
        )
        return state


def generalize_levels(loaded: LoadedRecipe, records: list[Any]) -> dict[str, dict[str, int]]:
    """The levels each generalize step applied, by its signature (kept by the series)."""
    own = [r for r in records if not r.automatic]
    out = {}
    for call, record in zip(loaded.steps, own, strict=False):
        if call.spec.name == "generalize" and record.facts.get("levels") is not None:
            out[step_signature("generalize", call.params)] = dict(record.facts["levels"])
    return out


def summary_of(
    context: SeriesContext | None,
    recipe: Recipe,
    facts: dict[str, Any] | None,
    merged: Snapshot | None,
) -> SeriesSummary:
    """The report's series section (or why the release was judged alone)."""
    if context is None:
        why = (
            "the recipe declares no release series"
            if recipe.series is None
            else f"the series key ({recipe.series.key_env}) was not set: no series state was kept"
        )
        return SeriesSummary(judged="alone", reason=why)
    facts = facts or {}
    suppressed = sum((facts.get("values_suppressed") or {}).values())
    return SeriesSummary(
        judged="series",
        releases=context.releases + 1,
        persons_seen=facts.get("persons_seen", 0),
        values_suppressed=int(suppressed),
        records_withheld=facts.get("records_withheld", 0),
        values_kept_hidden=int(facts.get("values_kept_hidden", 0)),
        merged_k_violations=merged.summary.k_violations if merged else None,
        previous=context.state.header.run_id if context.state is not None else None,
    )


def release_id(digest: str, series: SeriesContext | None) -> str:
    """What makes this release itself: its input (and, in a series, the release before it).

    Fresh tokens come from it: another input, or another night on the same file, gives other
    tokens; a rerun of the same release gives the same bytes.
    """
    if series is None or series.state is None:
        return digest
    return hashlib.sha256(f"{digest}:{series.state.header.run_id}".encode()).hexdigest()


def record_state(
    ctx: RunContext, ran: Ran, outcome: SeriesOutcome | None, manifest: Manifest
) -> SeriesSummary:
    """Write the series' next state into the staging folder; the report's series section."""
    if outcome is not None:
        last = ran.records[-1]
        seen = int({**last.facts, **last.metrics}.get("persons_seen", 0))
        record = ReleaseRecord(
            run_id=ctx.run_id,
            generated_at=manifest.generated_at,
            records=manifest.rows_out,
            persons_seen=seen,
        )
        levels = generalize_levels(ctx.loaded, ran.records)
        outcome.write(ctx.staging.path, ctx.recipe, record, levels)
    return series_summary(ctx, ran, outcome)


def series_summary(ctx: RunContext, ran: Ran, outcome: SeriesOutcome | None) -> SeriesSummary:
    """The report's series section (what the series' step found, the merged view's risk)."""
    last = ran.records[-1] if ran.records else None
    facts = {**last.facts, **last.metrics} if outcome is not None and last else None
    merged = outcome.merged if outcome is not None else None
    return summary_of(ctx.series, ctx.recipe, facts, merged)
