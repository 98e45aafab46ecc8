"""The recipe's risk targets as gate checks, over the whole file's risk summary.

``risk.k``, ``risk.l_diversity``, ``risk.t_closeness``, SUDA2's ``risk.max_special_uniques`` /
``risk.max_dis_score``, ``risk.model``'s ``max_unique_risk`` / ``max_match_risk`` and
``risk.max_global_risk``; the reason codes are listed in :mod:`pipeline.gate.derive`.
"""

from __future__ import annotations

from pipeline.core.numbers import number
from pipeline.gate.checks import Stage, table_result
from pipeline.gate.model import CheckResult
from pipeline.gate.reasons import Reason
from pipeline.recipe.models import Recipe
from pipeline.risk.summary import RiskSummary


def risk_checks(recipe: Recipe, stage: Stage, summary: RiskSummary | None) -> list[CheckResult]:
    """k-anonymity and global risk against the recipe's ``risk:`` targets (whole file)."""
    spec = recipe.risk
    if spec is None or summary is None:
        return []
    keys = ", ".join(recipe.columns.key_variables)
    violations = summary.k_violations
    out = [
        table_result(
            stage,
            "risk.k",
            Reason.K_ANONYMITY_VIOLATED,
            f"every record's class over ({keys}) has at least k = {spec.k} records",
            violations,
            "0 records below k",
            violations == 0,
        )
    ]
    for name, reason, what in (
        ("l_diversity", Reason.L_DIVERSITY_VIOLATED, "l-diverse"),
        ("t_closeness", Reason.T_CLOSENESS_VIOLATED, "t-close"),
    ):
        target = getattr(spec, name)
        if target is not None:
            found = getattr(summary, f"{name[0]}_violations")
            found = -1 if found is None else found
            is_l = name == "l_diversity"
            level = f"l = {number(target.l)} ({target.kind})" if is_l else f"t = {number(target.t)}"
            out.append(
                table_result(
                    stage,
                    f"risk.{name}",
                    reason,
                    f"every class over ({keys}) is {what} in {target.column}, {level}",
                    found,
                    "0 records in classes that are not",
                    found == 0,
                    target.column,
                )
            )
    out += estimate_checks(recipe, stage, summary)
    if spec.max_global_risk is not None:
        risk = summary.global_risk
        out.append(
            table_result(
                stage,
                "risk.max_global_risk",
                Reason.GLOBAL_RISK_TOO_HIGH,
                "global risk (expected re-identifications / records)",
                risk,
                f"<= {number(spec.max_global_risk)}",
                risk <= spec.max_global_risk,
            )
        )
    return out


def estimate_checks(recipe: Recipe, stage: Stage, summary: RiskSummary) -> list[CheckResult]:
    """SUDA2's, the model's and the population uniques' targets (those the recipe sets)."""
    out = _suda2_checks(recipe, stage, summary) + _model_checks(recipe, stage, summary)
    return out + _population_checks(recipe, stage, summary)


def _suda2_checks(recipe: Recipe, stage: Stage, summary: RiskSummary) -> list[CheckResult]:
    """SUDA2 special uniques and DIS-SUDA scores against their targets (whole file)."""
    spec, found = recipe.risk, summary.suda2
    assert spec is not None  # noqa: S101 - risk_checks returns before without targets
    out = []
    for target, reason, what, figure in (
        (
            spec.max_special_uniques,
            Reason.SPECIAL_UNIQUES_TOO_MANY,
            "records unique on fewer variables than all the keys (SUDA2 special uniques)",
            "special_uniques",
        ),
        (
            spec.max_dis_score,
            Reason.DIS_SCORE_TOO_HIGH,
            f"largest DIS-SUDA score (sampling fraction {number(spec.dis_fraction)})",
            "max_dis_score",
        ),
    ):
        if target is not None:
            value = getattr(found, figure) if found is not None else -1
            ok = found is not None and value <= target
            out.append(
                table_result(
                    stage, f"risk.{figure}", reason, what, value, f"<= {number(target)}", ok
                )
            )
    return out


def _population_checks(recipe: Recipe, stage: Stage, summary: RiskSummary) -> list[CheckResult]:
    """The estimated population uniques (Dankar's rule) against ``risk.population.max_share``."""
    spec = recipe.risk.population if recipe.risk is not None else None
    if spec is None or spec.max_share is None:
        return []
    found = summary.population
    value = found.dankar if found is not None and found.dankar is not None else -1.0
    what = "estimated share of population uniques (Dankar et al.'s rule"
    if found is not None:
        what += f": {found.dankar_model}, sampling fraction {number(found.sampling_fraction)}"
    return [
        table_result(
            stage,
            "risk.population.max_share",
            Reason.POPULATION_UNIQUES_TOO_MANY,
            what + ")",
            value,
            f"<= {number(spec.max_share)}",
            0 <= value <= spec.max_share,
        )
    ]


def _model_checks(recipe: Recipe, stage: Stage, summary: RiskSummary) -> list[CheckResult]:
    """The model-based risk against ``risk.model``'s targets (whole file)."""
    spec = recipe.risk.model if recipe.risk is not None else None
    if spec is None:
        return []
    found, out = summary.model_risk, []
    for figure, target, what in (
        ("unique_risk", spec.max_unique_risk, "that sample uniques are population uniques"),
        ("match_risk", spec.max_match_risk, "that a match of a sample unique is correct"),
    ):
        if target is not None:
            value = getattr(found, figure) if found is not None else -1
            out.append(
                table_result(
                    stage,
                    f"risk.model.{figure}",
                    Reason.MODEL_RISK_TOO_HIGH,
                    f"model-based risk {what} (log-linear model: {spec.terms or 'main effects'})",
                    value,
                    f"<= {number(target)}",
                    found is not None and value <= target,
                )
            )
    return out
