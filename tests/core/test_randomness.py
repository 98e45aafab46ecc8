"""Seeded, partition-independent randomness helpers."""

from __future__ import annotations

import hashlib
import hmac

import dask
import numpy as np
import pandas as pd
import pytest

from pipeline.core.randomness import Secret, hmac_tokens, key_u64, row_keys, splitmix64, value_keys

KEY = hashlib.sha256(b"test").digest()


def test_splitmix64_no_collisions_on_consecutive_ints() -> None:
    x = np.arange(100_000, dtype=np.uint64)
    out = splitmix64(x)
    assert out.dtype == np.uint64
    assert np.unique(out).size == x.size
    assert x.tolist() == np.arange(100_000).tolist()  # input not modified


def test_splitmix64_known_value_and_high_bits() -> None:
    # Reference value of SplitMix64 seeded with 0 (first output).
    assert int(splitmix64(np.array([0], dtype=np.uint64))[0]) == 0xE220A8397B1DCDAF
    top = np.array([2**64 - 1, 2**63, 2**63 - 1], dtype=np.uint64)
    assert np.unique(splitmix64(top)).size == 3


def test_row_keys_distinct_and_seeded() -> None:
    rows = np.arange(50_000, dtype=np.int64)
    keys = row_keys(rows, KEY)
    assert np.unique(keys).size == rows.size
    other = row_keys(rows, hashlib.sha256(b"other").digest())
    assert (keys != other).mean() > 0.999
    # A record's key depends only on its position, not on its neighbours.
    assert row_keys(rows[1234:1240], KEY).tolist() == keys[1234:1240].tolist()


def test_row_keys_look_random() -> None:
    keys = row_keys(np.arange(10_000, dtype=np.int64), KEY)
    order = np.argsort(keys)
    # Far from the identity order; about half of the keys have the top bit set.
    assert np.corrcoef(order, np.arange(order.size))[0, 1] < 0.1
    assert 0.45 < (keys >> np.uint64(63)).mean() < 0.55


def test_key_u64() -> None:
    assert key_u64(bytes(range(32))) == np.uint64(int.from_bytes(bytes(range(8)), "little"))


@pytest.mark.parametrize("dtype", ["string", "object", "Int64"])
def test_value_keys_equal_for_equal_values(dtype: str) -> None:
    raw = ["1", "2", "1", "3", "2", "1"] if dtype != "Int64" else [1, 2, 1, 3, 2, 1]
    values = pd.Series(raw, dtype=dtype)
    keys = value_keys(values, KEY)
    assert keys.dtype == np.uint64
    assert keys[0] == keys[2] == keys[5] and keys[1] == keys[4]
    assert len({keys[0], keys[1], keys[3]}) == 3
    # Same value, same key whatever else is in the partition.
    parts = np.concatenate([value_keys(values[:2], KEY), value_keys(values[2:], KEY)])
    assert parts.tolist() == keys.tolist()


def test_value_keys_depend_on_key() -> None:
    values = pd.Series(["H1", "H2"], dtype="string")
    assert (value_keys(values, KEY) != value_keys(values, hashlib.sha256(b"x").digest())).all()


def test_value_keys_distinct_for_many_values() -> None:
    values = pd.Series([f"H{i:06d}" for i in range(20_000)], dtype="string")
    assert np.unique(value_keys(values, KEY)).size == 20_000


def test_hmac_tokens_match_hmac_and_keep_missing() -> None:
    values = pd.Series(["a", None, "b", "a"], dtype="string", index=[10, 11, 12, 13])
    out = hmac_tokens(values, KEY, 16)
    expected = hmac.new(KEY, b"a", hashlib.sha256).hexdigest()[:16]
    assert out[10] == out[13] == expected
    assert out[11] is pd.NA
    assert len(out[12]) == 16 and out[12] != expected
    assert str(out.dtype) == "string"
    assert out.index.tolist() == [10, 11, 12, 13]


def test_hmac_tokens_all_missing() -> None:
    out = hmac_tokens(pd.Series([None, None], dtype="string"), KEY, 8)
    assert out.isna().all()


