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

from pipeline.core.columns import INTERNAL_PREFIX, ROW
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
    analysis: tuple[str, ...] = ()
    if spec.analysis is not None:
        from pipeline.utility.analysis import analysis_columns

        features = spec.analysis.features or None
        used = analysis_columns(
            keys, numeric, spec.analysis.target, features, spec.analysis.formula
        )
        analysis = tuple(c for c in used.columns if c in frame.columns)
    return UtilityPlan(keys, categorical, numeric, tables, perturbed, randomized, analysis)


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


def analysed(recipe: Recipe, plan: UtilityPlan, found: Utility, sample: Any) -> Utility:
    """``found`` with what the protection cost an analyst (``utility.analysis``), if asked.

    ``sample``: the released records' analysis columns before and after (a seeded sample).
    """
    spec = recipe.utility.analysis
    if spec is None or sample is None:
        return found
    from pipeline.utility.aggregate import before
    from pipeline.utility.analysis import analyse

    sample = sample.sort_values(ROW, kind="stable").reset_index(drop=True)
    columns = list(plan.analysis)
    original = sample[[before(c) for c in columns]].set_axis(columns, axis=1)
    features = _features(recipe, plan)
    figures = analyse(original, sample[columns], spec.target, features, spec.formula, spec.seed)
    if figures.regression is not None:  # published: aggregates only, no fit of the input
        figures.regression = figures.regression.model_copy(update={"coefficients": []})
    return found.model_copy(update={"analysis": figures})


def _features(recipe: Recipe, plan: UtilityPlan) -> list[str]:
    """The classifiers' features: the recipe's, else the key and numeric variables."""
    spec = recipe.utility.analysis
    if spec is not None and spec.features:
        return list(spec.features)
    return [c for c in (*plan.keys, *plan.numeric) if spec is None or c != spec.target]


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
    if found.analysis is not None:
        lines += analysis_lines(found)
    return lines + [f"warning: {w}" for w in found.warnings]


def analysis_lines(found: Utility) -> list[str]:
    """The analyst's figures, a line each (accuracies and the regression's overlap)."""
    a = found.analysis
    if a is None:
        return []
    out = [
        f"{m.model}: accuracy {m.original:.3f} learnt from the original, {m.released:.3f} "
        f"from the released (majority class {a.majority:.3f})"
        for m in a.classification
    ]
    if a.regression is not None and a.regression.mean_overlap is not None:
        out.append(
            f"regression {a.regression.formula}: interval overlap {a.regression.mean_overlap:.3f}"
        )
    return out
