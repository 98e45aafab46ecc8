"""Population uniqueness from the sample's class sizes (the estimators ARX offers).

From ``f_k`` (the number of key combinations held by ``k`` records), ``n`` records, ``u``
combinations, ``c1 = f_1`` sample uniques and the sampling fraction ``pi`` (population
``N = round(n / pi)``), each estimator gives the number of population uniques (records alone in
their combination in the population); the figures are shares of the population (``/ N``), as
ARX reports them:

* **Zayatz** (1991): ``c1^2 / sum_k f_k P(k)`` with ``P(k)`` the hypergeometric probability that
  a population class of size ``k`` shows one record in a sample of ``n`` of ``N`` (the sample's
  class sizes standing for the population's).
* **Pitman** (Hoshino 2001): the Pitman sampling formula's maximum-likelihood ``(theta, alpha)``
  (``theta >= 0``), then ``Gamma(theta + 1) / Gamma(theta + alpha) N^alpha``.
* **SNB** (Chen and Keller-McNulty 1998, the equations and the number of population classes K as
  ARX codes them): the slide negative binomial's ``(alpha, beta)`` fitted to ``c1`` and ``c2``,
  then ``K beta^alpha``.
* **Dankar et al.'s decision rule**: Pitman when ``pi <= 0.1`` (Zayatz when it fails), else the
  smaller of Zayatz and SNB (Zayatz when SNB fails).

The equations are solved to a residual of 1e-10 (scipy's hybrid Powell method with the exact
Jacobian for Pitman, from ARX's start values and then its 16 preset ones); a model whose
equations have no solution there is reported as not estimated (None), never as 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize, special

STARTS = [(a, b) for a in (0.0, 0.33, 0.66, 0.99) for b in (0.0, 0.33, 0.66, 0.99)]
RESIDUAL = 1e-10


@dataclass(frozen=True)
class Histogram:
    """The sample's class sizes ``k`` and the number ``f`` of classes of each size."""

    k: np.ndarray
    f: np.ndarray

    @classmethod
    def of_counts(cls, counts: np.ndarray) -> Histogram:
        """From the record count of every key combination."""
        held = np.bincount(np.rint(np.asarray(counts)).astype(np.int64))
        k = np.flatnonzero(held)
        k = k[k > 0]
        return cls(k.astype(float), held[k].astype(float))

    @property
    def n(self) -> float:
        """Records."""
        return float((self.k * self.f).sum())

    @property
    def u(self) -> float:
        """Classes (key combinations)."""
        return float(self.f.sum())

    def size(self, k: int) -> float:
        """The number of classes of size ``k``."""
        hit = self.f[self.k == k]
        return float(hit[0]) if hit.size else 0.0


def population_size(records: int, fraction: float) -> int:
    """``N = round(n / pi)``, halves rounded up (as ARX)."""
    return int(math.floor(records / fraction + 0.5))


def zayatz(h: Histogram, population: int) -> float | None:
    """Zayatz's estimate of the number of population uniques."""
    n, c1 = h.n, h.size(1)
    total = 0.0
    for k, f in zip(h.k.astype(int), h.f, strict=True):
        if k > population - n + 1:
            continue
        steps = np.arange(1, k)
        total += f * (k * n / population) * np.prod(1.0 - (n - 1) / (population - steps))
    return c1 * c1 / total if total > 0 else None


def _pitman_equations(x: np.ndarray, h: Histogram) -> tuple[np.ndarray, np.ndarray]:
    """The Pitman likelihood equations F(theta, alpha) and their Jacobian."""
    theta, alpha = x
    if not (abs(theta) < 1e12 and -1e6 < alpha < 1):  # off the model (scipy's zeta would crawl)
        return np.full(2, np.nan), np.full((2, 2), np.nan)
    i = np.arange(1.0, h.u)
    v = theta + i * alpha
    big = h.k >= 2
    kk, ff = h.k[big], h.f[big]
    f1 = (1 / v).sum() - (special.digamma(theta + h.n) - special.digamma(theta + 1))
    f2 = (i / v).sum() - (ff * (special.digamma(kk - alpha) - special.digamma(1 - alpha))).sum()
    d1, d5, d3 = (1 / v**2).sum(), (i / v**2).sum(), (i * i / v**2).sum()
    d2 = special.polygamma(1, theta + 1) - special.polygamma(1, theta + h.n)
    d4 = (ff * (special.polygamma(1, 1 - alpha) - special.polygamma(1, kk - alpha))).sum()
    return np.array([f1, f2]), np.array([[d2 - d1, -d5], [-d5, -d3 - d4]])


