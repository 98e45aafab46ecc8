"""subsample and shuffle_records: seeded, whole-file and partition-independent."""

from __future__ import annotations

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from pipeline.core.columns import ORDER, ROW
from pipeline.core.randomness import order_keys
from pipeline.recipe.models import ColumnsSpec
from pipeline.steps.registry import StepContext
from pipeline.steps.sampling import ShuffleParams, SubsampleParams, shuffle_records, subsample
from tests.conftest import examples, run_step

N = 200


@pytest.fixture(autouse=True)
def _sync_scheduler():
    with dask.config.set(scheduler="sync"):
        yield


def make_ctx(seed: int = 42, weight: str | None = None) -> StepContext:
    return StepContext(seed=seed, index=5, name="subsample", columns=ColumnsSpec(weight=weight))


def households(n: int = N) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    sizes = rng.integers(1, 6, size=n)
    hh = np.repeat(np.arange(n), sizes)[:n]
    pdf = pd.DataFrame(
        {
            "household": pd.array([f"H{h:04d}" for h in hh], dtype="string"),
            "age": pd.array(rng.integers(0, 100, size=n), dtype="Int64"),
            "w": pd.array(np.full(n, 10.0), dtype="Float64"),
        }
    )
    pdf[ROW] = np.arange(n, dtype="int64")
    return pdf


def sample_rows(pdf: pd.DataFrame, params: SubsampleParams, npartitions: int = 4, **kw):
    frame = dd.from_pandas(pdf, npartitions=npartitions, sort=False)
    done = run_step(subsample, frame, params, make_ctx(**kw))
    return done.frame.compute().sort_values(ROW), done


@pytest.mark.parametrize("fraction", [0.1, 0.25, 0.5, 0.8, 0.99])
def test_subsample_records_exact_count(fraction: float) -> None:
    pdf = households()
    out, done = sample_rows(pdf, SubsampleParams(fraction=fraction))
    assert len(out) == round(fraction * N)
    assert out[ROW].is_unique
    assert set(out[ROW]) <= set(pdf[ROW])
    assert done.facts["units"] == N and done.facts["units_kept"] == round(fraction * N)
    # Kept rows are unchanged.
    pd.testing.assert_frame_equal(out, pdf.loc[out.index])


def test_subsample_tiny_fraction_keeps_nothing() -> None:
    pdf = households(10)
    out, done = sample_rows(pdf, SubsampleParams(fraction=0.01), npartitions=2)
    assert len(out) == 0
    assert list(out.columns) == list(pdf.columns)
    assert done.facts["units_kept"] == 0


def test_subsample_by_household_keeps_whole_households() -> None:
    pdf = households()
    units = pdf["household"].nunique()
    out, done = sample_rows(pdf, SubsampleParams(fraction=0.5, by="household"))
    kept = set(out["household"])
    assert len(kept) == round(0.5 * units)
    assert done.facts["units"] == units
    expected_rows = pdf[pdf["household"].isin(kept)][ROW].tolist()
    assert out[ROW].tolist() == expected_rows


def test_subsample_missing_units_count_as_own_units() -> None:
    pdf = households(40)
    pdf.loc[[3, 7, 11], "household"] = pd.NA
    units = pdf["household"].nunique() + 3
    out, done = sample_rows(pdf, SubsampleParams(fraction=0.5, by="household"), npartitions=3)
    assert done.facts["units"] == units
    kept_units = out["household"].nunique() + int(out["household"].isna().sum())
    assert kept_units == round(0.5 * units)


@pytest.mark.parametrize("by", [None, "household"])
def test_subsample_independent_of_partitions(by: str | None) -> None:
    pdf = households()
    params = SubsampleParams(fraction=0.3, by=by)
    rows = [sample_rows(pdf, params, npartitions=k)[0][ROW].tolist() for k in (1, 4, 16)]
    assert rows[0] == rows[1] == rows[2]


@pytest.mark.parametrize("by", [None, "household"])
def test_subsample_depends_on_seed(by: str | None) -> None:
    pdf = households()
    params = SubsampleParams(fraction=0.5, by=by)
    a = sample_rows(pdf, params, seed=1)[0][ROW].tolist()
    b = sample_rows(pdf, params, seed=2)[0][ROW].tolist()
    assert a != b
    assert a == sample_rows(pdf, params, seed=1)[0][ROW].tolist()


def test_subsample_adjusts_weights() -> None:
    pdf = households()
    units = pdf["household"].nunique()
    params = SubsampleParams(fraction=0.4, by="household")
    out, done = sample_rows(pdf, params, weight="w")
    kept = round(0.4 * units)
    factor = units / kept
    assert done.facts["weight_factor"] == pytest.approx(factor)
    assert out["w"].tolist() == pytest.approx([10.0 * factor] * len(out))
    assert str(out["w"].dtype) == "Float64"


