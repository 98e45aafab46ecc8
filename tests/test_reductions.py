"""The declared whole-file facts: the same answer whatever the partitions, read from their
columns only."""

from __future__ import annotations

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest

from pipeline.core.columns import ROW
from pipeline.core.randomness import row_keys, value_keys
from pipeline.reductions import (
    KeyTable,
    Quantile,
    UnitKeys,
    compute_now,
    partition_combinations,
    regrouped,
    unit_keys,
)


@pytest.fixture(autouse=True)
def _sync_scheduler():
    with dask.config.set(scheduler="sync"):
        yield


def frame(n: int = 500, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    units = pd.array([f"h{u}" for u in rng.integers(0, 120, n)], dtype="string")
    units[::17] = pd.NA
    age = pd.array(rng.integers(0, 5, n), dtype="Int64")
    age[::11] = pd.NA
    return pd.DataFrame(
        {
            ROW: np.arange(n, dtype="int64"),
            "hh": units,
            "age": age,
            "sex": pd.array(rng.choice(["1", "2"], n), dtype="string"),
            "w": rng.uniform(1, 3, n),
            "other": rng.normal(size=n),
        }
    )


@pytest.mark.parametrize("parts", [1, 3, 7])
def test_unit_keys_are_one_per_unit_and_records_without_a_unit(parts: int) -> None:
    pdf = frame()
    reduction = UnitKeys("hh", b"k" * 32, b"o" * 32)
    keys = compute_now(reduction, dd.from_pandas(pdf, npartitions=parts, sort=False))
    expected = pdf["hh"].nunique() + int(pdf["hh"].isna().sum())
    assert keys.size == expected == np.unique(unit_keys(pdf, "hh", b"k" * 32, b"o" * 32)).size
    assert reduction.columns == (ROW, "hh")


@pytest.mark.parametrize("missing", ["none", "some", "all"])
def test_a_unit_key_is_its_units_hash_and_a_record_without_one_its_positions(
    missing: str,
) -> None:
    # the keys as defined: each record's position keyed under ``own``, replaced by its unit's
    # keyed hash where it has a unit (computed for every record, then overwritten)
    pdf = frame()
    if missing == "none":
        pdf["hh"] = pdf["hh"].fillna("h-filled")
    elif missing == "all":
        pdf["hh"] = pd.array([pd.NA] * len(pdf), dtype="string")
    key, own = b"k" * 32, b"o" * 32
    expected = row_keys(pdf[ROW].to_numpy(), own)
    present = pdf["hh"].notna().to_numpy()
    if present.any():
        expected[present] = value_keys(pdf["hh"][present], key)
    found = unit_keys(pdf, "hh", key, own)
    assert found.dtype == "uint64" and found.index.equals(pdf.index)
    np.testing.assert_array_equal(found.to_numpy(), expected)
    alone = unit_keys(pdf, None, key, own).to_numpy()
    np.testing.assert_array_equal(alone, row_keys(pdf[ROW].to_numpy(), own))


@pytest.mark.parametrize("parts", [1, 4])
def test_key_table_counts_and_weights_every_combination_in_a_fixed_order(parts: int) -> None:
    pdf = frame()
    found = compute_now(KeyTable(("age", "sex"), "w"), dd.from_pandas(pdf, npartitions=parts))
    grouped = pdf.groupby(["age", "sex"], dropna=False)
    assert len(found.table) == grouped.ngroups
    assert found.counts.sum() == len(pdf)
    assert found.sums.sum() == pytest.approx(pdf["w"].sum())
    codes = [tuple(c) for c in found.codes]
    assert codes == sorted(codes)  # lexicographic order of the codes, whatever the partitions
    one = compute_now(KeyTable(("age", "sex"), "w"), dd.from_pandas(pdf, npartitions=1))
    pd.testing.assert_frame_equal(found.table, one.table)


def test_the_tree_of_combination_tables_counts_as_one_partition() -> None:
    # the tables of 20 partitions go up a tree of two levels (8 at a time), each partition's
    # taken as it is (its combinations are distinct): the same combinations, records and
    # weights as one partition (the weights to rounding: sums in another grouping)
    pdf = frame(6000)
    rng = np.random.default_rng(9)
    pdf["w"] = pd.array(rng.choice([1e12, 1e-7, 3.3, -0.0], len(pdf)) * rng.uniform(1, 2, len(pdf)))
    pdf.loc[pdf.index[::7], "w"] = np.nan
    pdf["w"] = pdf["w"].astype("Float64")
    table = KeyTable(("hh", "age", "sex"), "w")
    many = compute_now(table, dd.from_pandas(pdf, npartitions=20))
    one = compute_now(table, dd.from_pandas(pdf, npartitions=1))
    pd.testing.assert_frame_equal(many.table, one.table)
    assert (many.codes == one.codes).all() and (many.counts == one.counts).all()
    np.testing.assert_allclose(many.sums, one.sums, rtol=1e-13, atol=0)
    grouped = pdf.groupby(["hh", "age", "sex"], dropna=False, sort=True)["w"].sum()
    assert len(many.table) == len(grouped) and many.counts.sum() == len(pdf)


@pytest.mark.parametrize("keys", [("age", "sex"), ("hh", "age", "sex"), ("hh", "other", "age")])
def test_a_partition_s_combinations_equal_pandas_group_by_to_the_last_bit(keys: tuple) -> None:
    """Counted on one integer per record, as pandas' group-by over the keys counts them."""
    pdf = frame(3000).iloc[::-1]  # the record order is the file's, whatever the index says
    pdf.loc[pdf.index[::13], "w"] = np.nan  # missing weights sum as nothing
    pdf["w"] = pdf["w"].astype("Float64")
    found = partition_combinations(pdf, list(keys), "w")
    expected = (
        pdf.assign(**{"__records__": 1})
        .groupby(list(keys), dropna=False, observed=True, sort=False)
        .agg({"__records__": "sum", "w": "sum"})
        .reset_index()
    )
    order = list(keys)
    pd.testing.assert_frame_equal(
        found.sort_values(order).reset_index(drop=True),
        expected.sort_values(order).reset_index(drop=True),
        check_exact=True,
    )


def test_tables_of_combinations_add_up_as_pandas_group_by_to_the_last_bit() -> None:
    pdf = frame(6000)
    pdf["w"] = pdf["w"].astype("Float64") * np.where(np.arange(len(pdf)) % 3, 1e9, 1e-9)
    pdf.loc[pdf.index[::13], "w"] = np.nan
    keys = ["hh", "age", "sex"]
    tables = pd.concat(
        [partition_combinations(pdf.iloc[i::4], keys, "w") for i in range(4)], ignore_index=True
    )
    found = regrouped(tables, keys, "w")
    expected = (
        tables.groupby(keys, dropna=False, observed=True, sort=False)
        .agg({"__records__": "sum", "w": "sum"})
        .reset_index()
    )
    both = found.merge(expected, on=keys, how="outer", indicator=True)
    assert (both["_merge"] == "both").all() and len(both) == len(found) == len(expected)
    assert (both["__records___x"] == both["__records___y"]).all()
    mine, pandas_s = both["w_x"].to_numpy(np.float64), both["w_y"].to_numpy(np.float64)
    assert (mine.view(np.uint64) == pandas_s.view(np.uint64)).all()


def test_many_high_cardinality_keys_are_renumbered_instead_of_overflowing() -> None:
    n = 4000
    rng = np.random.default_rng(5)
    pdf = pd.DataFrame({f"k{j}": rng.integers(0, 3000, n) for j in range(8)})
    pdf.loc[::2, [f"k{j}" for j in range(8)]] = 7  # repeated combinations among unique ones
    found = partition_combinations(pdf, list(pdf.columns), None)
    assert len(found) == len(pdf.drop_duplicates())
    assert found["__records__"].sum() == n and found["__records__"].max() == n // 2


def test_a_reduction_reads_only_its_columns() -> None:
    ddf = dd.from_pandas(frame(), npartitions=2)[[ROW, "hh"]]  # nothing else is there
    assert compute_now(UnitKeys("hh", b"k" * 32, b"o" * 32), ddf).size > 0
    with pytest.raises(KeyError):
        compute_now(KeyTable(("age",)), ddf)


def test_quantile_of_a_text_column_is_left_to_the_step() -> None:
    ddf = dd.from_pandas(frame(), npartitions=2)
    assert compute_now(Quantile("sex", 0.5), ddf) is None
    assert compute_now(Quantile("other", 0.5), ddf) == pytest.approx(frame()["other"].median())


def test_moments_equal_numpy() -> None:
    import dask.dataframe as dd
    import numpy as np
    import pandas as pd

    from pipeline.reductions import Moments, compute_now

    rng = np.random.default_rng(4)
    frame = pd.DataFrame({"a": rng.normal(size=300), "b": rng.normal(size=300)})
    frame.loc[::7, "b"] = np.nan
    found = compute_now(Moments(("a", "b")), dd.from_pandas(frame, npartitions=4))
    mean, (scaled, t), (sd, u) = found.mean(), found.covariance_scaled(), found.sd_scaled()
    cov, sd = scaled * np.exp2(t[:, None] + t[None, :]), sd * np.exp2(u)
    full = frame.dropna()
    assert found.complete == len(full)
    assert np.allclose(mean, full.mean()) and np.allclose(cov, full.cov())
    assert np.allclose(sd, frame.std())


@pytest.mark.parametrize("hashes", ["values", "one for all", "none in one partition"])
def test_the_key_table_s_tree_groups_by_hash_only_where_the_values_agree(hashes, monkeypatch):
    """Tables go up the tree with a hash per combination; any doubt, and they group by values."""
    import pipeline.reductions as reductions

    pdf = frame(6000)
    table = KeyTable(("hh", "age", "sex"), "w")
    exact = compute_now(table, dd.from_pandas(pdf, npartitions=1))
    real = reductions.combination_hashes
    calls: list[int] = []

    def fake(columns: list[np.ndarray]) -> np.ndarray:
        rows = columns[0].size
        calls.append(rows)
        if hashes == "one for all":  # every combination shares one hash: merges are checked
            return np.ones(rows, dtype=np.uint64)
        if hashes == "none in one partition" and len(calls) == 2:
            return np.zeros(rows, dtype=np.uint64)  # 0: not hashed
        return real(columns)

    grouped: list[bool] = []

    def spy(*args: object) -> object:
        found = real_groups(*args)
        grouped.append(found is not None)
        return found

    real_groups = reductions.hashed_groups
    monkeypatch.setattr(reductions, "combination_hashes", fake)
    monkeypatch.setattr(reductions, "hashed_groups", spy)
    many = compute_now(table, dd.from_pandas(pdf, npartitions=20))
    assert len(calls) == 20  # every partition's table was hashed
    # 20 tables: three regroupings of 8, 8 and 4, then the last; a table that did not hash
    # sends its regrouping, and the last, to the values
    expected = {
        "values": 4 * [True],
        "one for all": 4 * [False],
        "none in one partition": 2 * [True],
    }
    assert grouped == expected[hashes]
    pd.testing.assert_frame_equal(many.table, exact.table)
    assert (many.codes == exact.codes).all() and (many.counts == exact.counts).all()
    np.testing.assert_allclose(many.sums, exact.sums, rtol=1e-13, atol=0)
    assert "__combination__" not in many.table.columns


def test_a_table_in_code_order_keeps_the_file_order_of_repeated_rows() -> None:
    """Distinct rows sort one way whatever the sort; repeated ones keep their order (stable)."""
    from pipeline.reductions import in_code_order

    rng = np.random.default_rng(2)
    table = frame(3000)[["hh", "age", "sex"]].drop_duplicates().reset_index(drop=True)
    found, codes = in_code_order(table, ["hh", "age", "sex"])
    rows = [tuple(c) for c in codes]
    assert rows == sorted(rows) and len(set(rows)) == len(rows) == len(table)
    twice = pd.concat([table, table.iloc[rng.permutation(len(table))]], ignore_index=True)
    twice["at"] = np.arange(len(twice))
    found, codes = in_code_order(twice, ["hh", "age", "sex"])
    rows = [tuple(c) for c in codes]
    assert rows == sorted(rows)
    at = found["at"].to_numpy()
    same = (codes[1:] == codes[:-1]).all(axis=1)
    assert same.sum() == len(table) and (at[1:][same] > at[:-1][same]).all()  # file order kept


def test_partitions_of_other_integer_types_are_regrouped_by_their_values() -> None:
    """int64 and uint64 partitions meet as floats: no longer the values hashed, so no hashes."""
    pdf = pd.DataFrame({"k": np.array([2**53 + 1, 2**53], dtype=np.int64)})
    parts = dd.from_pandas(pdf, npartitions=2, sort=False)

    def other_type(part: pd.DataFrame, partition_info=None) -> pd.DataFrame:  # noqa: ANN001
        return part.astype({"k": "uint64"}) if partition_info["number"] == 1 else part

    found = compute_now(KeyTable(("k",)), parts.map_partitions(other_type, meta=parts._meta))
    assert len(found.table) == len(found.table.drop_duplicates()) == 1  # one value as floats
    assert found.counts.tolist() == [2.0]
