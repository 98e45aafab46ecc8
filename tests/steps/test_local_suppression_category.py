"""``local_suppression`` under ``risk.missing: category`` end to end (issue 12).

With missing as a category of its own, the gate measures classes by an ordinary group-by; the
step must reach k under that convention or the gate blocks its own output.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipeline.engine.phases import run_recipe
from pipeline.engine.prepare import RunOptions
from pipeline.engine.progress import Reporter
from pipeline.recipe.loader import load_recipe
from tests.conftest import demo_recipe

KEYS = ["age", "sex", "municipality", "occupation", "household_size"]
STEPS = """\
  - recode: {column: municipality, hierarchy: jp_region, level: prefecture}
  - recode: {column: age, bands: [0, 20, 40, 60, 80]}
  - recode: {column: occupation, hierarchy: hierarchies/occupation.csv, level: 1}
  - top_code: {column: age, above: 80}
  - local_suppression: {k: 5}
"""


@pytest.fixture
def with_missing_keys(workdir: Path) -> Path:
    """The census with key values already missing (some records with none left)."""
    path = workdir / "data" / "census.csv"
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    rng = np.random.default_rng(12)
    for key in ("age", "occupation", "household_size"):
        frame.loc[rng.random(len(frame)) < 0.03, key] = ""
    frame.loc[[3, 17], KEYS] = ""  # two records missing every key value: fewer than k
    frame.to_csv(path, index=False)
    return workdir


def category_class_sizes(data: pd.DataFrame) -> pd.Series:
    """Class size of every record, missing values forming a category of their own."""
    return data.groupby(KEYS, dropna=False, observed=True)[KEYS[0]].transform("size")


@pytest.mark.slow
def test_local_suppression_reaches_k_under_the_recipe_convention(
    with_missing_keys: Path,
) -> None:
    recipe = demo_recipe(with_missing_keys, STEPS, extra="risk: {k: 5, missing: category}\n")
    result = run_recipe(load_recipe(recipe), RunOptions(), Reporter(quiet=True))
    out = result.out_dir
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["gate"]["passed"]
    (step,) = [s for s in manifest["steps"] if s["name"] == "local_suppression"]
    assert step["facts"]["missing"] == "category"
    assert step["facts"]["suppressed_total"] > 0

    data = pd.read_parquet(out / "data")
    assert len(data) == manifest["rows_out"]
    sizes = category_class_sizes(data)
    assert sizes.min() >= 5
    fully = data[KEYS].isna().all(axis=1)
    assert fully.sum() >= 5  # the two records missing everything were joined by others


@pytest.mark.slow
def test_step_missing_overrides_the_recipe(with_missing_keys: Path) -> None:
    steps = STEPS.replace("{k: 5}", "{k: 5, missing: category}")
    recipe = demo_recipe(with_missing_keys, steps, extra="risk: {k: 1}\n")
    result = run_recipe(load_recipe(recipe), RunOptions(), Reporter(quiet=True))
    manifest = json.loads((result.out_dir / "manifest.json").read_text())
    (step,) = [s for s in manifest["steps"] if s["name"] == "local_suppression"]
    assert step["facts"]["missing"] == "category"
    data = pd.read_parquet(result.out_dir / "data")
    assert category_class_sizes(data).min() >= 5
