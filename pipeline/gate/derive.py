"""Privacy expectations the gate derives from the recipe itself (nobody has to write them).

Reason codes:

* ``identifier_column_present`` — a declared direct identifier, identification code or dropped
  linking ID is in the output;
* ``unexpected_columns`` — the output columns are not exactly the expected set;
* ``cap_exceeded`` / ``floor_undercut`` — a top- or bottom-coded column is beyond its cap;
* ``recode_value_outside_level`` — a recoded column holds a value that is not of its target
  hierarchy level, band or map;
* ``k_anonymity_violated`` — some record's class (fk, over the key variables, whole file) is
  smaller than ``risk.k``;
* ``global_risk_too_high`` — global risk exceeds ``risk.max_global_risk``;
* ``l_diversity_violated`` / ``t_closeness_violated`` — records (with a key value) sit in
  classes that are not l-diverse / t-close in the named column (``risk.l_diversity``,
  ``risk.t_closeness``);
* ``row_count_mismatch`` — input rows - subsampled - deleted records != output rows;
* ``microaggregation_group_too_small`` — a released combination of microaggregated variables
  is shared by fewer than k records (``pipeline.gate.groups``).

Value checks come from the last step that rewrites a column (a later ``recode`` of a top-coded
column replaces the cap check by the recode's value set).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from pipeline.core.columns import ColumnsSpec
from pipeline.core.requirements import Bound, GroupSize, OneOf
from pipeline.gate.checks import RowCheck, Stage, cap_check, table_result, value_set_check
from pipeline.gate.model import CheckResult
from pipeline.gate.reasons import Reason
from pipeline.recipe.models import Recipe
from pipeline.risk.summary import RiskSummary


@dataclass(frozen=True)
class RanStep:
    """A recipe step as it ran: its position, name, parameters, facts and row counts."""

    index: int
    name: str
    params: Any  # the step's parameters (a StepParams model)
    facts: dict[str, Any]
    rows_in: int
    rows_out: int


def row_checks(steps: Sequence[RanStep], base_dir: Path, columns: ColumnsSpec) -> list[RowCheck]:
    """Cap and value-set checks of the steps whose column no later step rewrites.

    What a later step rewrites is what it declares it replaces (``replaces``: e.g. a sample's
    weight adjustment replaces the weights, so an earlier cap on the weight is not checked;
    local suppression only sets values missing, which every check lets pass).
    """
    out: list[RowCheck] = []
    for pos, ran in enumerate(steps):
        later = {c for s in steps[pos + 1 :] for c in s.params.declare(columns).replaces}
        for need in ran.params.requirements(ran.facts, base_dir):
            if not isinstance(need, GroupSize) and need.column not in later:
                check = row_check(need)
                out.append(replace(check, id=f"steps[{ran.index}].{ran.name}.{check.column}"))
    return out


def row_check(need: Bound | OneOf) -> RowCheck:
    """The GX row check of a step's requirement."""
    if isinstance(need, Bound):
        return cap_check(need.column, need.limit, need.upper)
    return value_set_check(need.column, list(need.values), need.what)


def column_checks(
    recipe: Recipe, stage: Stage, columns: list[str], expected: list[str]
) -> list[CheckResult]:
    """No identifier column is left, and the columns are exactly the expected ones."""
    cols = recipe.columns
    present = set(columns)
    out = []
    roles = {c: "linking_ids" for c in cols.linking_ids}
    roles |= {c: "identification_codes" for c in cols.identification_codes}
    roles |= {c: "direct_identifiers" for c in cols.direct_identifiers}
    for column in cols.removed():
        left = column in present
        out.append(
            table_result(
                stage,
                f"columns.{roles[column]}.{column}",
                Reason.IDENTIFIER_COLUMN_PRESENT,
                f"declared identifier column {column} is not in the output",
                int(left),
                "absent",
                not left,
                column,
            )
        )
    extra = [c for c in columns if c not in set(expected)]
    missing = [c for c in expected if c not in present]
    detail = "; ".join(
        part
        for part in (
            f"unexpected: {', '.join(extra)}" if extra else "",
            f"missing: {', '.join(missing)}" if missing else "",
        )
        if part
    )
    out.append(
        table_result(
            stage,
            "columns.set",
            Reason.UNEXPECTED_COLUMNS,
            f"the output has exactly the {len(expected)} expected columns"
            + (f" ({detail})" if detail else ""),
            len(extra) + len(missing),
            "0 columns added or missing",
            not (extra or missing),
        )
    )
    return out


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
            level = f"l = {target.l:g} ({target.kind})" if is_l else f"t = {target.t:g}"
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
    if spec.max_global_risk is not None:
        risk = summary.global_risk
        out.append(
            table_result(
                stage,
                "risk.max_global_risk",
                Reason.GLOBAL_RISK_TOO_HIGH,
                "global risk (expected re-identifications / records)",
                risk,
                f"<= {spec.max_global_risk:g}",
                risk <= spec.max_global_risk,
            )
        )
    return out


def row_count_check(
    stage: Stage, rows_in: int, steps: Sequence[RanStep], rows_out: int, columns: ColumnsSpec
) -> CheckResult:
    """Input rows minus the rows that row-removing steps removed equals the output rows."""
    removed = {"subsample": 0, "other": 0}
    for ran in steps:
        rows = ran.params.declare(columns).rows
        if rows in ("sampled", "deleted"):
            kind = "subsample" if rows == "sampled" else "other"
            removed[kind] += ran.rows_in - ran.rows_out
    expected = rows_in - removed["subsample"] - removed["other"]
    return table_result(
        stage,
        "rows.reconcile",
        Reason.ROW_COUNT_MISMATCH,
        f"output rows = {rows_in} input - {removed['subsample']} subsampled - "
        f"{removed['other']} deleted = {expected}",
        rows_out,
        f"= {expected}",
        rows_out == expected,
    )
