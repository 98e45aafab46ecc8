"""Utility for analysts: the same analysis on the original and on the released records.

* **Classification** (ARX's classification utility): a logistic regression and a gradient
  boosting classifier (scikit-learn) learn ``target`` from ``features``, once from the original
  records and once from the released ones. Both are scored on the same held-out records: the
  original model on their original values, the released model on their released values (as a
  recipient would apply it), each against the original target. The released model's accuracy
  over the original's says what the protection cost an analyst; the majority class's accuracy is
  the floor any model reaches.
* **Regression** (Karr et al. 2006, confidence-interval overlap): the ordinary least squares
  fit of a formula ``y ~ a + b`` on both, and per coefficient the overlap of the two 95%
  intervals, ``J = (w / (U_o - L_o) + w / (U_r - L_r)) / 2`` with ``w`` the length of their
  intersection (1: the same interval; 0 or less: disjoint). A categorical predictor enters as
  one indicator per category but its first; a predictor whose categories differ between the
  files (generalized, recoded, suppressed) and coefficients only one fit has are listed, not
  compared.

Records are the released ones matched with their originals (``pipeline.utility.compare.align``),
at most :data:`MAX_RECORDS` of them (a seeded sample), split seeded: the figures are the same on
every run of the same files and seed. A categorical feature keeps its :data:`MAX_CATEGORIES` most
frequent categories (the rest are one category), so memory stays bounded whatever the file.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from pydantic import BaseModel

from pipeline.core.errors import InputDataError, Problem, RecipeError
from pipeline.utility.model import AnalysisUtility, Coefficient, ModelAccuracy, Regression

MAX_RECORDS = 100_000
TEST_SHARE = 0.3
MAX_CATEGORIES = 30  # per feature; rarer categories are one "infrequent" category
MISSING = "\x00missing"  # a missing categorical value, as a category of its own


class Columns(BaseModel):
    """The columns an analysis reads: all of them, those read as text, those that are numbers."""

    columns: list[str]
    text: list[str]
    numbers: list[str]
    features: list[str]


def analysis_columns(
    keys: Sequence[str],
    numeric: Sequence[str],
    target: str | None,
    features: Sequence[str] | None,
    formula: str | None,
) -> Columns:
    """What ``analyse`` reads: features default to the key and numeric variables.

    Raises:
        RecipeError: a formula that is not ``y ~ a + b``, a target among the features.
    """
    chosen = list(features) if features else [c for c in (*keys, *numeric) if c != target]
    if target is not None and target in chosen:
        raise RecipeError([Problem("the target may not be a feature")], title="usage error")
    response, predictors = parse_formula(formula) if formula else (None, [])
    numbers = [response] if response else []
    used = [*([target] if target else []), *chosen, *predictors, *numbers]
    columns = list(dict.fromkeys(c for c in used if c))
    text = [c for c in columns if c not in numeric and c not in numbers]
    return Columns(columns=columns, text=text, numbers=numbers, features=chosen)


def analyse(
    before: pd.DataFrame,
    after: pd.DataFrame,
    target: str | None,
    features: Sequence[str],
    formula: str | None,
    seed: int = 0,
) -> AnalysisUtility:
    """Classification and regression utility of ``after`` against ``before`` (aligned records).

    Raises:
        RecipeError: a target among the features, a formula that is not ``y ~ a + b``.
        InputDataError: too few records, or a target with one class only.
    """
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(before))[:MAX_RECORDS]
    before, after = (
        before.iloc[order].reset_index(drop=True),
        after.iloc[order].reset_index(drop=True),
    )
    test = int(round(len(before) * TEST_SHARE))
    if len(before) < 20:
        raise InputDataError([Problem("the model needs 20 matched records at least")])
    found = AnalysisUtility(records=len(before), test_records=test)
    if target is not None:
        found = _classify(before, after, target, list(features), test, seed, found)
    if formula is not None:
        found.regression = regression(before, after, formula)
    return found


def _classify(
    before: pd.DataFrame,
    after: pd.DataFrame,
    target: str,
    features: list[str],
    test: int,
    seed: int,
    found: AnalysisUtility,
) -> AnalysisUtility:
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression

    if target in features or not features:
        raise RecipeError([Problem("give features, without the target")], title="usage error")
    truth = _labels(before[target])
    if truth.iloc[test:].nunique() < 2:
        raise InputDataError([Problem(f"the target {target!r} has one class in the records")])
    majority = truth.iloc[test:].mode().iloc[0]
    found.target, found.features = target, features
    found.majority = float((truth.iloc[:test] == majority).mean())
    makers = {
        "logistic regression": lambda: LogisticRegression(max_iter=200, tol=1e-3),
        "gradient boosting": lambda: HistGradientBoostingClassifier(
            max_iter=30, max_leaf_nodes=15, early_stopping=False, random_state=seed
        ),
    }
    for name, make in makers.items():
        scores = []
        for frame in (before, after):
            learnt = _labels(frame[target]).iloc[test:]
            learnt = learnt[learnt != MISSING]  # a released target may be suppressed
            x = _design(frame[features], learnt.index, test)
            with warnings.catch_warnings():  # a model that stops short is scored as it is
                warnings.simplefilter("ignore")
                model = make().fit(x.train, learnt.to_numpy())
            scores.append(float((model.predict(x.test) == truth.iloc[:test].to_numpy()).mean()))
        relative = scores[1] / scores[0] if scores[0] else None
        found.classification.append(
            ModelAccuracy(model=name, original=scores[0], released=scores[1], relative=relative)
        )
    return found


class _Design:
    """Numbers a model learns from: one-hot categories and standardized numbers."""

    def __init__(self, train: np.ndarray, test: np.ndarray) -> None:
        self.train, self.test = train, test


def _design(frame: pd.DataFrame, train_rows: pd.Index, test: int) -> _Design:
    """The training rows' and the first ``test`` rows' design matrices (fitted on training)."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numbers = [c for c in frame.columns if _is_number(frame[c])]
    cats = [c for c in frame.columns if c not in numbers]
    prepared = frame.copy()
    for c in cats:
        prepared[c] = _labels(prepared[c])
    for c in numbers:
        prepared[c] = pd.to_numeric(prepared[c], errors="coerce").astype("float64")
    onehot = OneHotEncoder(
        handle_unknown="infrequent_if_exist", max_categories=MAX_CATEGORIES, min_frequency=2
    )
    steps = [("cat", onehot, cats)] if cats else []
    if numbers:
        scaled = make_pipeline(SimpleImputer(strategy="median"), StandardScaler())
        steps.append(("num", scaled, numbers))
    encoder = ColumnTransformer(steps, sparse_threshold=0.0)
    train = encoder.fit_transform(prepared.loc[train_rows])
    return _Design(train, encoder.transform(prepared.iloc[:test]))


