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
* ``special_uniques_too_many`` / ``dis_score_too_high`` — more SUDA2 special uniques than
  ``risk.max_special_uniques``, or a record's DIS-SUDA score above ``risk.max_dis_score``;
* ``model_risk_too_high`` — the log-linear model's unique or match risk is above
  ``risk.model.max_unique_risk`` / ``max_match_risk``;
* ``population_uniques_too_many`` — the estimated share of population uniques (Dankar et al.'s
  rule over ARX's estimators) is above ``risk.population.max_share``;
* ``row_count_mismatch`` — input rows - subsampled - deleted records != output rows;
* ``microaggregation_group_too_small`` — a released combination of microaggregated variables
  is shared by fewer than k records (``pipeline.gate.groups``).

Value checks come from the last step that rewrites a column (a later ``recode`` of a top-coded
column replaces the cap check by the recode's value set).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from pipeline.core.columns import ColumnsSpec
from pipeline.core.requirements import Bound, GroupSize, OneOf
from pipeline.gate.catalog import CheckKind, Evidence, RanStep, register
from pipeline.gate.checks import RowCheck, Stage, cap_check, table_result, value_set_check
from pipeline.gate.model import CheckResult
from pipeline.gate.reasons import Reason
from pipeline.gate.risk_targets import risk_checks
from pipeline.recipe.models import Recipe


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


def identifier_checks(recipe: Recipe, stage: Stage, columns: list[str]) -> list[CheckResult]:
    """No declared identifier column is left in ``columns``."""
    cols = recipe.columns
    present = set(columns)
    roles = {c: "linking_ids" for c in cols.linking_ids}
    roles |= {c: "identification_codes" for c in cols.identification_codes}
    roles |= {c: "direct_identifiers" for c in cols.direct_identifiers}
    return [
        table_result(
            stage,
            f"columns.{roles[column]}.{column}",
            Reason.IDENTIFIER_COLUMN_PRESENT,
            f"declared identifier column {column} is not in the output",
            int(column in present),
            "absent",
            column not in present,
            column,
        )
        for column in cols.removed()
    ]


def column_set_check(stage: Stage, columns: list[str], expected: list[str]) -> CheckResult:
    """The columns are exactly the expected ones."""
    present = set(columns)
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
    return table_result(
        stage,
        "columns.set",
        Reason.UNEXPECTED_COLUMNS,
        f"the output has exactly the {len(expected)} expected columns"
        + (f" ({detail})" if detail else ""),
        len(extra) + len(missing),
        "0 columns added or missing",
        not (extra or missing),
    )


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


def _step_rows(ev: Evidence) -> list[RowCheck]:
    present = set(ev.schema.names)
    return [c for c in row_checks(ev.steps, ev.base_dir, ev.recipe.columns) if c.column in present]


def _absent_rows(ev: Evidence) -> list[CheckResult]:
    """A row check whose column is not in the data fails (the column set check says why)."""
    present = set(ev.schema.names)
    out = []
    for check in row_checks(ev.steps, ev.base_dir, ev.recipe.columns):
        if check.column not in present:
            what = f"{check.description} (column {check.column} is not in the output)"
            result = check.result(ev.stage, 0, 0)
            out.append(
                result.model_copy(update={"passed": False, "observed": None, "description": what})
            )
    return out


def _risk_results(ev: Evidence) -> list[CheckResult]:
    spec, keys = ev.recipe.risk, ev.recipe.columns.key_variables
    if spec is not None and keys and ev.risk is None:  # fails closed: never judged unmeasured
        return [
            table_result(
                ev.stage,
                "risk.k",
                Reason.K_ANONYMITY_VIOLATED,
                f"the risk over ({', '.join(keys)}) is measured (a key variable is missing)",
                None,
                "measured",
                False,
            )
        ]
    return risk_checks(ev.recipe, ev.stage, ev.risk)


register(
    CheckKind(
        name="identifier_columns",
        summary="no declared direct identifier, identification code or dropped linking ID is "
        "published",
        reasons=(Reason.IDENTIFIER_COLUMN_PRESENT,),
        reads=("schema",),
        table=lambda ev: identifier_checks(ev.recipe, ev.stage, ev.schema.names),
    )
)
register(
    CheckKind(
        name="column_set",
        summary="the output has exactly the columns the recipe keeps",
        reasons=(Reason.UNEXPECTED_COLUMNS,),
        reads=("schema", "expected"),
        table=lambda ev: [column_set_check(ev.stage, ev.schema.names, list(ev.expected))],
    )
)
register(
    CheckKind(
        name="step_values",
        summary="every value a step capped or recoded is within its cap or its level (counted "
        "on every record by Arrow compute, to GX's counts)",
        reasons=(Reason.CAP_EXCEEDED, Reason.FLOOR_UNDERCUT, Reason.RECODE_VALUE_OUTSIDE_LEVEL),
        reads=("steps", "base_dir", "schema"),
        rows=_step_rows,
        table=_absent_rows,
    )
)
register(
    CheckKind(
        name="row_count",
        summary="the published records are the input's less those the steps sampled out or deleted",
        reasons=(Reason.ROW_COUNT_MISMATCH,),
        reads=("rows_in", "steps", "data"),
        table=lambda ev: [
            row_count_check(ev.stage, ev.rows_in, ev.steps, ev.data.rows(), ev.recipe.columns)
        ],
    )
)
register(
    CheckKind(
        name="risk_targets",
        summary="the whole file meets the recipe's risk targets: k-anonymity, global risk, "
        "l-diversity, t-closeness, SUDA2's special uniques and DIS-SUDA scores, model-based risk",
        reasons=(
            Reason.K_ANONYMITY_VIOLATED,
            Reason.GLOBAL_RISK_TOO_HIGH,
            Reason.L_DIVERSITY_VIOLATED,
            Reason.T_CLOSENESS_VIOLATED,
            Reason.SPECIAL_UNIQUES_TOO_MANY,
            Reason.DIS_SCORE_TOO_HIGH,
            Reason.MODEL_RISK_TOO_HIGH,
            Reason.POPULATION_UNIQUES_TOO_MANY,
        ),
        reads=("risk",),
        table=_risk_results,
    )
)