def test_secret_repr_hides_value() -> None:
    secret = Secret(b"super-secret-key-material")
    assert repr(secret) == "Secret(***)"
    assert "super" not in repr(secret) and "super" not in str(secret)
    assert "super" not in repr([secret]) and "super" not in f"{secret!r}"
    assert secret.value == b"super-secret-key-material"
    assert not hasattr(secret, "__dict__")


def test_secret_dask_token_does_not_hash_the_value() -> None:
    a, b = Secret(b"same-key"), Secret(b"same-key")
    token_a = dask.base.tokenize(a)
    assert token_a == dask.base.tokenize(a)
    assert token_a != dask.base.tokenize(b)  # derived from identity, not from the key
    assert token_a != dask.base.tokenize(b"same-key")


def test_order_keys_are_distinct_53_bit_and_keyed() -> None:
    from pipeline.core.randomness import order_keys

    rows = np.arange(200_000, dtype=np.int64)
    keys = order_keys(rows, b"k" * 32)
    assert keys.dtype == np.int64
    assert len(np.unique(keys)) == len(rows)
    assert keys.min() >= 0 and keys.max() < 2**53
    assert (keys.astype(np.float64).astype(np.int64) == keys).all()  # exact in float64
    assert not np.array_equal(keys, order_keys(rows, b"j" * 32))


def test_siphash_tokens_are_keyed_stable_and_keep_missing() -> None:
    from pipeline.core.randomness import siphash_tokens

    values = pd.Series(["a", None, "b", "a", "ｂ"], dtype="string")
    out = siphash_tokens(values, KEY, 24)
    assert out[0] == out[3] and out[0] != out[2] and out[2] != out[4]
    assert pd.isna(out[1]) and all(len(t) == 24 for t in out.dropna())
    assert int(out[0], 16) >= 0  # hex
    other = siphash_tokens(values, KEY[::-1], 24)
    assert not set(other.dropna()) & set(out.dropna())
    # a token depends on the value only, not on the partition it sits in
    assert siphash_tokens(values.iloc[2:], KEY, 24).tolist() == out.iloc[2:].tolist()
    assert siphash_tokens(values, KEY, 32).str[:24].tolist()[0] == out[0]


@pytest.mark.parametrize("storage", ["python", "pyarrow"])
def test_value_keys_of_text_are_pandas_keyed_hashes(storage: str) -> None:
    """The Arrow path for text gives the keys pandas' hash_pandas_object gives."""
    rng = np.random.default_rng(5)
    text = [f"h{n}" for n in rng.integers(0, 3_000, 10_000)] + ["", "é", "x" * 50]
    for values in (text, text[:1], []):
        series = pd.Series(values, dtype=pd.StringDtype(storage))
        hashed = pd.util.hash_pandas_object(
            series.astype(object), index=False, hash_key=KEY[8:16].hex()[:16]
        )
        expected = splitmix64(hashed.to_numpy(np.uint64) ^ key_u64(KEY))
        assert value_keys(series, KEY).tolist() == expected.tolist()
    with_missing = pd.Series(["a", None, "a"], dtype=pd.StringDtype(storage))
    keys = value_keys(with_missing, KEY)
    assert keys[0] == keys[2] != keys[1]


def test_mixed_reads_columns_as_digits_of_one_number_then_mixes_it_once() -> None:
    """The documented form (odd base, modulo 2**64, one splitmix64); column order matters."""
    from pipeline.core.randomness import mixed, splitmix64

    a = np.array([0, 1, 2**64 - 1, 7], dtype=np.uint64)
    b = np.array([5, 0, 3, 7], dtype=np.uint64)
    base = np.uint64(0x9E3779B97F4A7C15)
    with np.errstate(over="ignore"):
        expected = splitmix64(a * base + b)
    assert mixed([a, b], 4).tolist() == expected.tolist()
    assert mixed(iter([a, b]), 4).tolist() != mixed([b, a], 4).tolist()
    assert mixed([], 3).tolist() == splitmix64(np.zeros(3, np.uint64)).tolist()
