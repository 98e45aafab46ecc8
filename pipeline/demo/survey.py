"""Seeded generator of a synthetic household budget survey (one record per household).

Fictitious throughout, like ``pipeline.demo.census``: respondents' names come from its short lists,
telephone numbers are random; only the JIS X 0401 prefecture codes are real. The numeric
variables are what perturbative methods are for: annual income, monthly consumption
expenditure and savings, correlated with each other and with the head's age and the size of
the household, with long right tails and a few very rich households.
"""

from __future__ import annotations

from pathlib import Path
from typing import TextIO

import numpy as np
import pandas as pd

from pipeline.demo.census import FEMALE_NAMES, MALE_NAMES, SURNAMES

DEFAULT_SEED = 20261202
COLUMNS = (
    "household_id",
    "respondent",
    "phone",
    "prefecture",
    "household_size",
    "head_age",
    "head_sex",
    "tenure",
    "income",
    "expenditure",
    "savings",
    "weight",
)
_DATA = Path(__file__).resolve().parent.parent / "data"
_SIZES = np.array([0.38, 0.28, 0.16, 0.12, 0.04, 0.015, 0.005])  # 1..7 persons


def generate_survey(rows: int, seed: int = DEFAULT_SEED) -> pd.DataFrame:
    """Generate ``rows`` synthetic survey households (the columns of :data:`COLUMNS`).

    Raises:
        ValueError: If ``rows`` is negative.
    """
    if rows < 0:
        raise ValueError("rows must be >= 0")
    rng = np.random.default_rng(seed)
    prefectures = pd.read_csv(_DATA / "jp_prefectures.csv", dtype=str)["pref_code"].to_numpy()
    share = rng.dirichlet(np.full(prefectures.size, 2.0))
    size = rng.choice(np.arange(1, 8), size=rows, p=_SIZES / _SIZES.sum())
    age = np.clip(np.rint(rng.normal(56, 16, rows)), 20, 99).astype(np.int64)
    if rows >= 100:
        age[rng.integers(0, rows)] = 108  # a peculiar value for top-coding
    sex = np.where(rng.random(rows) < 0.72, "1", "2")
    earning = np.exp(-(((age - 52) / 22.0) ** 2))
    income = rng.lognormal(np.log(2.6e6) + 0.9 * earning + 0.12 * np.log(size), 0.55)
    rich = rng.random(rows) < 0.004
    income = np.where(rich, income * rng.uniform(5, 30, rows), income)
    expenditure = income / 12 * rng.uniform(0.45, 0.85, rows) * (1 + 0.04 * (size - 1))
    savings = income * rng.lognormal(np.log(1.2) + 0.02 * (age - 40), 0.8)
    own = 1 / (1 + np.exp(-(age - 45) / 8.0))
    tenure = np.where(
        rng.random(rows) < own, "own", np.where(rng.random(rows) < 0.85, "rent", "other")
    )
    surname = rng.integers(0, len(SURNAMES), rows)
    given = rng.integers(0, min(len(MALE_NAMES), len(FEMALE_NAMES)), rows)
    names = [
        f"{SURNAMES[s][0]} {(MALE_NAMES if x == '1' else FEMALE_NAMES)[g][0]}"
        for s, g, x in zip(surname, given, sex, strict=True)
    ]
    phone = [f"090-{a:04d}-{b:04d}" for a, b in rng.integers(0, 10_000, (rows, 2))]
    values = (
        [f"S{h:07d}" for h in rng.choice(10**7, size=rows, replace=False)],
        names,
        phone,
        rng.choice(prefectures, size=rows, p=share),
        size,
        age,
        sex,
        tenure,
        _thousands(income),
        _thousands(expenditure),
        _thousands(savings),
        np.round(rng.uniform(500, 4000, rows), 2),
    )
    return pd.DataFrame(dict(zip(COLUMNS, values, strict=True)))


def _thousands(values: np.ndarray) -> np.ndarray:
    """Yen rounded to thousands, as whole numbers."""
    return (np.rint(values / 1000) * 1000).astype(np.int64)


def write_survey_csv(
    path: str | Path | TextIO, rows: int, seed: int = DEFAULT_SEED, encoding: str = "utf-8"
) -> str | Path | TextIO:
    """Write :func:`generate_survey` ``(rows, seed)`` as CSV without index."""
    target = path if hasattr(path, "write") else Path(path)
    generate_survey(rows, seed).to_csv(target, index=False, encoding=encoding, lineterminator="\n")
    return target
