"""drop_identifiers and linking_ids (surrogate tokens, keyed HMAC) on small dask frames."""

from __future__ import annotations

import hashlib
import hmac
import re

import dask
import dask.dataframe as dd
import pandas as pd
import pytest

from pipeline.core.columns import ROW
from pipeline.recipe.models import ColumnsSpec, LinkingId
from pipeline.steps.identifiers import (
    DropIdentifiersParams,
    LinkingIdsParams,
    drop_identifiers,
    linking_ids,
)
from pipeline.steps.registry import StepContext

HEX24 = re.compile(r"[0-9a-f]{24}")
KEY = b"k" * 20 + b"-test-key-0123456789"
HOUSEHOLDS = ["H-0001", "H-0002", "H-0001", None, "H-0003", "H-0002", "H-0004", None, "H-0001"]


@pytest.fixture(autouse=True)
def _sync_scheduler():
    with dask.config.set(scheduler="sync"):
        yield


def make_ctx(seed: int = 42, **kwargs) -> StepContext:
    return StepContext(seed=seed, index=1, name="linking_ids", columns=ColumnsSpec(), **kwargs)


def frame(npartitions: int = 2) -> dd.DataFrame:
    pdf = pd.DataFrame(
        {
            "household_id": pd.array(HOUSEHOLDS, dtype="string"),
            "age": pd.array(range(len(HOUSEHOLDS)), dtype="Int64"),
        }
    )
    pdf[ROW] = pd.array(range(len(pdf)), dtype="int64")
    return dd.from_pandas(pdf, npartitions=npartitions, sort=False)


def surrogate(ddf: dd.DataFrame, seed: int = 42) -> pd.Series:
    params = LinkingIdsParams(ids={"household_id": LinkingId(method="surrogate")})
    out = linking_ids(ddf, params, make_ctx(seed)).frame.compute()
    return out.sort_values(ROW)["household_id"].reset_index(drop=True)


def test_drop_identifiers_removes_exactly_the_listed_columns() -> None:
    pdf = pd.DataFrame(
        {"name": ["a", "b"], "phone": ["1", "2"], "age": [30, 40], "sex": ["1", "2"]},
        dtype="string",
    )
    ddf = dd.from_pandas(pdf, npartitions=1)
    params = DropIdentifiersParams(columns=["name", "phone"])
    out = drop_identifiers(ddf, params, make_ctx()).frame.compute()
    assert list(out.columns) == ["age", "sex"]
    pd.testing.assert_frame_equal(out, pdf[["age", "sex"]])


def test_drop_identifiers_with_no_present_column_keeps_frame() -> None:
    pdf = pd.DataFrame({"age": [30, 40]})
    ddf = dd.from_pandas(pdf, npartitions=1)
    done = drop_identifiers(ddf, DropIdentifiersParams(columns=["absent"]), make_ctx())
    out = done.frame.compute()
    assert list(out.columns) == ["age"]


def test_surrogate_equal_ids_equal_tokens_and_format() -> None:
    tokens = surrogate(frame())
    for i, a in enumerate(HOUSEHOLDS):
        for j, b in enumerate(HOUSEHOLDS):
            if a is None or b is None:
                continue
            assert (tokens[i] == tokens[j]) == (a == b), (i, j)
    present = [t for t, h in zip(tokens, HOUSEHOLDS, strict=True) if h is not None]
    assert all(HEX24.fullmatch(t) for t in present)
    assert len(set(present)) == len({h for h in HOUSEHOLDS if h is not None})


def test_surrogate_keeps_missing_missing_and_other_columns() -> None:
    out = linking_ids(
        frame(),
        LinkingIdsParams(ids={"household_id": LinkingId(method="surrogate")}),
        make_ctx(),
    ).frame.compute()
    out = out.sort_values(ROW)
    missing = [h is None for h in HOUSEHOLDS]
    assert out["household_id"].isna().tolist() == missing
    assert out["age"].tolist() == list(range(len(HOUSEHOLDS)))
    assert str(out["household_id"].dtype) == "string"


