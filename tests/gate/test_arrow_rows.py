"""The steps' row checks counted with Arrow: GX's counts on the same tables, without GX."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.gate.arrow_rows import BETWEEN, IN_SET, ArrowRowValidator, unexpected
from pipeline.gate.checks import RowCheck, cap_check, value_set_check
from pipeline.gate.gx_engine import validate_tables
from pipeline.gate.reasons import Reason
from tests.conftest import demo_recipe, examples, imported_by_a_run

EXACT = 2**53  # GX compares integers with missing values as float64: exact up to here
INTS = st.one_of(st.none(), st.integers(-EXACT, EXACT))
FLOATS = st.one_of(
    st.none(),
    st.floats(allow_nan=True, allow_infinity=True, width=64),
    st.sampled_from([0.0, -0.0, 1.5, 90.0]),
)
TEXTS = st.one_of(st.none(), st.sampled_from(["01", "13", "90", "x", ""]))
COLUMNS = st.one_of(
    st.tuples(st.just(pa.int64()), st.lists(INTS, min_size=1, max_size=40)),
    st.tuples(st.just(pa.float64()), st.lists(FLOATS, min_size=1, max_size=40)),
    st.tuples(st.just(pa.string()), st.lists(TEXTS, min_size=1, max_size=40)),
)
MEMBERS = st.lists(
    st.one_of(
        st.integers(-1000, 1000),
        st.sampled_from([0.0, -0.0, 1.5, 90.0, 13, "01", "13", "90"]),
    ),
    max_size=6,
)


def _check(expectation: str, kwargs: dict) -> RowCheck:
    return RowCheck(
        id="c",
        reason=Reason.CAP_EXCEEDED,
        column="c",
        description="c",
        expectations=((expectation, {"column": "c", **kwargs}),),
        engine="arrow",
    )


def _both(values: list, kind: pa.DataType, check: RowCheck) -> tuple:
    table = pa.table({"c": pa.array(values, kind)})
    arrow = ArrowRowValidator([check], "output")
    arrow.add(table)
    (mine,), _, _ = arrow.finish()
    (theirs,), _, _ = validate_tables([table], [check], "output")
    return mine, theirs


@given(COLUMNS, st.floats(-1e6, 1e6), st.booleans())
@settings(max_examples=examples(60), deadline=None)
def test_bounds_count_what_gx_counts(column: tuple, bound: float, upper: bool) -> None:
    kind, values = column
    key = "max_value" if upper else "min_value"
    mine, theirs = _both(values, kind, _check(BETWEEN, {key: bound}))
    if kind == pa.string() and any(v is not None for v in values):  # GX cannot compare either
        assert mine.reason == theirs.reason == Reason.CHECK_ERROR and mine.observed is None
        return
    assert mine.observed == theirs.observed and mine.passed == theirs.passed
    assert mine.engine == "arrow" and theirs.engine == "great_expectations"


@given(COLUMNS, MEMBERS)
@settings(max_examples=examples(60), deadline=None)
def test_value_sets_count_what_gx_counts(column: tuple, members: list) -> None:
    kind, values = column
    mine, theirs = _both(values, kind, _check(IN_SET, {"value_set": members}))
    assert mine.observed == theirs.observed and mine.passed == theirs.passed


def test_integers_are_compared_exactly_beyond_float64() -> None:
    big = pa.array([2**53, 2**53 + 1, 2**62, None])
    assert unexpected(big, BETWEEN, {"max_value": float(2**53)}) == 2  # 2**53 + 1 is above
    assert unexpected(big, IN_SET, {"value_set": [2**53 + 1, 2**62]}) == 1
    assert unexpected(pa.array([5]), BETWEEN, {"max_value": 1e300}) == 0
    assert unexpected(pa.array([5]), BETWEEN, {"min_value": 1e300}) == 1
    unsigned = pa.array([1, 2**63 + 5, None], pa.uint64())  # beyond int64: its own range
    assert unexpected(unsigned, BETWEEN, {"max_value": 3.0}) == 1
    assert unexpected(unsigned, BETWEEN, {"min_value": -5.0}) == 0
    assert unexpected(unsigned, IN_SET, {"value_set": [2**63 + 5, -1]}) == 1


def test_the_step_checks_run_on_arrow_and_a_boolean_column_fails_closed() -> None:
    checks = [cap_check("age", 90, upper=True), value_set_check("pref", ["01", "13"], "pref")]
    assert all(c.engine == "arrow" for c in checks)
    table = pa.table({"age": [10, 95, None], "pref": pa.array([True, False, None])})
    validator = ArrowRowValidator(checks, "output")
    validator.add(table)
    (age, pref), tables, rows = validator.finish()
    assert age.observed == 1 and not age.passed and (tables, rows) == (1, 3)
    assert pref.reason == Reason.CHECK_ERROR and not pref.passed


def test_a_missing_column_fails_closed() -> None:
    validator = ArrowRowValidator([cap_check("age", 90, upper=True)], "output")
    validator.add(pa.table({"other": [1]}))
    (result,), _, _ = validator.finish()
    assert result.reason == Reason.CHECK_ERROR and result.observed is None
    with pytest.raises(ValueError, match="not an Arrow row check"):
        ArrowRowValidator([_check("ExpectColumnValuesToMatchRegex", {"regex": "x"})], "output")


@pytest.mark.slow
def test_a_run_without_a_data_contract_never_imports_gx(workdir: Path) -> None:
    recipe = demo_recipe(workdir, "  - top_code: {column: age, above: 90}\n")
    assert not imported_by_a_run(workdir, recipe, "great_expectations")
    gate = json.loads((workdir / "out" / "run" / "manifest.json").read_text())["gate"]
    checks = {c["id"]: c for c in gate["output"]["checks"]}
    assert checks["steps[0].top_code.age"]["engine"] == "arrow"
    assert gate["input"]["engine_versions"] == gate["output"]["engine_versions"] == {}
