"""The gate's series checks: a release judged with every earlier release an attacker holds.

Reason code ``series_k_violated``: in the merged view of the series (every release linked person
by person, each key showing what any release revealed), some record's class is below the
recipe's k (or not l-diverse / t-close). Reason code ``series_risk_too_high``: the merged view
exceeds one of the recipe's SUDA2, model-risk or population-uniques targets (the check's id
names it: ``series.special_uniques``, ``series.max_dis_score``, ``series.model.unique_risk``,
...). Measured by the run's series recorder, or by ``--gate-only`` from the series state
published with the release.
"""

from __future__ import annotations

from pipeline.gate.catalog import CheckKind, Evidence, register
from pipeline.gate.checks import table_result
from pipeline.gate.model import CheckResult
from pipeline.gate.reasons import Reason
from pipeline.gate.risk_targets import estimate_checks
from pipeline.recipe.models import Recipe
from pipeline.risk.summary import RiskSummary


def merged_checks(recipe: Recipe, summary: RiskSummary) -> list[CheckResult]:
    """The gate's series checks: the merged view keeps k (and the recipe's l / t)."""
    spec = recipe.risk
    assert spec is not None
    keys = ", ".join(recipe.columns.key_variables)
    found = summary.k_violations
    out = [
        table_result(
            "output",
            "series.k",
            Reason.SERIES_K_VIOLATED,
            f"the merged view of the series (every release an attacker holds, linked person by "
            f"person) keeps every record's class over ({keys}) at k = {spec.k} or more",
            found,
            "0 records below k",
            found == 0,
        )
    ]
    for name in ("l_diversity", "t_closeness"):
        target = getattr(spec, name)
        if target is not None:
            bad = getattr(summary, f"{name[0]}_violations")
            bad = -1 if bad is None else bad
            out.append(
                table_result(
                    "output",
                    f"series.{name}",
                    Reason.SERIES_K_VIOLATED,
                    f"the merged view of the series keeps {name.replace('_', '-')} in "
                    f"{target.column}",
                    bad,
                    "0 records in classes that are not",
                    bad == 0,
                    target.column,
                )
            )
    for check in estimate_checks(recipe, "output", summary):  # SUDA2, model, population
        name = check.id.removeprefix("risk.")
        said = f"the merged view of the series: {check.description}"
        update = {"id": f"series.{name}", "description": said}
        out.append(check.model_copy(update=update | {"reason": Reason.SERIES_RISK_TOO_HIGH}))
    return out


def _series(ev: Evidence) -> list[CheckResult]:
    return [] if ev.series is None else merged_checks(ev.recipe, ev.series)


register(
    CheckKind(
        name="series_merged_view",
        summary="a release of a series keeps k (and l / t, and the SUDA2, model and population "
        "targets) in the merged view of every release of the series",
        reasons=(Reason.SERIES_K_VIOLATED, Reason.SERIES_RISK_TOO_HIGH),
        reads=("series",),
        table=_series,
    )
)
