"""Local suppression to k-anonymity, with missing values matching any value or as a category."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.risk import suppression_nearest as nearest
from pipeline.risk.frequencies import distinct_frequencies, frequencies
from pipeline.risk.suppression import _give_back, _rounds, default_order, suppress
from pipeline.risk.suppression_nearest import nearest_passes
from tests.conftest import examples

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


@settings(max_examples=examples(200), deadline=None)
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
    order = default_order(cards)  # sdcMicro's default
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


@settings(max_examples=examples(300), deadline=None)
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


@settings(max_examples=examples(200), deadline=None)
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


@settings(max_examples=examples(100), deadline=None)
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


# --- missing: any, the two candidates (rounds and nearest-neighbour passes) -------------------


def test_default_order_breaks_ties_as_sdcmicro() -> None:
    # testdata's keys urbrur, roof, walls, water, electcon, relat, sex have 2, 5, 3, 8, 3, 9, 2
    # categories; sdcMicro's kAnon reports importance 1, 5, 3, 6, 4, 7, 2 (1 = most important):
    # of two variables with as many categories the later one is the less important
    order = default_order([2, 5, 3, 8, 3, 9, 2])
    assert order == [5, 3, 1, 4, 2, 6, 0]
    importance = [len(order) - order.index(j) for j in range(len(order))]
    assert importance == [1, 5, 3, 6, 4, 7, 2]
    assert default_order([4, 2, 2, 3]) == [0, 3, 2, 1]  # francdat: sdcMicro 4, 1, 2, 3


@st.composite
def any_cases(draw):
    """Code matrices with many categories (few close neighbours), missing values, counts."""
    k = draw(st.integers(2, 5))
    m = draw(st.integers(1, 5))
    rows = draw(st.integers(1, 40))
    alphabet = draw(st.integers(2, 9))
    missing_rate = draw(st.sampled_from([0.0, 0.1, 0.3]))
    values = draw(st.lists(st.integers(0, alphabet - 1), min_size=rows * m, max_size=rows * m))
    holes = draw(st.lists(st.floats(0, 1), min_size=rows * m, max_size=rows * m))
    codes = np.array(values, dtype=np.int32).reshape(rows, m)
    codes[np.array(holes).reshape(rows, m) < missing_rate] = -1
    counts = np.array(draw(st.lists(st.integers(1, 3), min_size=rows, max_size=rows)), float)
    if counts.sum() < k:
        counts[0] += k - counts.sum()
    order = draw(st.permutations(list(range(m))))
    return codes, k, list(order), counts


@settings(max_examples=examples(300), deadline=None)
@given(any_cases())
def test_any_reaches_k_and_only_suppresses(case) -> None:
    codes, k, order, counts = case
    before = codes.copy()
    result = suppress(codes, k, order, counts=counts)
    assert np.array_equal(codes, before), "the input must not be modified"
    out = result.codes
    assert (frequencies(np.repeat(out, counts.astype(np.int64), axis=0)).fk >= k).all()
    changed = out != codes
    assert (out[changed] == -1).all(), "values only ever become missing"
    newly = (out < 0) & (codes >= 0)
    assert result.suppressed.tolist() == (newly * counts[:, None]).sum(axis=0).tolist()


@settings(max_examples=examples(200), deadline=None)
@given(any_cases(), st.randoms(use_true_random=False))
def test_any_result_depends_on_the_records_only(case, rng) -> None:
    codes, k, order, counts = case
    result = suppress(codes, k, order, counts=counts)
    perm = np.array(rng.sample(range(len(codes)), len(codes)), dtype=np.int64)
    shuffled = suppress(codes[perm], k, order, counts=counts[perm])
    np.testing.assert_array_equal(shuffled.codes, result.codes[perm])
    np.testing.assert_array_equal(shuffled.suppressed, result.suppressed)
    # one row per record gives what one row per combination with its count gives
    records = np.repeat(codes, counts.astype(np.int64), axis=0)
    each = suppress(records, k, order)
    np.testing.assert_array_equal(each.suppressed, result.suppressed)
    np.testing.assert_array_equal(each.codes, np.repeat(result.codes, counts.astype(int), axis=0))


def candidates(codes: np.ndarray, k: int, order: list[int], counts: np.ndarray):
    """Both candidates of ``suppress`` under ``any``, after giving back, as per-key totals.

    As ``suppress`` does, the columns are taken least important first (position = importance).
    """
    cols = order
    unique, inverse = np.unique(codes[:, cols], axis=0, return_inverse=True)
    mult = np.bincount(inverse.reshape(-1), weights=counts).astype(np.float64)
    order = list(range(len(cols)))

    def fk_of(work: np.ndarray) -> np.ndarray:
        return distinct_frequencies(work, mult, mult, "any")[0]

    out = []
    for work in (
        _rounds(unique, mult, k, order, fk_of)[0],
        nearest_passes(unique, mult, k, order, fk_of)[0],
    ):
        work = _give_back(work, unique, k, order[::-1], fk_of)
        assert (fk_of(work) >= k).all()
        out.append(((work < 0) & (unique >= 0)) * mult[:, None])
    back = np.argsort(cols)
    return [c.sum(axis=0)[back] for c in out]


@settings(max_examples=examples(100), deadline=None)
@given(any_cases())
def test_any_keeps_the_better_candidate(case) -> None:
    codes, k, order, counts = case
    result = suppress(codes, k, order, counts=counts)
    rounds, nearest = candidates(codes, k, order, counts)
    assert result.suppressed.sum() == min(rounds.sum(), nearest.sum())


def brute_force_distances(work: np.ndarray, rows: np.ndarray) -> np.ndarray:
    both = (work[rows][:, None, :] >= 0) & (work[None, :, :] >= 0)
    return ((work[rows][:, None, :] != work[None, :, :]) & both).sum(axis=2)


@settings(max_examples=examples(200), deadline=None)
@given(any_cases())
def test_bitset_distances_equal_brute_force(case) -> None:
    codes, _, _, _ = case
    work = np.unique(codes, axis=0)
    words = (work.shape[0] + 63) // 64
    bits = nearest._Bitsets(work, words)
    rows = np.arange(work.shape[0])
    levels = nearest._distance_levels(bits, work[rows])
    expected = brute_force_distances(work, rows)
    for d in range(1, work.shape[1] + 1):
        for i in rows:
            at = nearest._exactly(levels[:, i], d)
            flags = np.unpackbits(at.astype("<u8").view(np.uint8), bitorder="little")
            assert (
                np.flatnonzero(flags[: work.shape[0]]).tolist()
                == np.flatnonzero(expected[i] == d).tolist()
            )


def test_nearest_passes_suppress_toward_the_nearest_record_in_every_record_below_k() -> None:
    # Variable 0 is the least important. A = (0, 0, 0) comes first (lexicographic order); its
    # nearest record B = (0, 0, 1) differs in variable 2 only, so A gives up variable 2 and
    # now matches B. B was below k at the start of the first pass, so it gives up a value too
    # although A already lifted it to k: toward its nearest record that it does not match yet,
    # (1, 1, 1) (variables 0 and 1 differ), the less important one, variable 0. Giving back
    # then restores B's value: the result suppresses one value where the rounds need two.
    codes = np.array([[0, 0, 0], [0, 0, 1], [1, 1, 1], [1, 1, 1], [1, 2, 2], [1, 2, 2]])
    mult = np.ones(len(codes))

    def fk_of(work: np.ndarray) -> np.ndarray:
        return distinct_frequencies(work, mult, mult, "any")[0]

    below = fk_of(codes) < 2
    assert below.tolist() == [True, True, False, False, False, False]
    work, passes = nearest_passes(codes, mult, 2, [0, 1, 2], fk_of)
    assert (fk_of(work) >= 2).all() and passes == 1
    assert work[:2].tolist() == [[0, 0, -1], [-1, 0, 1]]
    assert (work[2:] == codes[2:]).all()
    result = suppress(codes, 2, [0, 1, 2])
    assert result.codes[:2].tolist() == [[0, 0, -1], [0, 0, 1]]
    assert result.suppressed.tolist() == [0, 0, 1]
    rounds, _ = candidates(codes, 2, [0, 1, 2], mult)
    assert rounds.sum() == 2


def test_nearest_passes_give_up_beyond_their_bound(monkeypatch) -> None:
    codes = np.arange(20, dtype=np.int32).reshape(10, 2)
    mult = np.ones(10)

    def fk_of(work: np.ndarray) -> np.ndarray:
        return distinct_frequencies(work, mult, mult, "any")[0]

    monkeypatch.setattr(nearest, "MAX_STEPS", 5)
    assert nearest_passes(codes, mult, 2, [0, 1], fk_of) is None
    result = suppress(codes, 2)  # the rounds' candidate alone
    assert (frequencies(result.codes).fk >= 2).all()


def test_exact_minimum_under_any_is_a_wildcard_record_and_is_not_sought() -> None:
    # Six records differing from each other in all three variables, k = 2. Under "any" a
    # record with every value missing matches every record, so the fewest suppressions (found
    # by brute force over all patterns of one suppression set per record) is 3: one record
    # fully suppressed, the five others left as they are - each still unique in its values.
    # suppress does not search for that: every record below k gives up values toward a
    # neighbour, as sdcMicro's kAnon does.
    codes = np.array([[i, (i + 1) % 6, (i + 2) % 6] for i in range(6)], dtype=np.int32)
    best = None
    for masks in itertools.product(range(8), repeat=len(codes)):
        cost = sum(bin(mask).count("1") for mask in masks)
        if best is not None and cost >= best[0]:
            continue
        work = codes.copy()
        for i, mask in enumerate(masks):
            work[i, [v for v in range(3) if mask >> v & 1]] = -1
        if (frequencies(work).fk >= 2).all():
            best = (cost, work)
    assert best is not None and best[0] == 3
    assert ((best[1] < 0).all(axis=1)).sum() == 1
    result = suppress(codes, 2)
    assert (frequencies(result.codes).fk >= 2).all()
    assert ((result.codes < 0).any(axis=1)).sum() > 1
