"""fk/Fk with missing values matching any value: every lookup path equals the definition."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from pipeline.risk import anymatch
from pipeline.risk.frequencies import distinct_frequencies, distinct_rows
from tests.conftest import examples


def brute_force(codes: np.ndarray, counts: np.ndarray, sums: np.ndarray):
    a, b = codes[:, None, :], codes[None, :, :]
    match = ((a == b) | (a < 0) | (b < 0)).all(axis=2)
    return match @ counts, match @ sums


@pytest.mark.parametrize(
    ("block", "slack", "bits"),
    [(1 << 22, 4096, 62), (3, 0, 62), (2, 0, 4), (1 << 22, 0, 62)],
    ids=["dense", "sparse-blocks", "ranked", "sparse"],
)
@settings(max_examples=examples(80), deadline=None)
@given(
    codes=st.integers(1, 4).flatmap(
        lambda m: arrays(
            np.int32, st.tuples(st.integers(1, 40), st.just(m)), elements=st.integers(-1, 6)
        )
    ),
    distinct=st.booleans(),
)
def test_any_frequencies_equal_the_definition(codes, distinct, block, slack, bits):
    saved = anymatch.BLOCK, anymatch.DENSE_SLACK, anymatch.RADIX_BITS
    anymatch.BLOCK, anymatch.DENSE_SLACK, anymatch.RADIX_BITS = block, slack, bits
    try:
        if distinct:
            first, inverse = distinct_rows(codes)
            counts = np.bincount(inverse).astype(np.float64)
            codes = codes[first]
        else:
            counts = np.ones(codes.shape[0])
        sums = counts * np.linspace(1.0, 2.0, counts.size)
        fk, Fk = distinct_frequencies(codes, counts, sums, "any", distinct=distinct)
    finally:
        anymatch.BLOCK, anymatch.DENSE_SLACK, anymatch.RADIX_BITS = saved
    want_fk, want_Fk = brute_force(codes, counts, sums)
    np.testing.assert_array_equal(fk, np.rint(want_fk).astype(np.int64))
    np.testing.assert_allclose(Fk, want_Fk)
