"""A release identified by its records: the same records in any container, the same digest."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.io.identity import canonical, csv_batches, records_sha256
from tests.conftest import DEMO_COLUMNS, invoke, write_recipe

TYPED = pa.table(
    {
        "age": pa.array([34, 7, None, 90], pa.int64()),
        "income": pa.array([350000.0, 1.5, 2.0e6, None]),
        "code": pa.array(["01100", "A", None, "13"]),
    }
)
NUMBERS = "numeric: [household_size, income]"
TEXT = """age,income,code
34,350000,01100
7,1.50,A
,2000000.0,
90,,13
"""


def test_canonical_values_compare_numbers_as_numbers() -> None:
    text = pa.array(["+5", "5.", ".5", "-.5", "1e3", "350000.0", "1e", "0x10", "abc", None, ""])
    assert canonical(text).to_pylist() == [
        "5", "5", "0.5", "-0.5", "1000", "350000", "1e", "0x10", "abc", None, "",
    ]  # fmt: skip
    assert canonical(pa.array([350000.0, 1.5, float("inf"), None])).to_pylist() == [
        "350000", "1.5", "inf", None,
    ]  # fmt: skip
    assert canonical(pa.array([1, None], pa.int32())).to_pylist() == ["1", None]


def test_a_csv_file_and_typed_records_of_the_same_values_have_one_digest(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text(TEXT, encoding="utf-8")
    columns = ["age", "income", "code"]
    from_csv = records_sha256(csv_batches(path, columns, "utf-8", ",", ["", "NA"]), columns)
    assert from_csv == records_sha256([TYPED], columns)
    changed = TYPED.set_column(0, "age", pa.array([34, 7, None, 91], pa.int64()))
    assert records_sha256([changed], columns) != from_csv
    assert records_sha256([TYPED.take([1, 0, 2, 3])], columns) != from_csv  # the order counts
    empty_text = TYPED.set_column(2, "code", pa.array(["01100", "A", "", "13"]))
    assert records_sha256([empty_text], columns) != from_csv  # missing is not empty text
    renamed = TYPED.rename_columns(["age", "income", "area"])
    assert records_sha256([renamed], ["age", "income", "area"]) != from_csv


@settings(max_examples=40, deadline=None)
@given(cuts=st.lists(st.integers(min_value=0, max_value=4), max_size=4))
def test_the_digest_does_not_depend_on_how_the_records_are_cut(cuts: list[int]) -> None:
    columns = ["age", "income", "code"]
    bounds = sorted({0, 4, *cuts})
    parts = [TYPED.slice(a, b - a) for a, b in zip(bounds, bounds[1:], strict=False)]
    assert records_sha256(parts, columns) == records_sha256([TYPED], columns)
    files = pa.concat_tables(parts).to_batches(max_chunksize=1)
    assert records_sha256(files, columns) == records_sha256([TYPED], columns)


def test_a_parquet_folder_and_its_csv_give_one_release(workdir: Path) -> None:
    import pandas as pd

    frame = pd.read_csv(workdir / "data" / "census.csv", dtype=str)
    typed = frame.astype({"age": "int64", "household_size": "int64", "income": "float64"})
    (workdir / "data" / "parts").mkdir()
    for i, part in enumerate((typed.iloc[:700], typed.iloc[700:])):
        pq.write_table(
            pa.Table.from_pandas(part, preserve_index=False),
            workdir / "data" / "parts" / f"p{i}.parquet",
        )
    steps = "  - subsample: {fraction: 0.5, by: household_id}\n  - shuffle_records: {}\n"
    for name, source in (("csv", "data/census.csv"), ("parquet", "data/parts")):
        body = (
            f"version: 1\nname: t\ninput: {{path: {source}, identity: records, {NUMBERS}}}\n"
            f"output: {{dir: out/{name}}}\nseed: 3\n{DEMO_COLUMNS}steps:\n{steps}"
        )
        result = invoke("run", str(write_recipe(workdir, body, f"{name}.yaml")), "-q")
        assert result.exit_code == 0, result.output
    csv, parquet = (pq.read_table(workdir / "out" / n / "data") for n in ("csv", "parquet"))
    assert 500 < csv.num_rows < 1500 and csv.column_names == parquet.column_names
    for name in csv.column_names:  # the same draws: tokens, records kept, order (age: text here)
        assert canonical(csv[name].combine_chunks()) == canonical(parquet[name].combine_chunks())


def test_a_broken_csv_read_for_its_records_is_named_without_its_values(workdir: Path) -> None:
    lines = (workdir / "data" / "census.csv").read_text().splitlines()
    lines[5] = lines[5] + ',"SECRET-Planted-Value'
    (workdir / "data" / "census.csv").write_text("\n".join(lines) + "\n")
    body = (
        "version: 1\nname: t\ninput: {path: data/census.csv, identity: records}\n"
        f"output: {{dir: out/t}}\nseed: 3\n{DEMO_COLUMNS}steps:\n  - shuffle_records: {{}}\n"
    )
    result = invoke("run", str(write_recipe(workdir, body)), "-q")
    assert result.exit_code == 3 and "census.csv" in result.output, result.output
    assert "SECRET" not in result.output and not (workdir / "out" / "t").exists()
