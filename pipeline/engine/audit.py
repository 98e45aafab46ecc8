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

from collections.abc import Sequence
from pathlib import Path

from pipeline.core.errors import GateError, InputDataError
from pipeline.engine.audit_facts import Audited, fact_checks
from pipeline.engine.audit_files import (
    integrity_checks,
    listing_check,
    read_manifest,
    signature_checks,
    survey,
)
from pipeline.engine.audit_series import series_audit
from pipeline.engine.prepare import automatic_calls
from pipeline.engine.series_run import series_steps
from pipeline.gate.checks import table_result
from pipeline.gate.derive import RanStep
from pipeline.gate.groups import group_checks, group_needs
from pipeline.gate.gx_engine import warm_up
from pipeline.gate.judge import output_gate
from pipeline.gate.model import CheckResult, GateReport
from pipeline.gate.reasons import Reason
from pipeline.gate.stages import output_dataset, rescanned, uses_row_checks, verdict_of
from pipeline.gate.utility import utility_checks
from pipeline.manifest import Manifest, StepRecord
from pipeline.recipe.loader import LoadedRecipe, StepCall
from pipeline.recipe.models import Recipe
from pipeline.report.build import snapshot


def ran_steps(
    calls: list[StepCall], records: list[StepRecord], last: Sequence[StepCall] = ()
) -> list[RanStep]:
    """Pair the recipe's step calls, then ``last`` (a series' step), with their records."""
    own = [r for r in records if not r.automatic]
    names = {c.spec.name for c in last}
    tail = [r for r in records if r.automatic and r.name in names]
    return [
        RanStep(c.index, c.spec.name, c.params, r.facts, r.rows_in, r.rows_out)
        for c, r in [*zip(calls, own, strict=False), *zip(last, tail, strict=False)]
    ]


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
    files = [
        listing_check(listing, manifest),
        *integrity_checks(out_dir, listing, manifest),
        *signature_checks(recipe, raw),
    ]
    try:
        return _gate_only(loaded, recipe, out_dir, manifest, files)
    except InputDataError as exc:
        if any(p.code == "file_unreadable" for p in exc.problems):
            raise GateError(exc.problems, title=f"{out_dir}: INVALID output") from None
        raise


def _gate_only(
    loaded: LoadedRecipe,
    recipe: Recipe,
    out_dir: Path,
    manifest: Manifest,
    files: list[CheckResult],
) -> GateReport:
    data = output_dataset(out_dir / "data", recipe, manifest.column_types)
    extra = [_recipe_matches(loaded, manifest), *files, *rescanned(recipe, data)]
    extra += utility_checks(recipe, "output", manifest.utility)  # the run's measured figures
    after = None
    keys = recipe.columns.key_variables
    if keys and set(keys) <= set(data.columns):  # a missing key fails the column-set check
        after = snapshot(data.chunks, recipe, set(data.columns))
    first, last = _series_calls(loaded, recipe, manifest)
    steps = ran_steps(loaded.steps, manifest.steps, last)
    extra += group_checks(
        group_needs(steps, loaded.base_dir, recipe.columns), data.chunks, data.columns
    )
    if last:  # a release of a series: its merged view again, from its state and files
        extra += series_audit(out_dir, recipe, data)
    extra += fact_checks(
        Audited(
            loaded,
            recipe,
            manifest,
            data,
            after,
            out_dir,
            steps,
            [*first, *automatic_calls(loaded)],
            last,
        )
    )
    result = output_gate(
        recipe,
        loaded.base_dir,
        data,
        steps,
        manifest.rows_in,
        after.summary if after is not None else None,
        manifest.columns_out,
        loaded.output_contract,
        extra,
    )
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


def _recipe_matches(loaded: LoadedRecipe, manifest: Manifest) -> CheckResult:
    same = manifest.recipe.sha256 == loaded.sha256
    return table_result(
        "output",
        "manifest.recipe",
        Reason.RECIPE_MISMATCH,
        "the output was produced by this recipe (sha256 in manifest.json)",
        int(not same),
        "same sha256",
        same,
    )
