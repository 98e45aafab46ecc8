"""Seeded, partition-independent randomness.

Every random choice is a pure function of the seed and a record's identity (its position in the
input file, or a unit such as a household), never of a random-number stream. The output is then
the same whatever the number of partitions, their order of execution or the scheduler.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from pipeline.core.arrow import one_array

if TYPE_CHECKING:
    # imported where used: checking a recipe (``anonymize validate``) loads none of them
    import pandas as pd
    import pyarrow as pa

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def splitmix64(x: np.ndarray) -> np.ndarray:
    """Mix 64-bit integers (a bijection on uint64, so distinct inputs give distinct outputs)."""
    z = x.astype(np.uint64, copy=True)
    with np.errstate(over="ignore"):
        z += _GOLDEN
        z = (z ^ (z >> np.uint64(30))) * _M1
        z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


def mixed(columns: Iterable[np.ndarray], rows: int) -> np.ndarray:
    """One 64-bit hash per row of unsigned 64-bit columns (equal rows, equal hashes).

    The columns' values are read as the digits of a number in an odd base, modulo 2**64, and
    the number is mixed once (``splitmix64``): unequal rows may share a hash, so it spreads
    rows over buckets or is checked where it groups them. A mix per column costs 2-3x as much.
    """
    out = np.zeros(rows, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for column in columns:
            out *= _GOLDEN  # odd
            out += column
    return splitmix64(out)


_MASK53 = np.uint64((1 << 53) - 1)


def order_keys(rows: np.ndarray, key: bytes) -> np.ndarray:
    """A keyed random permutation of record positions into [0, 2**53), as int64.

    Each operation (add, xor-shift, multiply by an odd constant, all modulo 2**53) is a bijection,
    so distinct positions get distinct keys; 53 bits are exact in float64, which dask uses when
    it chooses sort boundaries.
    """
    z = (rows.astype(np.uint64) + key_u64(key)) & _MASK53
    with np.errstate(over="ignore"):
        z = ((z ^ (z >> np.uint64(26))) * _M1) & _MASK53
        z = ((z ^ (z >> np.uint64(24))) * _M2) & _MASK53
    return (z ^ (z >> np.uint64(27))).astype(np.int64)


def key_u64(key: bytes) -> np.uint64:
    """Fold a derived key into one 64-bit integer."""
    return np.uint64(int.from_bytes(key[:8], "little"))


def row_keys(rows: np.ndarray, key: bytes) -> np.ndarray:
    """Random-looking uint64 keys of record positions; distinct rows get distinct keys."""
    return splitmix64(rows.astype(np.uint64) ^ key_u64(key))


@dataclass(frozen=True)
class Distinct:
    """A partition's values as text, once: the distinct ones and each value's index among them.

    ``value_keys`` and ``siphash_tokens`` of the same column (a ``subsample`` unit that is also
    a surrogate linking ID) share it: one dictionary and one Python text per distinct value.
    """

    plain: np.ndarray  # the distinct values (Python text)
    indices: pa.Array  # each value's index in ``plain`` (null: missing)

    @classmethod
    def of(cls, values: pd.Series) -> Distinct:
        """The distinct values of ``values`` (read as text)."""
        import pyarrow as pa
        import pyarrow.compute as pc

        text = one_array(pa.array(values.astype("string")))  # one dictionary for the partition
        encoded = pc.dictionary_encode(text)
        return cls(encoded.dictionary.to_numpy(zero_copy_only=False), encoded.indices)


def value_keys(values: pd.Series, key: bytes, distinct: Distinct | None = None) -> np.ndarray:
    """Random-looking uint64 keys of values (equal values get equal keys); keyed SipHash.

    Text without missing values is hashed once per distinct value found by Arrow (the same
    keys as pandas' ``hash_pandas_object``, without a Python string per record); ``distinct``
    is that text's :class:`Distinct` when the caller has it already.
    """
    import pandas as pd

    hash_key = key[8:16].hex()[:16]
    if distinct is None and isinstance(values.dtype, pd.StringDtype):
        distinct = Distinct.of(values)
    if distinct is not None and distinct.indices.null_count == 0:
        hashed = pd.util.hash_array(distinct.plain, hash_key=hash_key, categorize=False)
        hashed = hashed[distinct.indices.to_numpy()]
    else:
        hashed = pd.util.hash_pandas_object(values, index=False, hash_key=hash_key).to_numpy()
    return splitmix64(hashed.astype(np.uint64, copy=False) ^ key_u64(key))


def hmac_tokens(values: pd.Series, key: bytes, nchars: int) -> pd.Series:
    """Replace each value by the first ``nchars`` hex digits of HMAC-SHA-256(key, value).

    Missing values stay missing. Each distinct value is hashed once per partition.
    """
    import pandas as pd

    codes, uniques = pd.factorize(values.astype("string"), use_na_sentinel=True)
    tokens = np.array(
        [hmac.digest(key, u.encode("utf-8"), "sha256").hex()[:nchars] for u in uniques] + [None],
        dtype=object,
    )
    return pd.Series(tokens[codes], index=values.index, dtype="string", name=values.name)


_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


def siphash_tokens(
    values: pd.Series, key: bytes, nchars: int, distinct: Distinct | None = None
) -> pd.Series:
    """Replace each value by ``nchars`` hex digits of a 128-bit keyed SipHash-2-4 of it.

    Two SipHash-2-4 outputs under two independent 96-bit keys derived from ``key`` are joined
    into 128 bits: a keyed pseudo-random function, computed in C over the distinct values
    (pandas' ``hash_array``), so millions of IDs take well under a second. Without the key the
    tokens cannot be turned back or recomputed. Missing values stay missing. ``distinct``:
    the values' :class:`Distinct` when the caller has it already.
    """
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc

    if nchars > 32:
        raise ValueError("at most 32 hex digits (128 bits)")
    distinct = distinct if distinct is not None else Distinct.of(values)
    plain = distinct.plain
    halves = []
    for label in (b"siphash-1", b"siphash-2"):
        sub = base64.b64encode(hashlib.sha256(key + label).digest()[:12]).decode("ascii")
        halves.append(pd.util.hash_array(plain, hash_key=sub, categorize=False))
    raw = np.stack(halves, axis=1).astype(">u8").view(np.uint8).reshape(-1, 16)
    hexed = np.empty((len(plain), nchars), dtype=np.uint8)  # the first nchars hex digits
    half = (nchars + 1) // 2
    hexed[:, 0::2], hexed[:, 1::2] = _HEX[raw[:, :half] >> 4], _HEX[raw[:, : nchars // 2] & 15]
    offsets = np.arange(0, len(plain) * nchars + 1, nchars, dtype=np.int32)
    tokens = pa.StringArray.from_buffers(len(plain), pa.py_buffer(offsets), pa.py_buffer(hexed))
    out = pc.take(tokens, distinct.indices)  # a missing value has a missing index: stays missing
    return pd.Series(pd.arrays.ArrowStringArray(out), index=values.index, name=values.name)


def fingerprints(values: pd.Series, key: bytes) -> np.ndarray:
    """A keyed 64-bit SipHash-2-4 of each value as text (a release series' person fingerprint).

    Under a 96-bit key derived from ``key``; equal values give equal fingerprints, and without
    the key none can be recomputed or turned back. Missing values get the fingerprint of "".
    """
    import pandas as pd

    codes, uniques = pd.factorize(values.astype("string"), use_na_sentinel=True)
    plain = np.append(np.asarray(uniques.astype(object), dtype=object), "")
    sub = base64.b64encode(hashlib.sha256(key + b"fingerprint").digest()[:12]).decode("ascii")
    hashed = pd.util.hash_array(plain, hash_key=sub, categorize=False)
    return hashed[codes].astype(np.uint64)  # code -1 (missing) picks the last


class Secret:
    """Key material that never shows in a repr, a log line or a dask task name."""

    __slots__ = ("value",)

    def __init__(self, value: bytes) -> None:
        self.value = value

    def __repr__(self) -> str:
        return "Secret(***)"

    def __dask_tokenize__(self) -> str:
        # Task names are hashes of their arguments; keep even a hash of the key out of them.
        return f"secret-{id(self)}"
