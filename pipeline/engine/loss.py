"""Information loss in a run: which variables are measured, and the figures at the end.

The engine keeps each measured variable's value before the steps in an internal column
(:func:`pipeline.utility.aggregate.with_before`), computes the aggregates in the pass that
writes the output, and turns them into figures here (``manifest.json``, the risk report, the
gate's utility limits).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import dask.dataframe as dd
import pandas as pd

from pipeline.core.columns import INTERNAL_PREFIX
from pipeline.core.numbers import number
from pipeline.recipe.models import Recipe
from pipeline.utility.aggregate import UtilityPlan, collect
from pipeline.utility.measures import utility, warnings
from pipeline.utility.model import Utility


def plan_for(recipe: Recipe, frame: dd.DataFrame, params: Sequence[Any] = ()) -> UtilityPlan | None:
    """The variables measured in a run of ``recipe`` on ``frame`` (None: nothing to measure).

    ``params`` are the steps' parameters: the columns they perturb are measured as such.
    """
    cols, spec = recipe.columns, recipe.utility
    keys = tuple(c for c in cols.key_variables if c in frame.columns)
    tables = tuple((a, b) for a, b in spec.tables)
    touched: dict[str, str] = {}
    for step in params:
        perturbed = step.declare(cols).perturbs
        touched |= {c: k for c, k in perturbed.items() if c in frame.columns}
    randomized = tuple(c for c, kind in touched.items() if kind == "categorical")
    categorical = tuple(dict.fromkeys([*keys, *(c for t in tables for c in t), *randomized]))
    if spec.numeric is not None:
        numeric = tuple(spec.numeric)
    else:
        skip = {*keys, *categorical, cols.weight}
        numeric = tuple(
            c
            for c in frame.columns
            if c not in skip
            and not c.startswith(INTERNAL_PREFIX)
            and pd.api.types.is_numeric_dtype(frame[c].dtype)
            and not pd.api.types.is_bool_dtype(frame[c].dtype)
        )
    perturbed = tuple(c for c, kind in touched.items() if kind == "numeric")
    numeric = tuple(dict.fromkeys([*numeric, *perturbed]))
    if not categorical and not numeric:
        return None
    return UtilityPlan(keys, categorical, numeric, tables, perturbed, randomized)


def levels_of(steps: Sequence[tuple[Any, dict[str, Any]]], base_dir: Path) -> dict:
    """Each generalized column's (level, height), from the last step that generalizes it."""
    out: dict[str, tuple[int, int]] = {}
    for params, facts in steps:
        out |= params.generalizes(facts, base_dir)
    return out


def k_of(recipe: Recipe, steps: Sequence[tuple[Any, dict[str, Any]]]) -> int:
    """The k that C_avg is measured against: the risk target's, else the steps' largest."""
    if recipe.risk is not None:
        return recipe.risk.k
    found = [getattr(params, "k", None) for params, _ in steps]
    return max([k for k in found if isinstance(k, int)], default=1)


def measured(
    recipe: Recipe,
    plan: UtilityPlan,
    computed: Sequence[Any],
    steps: Sequence[tuple[Any, dict[str, Any]]],
    base_dir: Path,
    rows_in: int,
) -> Utility:
    """The run's figures, with the warnings of ``utility.warn_share``."""
    found = utility(
        plan, collect(plan, computed), levels_of(steps, base_dir), k_of(recipe, steps), rows_in
    )
    return found.model_copy(update={"warnings": warnings(found, recipe.utility.warn_share)})


def summary_lines(found: Utility | None) -> list[str]:
    """What the protection cost, in a line, and each warning (for the run's log)."""
    if found is None:
        return []
    worst = max(found.variables, key=lambda v: v.suppressed_share, default=None)
    parts = [f"precision loss {found.precision_loss:.3f}", f"loss {found.loss:.3f}"]
    if worst is not None:
        parts.append(f"most suppressed {worst.column} {worst.suppressed_share:.1%}")
    if found.il1s is not None:
        parts.append(f"IL1s {number(found.il1s)} (mean {number(found.il1s_mean)})")
    lines = ["what the protection cost: " + ", ".join(parts)]
    return lines + [f"warning: {w}" for w in found.warnings]
