"""fk and Fk of key-variable combinations, against sdcMicro's published test values."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.risk.frequencies import combine, frequencies
from tests.conftest import examples

# sdcMicro's own test values (tests of freqCalc / measure_risk)
A = (2, 3, 2, 2, 3, 3, 1, 2)
B = (3, 3, 3, 3, 3, 3, 4, 3)
C = (1, 3, 1, 2, 1, 1, 1, 1)
W = np.array([18, 45.5, 39, 17, 92, 8, 123.5, 51])
FK = [3, 1, 3, 1, 2, 2, 1, 3]
FK_W = [108, 45.5, 108, 17, 100, 100, 123.5, 108]
FK_NA = [3, 1, 4, 2, 2, 2, 1, 3]
FK_W_NA = [108, 45.5, 125, 56, 100, 100, 123.5, 108]


def sdc_codes() -> np.ndarray:
    return np.array([A, B, C], dtype=np.int32).T.copy()


def brute_force(codes: np.ndarray, weights: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """O(n^2) reference: records match when they agree wherever neither value is missing."""
    n = codes.shape[0]
    w = np.ones(n) if weights is None else weights
    fk = np.zeros(n, dtype=np.int64)
    Fk = np.zeros(n)
    for i in range(n):
        for j in range(n):
            a, b = codes[i], codes[j]
            if np.all((a < 0) | (b < 0) | (a == b)):
                fk[i] += 1
                Fk[i] += w[j]
    return fk, Fk


def test_sdcmicro_values_weighted() -> None:
    freq = frequencies(sdc_codes(), W)
    assert freq.fk.tolist() == FK
    assert freq.Fk == pytest.approx(FK_W, rel=1e-7)


def test_sdcmicro_values_with_missing_matching_any() -> None:
    codes = sdc_codes()
    codes[2, 2] = -1  # 3rd value of C
    codes[6, 2] = -1  # 7th value of C
    freq = frequencies(codes, W)
    assert freq.fk.tolist() == FK_NA
    assert freq.Fk == pytest.approx(FK_W_NA, rel=1e-7)
    # the default convention is "any"
    explicit = frequencies(codes, W, missing="any")
    assert explicit.fk.tolist() == FK_NA


def test_missing_as_category() -> None:
    codes = np.array([[0, 1], [0, -1], [0, -1], [0, 1], [0, 1], [1, -1]], dtype=np.int32)
    # by hand: (0,1) x3, (0,NA) x2, (1,NA) x1
    assert frequencies(codes, missing="category").fk.tolist() == [3, 2, 2, 3, 3, 1]
    # "any": (0,1) matches (0,1)x3 and (0,NA)x2; (0,NA) matches all five (0,*); (1,NA) alone
    assert frequencies(codes, missing="any").fk.tolist() == [5, 5, 5, 5, 5, 1]
    w = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    cat = frequencies(codes, w, missing="category")
    assert cat.Fk.tolist() == pytest.approx([10, 5, 5, 10, 10, 6])


def test_no_weights_fk_equals_Fk() -> None:  # noqa: N802
    for codes in (sdc_codes(), np.where(sdc_codes() == 1, -1, sdc_codes())):
        freq = frequencies(codes)
        assert np.array_equal(freq.Fk, freq.fk)


def test_empty_input() -> None:
    freq = frequencies(np.zeros((0, 3), dtype=np.int32), np.zeros(0))
    assert freq.fk.size == 0 and freq.Fk.size == 0


@st.composite
def code_matrices(draw):
    n = draw(st.integers(0, 40))
    m = draw(st.integers(1, 4))
    alphabet = draw(st.integers(1, 4))
    flat = draw(st.lists(st.integers(-1, alphabet - 1), min_size=n * m, max_size=n * m))
    codes = np.array(flat, dtype=np.int32).reshape(n, m)
    weighted = draw(st.booleans())
    weights = None
    if weighted:
        ws = draw(
            st.lists(
                st.floats(0.5, 500, allow_nan=False, allow_infinity=False),
                min_size=n,
                max_size=n,
            )
        )
        weights = np.array(ws, dtype=np.float64)
    return codes, weights


@settings(max_examples=examples(200), deadline=None)
@given(code_matrices())
def test_frequencies_match_brute_force(case) -> None:
    codes, weights = case
    fk, Fk = brute_force(codes, weights)
    freq = frequencies(codes, weights)
    assert freq.fk.tolist() == fk.tolist()
    assert freq.Fk == pytest.approx(Fk, rel=1e-9)


def _assert_ids_match_rows(codes: np.ndarray, ids: np.ndarray) -> None:
    same_rows = (codes[:, None, :] == codes[None, :, :]).all(axis=2)
    same_ids = ids[:, None] == ids[None, :]
    assert np.array_equal(same_rows, same_ids)


def test_combine_equal_ids_for_equal_rows() -> None:
    rng = np.random.default_rng(3)
    codes = rng.integers(-1, 3, size=(60, 4)).astype(np.int32)
    _assert_ids_match_rows(codes, combine(codes))
    # a subset of columns
    _assert_ids_match_rows(codes[:, [0, 2]], combine(codes, [0, 2]))


def test_combine_without_overflow_when_radix_exceeds_int64() -> None:
    rng = np.random.default_rng(5)
    big = np.array([-1, 0, 7, 2**20, 2**30, 2**31 - 2], dtype=np.int64)
    rows = big[rng.integers(0, big.size, size=(40, 10))].astype(np.int32)
    codes = np.concatenate([rows, rows[:15]])  # guaranteed duplicates
    # 10 columns of ~2**31 categories: the mixed-radix product is far beyond int64
    ids = combine(codes)
    assert ids.dtype == np.int64
    _assert_ids_match_rows(codes, ids)
    # rows that differ only in the last column must still differ
    pair = np.array([[2**31 - 2] * 9 + [0], [2**31 - 2] * 9 + [1]], dtype=np.int32)
    a, b = combine(pair)
    assert a != b


@settings(max_examples=examples(100), deadline=None)
@given(
    st.integers(1, 30).flatmap(
        lambda n: st.integers(1, 9).flatmap(
            lambda m: st.lists(
                st.sampled_from([-1, 0, 1, 2**16, 2**29, 2**31 - 2]),
                min_size=n * m,
                max_size=n * m,
            ).map(lambda flat: np.array(flat, dtype=np.int32).reshape(n, m))
        )
    )
)
def test_combine_property_large_codes(codes: np.ndarray) -> None:
    _assert_ids_match_rows(codes, combine(codes))
