"""Great Expectations as the row engine: counts add up over batches, and no value leaks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.gate.checks import RowCheck, cap_check, value_set_check
from pipeline.gate.gx_engine import validate_batches


def frame(n: int = 1000, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ages = pd.array(rng.integers(0, 120, n), dtype="Int64")
    ages[::7] = pd.NA
    return pd.DataFrame(
        {
            "age": ages,
            "pref": pd.array(rng.choice(["01", "13", "27", "99"], n), dtype="string"),
        }
    )


CHECKS = [cap_check("age", 90, upper=True), value_set_check("pref", ["01", "13", "27"], "pref")]


def expected(df: pd.DataFrame) -> list[int]:
    return [int((df["age"].dropna() > 90).sum()), int((df["pref"] == "99").sum())]


def test_counts_equal_pandas_and_missing_values_pass() -> None:
    df = frame()
    results, batches, rows = validate_batches([df], CHECKS, "output")
    assert [r.observed for r in results] == expected(df)
    assert batches == 1 and rows == len(df)
    assert all(not r.passed for r in results)
    assert all(r.engine == "great_expectations" for r in results)


@settings(max_examples=8, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=999), min_size=0, max_size=4, unique=True))
def test_counts_do_not_depend_on_batching(cuts: list[int]) -> None:
    df = frame()
    edges = [0, *sorted(cuts), len(df)]
    parts = [df.iloc[a:b] for a, b in zip(edges, edges[1:], strict=False)]
    whole, _, _ = validate_batches([df], CHECKS, "output")
    split, batches, rows = validate_batches(parts, CHECKS, "output")
    assert [r.observed for r in split] == [r.observed for r in whole]
    assert rows == len(df) and batches == len(parts)


def test_clean_data_passes() -> None:
    df = frame()
    df["age"] = df["age"].clip(upper=90)
    df["pref"] = df["pref"].replace("99", "01")
    results, _, _ = validate_batches([df], CHECKS, "output")
    assert all(r.passed for r in results) and [r.observed for r in results] == [0, 0]


def test_a_check_that_cannot_run_fails_closed() -> None:
    df = frame()
    check = RowCheck(
        id="age.pattern",
        reason="pattern_mismatch",
        column="age",
        description="age matches",
        expectations=(("ExpectColumnValuesToMatchRegex", {"column": "nope", "regex": "x"}),),
    )
    (result,), _, _ = validate_batches([df], [check], "output")
    assert not result.passed and result.reason == "check_error"


def test_results_hold_no_values() -> None:
    df = frame()
    df.loc[0, "pref"] = "SECRET-VALUE"
    results, _, _ = validate_batches([df], CHECKS, "output")
    assert "SECRET-VALUE" not in " ".join(r.model_dump_json() for r in results)


@pytest.mark.parametrize("rows", [0])
def test_empty_batches_are_counted_not_validated(rows: int) -> None:
    results, batches, counted = validate_batches([frame().iloc[:rows]], CHECKS, "output")
    assert batches == 1 and counted == 0 and all(r.passed for r in results)