def _is_number(column: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)


def _labels(column: pd.Series) -> pd.Series:
    """Values as category labels, a missing value as a category of its own."""
    return column.astype("object").where(column.notna(), MISSING).astype(str)


def parse_formula(formula: str) -> tuple[str, list[str]]:
    """``"y ~ a + b"`` as (response, predictors).

    Raises:
        RecipeError: not of that form.
    """
    left, sep, right = formula.partition("~")
    predictors = [p.strip() for p in right.split("+") if p.strip()]
    if not sep or not left.strip() or not predictors or len(left.split()) != 1:
        raise RecipeError(
            [Problem("the formula must read 'y ~ a + b' (column names)")], title="usage error"
        )
    return left.strip(), predictors


def regression(before: pd.DataFrame, after: pd.DataFrame, formula: str) -> Regression:
    """Karr et al.'s interval overlap of the formula's OLS coefficients on both files."""
    response, predictors = parse_formula(formula)
    fits = [_ols(frame, response, predictors) for frame in (before, after)]
    # a categorical predictor is compared only when both files hold the same categories: the
    # released "10" of an age band is not the original age 10
    changed = [
        p
        for p in predictors
        if not _is_number(before[p])
        and set(_labels(before[p]).unique()) != set(_labels(after[p]).unique())
    ]
    shared = [t for t in fits[0] if t in fits[1] and t.split("[")[0] not in changed]
    coefficients = [
        Coefficient(
            term=t, original=fits[0][t][0], released=fits[1][t][0], overlap=_overlap(fits, t)
        )
        for t in shared
    ]
    # named by variable, never by category: a category only the input holds is not published
    others = sorted({t.split("[")[0] for t in (set(fits[0]) | set(fits[1])) - set(shared)})
    mean = float(np.mean([c.overlap for c in coefficients])) if coefficients else None
    return Regression(
        formula=formula,
        coefficients=coefficients,
        compared=len(coefficients),
        mean_overlap=mean,
        not_comparable=others,
    )


def _overlap(fits: list[dict[str, tuple[float, float, float]]], term: str) -> float:
    (_, lo_o, hi_o), (_, lo_r, hi_r) = fits[0][term], fits[1][term]
    common = min(hi_o, hi_r) - max(lo_o, lo_r)
    return 0.5 * (common / (hi_o - lo_o) + common / (hi_r - lo_r))


def _ols(frame: pd.DataFrame, response: str, predictors: list[str]) -> dict:
    """Each term's (coefficient, 95% lower, 95% upper) of the least-squares fit."""
    from scipy import stats

    y = pd.to_numeric(frame[response], errors="coerce")
    if not _is_number(frame[response]):
        raise InputDataError([Problem(f"the formula's response {response!r} is not numeric")])
    parts, names = [np.ones(len(frame))], ["(intercept)"]
    for p in predictors:
        if _is_number(frame[p]):
            parts.append(pd.to_numeric(frame[p], errors="coerce").to_numpy(float))
            names.append(p)
            continue
        labels = _labels(frame[p])
        for category in sorted(labels.unique())[1:]:
            parts.append((labels == category).to_numpy(float))
            names.append(f"{p}[{category}]" if category != MISSING else f"{p}[missing]")
    x = np.column_stack(parts)
    rows = np.isfinite(x).all(axis=1) & np.isfinite(y.to_numpy(float))
    x, yv = x[rows], y.to_numpy(float)[rows]
    coef, _, rank, _ = np.linalg.lstsq(x, yv, rcond=None)
    dof = len(yv) - rank
    if dof <= 0:
        raise InputDataError([Problem("too few records for the formula's terms")])
    sigma2 = float(((yv - x @ coef) ** 2).sum()) / dof
    spread = np.sqrt(np.diag(np.linalg.pinv(x.T @ x)) * sigma2)
    half = stats.t.ppf(0.975, dof) * spread
    return {
        n: (float(c), float(c - h), float(c + h)) for n, c, h in zip(names, coef, half, strict=True)
    }
