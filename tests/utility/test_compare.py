"""``anonymize utility``: its checks of the options (levels, numeric columns) and its figures."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pytest

from pipeline.core.errors import InputDataError, RecipeError
from pipeline.utility.aggregate import UtilityPlan
from pipeline.utility.compare import checked_levels, compare, numbers_only


def test_a_level_runs_from_0_to_its_height_of_a_categorical_column() -> None:
    assert checked_levels({"age": (0, 2), "sex": (2, 2)}, ["age", "sex"]) == {
        "age": (0, 2),
        "sex": (2, 2),
    }
    for level, height in ((5, 2), (-1, 2), (1, 0), (0, 0)):
        with pytest.raises(RecipeError) as found:
            checked_levels({"age": (level, height)}, ["age"])
        assert f"--levels age={level}/{height}" in str(found.value)
        assert found.value.exit_code == 2 and found.value.title == "usage error"
    with pytest.raises(RecipeError, match="--levels: 'income' is not a key variable"):
        checked_levels({"income": (1, 2)}, ["age"])


def test_numeric_columns_must_hold_numbers_in_both_files() -> None:
    good = pa.table({"x": [1.5, None], "n": pa.array([None, None], pa.null()), "t": ["1", "2e3"]})
    numbers_only({"original": good, "released": good}, {"--numeric": ["x", "n", "t"]})
    text = pa.table({"x": ["SECRET", None], "n": [True, False], "t": ["1", "x"]})
    with pytest.raises(InputDataError) as found:
        numbers_only(
            {"original": good, "released": text}, {"--numeric": ["x", "t"], "--perturbed": ["n"]}
        )
    messages = [p.message for p in found.value.problems]
    assert messages == [
        "--numeric: column 'x' of the released file holds text, not numbers",
        "--numeric: column 't' of the released file holds text, not numbers",
        "--perturbed: column 'n' of the released file holds bool values, not numbers",
    ]
    assert found.value.exit_code == 3 and "SECRET" not in str(found.value)


def test_tied_released_values_give_the_same_figures_whatever_the_partitions() -> None:
    """An original value released as two values as often each: the tie is broken the same way."""
    original = pd.DataFrame({"job": ["x", "y", "x", "x", "w", "w"] * 3})
    released = pd.DataFrame({"job": ["q", "r", "s", "r", "r", "s"] * 3})
    plan = UtilityPlan(keys=("job",), categorical=("job",), numeric=())
    figures = {
        parts: compare(original, released, plan, partitions=parts).model_dump_json()
        for parts in (1, 2, 3, 6)
    }
    assert len(set(figures.values())) == 1
