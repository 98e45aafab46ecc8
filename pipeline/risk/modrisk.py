"""Model-based disclosure risk from a log-linear model of the key variables (sdcMicro's modRisk).

The sample counts of the key combinations are modelled as Poisson with a log-linear model of
the key variables (``terms``: the margins it keeps, by default every variable alone - the main
effects). Per combination with ``0 < fk <= bound`` records (``m`` of them), with ``lambda`` its
fitted count and ``pi`` the sum of its records' inclusion probabilities ``1 / w``, and
``v = (1 - pi) lambda``:

* risk 1: ``exp(-v) / m``, the probability that a sample unique is unique in the population;
* risk 2: ``(1 - exp(-v)) / v / m``, the probability that a match of a sample unique is correct.

The file's figures ``unique_risk`` / ``match_risk`` (sdcMicro's "Risk-Measure 1" and "2") are
their sums over the sample uniques
(Skinner and Shlosser; Rinott; exactly as sdcMicro 5.8.1's ``modRisk(method = "default")``).

**Fit.** The maximum-likelihood fit of a hierarchical log-linear model matches the observed
margins of its terms. Main effects alone have the closed form ``lambda = N prod_v n_v / N`` (no
table of every combination is made, so any number of categories is served). A model with
interactions is fitted by iterative proportional fitting over the full table of the variables'
observed categories (sdcMicro's grid), at most :data:`MAX_CELLS` cells, to a relative change of
1e-12 (R's ``glm`` stops at 1e-8: sdcMicro's figures are that close). Records with a missing key
value are left out of the model and the figures, as ``glm`` drops them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from pipeline.core.errors import InputDataError, Problem, RecipeError

MAX_CELLS = 1 << 26  # cells of the full table an interaction model is fitted over
MAX_ROUNDS = 10_000
TOLERANCE = 1e-12


@dataclass(frozen=True)
class ModelRisk:
    """The model-based risk of a file.

    Attributes:
        unique_risk: Sum over sample uniques of ``exp(-v) / m``.
        match_risk: Sum over sample uniques of ``(1 - exp(-v)) / v / m``.
        cells: ``m``, the combinations counted (``0 < fk <= bound``, a positive fit).
        terms: The model's margins (variable names), main effects first.
        rounds: Rounds of proportional fitting (0: closed form).
    """

    unique_risk: float
    match_risk: float
    cells: int
    terms: list[list[str]]
    rounds: int

    def summary(self) -> dict:
        """JSON-ready figures (``anonymize risk --model``'s ``model_risk`` section)."""
        return {  # the names of ModelRiskSummary's fields
            "unique_risk": self.unique_risk,
            "match_risk": self.match_risk,
            "cells": self.cells,
            "model": " + ".join(":".join(term) for term in self.terms),
            "rounds": self.rounds,
        }


def parse_terms(model: str | None, keys: list[str]) -> list[tuple[int, ...]]:
    """The model's terms as key positions, from ``"a + b:c"`` (None: every key alone).

    Every key variable is in the model (as a main effect at least); ``*`` and ``:`` join the
    variables of an interaction.

    Raises:
        RecipeError: a term names a variable that is not a key variable.
    """
    terms = [(j,) for j in range(len(keys))]
    if not model:
        return terms
    unknown = []
    for raw in model.replace("~", "").split("+"):
        names = [n.strip() for n in raw.replace("*", ":").split(":") if n.strip()]
        if not names:
            continue
        unknown += [n for n in names if n not in keys]
        positions = tuple(sorted({keys.index(n) for n in names if n in keys}))
        if len(positions) > 1 and positions not in terms:
            terms.append(positions)
    if unknown:
        names = sorted(set(unknown))
        what = "is not a key variable" if len(names) == 1 else "are not key variables"
        raise RecipeError(
            [Problem(f"the model names {', '.join(names)}, which {what}", code="model_term")],
            title="usage error",
        )
    return terms


def model_risk(
    codes: np.ndarray,
    counts: np.ndarray,
    inclusion: np.ndarray,
    keys: list[str],
    model: str | None = None,
    bound: float = math.inf,
) -> ModelRisk:
    """The model-based risk of distinct key combinations ``codes`` (``-1`` = missing).

    Args:
        codes: Distinct key-code vectors.
        counts: Records per combination (fk).
        inclusion: Per combination, the sum of its records' ``1 / weight``.
        keys: The key variables' names.
        model: The model's terms (``"a + b + a:b"``); None: main effects.
        bound: Combinations with more records are not counted (sdcMicro's ``bound``).

    Raises:
        InputDataError: an unknown term, or an interaction model over more than
            :data:`MAX_CELLS` cells.
    """
    terms = parse_terms(model, keys)
    complete = (codes >= 0).all(axis=1)
    codes, counts, inclusion = codes[complete], counts[complete], inclusion[complete]
    cards = [int(codes[:, j].max()) + 1 if len(codes) else 1 for j in range(len(keys))]
    if all(len(t) == 1 for t in terms):
        fitted, rounds = _main_effects(codes, counts, cards), 0
    else:
        fitted, rounds = _proportional_fit(codes, counts, cards, terms)
    keep = (counts > 0) & (counts <= bound) & (fitted > 0)
    cells = int(keep.sum())
    unique = counts[keep] == 1  # only sample uniques count (their 1 / w is at most 1)
    if not np.isfinite(inclusion[keep][unique]).all():
        raise InputDataError(
            [
                Problem(
                    "the model-based risk needs a positive weight for every sample unique "
                    "(a weight of 0 has no inclusion probability)",
                    code="bad_weight",
                )
            ]
        )
    v = ((1.0 - inclusion[keep]) * fitted[keep])[unique]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        second = np.where(v == 0, 1.0, -np.expm1(-v) / v)
        first = np.exp(-v)
    scale = 1.0 / cells if cells else 0.0
    names = [[keys[j] for j in term] for term in terms]
    return ModelRisk(
        float(first.sum() * scale),
        float(second.sum() * scale),
        cells,
        names,
        rounds,
    )


def _main_effects(codes: np.ndarray, counts: np.ndarray, cards: list[int]) -> np.ndarray:
    """The independence model's fit, ``N prod_v (n_v / N)``, for each combination."""
    total = float(counts.sum())
    fitted = np.full(len(codes), total)
    for j, card in enumerate(cards):
        margin = np.bincount(codes[:, j], weights=counts, minlength=card)
        fitted *= margin[codes[:, j]] / total
    return fitted


def _proportional_fit(
    codes: np.ndarray, counts: np.ndarray, cards: list[int], terms: Sequence[tuple[int, ...]]
) -> tuple[np.ndarray, int]:
    """Iterative proportional fitting of the terms' margins over the full table."""
    size = math.prod(cards)
    if size > MAX_CELLS:
        raise InputDataError(
            [
                Problem(
                    f"a model with interactions is fitted over the table of every combination "
                    f"of the key variables' categories: {size} cells, at most {MAX_CELLS} "
                    "(fewer variables or categories, or main effects only)",
                    code="model_too_large",
                )
            ]
        )
    observed = np.zeros(cards)
    np.add.at(observed, tuple(codes.T), counts)
    fitted = np.full(cards, observed.sum() / size)
    axes = range(len(cards))
    targets = [
        observed.sum(axis=tuple(a for a in axes if a not in t), keepdims=True) for t in terms
    ]
    rounds, change = 0, math.inf
    while change >= TOLERANCE and rounds < MAX_ROUNDS:
        rounds, change = rounds + 1, 0.0
        for term, target in zip(terms, targets, strict=True):
            margin = fitted.sum(axis=tuple(a for a in axes if a not in term), keepdims=True)
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = np.where(margin > 0, target / margin, 0.0)
            change = max(change, float(np.abs(ratio[target > 0] - 1.0).max(initial=0.0)))
            fitted *= ratio
    return fitted[tuple(codes.T)], rounds