def test_subsample_weights_untouched_without_role_or_when_disabled() -> None:
    pdf = households()
    out, done = sample_rows(pdf, SubsampleParams(fraction=0.4))
    assert (out["w"] == 10.0).all() and "weight_factor" not in done.facts
    params = SubsampleParams(fraction=0.4, adjust_weights=False)
    out, done = sample_rows(pdf, params, weight="w")
    assert (out["w"] == 10.0).all() and "weight_factor" not in done.facts


@pytest.mark.parametrize("fraction", [0, 1, -0.1, 1.5])
def test_subsample_fraction_bounds(fraction: float) -> None:
    with pytest.raises(ValidationError):
        SubsampleParams(fraction=fraction)


def shuffled(pdf: pd.DataFrame, npartitions: int, seed: int = 42) -> pd.DataFrame:
    ddf = dd.from_pandas(pdf, npartitions=npartitions, sort=False)
    keyed = shuffle_records(ddf, ShuffleParams(), make_ctx(seed)).frame.compute()
    return keyed.sort_values(ORDER).drop(columns=[ORDER])  # the writer's order


def test_shuffle_records_permutes_rows() -> None:
    pdf = households()
    out = shuffled(pdf, 4)
    assert list(out.columns) == list(pdf.columns)
    assert sorted(out[ROW]) == list(range(N))
    assert out[ROW].tolist() != list(range(N))
    pd.testing.assert_frame_equal(out.sort_values(ROW), pdf)


def expected_shuffle(pdf: pd.DataFrame, seed: int = 42) -> list[int]:
    """The documented order: rows sorted by their keyed random number."""
    keys = order_keys(pdf[ROW].to_numpy(), make_ctx(seed).derive_key("shuffle"))
    return pdf[ROW].to_numpy()[np.argsort(keys, kind="stable")].tolist()


def test_shuffle_records_seeded_order_single_partition() -> None:
    pdf = households()
    order = shuffled(pdf, 1)[ROW].tolist()
    assert order == expected_shuffle(pdf)
    assert shuffled(pdf, 1)[ROW].tolist() == order
    assert shuffled(pdf, 1, seed=7)[ROW].tolist() != order


def test_shuffle_records_deterministic_for_a_seed() -> None:
    pdf = households()
    assert shuffled(pdf, 4)[ROW].tolist() == shuffled(pdf, 4)[ROW].tolist()
    assert shuffled(pdf, 4, seed=7)[ROW].tolist() != shuffled(pdf, 4)[ROW].tolist()


@pytest.mark.parametrize("npartitions", [4, 16])
def test_shuffle_records_independent_of_partitions(npartitions: int) -> None:
    pdf = households()
    assert shuffled(pdf, npartitions)[ROW].tolist() == expected_shuffle(pdf)


def test_subsample_integer_unit_zero_and_missing_unit_are_two_units() -> None:
    pdf = pd.DataFrame({"u": pd.array([None, 0], dtype="Int64")})
    pdf[ROW] = np.arange(2, dtype="int64")
    out, done = sample_rows(pdf, SubsampleParams(fraction=0.5, by="u"), npartitions=1)
    assert done.facts["units"] == 2
    assert len(out) == 1


@settings(max_examples=examples(30), deadline=None)
@given(
    units=st.lists(st.integers(0, 15).map(lambda i: f"U{i}") | st.none(), min_size=1, max_size=60),
    fraction=st.floats(0.05, 0.95),
    npartitions=st.integers(1, 5),
    seed=st.integers(0, 2**31),
)
def test_subsample_by_property(
    units: list[str | None], fraction: float, npartitions: int, seed: int
) -> None:
    n = len(units)
    pdf = pd.DataFrame({"u": pd.array(units, dtype="string")})
    pdf[ROW] = np.arange(n, dtype="int64")
    ddf = dd.from_pandas(pdf, npartitions=min(npartitions, n), sort=False)
    with dask.config.set(scheduler="sync"):
        params = SubsampleParams(fraction=fraction, by="u")
        done = run_step(subsample, ddf, params, make_ctx(seed))
        out = done.frame.compute()
    missing = pdf["u"].isna()
    total = pdf["u"].nunique() + int(missing.sum())
    kept_values = set(out["u"].dropna())
    kept_units = len(kept_values) + int(out["u"].isna().sum())
    assert done.facts["units"] == total
    assert kept_units == round(fraction * total)
    # Whole units: every record of a kept unit is kept, none of a dropped one.
    expected = set(pdf[~missing & pdf["u"].isin(kept_values)][ROW])
    kept_rows = set(out[ROW])
    assert kept_rows - set(pdf[missing][ROW]) == expected
