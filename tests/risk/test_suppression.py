"""Local suppression to k-anonymity, with missing values matching any value or as a category."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.risk.frequencies import frequencies
from pipeline.risk.suppression import suppress

TESTDATA = Path(__file__).resolve().parents[1] / "data" / "sdcmicro_testdata.csv"
KEYS = ["urbrur", "roof", "walls", "water", "electcon", "relat", "sex"]
SDCMICRO_KANON_SUPPRESSIONS = 293  # sdcMicro's kAnon(k=3) on testdata with these keys


@st.composite
def suppression_cases(draw):
    k = draw(st.integers(2, 5))
    m = draw(st.integers(1, 5))
    n = draw(st.integers(k, 40))
    alphabet = draw(st.integers(2, 4))
    missing_rate = draw(st.sampled_from([0.0, 0.1, 0.3]))
    values = draw(st.lists(st.integers(0, alphabet - 1), min_size=n * m, max_size=n * m))
    holes = draw(st.lists(st.floats(0, 1), min_size=n * m, max_size=n * m))
    codes = np.array(values, dtype=np.int32).reshape(n, m)
    codes[np.array(holes).reshape(n, m) < missing_rate] = -1
    order = draw(st.permutations(list(range(m))))
    return codes, k, list(order)


@settings(max_examples=200, deadline=None)
@given(suppression_cases())
def test_suppress_reaches_k_and_only_suppresses(case) -> None:
    codes, k, order = case
    before = codes.copy()
    result = suppress(codes, k, order)
    assert np.array_equal(codes, before), "the input must not be modified"
    out = result.codes
    assert out.shape == codes.shape
    # k-anonymity holds for every record
    assert (frequencies(out).fk >= k).all()
    # values are only ever turned into missing, never into another value
    changed = out != codes
    assert (out[changed] == -1).all()
    # pre-existing missing values stay missing and are not counted
    assert (out[codes < 0] == -1).all()
    newly = (out < 0) & (codes >= 0)
    assert result.suppressed.tolist() == newly.sum(axis=0).tolist()


def test_too_few_records_raise() -> None:
    codes = np.array([[0, 1], [1, 0]], dtype=np.int32)
    with pytest.raises(ValueError, match="k=3"):
        suppress(codes, 3)


def test_already_k_anonymous_needs_nothing() -> None:
    codes = np.array([[0, 1], [0, 1], [1, -1], [1, 2], [-1, 2], [0, 1]], dtype=np.int32)
    assert (frequencies(codes).fk >= 2).all()
    result = suppress(codes, 2)
    assert result.suppressed.tolist() == [0, 0]
    assert np.array_equal(result.codes, codes)
    assert result.rounds == 0


# The last record is unique; suppressing X makes it match the two (1, 1), suppressing Y makes it
# match the two (0, 0). Either variable alone fixes it.
TWO_WAYS = np.array([[0, 0], [0, 0], [1, 1], [1, 1], [0, 1]], dtype=np.int32)


@pytest.mark.parametrize(("order", "expected_var"), [([0, 1], 0), ([1, 0], 1)])
def test_importance_order_respected(order: list[int], expected_var: int) -> None:
    result = suppress(TWO_WAYS, 2, order)
    expected = TWO_WAYS.copy()
    expected[4, expected_var] = -1
    assert np.array_equal(result.codes, expected)
    assert result.suppressed.sum() == 1
    assert result.suppressed[expected_var] == 1


def test_default_order_suppresses_last_column_first() -> None:
    result = suppress(TWO_WAYS, 2)
    assert result.codes[4].tolist() == [0, -1]


def test_sdcmicro_testdata_suppressions_at_most_kanon() -> None:
    import pyarrow.csv as pacsv

    from pipeline.risk.encode import codes_from_arrow

    table = pacsv.read_csv(TESTDATA, convert_options=pacsv.ConvertOptions(include_columns=KEYS))
    codes, cards = codes_from_arrow(table, KEYS)
    order = sorted(range(len(KEYS)), key=lambda j: (-cards[j], j))  # sdcMicro's default
    result = suppress(codes, 3, order)
    total = int(result.suppressed.sum())
    per_key = dict(zip(KEYS, result.suppressed.tolist(), strict=True))
    print(f"testdata k=3 suppressions: {total} (sdcMicro kAnon: 293) per key: {per_key}")
    assert (frequencies(result.codes).fk >= 3).all()
    assert total == int(((result.codes < 0) & (codes >= 0)).sum())
    assert total <= SDCMICRO_KANON_SUPPRESSIONS


# --- missing: category (a missing value, suppressed or not, is a value of its own) -----------


def category_fk(codes: np.ndarray, counts: np.ndarray | None = None) -> np.ndarray:
    """fk of every row with missing as a category: a plain pandas group-by, -1 a value."""
    frame = pd.DataFrame(codes).assign(n=1 if counts is None else counts)
    return frame.groupby(list(range(codes.shape[1])))["n"].transform("sum").to_numpy()


@st.composite
def category_cases(draw, few: bool = False):
    """Small code matrices with missing values (whole rows too) and optional counts."""
    k = draw(st.integers(2, 6))
    m = draw(st.integers(1, 4))
    rows = draw(st.integers(1, k - 1) if few else st.integers(1, 30))
    alphabet = draw(st.integers(1, 4))
    missing_rate = draw(st.sampled_from([0.0, 0.2, 0.5, 0.9]))
    values = draw(st.lists(st.integers(0, alphabet - 1), min_size=rows * m, max_size=rows * m))
    holes = draw(st.lists(st.floats(0, 1), min_size=rows * m, max_size=rows * m))
    codes = np.array(values, dtype=np.int32).reshape(rows, m)
    codes[np.array(holes).reshape(rows, m) < missing_rate] = -1
    counts = None
    if draw(st.booleans()):
        counts = np.array(
            draw(st.lists(st.integers(1, 4), min_size=rows, max_size=rows)), dtype=np.float64
        )
    records = rows if counts is None else int(counts.sum())
    if few and records >= k:
        counts, records = None, rows
    if not few and records < k:  # repeat the rows until there are k records
        reps = -(-k // records)
        codes = np.tile(codes, (reps, 1))
        counts = None if counts is None else np.tile(counts, reps)
    order = draw(st.permutations(list(range(m))))
    return codes, k, list(order), counts


@settings(max_examples=300, deadline=None)
@given(category_cases())
def test_category_reaches_k_for_every_record(case) -> None:
    codes, k, order, counts = case
    before = codes.copy()
    result = suppress(codes, k, order, counts=counts, missing="category")
    assert np.array_equal(codes, before), "the input must not be modified"
    out = result.codes
    assert out.shape == codes.shape
    assert (category_fk(out, counts) >= k).all()
    changed = out != codes
    assert (out[changed] == -1).all(), "values only ever become missing"
    newly = (out < 0) & (codes >= 0)
    weights = np.ones(len(codes)) if counts is None else counts
    assert result.suppressed.tolist() == (newly * weights[:, None]).sum(axis=0).tolist()


@settings(max_examples=200, deadline=None)
@given(category_cases(), st.randoms(use_true_random=False))
def test_category_result_depends_on_the_records_only(case, rng) -> None:
    codes, k, order, counts = case
    result = suppress(codes, k, order, counts=counts, missing="category")
    perm = np.array(rng.sample(range(len(codes)), len(codes)), dtype=np.int64)
    shuffled = suppress(
        codes[perm], k, order, counts=None if counts is None else counts[perm], missing="category"
    )
    np.testing.assert_array_equal(shuffled.codes, result.codes[perm])
    np.testing.assert_array_equal(shuffled.suppressed, result.suppressed)
    # one row per record gives what one row per combination with its count gives
    records = codes if counts is None else np.repeat(codes, counts.astype(np.int64), axis=0)
    unique, inverse, per = np.unique(records, axis=0, return_inverse=True, return_counts=True)
    grouped = suppress(unique, k, order, counts=per.astype(np.float64), missing="category")
    each = suppress(records, k, order, missing="category")
    np.testing.assert_array_equal(each.codes, grouped.codes[inverse.reshape(-1)])
    np.testing.assert_array_equal(each.suppressed, result.suppressed)


@settings(max_examples=100, deadline=None)
@given(category_cases(few=True))
def test_category_too_few_records_raise(case) -> None:
    codes, k, order, counts = case
    with pytest.raises(ValueError, match=f"k={k}"):
        suppress(codes, k, order, counts=counts, missing="category")


def test_category_fills_the_all_missing_class_from_a_larger_class() -> None:
    # "any": (-1, -1) matches every record, so the file is 2-anonymous as it is; as a category
    # every record is unique. (0, x) reach k = 2 by suppressing x: class (0, -1) of 3. The
    # record missing in the input, (-1, -1), is alone: the first record of the class of 3 joins
    # it, the class keeps 2.
    codes = np.array([[0, 1], [0, 2], [0, 3], [-1, -1]], dtype=np.int32)
    assert suppress(codes, 2).suppressed.sum() == 0
    assert (category_fk(codes) == 1).all()
    result = suppress(codes, 2, missing="category")
    assert result.codes.tolist() == [[-1, -1], [0, -1], [0, -1], [-1, -1]]
    assert result.suppressed.tolist() == [1, 3]
    assert (category_fk(result.codes) >= 2).all()


def test_category_takes_the_smallest_whole_class_when_no_class_can_spare() -> None:
    codes = np.array([[1, 1], [0, 0], [1, 1], [-1, -1], [0, 0], [2, 2], [2, 2], [2, 2]])
    result = suppress(codes.astype(np.int32), 2, missing="category")
    # classes of 2 cannot give a record; the smallest class first in order, (0, 0), joins
    # (-1, -1); the class of 3 (2, 2) cannot spare a record either (equal records stay alike)
    expected = codes.copy()
    expected[[1, 4]] = -1
    assert result.codes.tolist() == expected.tolist()
    assert result.suppressed.tolist() == [2, 2]


def test_category_already_k_anonymous_needs_nothing() -> None:
    codes = np.array([[0, -1], [0, -1], [-1, -1], [-1, -1], [1, 2], [1, 2]], dtype=np.int32)
    result = suppress(codes, 2, missing="category")
    assert np.array_equal(result.codes, codes)
    assert result.suppressed.tolist() == [0, 0] and result.rounds == 0


def test_category_everything_suppressed_when_nothing_else_reaches_k() -> None:
    codes = np.array([[0, 0], [0, 0], [0, 0], [1, 1], [-1, -1]], dtype=np.int32)
    result = suppress(codes, 3, missing="category")
    assert (result.codes == -1).all()
    assert result.suppressed.tolist() == [4, 4]


def test_category_sdcmicro_testdata_reaches_k() -> None:
    import pyarrow.csv as pacsv

    from pipeline.risk.encode import codes_from_arrow

    table = pacsv.read_csv(TESTDATA, convert_options=pacsv.ConvertOptions(include_columns=KEYS))
    codes, cards = codes_from_arrow(table, KEYS)
    order = sorted(range(len(KEYS)), key=lambda j: (-cards[j], j))
    for k in (2, 3, 5):
        result = suppress(codes, k, order, missing="category")
        assert (category_fk(result.codes) >= k).all()
        assert (frequencies(result.codes, missing="category").fk >= k).all()
