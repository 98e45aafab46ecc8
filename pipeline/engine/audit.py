"""``--gate-only``: re-validate a published output against its recipe, for auditors.

The same output stage as a run, on the published files (CSV outputs re-read with the column
types recorded in the manifest), plus what the output says of itself: its files against the
manifest's listing and SHA-256 (``pipeline.engine.audit_files``, with the signature when the
recipe signs), and the manifest's facts against the files, the recipe and the other records
(``pipeline.engine.audit_facts``). Nothing is written.

Exit codes: 4 when the output is invalid (a check fails; a symbolic link or special file in
it; no manifest, or a damaged one; a data file that cannot be read); 3 when there is nothing
to check (no such folder) or it cannot be read at all (permissions).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipeline.core.errors import GateError, InputDataError
from pipeline.engine.audit_facts import Audited
from pipeline.engine.audit_files import Listing, read_manifest, survey
from pipeline.engine.audit_series import series_audit
from pipeline.engine.measure import measures
from pipeline.engine.prepare import automatic_calls
from pipeline.engine.series_run import series_steps
from pipeline.engine.steplog import ran_steps
from pipeline.gate.catalog import CheckKind, Evidence, kinds, register
from pipeline.gate.checks import table_result
from pipeline.gate.gx_engine import warm_up
from pipeline.gate.judge import stage_result
from pipeline.gate.model import CheckResult, GateReport
from pipeline.gate.reasons import Reason
from pipeline.gate.stages import output_dataset, output_evidence, uses_row_checks, verdict_of
from pipeline.manifest import Manifest
from pipeline.recipe.loader import LoadedRecipe, StepCall
from pipeline.recipe.models import Recipe
from pipeline.report.profile import ProfileStream


def gate_only(loaded: LoadedRecipe, recipe: Recipe, out_dir: Path) -> GateReport:
    """Re-validate a published output against the recipe (for auditors); writes nothing.

    Raises:
        GateError: the output is invalid before any check can run: a link or special file in
            it, no manifest or a damaged one, a data file that cannot be read (exit 4).
        InputDataError: no output folder, or one that cannot be read (exit 3).
    """
    if uses_row_checks(loaded):
        warm_up()  # GX's imports overlap the listing, the hashing and the risk
    listing = survey(out_dir)
    manifest, raw = read_manifest(out_dir, listing)
    try:
        return _gate_only(loaded, recipe, out_dir, manifest, listing, raw)
    except InputDataError as exc:
        if any(p.code == "file_unreadable" for p in exc.problems):
            raise GateError(exc.problems, title=f"{out_dir}: INVALID output") from None
        raise


def _gate_only(
    loaded: LoadedRecipe,
    recipe: Recipe,
    out_dir: Path,
    manifest: Manifest,
    listing: Listing,
    raw: dict[str, Any],
) -> GateReport:
    """The output stage of a run, measured on the published files, with the audit's kinds."""
    data = output_dataset(out_dir / "data", recipe, manifest.column_types)
    first, last = _series_calls(loaded, recipe, manifest)
    steps = ran_steps(loaded.steps, manifest.steps, last)
    state, merged = series_audit(out_dir, recipe, data) if last else (None, None)
    rows, columns = data.rows(), manifest.columns_out
    before = output_evidence(loaded, recipe, steps, data.schema, rows, manifest.rows_in, columns)
    chosen = kinds("output", audit=True)
    profile = ProfileStream(data.schema, recipe.columns.weight)
    with measures(before, chosen, None, [profile]) as found:
        found.feed(data.chunks(found.columns))
        after, results = found.finish(data)
        calls = [*first, *automatic_calls(loaded)]
        audited = Audited(
            loaded,
            recipe,
            manifest,
            data,
            after,
            out_dir,
            steps,
            calls,
            last,
            listing,
            raw,
            state,
            profile.finish(),
        )
        evidence = found.measured(
            data, after, results, utility=manifest.utility, series=merged, published=audited
        )
    result = stage_result(evidence, chosen)
    outcome = "valid" if result.passed else "invalid"
    return verdict_of(loaded, manifest.run_id, Path()).report(outcome, output=result)


def _series_calls(
    loaded: LoadedRecipe, recipe: Recipe, manifest: Manifest
) -> tuple[list[StepCall], list[StepCall]]:
    """The series' own steps when the release was part of a series (its manifest says)."""
    ran = any(r.name == "series_person" and r.automatic for r in manifest.steps)
    if not ran or recipe.series is None or recipe.risk is None:
        return [], []
    return series_steps(loaded, recipe)


def _recipe_matches(ev: Evidence) -> list[CheckResult]:
    manifest, loaded = ev.published.manifest, ev.published.loaded
    same = manifest.recipe.sha256 == loaded.sha256
    return [
        table_result(
            "output",
            "manifest.recipe",
            Reason.RECIPE_MISMATCH,
            "the output was produced by this recipe (sha256 in manifest.json)",
            int(not same),
            "same sha256",
            same,
        )
    ]


register(
    CheckKind(
        name="recipe_match",
        summary="the output was produced by the recipe it is judged against (its SHA-256)",
        reasons=(Reason.RECIPE_MISMATCH,),
        reads=("published",),
        audit=True,
        table=_recipe_matches,
    )
)
