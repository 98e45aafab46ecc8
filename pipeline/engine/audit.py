"""``--gate-only``: re-validate a published output against its recipe, for auditors.

The same output stage as a run, on the published files (CSV outputs re-read with the column
types recorded in the manifest), plus ``file_integrity`` (the data files are exactly those in
the manifest, with the same SHA-256) and ``recipe_mismatch``. Nothing is written.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from pipeline.errors import GateError, InputDataError, Problem
from pipeline.gate.checks import table_result
from pipeline.gate.derive import RanStep
from pipeline.gate.groups import group_checks, group_needs
from pipeline.gate.model import CheckResult, GateReport
from pipeline.gate.reasons import Reason
from pipeline.gate.run import output_gate
from pipeline.gate.stages import output_dataset, rescanned, verdict_of
from pipeline.gate.utility import utility_checks
from pipeline.manifest import Manifest, StepRecord
from pipeline.recipe.loader import LoadedRecipe, StepCall
from pipeline.recipe.models import Recipe
from pipeline.report.build import snapshot


def ran_steps(calls: list[StepCall], records: list[StepRecord]) -> list[RanStep]:
    """Pair the recipe's step calls with their records (automatic steps left out)."""
    own = [r for r in records if not r.automatic]
    return [
        RanStep(c.index, c.spec.name, c.params, r.facts, r.rows_in, r.rows_out)
        for c, r in zip(calls, own, strict=False)
    ]


def gate_only(loaded: LoadedRecipe, recipe: Recipe, out_dir: Path) -> GateReport:
    """Re-validate a published output against the recipe (for auditors); writes nothing.

    Raises:
        GateError: a data file cannot be read at all (the output is invalid, exit 4).
        InputDataError: ``out_dir`` holds no manifest of a published output (exit 3).
    """
    try:
        return _gate_only(loaded, recipe, out_dir)
    except InputDataError as exc:
        if any(p.code == "file_unreadable" for p in exc.problems):
            raise GateError(exc.problems, title=f"{out_dir}: INVALID output") from None
        raise


def _gate_only(loaded: LoadedRecipe, recipe: Recipe, out_dir: Path) -> GateReport:
    try:
        manifest = Manifest.model_validate_json((out_dir / "manifest.json").read_text())
    except (OSError, ValueError):
        raise InputDataError(
            [Problem(f"{out_dir} holds no readable manifest.json", code="no_manifest")],
            title="not a published output",
        ) from None
    data = output_dataset(out_dir / "data", recipe, manifest.column_types)
    extra = [_recipe_matches(loaded, manifest), _integrity(out_dir, manifest)]
    extra += rescanned(recipe, data)
    extra += utility_checks(recipe, "output", manifest.utility)  # the run's measured figures
    summary = None
    keys = recipe.columns.key_variables
    if keys and set(keys) <= set(data.columns):  # a missing key fails the column-set check
        summary = snapshot(data.chunks, recipe, set(data.columns)).summary
    steps = ran_steps(loaded.steps, manifest.steps)
    extra += group_checks(
        group_needs(steps, loaded.base_dir, recipe.columns), data.chunks, data.columns
    )
    result = output_gate(
        recipe, loaded.base_dir, data, steps, manifest.rows_in, summary, manifest.columns_out,
        loaded.output_contract, extra,
    )  # fmt: skip
    outcome = "valid" if result.passed else "invalid"
    return verdict_of(loaded, manifest.run_id, Path()).report(outcome, output=result)


def _recipe_matches(loaded: LoadedRecipe, manifest: Manifest) -> CheckResult:
    same = manifest.recipe.sha256 == loaded.sha256
    return table_result(
        "output", "manifest.recipe", Reason.RECIPE_MISMATCH,
        "the output was produced by this recipe (sha256 in manifest.json)", int(not same),
        "same sha256", same,
    )  # fmt: skip


def _integrity(out_dir: Path, manifest: Manifest) -> CheckResult:
    listed = {f.path: f.sha256 for f in manifest.files}
    found = {str(p.relative_to(out_dir)) for p in (out_dir / "data").glob("*") if p.is_file()}
    bad = len(found ^ set(listed))
    for rel, digest in listed.items():
        path = out_dir / rel
        if path.is_file() and hashlib.sha256(path.read_bytes()).hexdigest() != digest:
            bad += 1
    return table_result(
        "output", "manifest.files", Reason.FILE_INTEGRITY,
        f"the {len(listed)} data files are exactly those listed in manifest.json, unchanged",
        bad, "0 files changed, missing or added", bad == 0,
    )  # fmt: skip
