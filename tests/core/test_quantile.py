"""Exact whole-file quantiles in bounded memory equal numpy's over the whole column."""

from __future__ import annotations

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.core.quantile import order_keys
from pipeline.reductions import Quantile, compute_now
from tests.conftest import examples


def exact_quantile(column: dd.Series, q: float) -> float | None:
    """The quantile reduction computed right away, pass after pass."""
    return compute_now(Quantile("v", q), column.to_frame("v"))


@pytest.fixture(autouse=True)
def _sync_scheduler():
    with dask.config.set(scheduler="sync"):
        yield


@settings(max_examples=examples(60), deadline=None)
@given(
    values=st.lists(
        st.one_of(
            st.floats(allow_nan=False, allow_infinity=False, width=64),
            st.integers(-5, 5).map(float),  # ties
            st.none(),
        ),
        min_size=1,
        max_size=60,
    ),
    q=st.floats(0.0, 1.0),
    partitions=st.integers(1, 5),
)
def test_exact_quantile_equals_numpy(values, q, partitions):
    series = pd.Series(values, dtype="Float64")
    column = dd.from_pandas(series, npartitions=partitions, sort=False)
    present = series.dropna().to_numpy(dtype="float64")
    got = exact_quantile(column, q)
    if present.size == 0:
        assert got is None
    else:
        assert got == float(np.quantile(present, q))


def test_exact_quantile_on_many_values_in_few_buckets():
    rng = np.random.default_rng(5)
    values = np.concatenate([np.zeros(30_000), rng.integers(1, 20_000_000, 70_000) * 1.0])
    rng.shuffle(values)
    column = dd.from_pandas(pd.Series(values), npartitions=7, sort=False)
    for q in (0.001, 0.3, 0.5, 0.995, 0.999999):
        assert exact_quantile(column, q) == float(np.quantile(values, q))


def test_order_keys_sort_like_the_values():
    values = np.array([-np.inf, -1e300, -2.5, -0.0, 0.0, 1e-300, 3.0, 1e300, np.inf])
    keys = order_keys(values)
    assert (np.diff(keys.astype(object)) >= 0).all()
