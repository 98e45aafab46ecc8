"""Value hashes of the risk's households and sensitive values (equality only)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.risk.encode import text_hashes, value_hashes


def test_value_hashes_of_missing_values_are_zero_and_invalid():
    hashed, valid = value_hashes(pa.array([None, None], pa.string()))
    assert hashed.tolist() == [0, 0] and valid.tolist() == [False, False]
    hashed, valid = value_hashes(pa.array(["a", None, "a"]))
    assert hashed[0] == hashed[2] != 0 and hashed[1] == 0 and valid.tolist() == [True, False, True]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.one_of(st.none(), st.text(max_size=20)), min_size=1, max_size=60),
    st.integers(0, 59),
    st.booleans(),
)
def test_text_hashes_follow_equality_whatever_the_container(values, cut, large):
    """Equal text, equal hash; different text (a NUL, one more byte), different hash."""
    kind = pa.large_string() if large else pa.string()
    whole, valid = value_hashes(pa.array(values, kind))
    cut = min(cut, len(values))
    parts = pa.chunked_array([pa.array(values[:cut], kind), pa.array(values[cut:], kind)])
    assert value_hashes(parts)[0].tolist() == whole.tolist()  # cuts do not change it
    assert value_hashes(pa.array(values, kind).slice(cut))[0].tolist() == whole[cut:].tolist()
    as_dictionary = pa.array(values, pa.string()).dictionary_encode()
    assert value_hashes(as_dictionary)[0].tolist() == whole.tolist()
    assert valid.tolist() == [v is not None for v in values]
    texts = {v: h for v, h in zip(values, whole.tolist(), strict=True) if v is not None}
    assert len(set(texts.values())) == len(texts)  # distinct text, distinct hashes
    assert all(h == 0 for v, h in zip(values, whole.tolist(), strict=True) if v is None)


def test_text_hashes_tell_apart_what_a_word_of_bytes_could_merge():
    values = ["", "a", "a\x00", "\x00", "abcdefgh", "abcdefgh\x00", "abcdefghi", "x" * 100, "é"]
    hashed = text_hashes(pa.array(values))
    assert np.unique(hashed).size == len(values)
    ids = pa.array([f"{i:024x}" for i in np.random.default_rng(1).permutation(300_000)])
    assert np.unique(text_hashes(ids)).size == 300_000  # a household id per record


def _reference(text: str) -> int:
    """The hash as documented: 8-byte little-endian words (the last one padded), then the length."""
    from pipeline.core.randomness import splitmix64

    raw, out = text.encode(), np.uint64(0)
    for at in range(0, len(raw), 8):
        out = splitmix64(np.array([out ^ np.uint64(int.from_bytes(raw[at : at + 8], "little"))]))[0]
    return int(splitmix64(np.array([out ^ np.uint64(len(raw))]))[0])


@settings(max_examples=200, deadline=None)
@given(
    st.integers(0, 30).flatmap(
        lambda width: st.lists(
            st.text(alphabet="ab\x00~", min_size=width, max_size=width), min_size=1, max_size=40
        )
    ),
    st.integers(0, 40),
    st.booleans(),
)
def test_values_of_one_width_hash_as_documented_and_as_among_other_widths(values, cut, large):
    """Tokens of one width are read as a matrix of words: the same hashes as the general way."""
    kind = pa.large_string() if large else pa.string()
    cut = min(cut, len(values))
    alone = text_hashes(pa.array(values, kind).slice(cut))  # one width
    width = len(values[0].encode())
    mixed = text_hashes(pa.array([*values, "~" * (width + 1)], kind))  # two widths
    assert alone.tolist() == mixed[cut : len(values)].tolist()
    assert alone.tolist() == [_reference(v) for v in values[cut:]]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.none(),
            st.floats(allow_nan=True, allow_infinity=True),
            st.sampled_from([0.0, -0.0, 1e308, -1e-308, 5e-324]),
        ),
        min_size=1,
        max_size=60,
    ),
    st.sampled_from([pa.float64(), pa.float32()]),
)
def test_amounts_hash_value_by_value_as_their_distinct_values_would(values, kind):
    """Floating-point values skip the dictionary: each gets the hash of its distinct value."""
    import pandas as pd

    column = pa.array(values, kind)
    hashed, valid = value_hashes(column)
    assert valid.tolist() == [v is not None for v in values]
    encoded = column.dictionary_encode()  # the way every other type is hashed
    distinct = pd.util.hash_array(encoded.dictionary.to_numpy(zero_copy_only=False))
    indices = encoded.indices.to_numpy(zero_copy_only=False)
    expected = [
        int(distinct[int(i)]) if v is not None else 0 for v, i in zip(values, indices, strict=True)
    ]
    assert hashed.tolist() == expected
    assert value_hashes(pa.chunked_array([column[:1], column[1:]]))[0].tolist() == expected


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.one_of(st.none(), st.integers(-3, 3)),
            st.one_of(st.none(), st.text("ab", max_size=3)),
        ),
        min_size=1,
        max_size=40,
    ),
    st.sampled_from(["Int8", "Int64", "int64", "UInt16"]),
    st.sampled_from(["string[python]", "string[pyarrow]"]),
)
def test_combination_hashes_follow_the_values_not_their_types(rows, ints, text):
    """Equal combinations hash alike whatever the integer width or text storage; never 0."""
    import pandas as pd

    from pipeline.risk.encode import combination_hashes, hashable, key_hashes

    numbers = [r[0] for r in rows]
    if ints == "int64" or ints.startswith("U"):  # no missing value / no negative one there
        numbers = [abs(v) if v is not None else 0 for v in numbers]
    frame = pd.DataFrame(
        {"n": pd.array(numbers, dtype=ints), "t": pd.array([r[1] for r in rows], dtype=text)}
    )
    assert hashable(frame["n"].dtype) and hashable(frame["t"].dtype)
    wide = frame.astype({"n": "Int64", "t": "string[pyarrow]"})
    hashed = combination_hashes([key_hashes(frame[c]) for c in ("n", "t")])
    assert hashed.tolist() == combination_hashes([key_hashes(wide[c]) for c in ("n", "t")]).tolist()
    coded = []  # each distinct value hashed once, picked by its code: the same hashes
    for column in ("n", "t"):
        codes, uniques = pd.factorize(frame[column])
        coded.append(key_hashes(uniques, codes))
    assert combination_hashes(coded).tolist() == hashed.tolist()
    assert (hashed != 0).all()
    pairs = list(zip(wide["n"].astype(object), wide["t"].astype(object), strict=True))
    seen: dict = {}
    for pair, h in zip(pairs, hashed.tolist(), strict=True):
        key = tuple("<NA>" if v is pd.NA else v for v in pair)
        assert seen.setdefault(key, h) == h  # equal values, equal hash
    assert len(set(seen.values())) == len(seen)  # and these few differ


def test_floats_categories_and_objects_are_not_hashed():
    import pandas as pd

    from pipeline.risk.encode import hashable

    unhashed = (pd.Series([0.5]), pd.Series(["x"], dtype=object), pd.Categorical(["x"]))
    assert not any(hashable(s.dtype) for s in unhashed)
    hashed = (pd.Series([1]), pd.Series([True]), pd.Series(["x"]), pd.Series(["x"], dtype="string"))
    assert all(hashable(s.dtype) for s in hashed)  # text: pandas' default str dtype too
    others = ("Sparse[int64]", "int64[pyarrow]", "Float64", "datetime64[ns]")
    assert not any(hashable(pd.Series([1], dtype=d).dtype) for d in others)
    assert all(hashable(pd.Series([1], dtype=d).dtype) for d in ("UInt8", "Int64", "boolean"))
