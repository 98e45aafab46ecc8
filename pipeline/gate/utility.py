"""The gate's utility limits: publication is blocked when the protection cost too much.

Reason code ``utility_loss_too_high``: a figure of the run's information loss (see
``pipeline.utility.measures``) is above the recipe's ``utility.limits``. Without limits nothing
is checked; the verdict still carries the warnings of ``utility.warn_share``.
"""

from __future__ import annotations

from pipeline.core.numbers import number
from pipeline.gate.catalog import CheckKind, register
from pipeline.gate.checks import Stage, table_result
from pipeline.gate.model import CheckResult
from pipeline.gate.reasons import Reason
from pipeline.recipe.models import Recipe
from pipeline.utility.model import Utility

_FIGURES = {
    "max_suppressed_records": (
        "suppressed_records",
        "share of records whose key values are all suppressed",
    ),
    "max_precision_loss": ("precision_loss", "precision loss over the key variables"),
    "max_il1s_mean": ("il1s_mean", "mean IL1s per value of the numeric variables"),
}


def utility_checks(recipe: Recipe, stage: Stage, found: Utility | None) -> list[CheckResult]:
    """One check per limit (per variable for the per-variable limits)."""
    limits = recipe.utility.limits
    if found is None:
        return []
    out = []

    def check(
        id_: str, what: str, observed: float | None, limit: float, column: str | None
    ) -> None:
        ok = observed is None or observed <= limit
        out.append(
            table_result(
                stage,
                f"utility.{id_}",
                Reason.UTILITY_LOSS_TOO_HIGH,
                what,
                observed,
                f"<= {number(limit)}",
                ok,
                column,
            )
        )

    for name, (field, what) in _FIGURES.items():
        limit = getattr(limits, name)
        if limit is None:
            continue
        observed = getattr(found, field)
        if name == "max_suppressed_records":
            observed = observed / found.records if found.records else 0.0
        check(name, what, observed, limit, None)
    for v in found.variables:
        if limits.max_suppressed_share is not None and v.column in found.key_variables:
            what = f"share of the values of {v.column} suppressed"
            limit = limits.max_suppressed_share
            check(f"max_suppressed_share.{v.column}", what, v.suppressed_share, limit, v.column)
        if limits.max_hellinger is not None:
            check(
                f"max_hellinger.{v.column}",
                f"Hellinger distance of {v.column}",
                v.hellinger,
                limits.max_hellinger,
                v.column,
            )
    for t in found.tables:
        if limits.max_tvd is not None:
            name = " x ".join(t.columns)
            check(
                f"max_tvd.{'.'.join(t.columns)}",
                f"total-variation distance of {name}",
                t.tvd,
                limits.max_tvd,
                None,
            )
    return out


register(
    CheckKind(
        name="utility_limits",
        summary="what the protection cost in information is within the recipe's "
        "utility.limits (the run's measured figures)",
        reasons=(Reason.UTILITY_LOSS_TOO_HIGH,),
        reads=("utility",),
        table=lambda ev: utility_checks(ev.recipe, ev.stage, ev.utility),
    )
)
