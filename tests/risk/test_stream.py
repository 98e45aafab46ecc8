"""The streamed risk equals the in-memory measure, however the file is chunked or spilled."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from pipeline.risk.encode import encode_arrow
from pipeline.risk.ldiversity import l_diversity, merge_l_diversity
from pipeline.risk.measures import measure_risk
from pipeline.risk.spill import Spill
from pipeline.risk.stream import RiskStream

KEYS = ["age", "sex", "area"]


def stream_risk(chunks, keys, *args):  # noqa: ANN001, ANN201
    """The streamed risk of every chunk ``chunks(columns)`` yields, fed in order."""
    with RiskStream(keys, *args) as stream:
        for chunk in chunks(stream.columns):
            stream.add(chunk)
        return stream.finish()


def _table(n: int, seed: int) -> pa.Table:
    rng = np.random.default_rng(seed)
    age = rng.integers(0, 30, n).astype(object)
    age[rng.random(n) < 0.05] = None
    area = rng.choice(["13101", "13102", "27100", "01100", "47201"], n).astype(object)
    area[rng.random(n) < 0.03] = None
    weight = rng.uniform(1, 50, n)
    weight[rng.random(n) < 0.01] = np.nan
    household = np.array([f"h{i}" for i in rng.integers(0, n // 3 + 1, n)], dtype=object)
    household[rng.random(n) < 0.02] = None
    return pa.table(
        {
            "age": pa.array(list(age), pa.int64()),
            "sex": pa.array(rng.choice(["1", "2"], n)),
            "area": pa.array(list(area), pa.string()),
            "w": pa.array(weight, from_pandas=True),
            "hh": pa.array(list(household), pa.string()),
            "income": pa.array(rng.integers(0, 40, n) * 1000),
        }
    )


def _chunked(table: pa.Table, rows: int):
    return lambda names: table.select(names).to_batches(max_chunksize=rows)


@pytest.mark.parametrize(("rows", "limit"), [(10_000, 1 << 30), (777, 4096)])
@pytest.mark.parametrize("missing", ["any", "category"])
def test_stream_risk_equals_in_memory_measure(tmp_path, rows, limit, missing, monkeypatch):
    monkeypatch.setattr("pipeline.risk.spill.SPILL_BYTES", limit)
    table = _table(6_000, seed=7)
    codes, _ = encode_arrow(table, KEYS)
    weights = table.column("w").to_numpy(zero_copy_only=False)
    household = encode_arrow(table, ["hh"], labels=False)[0][:, 0]
    expected = measure_risk(codes, 3, weights, household, missing)
    got = stream_risk(
        _chunked(table, rows), KEYS, 3, "w", "hh", ("income",), missing, tmp_path / "spill"
    )
    for name in ("records", "sample_uniques", "k_violations", "classes"):
        assert got.summary[name] == expected.summary[name], name
    for name in (
        "expected_reidentifications",
        "global_risk",
        "max_individual_risk",
        "household_expected_reidentifications",
        "household_global_risk",
    ):
        assert got.summary[name] == pytest.approx(expected.summary[name], rel=1e-9), name
    sensitive = encode_arrow(table, ["income"], labels=False)[0][:, 0]
    ldiv = l_diversity(codes, sensitive, classes=expected.inverse)
    assert got.l_diversity["income"] == pytest.approx(ldiv)
    missing_age = int((codes[:, 0] < 0).sum())
    assert got.summary["key_variables"]["age"] == {"categories": 30, "missing": missing_age}
    assert not list((tmp_path / "spill").glob("*/*")), "spilled files are removed"


def test_spill_keeps_every_record_in_its_bucket(tmp_path):
    rng = np.random.default_rng(3)
    with Spill({"x": np.int64}, tmp_path, bits=3, limit=1000) as spill:
        for _ in range(20):
            values = rng.integers(0, 1 << 40, 500)
            spill.add(values % 8, {"x": values})
        assert any(tmp_path.iterdir()), "past the limit the buckets are on disk"
        seen = [spill.read(b)["x"] for b in range(8)]
    assert sum(s.size for s in seen) == 10_000
    assert all((s % 8 == b).all() for b, s in enumerate(seen))
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("limit", [1 << 30, 1000])
def test_spill_puts_what_a_bucket_gave_beside_its_records(tmp_path, limit):
    rng = np.random.default_rng(4)
    dtypes = {"x": np.int64, "y": np.float64, "i": np.int32}
    with Spill(dtypes, tmp_path, bits=2, limit=limit) as spill:
        for _ in range(10):
            values = rng.integers(0, 1 << 40, 300)
            spill.add(values % 4, {"x": values, "y": values / 7})
        on_disk = any(tmp_path.iterdir())
        assert on_disk == (limit == 1000)
        for b in range(4):  # what a pass over the bucket learnt, one value per record
            spill.put(b, "i", np.arange(spill.read(b, ["x"])["x"].size) % 5)
        for b in range(4):
            part = spill.read(b, ["i", "x"])
            assert list(part) == ["i", "x"], "only the arrays asked for, in that order"
            assert part["i"].dtype == np.int32
            assert (part["i"] == np.arange(part["x"].size) % 5).all()
            assert (part["x"] % 4 == b).all()
            spill.drop(b)
            assert spill.read(b)["i"].size == 0
    assert not any(tmp_path.iterdir())


def test_merge_l_diversity_of_disjoint_parts():
    a = {
        "classes": 2,
        "min_distinct_l": 1,
        "records_in_classes_with_distinct_l_1": 3,
        "min_entropy_l": 1.0,
        "recursive_c": 2.0,
        "recursive_l": 2,
        "classes_recursive_cl": 1,
        "share_classes_recursive_cl": 0.5,
    }
    b = dict(a, classes=6, min_distinct_l=2, min_entropy_l=1.5, classes_recursive_cl=5)
    merged = merge_l_diversity([a, {"classes": 0}, b])
    assert merged["classes"] == 8
    assert merged["min_distinct_l"] == 1
    assert merged["records_in_classes_with_distinct_l_1"] == 6
    assert merged["share_classes_recursive_cl"] == 6 / 8
    assert merge_l_diversity([]) == {"classes": 0}


@pytest.mark.parametrize("kind", [pa.string(), pa.null()], ids=["text", "null-typed"])
def test_a_household_column_missing_in_every_record(tmp_path, kind):
    """Issue 24: no household id at all is every record a household of its own, no crash."""
    table = _table(600, seed=3)
    table = table.set_column(
        table.schema.get_field_index("hh"), "hh", pa.array([None] * table.num_rows, kind)
    )
    codes, _ = encode_arrow(table, KEYS)
    alone = np.full(table.num_rows, -1)
    expected = measure_risk(codes, 3, None, alone, "any")
    got = stream_risk(_chunked(table, 250), KEYS, 3, None, "hh", (), "any", tmp_path / "spill")
    assert got.summary["household_expected_reidentifications"] == pytest.approx(
        expected.summary["expected_reidentifications"], rel=1e-9
    )
    assert got.summary["household_global_risk"] == pytest.approx(
        expected.summary["household_global_risk"], rel=1e-9
    )


def test_a_prepared_chunk_is_taken_when_the_next_one_comes(tmp_path):
    # a measure pass of two tables had both left for ``finish``: the first is now taken (its
    # key values numbered) as soon as the second arrives, if its heavy part is done
    chunk = pa.table({"a": ["x", "y"], "b": ["1", "2"]})
    with RiskStream(["a", "b"], workdir=tmp_path) as stream:
        stream.add(chunk)
        if stream._waiting:  # prepared after ``add`` looked: not taken yet (else taken at once)
            stream._waiting[0].result()
            assert stream.dictionaries[0].index == {}
        stream.add(pa.table({"a": ["z"], "b": ["3"]}))
        assert list(stream.dictionaries[0].index)[:2] == ["x", "y"]
        assert stream.finish().summary["records"] == 3


def test_row_hash_follows_row_equality_and_spreads_rows_over_buckets():
    """Equal code rows share a hash (and so a bucket); distinct rows spread evenly."""
    from pipeline.risk.spill import BUCKET_BITS, bucket_of, row_hash

    rng = np.random.default_rng(3)
    codes = np.column_stack([rng.integers(-1, k, 200_000) for k in (90, 3, 1900, 12, 9)])
    codes = codes.astype(np.int32)
    hashed = row_hash(codes)
    again = row_hash(np.asfortranarray(codes[::-1]))[::-1]  # layout and order do not matter
    assert hashed.tolist() == again.tolist()
    _, first, inverse = np.unique(codes, axis=0, return_index=True, return_inverse=True)
    assert (hashed == hashed[first][inverse.ravel()]).all()  # equal rows, equal hashes
    assert np.unique(hashed).size == first.size  # distinct rows: no collision here
    sizes = np.bincount(bucket_of(hashed), minlength=1 << BUCKET_BITS)
    assert sizes.min() > 0.9 * sizes.mean() and sizes.max() < 1.1 * sizes.mean()
    assert len({row_hash(np.array([[a, b]], np.int32))[0] for a in (-1, 0) for b in (-1, 0)}) == 4