def pitman(h: Histogram, population: int) -> float | None:
    """Pitman's estimate of the number of population uniques (None: no solution)."""
    n, u, c1 = h.n, h.u, h.size(1)
    c2 = h.size(2) or 1.0
    c = c1 * (c1 - 1) / c2
    t0 = (n * u * c - c1 * (n - 1) * (2 * u + c)) / (2 * c1 * u + c1 * c - n * c)
    a0 = (t0 * (c1 - n) + (n - 1) * c1) / (n * u)
    for start in [(t0, a0), *STARTS]:
        found = _solve(lambda x: _pitman_equations(x, h), start, jac=True)
        if found is None or found[0] < 0 or found[1] == 0:
            continue
        theta, alpha = found
        if theta + alpha <= 0:
            continue
        log = special.gammaln(theta + 1) - special.gammaln(theta + alpha)
        log += alpha * math.log(population)
        if log <= math.log(population):  # at most everyone
            return math.exp(log)
    return None


def _shlosser_classes(h: Histogram, f: float) -> float:
    """K, the population's non-empty classes, as ARX codes it."""
    k, fk = h.k, h.f
    var1 = (k * f**2 * (1 - f**2) ** (k - 1) * fk).sum()
    var2 = ((1 - f) ** k * fk * (1 + f) ** k - 1).sum()
    var3 = ((1 - f) ** k * fk).sum()
    var4 = (k * f * (1 - f) ** (k - 1) * fk).sum()
    return h.u + h.size(1) * (var1 / var2) * (var3 / var4) ** 2


def snb(h: Histogram, population: int) -> float | None:
    """The slide negative binomial's estimate of the number of population uniques."""
    f = h.n / population
    c1, c2 = h.size(1), h.size(2)
    big_k = _shlosser_classes(h, f)

    def equations(x: np.ndarray) -> np.ndarray:
        a, b = x
        d = (1 - f) * (1 - b)
        g1 = big_k * f * (b / (1 - d)) ** a * (a * d / (1 - d) + 1) - c1
        g2 = big_k * a * b**a * f * f * (1 - b) / 2 * (1 - d) ** (a + 2) * (2 - (1 - a) * d) - c2
        return np.array([g1, g2])

    for start in [(1.0, 1.0), *STARTS]:
        found = _solve(equations, start, jac=False)
        if found is not None:
            value = big_k * found[1] ** found[0]
            if math.isfinite(value) and value > 0:
                return float(value)
    return None


def _solve(func, start: tuple[float, float], jac: bool) -> np.ndarray | None:  # noqa: ANN001
    """A root of ``func`` near ``start`` (None: none found, or not finite)."""
    with np.errstate(all="ignore"):
        try:
            result = optimize.root(func, np.array(start, dtype=float), jac=jac, method="hybr")
        except (ValueError, ArithmeticError):
            return None
        residual = func(result.x)[0] if jac else func(result.x)
    if not np.all(np.isfinite(result.x)) or not np.all(np.abs(residual) <= RESIDUAL * 1e4):
        return None
    return result.x


def uniqueness(counts: np.ndarray, fraction: float) -> dict:
    """Every estimator's share of population uniques, and Dankar's choice (JSON-ready)."""
    h = Histogram.of_counts(counts)
    n = int(h.n)
    population = population_size(n, fraction)
    c1 = h.size(1)
    if c1 == 0:
        found = {"zayatz": 0.0, "pitman": 0.0, "snb": 0.0}
        chosen, value = "none", 0.0
    else:
        found = {
            "zayatz": zayatz(h, population),
            "pitman": pitman(h, population),
            "snb": snb(h, population) if fraction > 0.1 else None,
        }
        chosen, value = _dankar(found, fraction)
    return {  # the fields of PopulationSummary
        "sampling_fraction": fraction,
        "population": population,
        "sample_uniques": c1 / n if n else 0.0,
        **{name: None if v is None else float(v) / population for name, v in found.items()},
        "dankar": float(value) / population if value is not None else None,
        "dankar_model": chosen,
    }


def _dankar(found: dict, fraction: float) -> tuple[str, float | None]:
    """Dankar et al.'s rule over the estimates (counts)."""
    if fraction <= 0.1:
        if found["pitman"]:
            return "pitman", found["pitman"]
        return "zayatz", found["zayatz"]
    if found["snb"] and found["zayatz"] is not None and found["snb"] <= found["zayatz"]:
        return "snb", found["snb"]
    return "zayatz", found["zayatz"]
