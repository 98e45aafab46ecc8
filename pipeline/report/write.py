"""Assemble the risk report from a run's manifest and snapshots, and write JSON + HTML."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipeline.gate.judge import BLOCKED_PAGE, page_path
from pipeline.gate.model import GateReport
from pipeline.io.owned import replace_page
from pipeline.manifest import Manifest
from pipeline.recipe.models import Recipe, RiskSpec
from pipeline.report.html import render_blocked, render_html
from pipeline.report.model import RiskReport, SeriesSummary, Snapshot, StepChange, Targets
from pipeline.steps import STEPS

REPORT_JSON = "risk_report.json"
REPORT_HTML = "risk_report.html"


def step_columns(params: dict[str, Any]) -> list[str]:
    """The columns a step's parameters name, in their order.

    Its column(s), variables, the keys of its hierarchies or linking ids, strata, unit, importance.
    """
    out: list[str] = []
    for key in (
        "column",
        "columns",
        "variables",
        "hierarchies",
        "ids",
        "strata",
        "by",
        "importance",
    ):
        value = params.get(key)
        names = [value] if isinstance(value, str) else list(value or [])
        out += [n for n in names if isinstance(n, str) and n not in out]
    return out


def _suda2_ok(spec: RiskSpec, after: Snapshot) -> bool | None:
    """Whether the output meets the SUDA2 targets (None: the recipe sets none)."""
    if spec.suda2_fraction() is None:
        return None
    found = after.summary.suda2
    return (
        found is not None
        and (spec.max_special_uniques is None or found.special_uniques <= spec.max_special_uniques)
        and (spec.max_dis_score is None or found.max_dis_score <= spec.max_dis_score)
    )


def build_report(
    manifest: Manifest,
    recipe: Recipe,
    before: Snapshot | None,
    after: Snapshot | None,
    gate: GateReport | None = None,
    series: SeriesSummary | None = None,
) -> RiskReport:
    """The report of one run (aggregates only)."""
    spec = recipe.risk or RiskSpec()
    suppressions: dict[str, int] = {}
    for record in manifest.steps:
        for key, n in (record.facts.get("suppressions") or {}).items():
            suppressions[key] = suppressions.get(key, 0) + int(n)
    targets = None
    if after is not None:
        risk = after.summary.global_risk
        targets = Targets(
            k=spec.k,
            k_reached=after.summary.k_violations == 0,
            max_global_risk=spec.max_global_risk,
            global_risk_ok=None if spec.max_global_risk is None else risk <= spec.max_global_risk,
            max_special_uniques=spec.max_special_uniques,
            max_dis_score=spec.max_dis_score,
            suda2_ok=_suda2_ok(spec, after),
        )
    return RiskReport(
        run_id=manifest.run_id,
        generated_at=manifest.generated_at,
        recipe_name=manifest.recipe_name,
        recipe_sha256=manifest.recipe.sha256,
        key_variables=list(recipe.columns.key_variables),
        sensitive=list(recipe.columns.sensitive),
        weight=recipe.columns.weight,
        targets=targets,
        before=before,
        after=after,
        suppressions=suppressions,
        steps=_changes(manifest),
        utility=manifest.utility,
        gate=gate,
        files=manifest.files,
        series=series,
    )


def _changes(manifest: Manifest) -> list[StepChange]:
    """What each step changed, each recipe step with its key path (``steps[i]``)."""
    out, own = [], 0
    for r in manifest.steps:
        key = None if r.automatic else f"steps[{own}]"
        own += 0 if r.automatic else 1
        out.append(
            StepChange(
                index=r.index,
                name=r.name,
                recipe_key=key,
                columns=step_columns(r.params),
                rows_in=r.rows_in,
                rows_out=r.rows_out,
                facts=r.facts,
                metrics=r.metrics,
            )
        )
    return out


def write_report(
    folder: Path,
    manifest: Manifest,
    recipe: Recipe,
    before: Snapshot | None,
    after: Snapshot | None,
    gate: GateReport | None = None,
    series: SeriesSummary | None = None,
) -> RiskReport:
    """Write ``risk_report.json`` and ``risk_report.html`` into ``folder``."""
    report = build_report(manifest, recipe, before, after, gate, series)
    (folder / REPORT_JSON).write_text(report.model_dump_json(indent=2) + "\n", encoding="utf-8")
    (folder / REPORT_HTML).write_text(render_html(report), encoding="utf-8")
    return report


def write_blocked_page(
    report_path: Path,
    where: Path,
    gate: GateReport,
    run: tuple[Manifest, Recipe, Snapshot | None, Snapshot | None, SeriesSummary | None] | None,
) -> Path:
    """Write a blocked run's page beside its gate report (never into the output).

    ``run``: the manifest the run would have published, its recipe, risk before and after and
    series section (the page then has a published run's sections); None: the gate alone.
    Only a page this tool wrote is replaced (``pipeline.io.owned``). Like the gate report, the
    page holds no value of the data: nothing was released, so it names no category and shows
    of each step only the counts its log line shows.
    """
    if run is None:
        page = render_blocked(gate, str(where))
    else:
        manifest, recipe, before, after, series = run
        report = build_report(manifest, recipe, before, after, gate, series)
        page = render_html(_without_values(report), blocked=str(where))
    return replace_page(page_path(report_path), page, BLOCKED_PAGE, "blocked run's page")


def _without_values(report: RiskReport) -> RiskReport:
    """The report without the categories it names and the steps' figures (counts kept)."""
    steps = [
        s.model_copy(update={"facts": STEPS[s.name].params.log_facts(s.facts)})
        if s.name in STEPS
        else s.model_copy(update={"facts": {}})
        for s in report.steps
    ]
    snaps = {
        name: snap.model_copy(update={"risky_categories": {}}) if snap is not None else None
        for name, snap in (("before", report.before), ("after", report.after))
    }
    return report.model_copy(update={"steps": steps, **snaps})