def test_surrogate_tokens_depend_on_seed() -> None:
    a, b = surrogate(frame(), seed=1), surrogate(frame(), seed=2)
    for x, y, h in zip(a, b, HOUSEHOLDS, strict=True):
        if h is not None:
            assert x != y


def test_surrogate_output_holds_no_original_value() -> None:
    tokens = surrogate(frame())
    text = " ".join(str(t) for t in tokens)
    for h in HOUSEHOLDS:
        if h is not None:
            assert h not in text
            assert h.split("-")[1] not in text


@pytest.mark.parametrize("npartitions", [3, 7])
def test_surrogate_independent_of_partitions(npartitions: int) -> None:
    pd.testing.assert_series_equal(surrogate(frame(1)), surrogate(frame(npartitions)))


def test_keyed_hash_matches_python_hmac() -> None:
    params = LinkingIdsParams.model_construct(
        ids={"household_id": LinkingId.model_construct(method="keyed_hash", key_env="X")}
    )
    out = linking_ids(frame(3), params, make_ctx(secrets={"household_id": KEY})).frame.compute()
    out = out.sort_values(ROW)["household_id"].tolist()
    for token, value in zip(out, HOUSEHOLDS, strict=True):
        if value is None:
            assert token is pd.NA
        else:
            expected = hmac.new(KEY, value.encode(), hashlib.sha256).hexdigest()[:32]
            assert token == expected


def test_keyed_hash_via_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANON_TEST_HH_KEY", KEY.decode())
    params = LinkingIdsParams(
        ids={"household_id": {"method": "keyed_hash", "key_env": "ANON_TEST_HH_KEY"}}
    )
    out = linking_ids(frame(), params, make_ctx(secrets={"household_id": KEY})).frame.compute()
    first = out.sort_values(ROW)["household_id"].iloc[0]
    assert first == hmac.new(KEY, b"H-0001", hashlib.sha256).hexdigest()[:32]
    # Same key, different seed: keyed hashes do not depend on the seed.
    ctx = make_ctx(seed=9, secrets={"household_id": KEY})
    out2 = linking_ids(frame(), params, ctx).frame.compute()
    assert out2.sort_values(ROW)["household_id"].iloc[0] == first


def test_surrogate_with_duplicate_index_labels() -> None:
    # dd.read_csv gives each block an index starting at 0; repartition to fewer partitions
    # concatenates blocks (or parquet files), so a partition can hold duplicate labels.
    pdf = pd.DataFrame({"household_id": pd.array(["a", None, "b", "c"], dtype="string")})
    pdf.index = [0, 1, 0, 1]
    ddf = dd.from_pandas(pdf, npartitions=1, sort=False)
    params = LinkingIdsParams(ids={"household_id": LinkingId(method="surrogate")})
    out = linking_ids(ddf, params, make_ctx()).frame.compute()["household_id"].tolist()
    assert out[1] is pd.NA
    assert len({out[0], out[2], out[3]}) == 3


@pytest.mark.parametrize("households", [HOUSEHOLDS, [h for h in HOUSEHOLDS if h]])
def test_units_and_tokens_of_one_column_are_those_computed_apart(households: list) -> None:
    """A surrogate ID that is also a sampling unit: one dictionary, the same units and tokens."""
    from pipeline.core.columns import unit_column
    from pipeline.core.randomness import siphash_tokens, value_keys

    pdf = pd.DataFrame({"household_id": pd.array(households, dtype="string")})
    pdf[ROW] = pd.array(range(len(pdf)), dtype="int64")
    ddf = dd.from_pandas(pdf, npartitions=2, sort=False)
    params = LinkingIdsParams(
        ids={"household_id": LinkingId(method="surrogate")}, units=["household_id"]
    )
    ctx = make_ctx(7, release="r1")
    out = linking_ids(ddf, params, ctx).frame.compute().sort_values(ROW)
    assert list(out.columns) == ["household_id", ROW, unit_column("household_id")]
    values = pdf["household_id"]
    units = value_keys(values, ctx.derive_key("unit:household_id"))
    assert out[unit_column("household_id")].tolist() == units.tolist()
    tokens = siphash_tokens(values, ctx.derive_key("surrogate:household_id:r1"), 24)
    assert out["household_id"].tolist() == tokens.tolist()
