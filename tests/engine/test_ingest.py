"""The ingest pass: numbers parsed over the whole file; non-finite numbers are an input error."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from pipeline.cli.app import app
from pipeline.engine.ingest import checked_numbers, number_dtype
from tests.conftest import data_digests, demo_recipe

STEPS = "  - top_code: {column: income, quantile: 0.99}\n"


def invoke(*args: str):
    return CliRunner().invoke(app, list(args))


def plant(workdir: Path, values: dict[int, str], column: str = "income") -> Path:
    frame = pd.read_csv(workdir / "data" / "census.csv", dtype=str)
    for row, value in values.items():
        frame.loc[row, column] = value
    path = workdir / "data" / "planted.csv"
    frame.to_csv(path, index=False)
    return path


def test_inf_text_stops_the_run_with_records_never_values(workdir: Path) -> None:
    plant(workdir, {3: "inf", 8: "-inf", 20: "Infinity", 30: "nan"})
    recipe = demo_recipe(workdir, STEPS, input_path="data/planted.csv")
    result = invoke("run", str(recipe), "-q")
    assert result.exit_code == 3, result.output
    assert "column 'income': 3 value(s) are not finite (inf or -inf) (data records 4, 9, 21)" in (
        result.output
    )
    assert "column 'income': 1 value(s) are not numbers (data records 31)" in result.output
    assert not (workdir / "out" / "run").exists()


@pytest.mark.slow
def test_inf_in_a_whole_number_column_is_never_published_as_a_huge_integer(
    workdir: Path,
) -> None:
    """Before: inf became -9223372036854775808 in an integer column without a contract."""
    plant(workdir, {5: "inf"}, column="household_size")
    recipe = demo_recipe(
        workdir,
        "  - top_code: {column: household_size, above: 6}\n",
        input_path="data/planted.csv",
    )
    assert invoke("run", str(recipe), "-q").exit_code == 3
    missing = demo_recipe(
        workdir,
        "  - top_code: {column: household_size, above: 6}\n",
        input_path="data/planted.csv",
        input_options=", non_finite: missing",
    )
    result = invoke("run", str(missing), "-q")
    assert result.exit_code == 0, result.output
    published = pd.read_parquet(workdir / "out" / "run" / "data")
    sizes = published["household_size"]
    assert sizes.isna().sum() == 1 and sizes.min() >= 1 and sizes.max() <= 6


def test_parquet_float_inf_is_an_input_error(workdir: Path) -> None:
    frame = pd.read_csv(workdir / "data" / "census.csv", dtype=str)
    frame["income"] = frame["income"].astype("float64")
    frame.loc[7, "income"] = np.inf
    folder = workdir / "data" / "pq"
    folder.mkdir()
    frame.to_parquet(folder / "part.parquet")
    recipe = demo_recipe(workdir, STEPS, input_path="data/pq")
    result = invoke("run", str(recipe), "-q")
    assert result.exit_code == 3 and "not finite" in result.output and "records 8" in result.output


@pytest.mark.slow
def test_parquet_numbers_of_every_kind_are_read(workdir: Path) -> None:
    """Decimals, integers with nulls and unsigned 64-bit columns (exit 1 before)."""
    import decimal

    import pyarrow as pa
    import pyarrow.parquet as pq

    frame = pd.read_csv(workdir / "data" / "census.csv", dtype=str)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    weights = [decimal.Decimal(w) for w in frame["weight"]]
    ages = [None if i % 7 == 0 else int(a) for i, a in enumerate(frame["age"])]
    table = table.set_column(
        table.column_names.index("weight"), "weight", pa.array(weights, pa.decimal128(12, 2))
    )
    table = table.set_column(table.column_names.index("age"), "age", pa.array(ages, pa.int64()))
    folder = workdir / "data" / "pq"
    folder.mkdir()
    pq.write_table(table, folder / "a.parquet")
    recipe = demo_recipe(workdir, "  - top_code: {column: age, above: 90}\n", input_path="data/pq")
    result = invoke("run", str(recipe), "-q")
    assert result.exit_code == 0, result.output
    published = pd.read_parquet(workdir / "out" / "run" / "data")
    assert published["age"].max() <= 90 and published["age"].isna().any()


@pytest.mark.parametrize(
    "values",
    [[None], [None, None, None], [b"12", None, b"x"], [1, "2", None, 3.5], [b"\xff7", b"7", None]],
    ids=["one-missing", "all-missing", "bytes", "mixed", "not-utf-8"],
)
def test_a_column_of_python_objects_is_read_as_text_into_numbers(values: list) -> None:
    # a Parquet column of Arrow's null type arrives as objects, all None: Arrow saw no text in
    # it and had no trim for it (an unexpected error where a recipe used it as a number)
    column = pd.Series(values, dtype=object)
    parsed, invalid, infinite = checked_numbers(column, number_dtype(column.dtype))
    assert parsed.dtype == "Float64" and len(parsed) == len(values)
    text = column.map(
        lambda v: v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v),
        na_action="ignore",
    )
    expected = pd.to_numeric(text.astype("string").str.strip(), errors="coerce")
    assert parsed.isna().tolist() == expected.isna().tolist()
    assert int(invalid.sum()) == int((column.notna() & expected.isna()).sum())
    assert not infinite.any()


def test_a_parquet_column_with_no_value_is_capped_as_a_number(workdir: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    frame = pd.read_csv(workdir / "data" / "census.csv", dtype=str)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    at = table.column_names.index("income")
    table = table.set_column(at, "income", pa.nulls(table.num_rows))  # Arrow's null type
    folder = workdir / "data" / "pq"
    folder.mkdir()
    pq.write_table(table, folder / "a.parquet")
    recipe = demo_recipe(
        workdir, "  - top_code: {column: income, above: 100}\n", input_path="data/pq"
    )
    result = invoke("run", str(recipe), "-q")
    assert result.exit_code == 0, result.output
    published = pd.read_parquet(workdir / "out" / "run" / "data")
    assert published["income"].isna().all() and len(published) == len(frame)


@pytest.mark.slow
def test_whole_numbers_too_large_for_an_integer_stay_decimal(workdir: Path) -> None:
    """Before: 1e20 was published as -9223372036854775808 in an integer column."""
    plant(workdir, {3: "100000000000000000000"}, column="household_size")
    recipe = demo_recipe(
        workdir,
        "  - top_code: {column: household_size, above: 1e21}\n",
        input_path="data/planted.csv",
    )
    assert invoke("run", str(recipe), "-q").exit_code == 0
    sizes = pd.read_parquet(workdir / "out" / "run" / "data")["household_size"]
    assert sizes.max() == 1e20 and sizes.min() >= 1


def test_text_the_output_encoding_cannot_write_is_named_not_quoted(workdir: Path) -> None:
    plant(workdir, {4: "A11\U0001f600PLANT"}, column="occupation")
    recipe = demo_recipe(
        workdir, "  - shuffle_records: {}\n", input_path="data/planted.csv", fmt="csv"
    )
    text = recipe.read_text().replace("format: csv}", "format: csv, encoding: cp932}")
    recipe.write_text(text)
    result = invoke("run", str(recipe), "-q")
    assert result.exit_code == 3, result.output
    assert "column 'occupation': 1 value(s) of data file part-00000.csv cannot be written" in (
        result.output
    )
    assert "PLANT" not in result.output and "\U0001f600" not in result.output
    assert not (workdir / "out" / "run").exists()


@pytest.mark.slow
def test_many_small_input_files_are_read_back_as_one_partition_with_the_same_output(
    workdir: Path, census_frame: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipeline.engine.checkpoint import Checkpoint

    folder = workdir / "data" / "parts"
    folder.mkdir()
    for i in range(20):
        part = census_frame.iloc[i * 100 : (i + 1) * 100]
        part.to_parquet(folder / f"part-{i:02d}.parquet", index=False)
    seen: list[int] = []
    real = Checkpoint.frame

    def spy(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202 - the real method's arguments
        frame = real(*args, **kwargs)
        seen.append(frame.npartitions)
        return frame

    monkeypatch.setattr(Checkpoint, "frame", spy)
    steps = STEPS + "  - local_suppression: {k: 3}\n  - shuffle_records: {}\n"
    recipe = demo_recipe(workdir, steps, input_path="data/parts")
    assert invoke("run", str(recipe), "-q", "--output", "out/one").exit_code == 0
    result = invoke("run", str(recipe), "-q", "--output", "out/many", "--partitions", "20")
    assert result.exit_code == 0, result.output
    cores = min(20, os.cpu_count() or 1)  # 2,000 records in 20 files: a partition per core
    assert seen == [cores, 20]  # unless told otherwise
    assert data_digests(workdir / "out" / "one") == data_digests(workdir / "out" / "many")
