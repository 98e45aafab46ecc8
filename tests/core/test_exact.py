"""Exact sums of floats and of their products: equal to rational arithmetic, in any order."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.core.exact import (
    DOT_UNIT,
    SUM_UNIT,
    dot,
    exact_dot,
    exact_sum,
    from_limbs,
    ratio,
    split,
    to_limbs,
    total,
)
from tests.conftest import examples

EXTREMES = [1.7e308, -1.7e308, 5e-324, -1e-300, 0.0, -0.0, 1e200, 3.5, 2.0**-1074, 2.0**1023]


def test_sums_are_the_rational_sums() -> None:
    rng = np.random.default_rng(1)
    x = np.concatenate([rng.lognormal(0, 30, 500) * rng.choice([-1, 1], 500), EXTREMES])
    y = rng.permutation(x)
    assert Fraction(exact_sum(x), 2**SUM_UNIT) == sum(map(Fraction, x.tolist()))
    assert Fraction(exact_dot(x, y), 2**DOT_UNIT) == sum(
        Fraction(a) * Fraction(b) for a, b in zip(x.tolist(), y.tolist(), strict=True)
    )
    assert Fraction(exact_dot(x, x), 2**DOT_UNIT) == sum(Fraction(a) ** 2 for a in x.tolist())


@settings(max_examples=examples(40), deadline=None)
@given(
    st.lists(st.floats(allow_nan=False, allow_infinity=False), max_size=60),
    st.integers(1, 7),
    st.randoms(),
)
def test_order_and_partitions_do_not_matter(values: list[float], parts: int, rnd) -> None:
    x = np.asarray(values, dtype=np.float64)
    shuffled = x.copy()
    rnd.shuffle(shuffled)
    cuts = np.array_split(shuffled, parts)
    assert exact_sum(x) == sum(exact_sum(c) for c in cuts)
    assert exact_dot(x, x) == sum(exact_dot(c, c) for c in cuts)
    whole = split(x)
    assert total(whole.take(x > 0)) + total(whole.take(x <= 0)) == exact_sum(x)


WHOLE = st.one_of(
    st.integers(-(2**53) + 1, 2**53 - 1),
    st.integers(-300, 300),
    st.sampled_from([0, 2**18 - 1, 2**18, 2**36, 2**53 - 1, -(2**53) + 1]),
).map(float)


@settings(max_examples=examples(60), deadline=None)
@given(
    st.lists(WHOLE, max_size=60),
    st.lists(st.one_of(WHOLE, st.floats(allow_nan=False, allow_infinity=False)), max_size=60),
)
def test_whole_numbers_split_as_integers_sum_to_the_same(a: list[float], b: list[float]) -> None:
    x = np.asarray(a, dtype=np.float64)
    y = np.resize(np.asarray(b, dtype=np.float64), x.size) if b else np.zeros(x.size)
    fast, plain = split(x), split(x, whole=False)
    assert fast.uniform is not None or not x.size
    assert total(fast) == total(plain) == sum(int(v) for v in a) << SUM_UNIT
    for other in (split(y), split(y, whole=False)):  # whole with whole, or with any float
        assert dot(fast, other) == dot(plain, other)
        assert Fraction(dot(fast, other), 2**DOT_UNIT) == sum(
            Fraction(p) * Fraction(q) for p, q in zip(x.tolist(), y.tolist(), strict=True)
        )
    mask = x > 0
    assert total(fast.take(mask)) == total(plain.take(mask))


def test_a_value_at_or_beyond_two_to_the_53_is_not_split_as_an_integer() -> None:
    assert split(np.array([2.0**53, 1.0])).uniform is None
    assert split(np.array([0.5, 1.0])).uniform is None
    assert split(np.array([2.0**53 - 1, -3.0])).uniform is not None


def test_limbs_carry_any_int_between_tasks() -> None:
    sums = {0: 0, 1: 12345, 2: -(3**900), 7: 2**2300 + 1}
    rows = to_limbs(sums)
    assert rows["value"].abs().max() < 2**32 and from_limbs(rows) == {
        1: 12345,
        2: -(3**900),
        7: 2**2300 + 1,
    }
    doubled = to_limbs({k: 2 * v for k, v in sums.items() if v})
    added = rows.merge(doubled, on=["term", "limb"], how="outer").fillna(0)
    added = added.assign(value=added["value_x"] + added["value_y"])[["term", "limb", "value"]]
    assert from_limbs(added) == {k: 3 * v for k, v in sums.items() if v}


def test_ratios_are_correctly_rounded_and_beyond_the_floats_infinite() -> None:
    assert ratio(1, 3) == 1 / 3 and ratio(3, 1, 1) == 1.5 and ratio(1, 1, -3) == 8.0
    assert ratio(exact_sum(np.array([1.7e308, 1.7e308])), 2, SUM_UNIT) == pytest.approx(1.7e308)
    assert ratio(exact_sum(np.array([1.7e308, 1.7e308])), 1, SUM_UNIT) == float("inf")
    assert ratio(-(10**400), 1) == float("-inf") and ratio(1, -2) == -0.5
