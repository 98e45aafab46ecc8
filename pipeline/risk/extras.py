"""What a run adds to the frequency-based risk when its recipe asks for it.

These are SUDA2, the model risk, and the population uniques. Each is computed from the whole
file's key table, so none costs a pass of its own. The key table holds the distinct
combinations and their record counts; for the model it also holds the sums of their records'
inclusion probabilities ``1 / weight``, and for the population uniques the sum of the weights.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from pipeline.risk.frequencies import Missing


@dataclass(frozen=True)
class Extras:
    """What to measure beyond the frequencies (the defaults: nothing).

    Attributes:
        suda2: SUDA2's DIS fraction (None: no SUDA2).
        model: Whether to fit the log-linear model of the key variables (model risk).
        terms: The model's interactions (``"a:b + c:d"``; None: main effects).
        bound: Combinations of more records are not counted by the model risk.
        population: Whether to estimate the population uniques (ARX's estimators).
        fraction: Their sampling fraction (None: records / the sum of the weights).
    """

    suda2: float | None = None
    model: bool = False
    terms: str | None = None
    bound: float = math.inf
    population: bool = False
    fraction: float | None = None

    def summaries(
        self,
        codes: np.ndarray,
        counts: np.ndarray,
        inclusion: np.ndarray | None,
        keys: list[str],
        missing: Missing,
        weight_total: float | None = None,
    ) -> dict:
        """The ``suda2``, ``model_risk`` and ``population`` sections of a risk summary (asked)."""
        out: dict = {}
        if self.population:
            from pipeline.risk.population import uniqueness

            records = float(np.sum(counts))
            fraction = self.fraction
            if fraction is None and weight_total:
                fraction = min(1.0, records / weight_total)
            if fraction is not None and records > 0:
                out["population"] = uniqueness(counts, fraction)
        if self.suda2 is not None:
            from pipeline.risk.suda2 import suda2_summary

            out["suda2"] = suda2_summary(codes, counts, keys, self.suda2, missing)
        if self.model and inclusion is not None:
            from pipeline.risk.modrisk import model_risk

            found = model_risk(codes, counts, inclusion, keys, self.terms, self.bound)
            out["model_risk"] = found.summary()
        return out
