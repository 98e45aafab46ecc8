"""Great Expectations as the row engine: counts add up over batches, and no value leaks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.gate.checks import RowCheck, cap_check, value_set_check
from pipeline.gate.gx_engine import validate_tables
from tests.conftest import examples


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
    results, batches, rows = validate_tables([pa.table(df)], CHECKS, "output")
    assert [r.observed for r in results] == expected(df)
    assert batches == 1 and rows == len(df)
    assert all(not r.passed for r in results)
    assert all(r.engine == "great_expectations" for r in results)


@settings(max_examples=examples(8), deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=999), min_size=0, max_size=4, unique=True))
def test_counts_do_not_depend_on_batching(cuts: list[int]) -> None:
    df = frame()
    edges = [0, *sorted(cuts), len(df)]
    parts = [df.iloc[a:b] for a, b in zip(edges, edges[1:], strict=False)]
    whole, _, _ = validate_tables([pa.table(df)], CHECKS, "output")
    split, batches, rows = validate_tables([pa.table(p) for p in parts], CHECKS, "output")
    assert [r.observed for r in split] == [r.observed for r in whole]
    assert rows == len(df) and batches == len(parts)


def test_clean_data_passes() -> None:
    df = frame()
    df["age"] = df["age"].clip(upper=90)
    df["pref"] = df["pref"].replace("99", "01")
    results, _, _ = validate_tables([pa.table(df)], CHECKS, "output")
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
    (result,), _, _ = validate_tables([pa.table(df)], [check], "output")
    assert not result.passed and result.reason == "check_error"


def test_results_hold_no_values() -> None:
    df = frame()
    df.loc[0, "pref"] = "SECRET-VALUE"
    results, _, _ = validate_tables([pa.table(df)], CHECKS, "output")
    assert "SECRET-VALUE" not in " ".join(r.model_dump_json() for r in results)


@pytest.mark.parametrize("rows", [0])
def test_empty_batches_are_counted_not_validated(rows: int) -> None:
    results, batches, counted = validate_tables([pa.table(frame().iloc[:rows])], CHECKS, "output")
    assert batches == 1 and counted == 0 and all(r.passed for r in results)


@pytest.mark.parametrize(("limit", "share"), [(1, 1.0), (3, 1.0), (1 << 20, 1.0), (3, 0.0)])
def test_distinct_values_count_every_row_whatever_the_limit(
    limit: int, share: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GX judges each distinct value once (share 1) or every row (share 0); the counts equal a
    row-by-row count in pandas either way."""
    from pipeline.gate import gx_engine

    monkeypatch.setattr(gx_engine, "DISTINCT_LIMIT", limit)
    monkeypatch.setattr(gx_engine, "DISTINCT_SHARE", share)
    df = frame(3000, seed=4)
    income = pd.array(np.random.default_rng(2).normal(100, 50, len(df)).round(), dtype="Float64")
    income[::11] = pd.NA
    df["income"] = income
    checks = [
        *CHECKS,
        cap_check("income", 150, upper=True),
        RowCheck(
            id="pref.pattern",
            reason="pattern_mismatch",
            column="pref",
            description="pref is two digits below 30",
            expectations=(
                ("ExpectColumnValuesToMatchRegex", {"column": "pref", "regex": "^[0-2][0-9]$"}),
            ),
        ),
        RowCheck(
            id="age.null",
            reason="null_values",
            column="age",
            description="age is never missing",
            expectations=(("ExpectColumnValuesToNotBeNull", {"column": "age"}),),
        ),
    ]
    tables = [pa.table(df.iloc[a : a + 700]) for a in range(0, len(df), 700)]
    tables[1] = tables[1].set_column(1, "pref", tables[1].column("pref").dictionary_encode())
    results, batches, rows = validate_tables(tables, checks, "output")
    wanted = [
        *expected(df),
        int((df["income"].dropna() > 150).sum()),
        int((~df["pref"].str.fullmatch("[0-2][0-9]")).sum()),
        int(df["age"].isna().sum()),
    ]
    assert [r.observed for r in results] == wanted and all(w > 0 for w in wanted)
    assert batches == len(tables) and rows == len(df)


def test_mostly_distinct_columns_are_validated_row_by_row(monkeypatch: pytest.MonkeyPatch) -> None:
    """An id-like column (every value distinct) goes to GX table by table, with the same counts."""
    from pipeline.gate import gx_engine

    seen: list[bool] = []
    original = gx_engine.RowValidator._validate

    def spy(self, column, values, weights):  # noqa: ANN001, ANN202
        seen.append(weights is None)
        return original(self, column, values, weights)

    monkeypatch.setattr(gx_engine.RowValidator, "_validate", spy)
    ids = pa.array([f"h{i:05d}" if i % 13 else None for i in range(2000)])
    check = RowCheck(
        id="id.null",
        reason="null_values",
        column="id",
        description="id is never missing",
        expectations=(("ExpectColumnValuesToNotBeNull", {"column": "id"}),),
    )
    (result,), batches, rows = validate_tables(
        [pa.table({"id": ids.slice(a, 500)}) for a in range(0, 2000, 500)], [check], "input"
    )
    assert result.observed == ids.null_count and batches == 4 and rows == 2000
    assert seen == [True] * 4  # validated per table, never gathered
