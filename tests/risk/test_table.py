"""Risk of a CSV or Parquet file read with pyarrow (the ``anonymize risk`` path)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.core.errors import InputDataError
from pipeline.risk.table import read_columns, risk_of_table

CSV = """\
pref,sex,age,w,hh
01,1,30,10,h1
1,1,31,20,h1
001,2,32,30,h2
01,1,33,40,h2
01,,34,50,h3
13,2,35,60,h3
13,NA,36,70,h4
1,1,37,80,h4
"""
KEYS = ["pref", "sex"]


@pytest.fixture
def csv_path(tmp_path: Path) -> Path:
    path = tmp_path / "small.csv"
    path.write_text(CSV, encoding="utf-8")
    return path


def test_codes_keep_leading_zeros(csv_path: Path) -> None:
    table = read_columns(csv_path, [*KEYS, "w"], KEYS)
    assert table.column_names == [*KEYS, "w"]
    pref = table.column("pref").cast(pa.string()).to_pylist()
    assert pref == ["01", "1", "001", "01", "01", "13", "13", "1"]
    # read as numbers, 01, 1 and 001 would be one category
    result, summary = risk_of_table(table, KEYS, k=2)
    assert summary["key_variables"]["pref"] == {"categories": 4, "missing": 0}
    # (01,1) x2 + (01,NA) matches both; (1,1) x2; (001,2) alone; (13,2) + (13,NA)
    assert result.fk.tolist() == [3, 2, 1, 3, 3, 2, 2, 2]
    assert summary["sample_uniques"] == 1
    assert summary["k_violations"] == 1


def test_per_key_counts(csv_path: Path) -> None:
    table = read_columns(csv_path, [*KEYS, "w", "hh"], [*KEYS, "hh"])
    _, summary = risk_of_table(table, KEYS, k=3, weight="w", household="hh")
    assert summary["key_variables"] == {
        "pref": {"categories": 4, "missing": 0},
        "sex": {"categories": 2, "missing": 2},  # "" and "NA" are missing
    }
    assert summary["records"] == 8
    assert summary["weighted"] is True
    assert "household_expected_reidentifications" in summary


def test_parquet_folder_gives_same_summary(csv_path: Path, tmp_path: Path) -> None:
    columns = [*KEYS, "w", "hh"]
    text = [*KEYS, "hh"]
    from_csv = read_columns(csv_path, columns, text)
    _, expected = risk_of_table(from_csv, KEYS, k=3, weight="w", household="hh")

    folder = tmp_path / "parquet"
    folder.mkdir()
    plain = pa.table(
        {
            c: from_csv.column(c).cast(pa.string()) if c in text else from_csv.column(c)
            for c in columns
        }
    )
    pq.write_table(plain.slice(0, 3), folder / "part-0.parquet")
    pq.write_table(plain.slice(3), folder / "part-1.parquet")
    (folder / "_SUCCESS.parquet").write_bytes(b"")  # ignored: starts with "_"

    from_parquet = read_columns(folder, columns, text)
    assert from_parquet.num_rows == 8
    _, summary = risk_of_table(from_parquet, KEYS, k=3, weight="w", household="hh")
    assert summary.keys() == expected.keys()
    for name, value in expected.items():
        if isinstance(value, float):
            assert summary[name] == pytest.approx(value, rel=1e-12), name
        else:
            assert summary[name] == value, name


def test_missing_column_is_an_input_error(csv_path: Path) -> None:
    with pytest.raises(InputDataError, match="nosuch") as info:
        read_columns(csv_path, ["pref", "nosuch"], ["pref"])
    assert info.value.exit_code == 3


# ---- issue 24: data the API takes in memory, and Parquet columns that are not flat ----------

SECRET = "SECRET-VALUE-42"


def _frame(**columns: object):  # noqa: ANN202 - a pandas DataFrame
    import pandas as pd

    base: dict[str, object] = {"age": [30, 31, 32], "sex": ["1", "2", "1"], "w": [1.0, 2.0, 3.0]}
    return pd.DataFrame({**base, **columns})


def _refused(data: object, columns: list[str], text: list[str], *expected: str) -> str:
    from pipeline.risk.table import table_of

    with pytest.raises(InputDataError) as info:
        table_of(data, columns, text, "utf-8", ",")
    message = info.value.render()
    assert info.value.exit_code == 3 and SECRET not in message
    for part in expected:
        assert part in message, message
    return message


def test_duplicate_column_names_in_a_frame_are_named() -> None:
    import pandas as pd

    frame = pd.DataFrame([[1, 2, 3]], columns=["age", "age", "w"])
    _refused(frame, ["age", "w"], ["age"], "duplicate column names", "'age'")
    table = pa.Table.from_arrays([pa.array([1]), pa.array([2])], names=["sex", "sex"])
    _refused(table, ["sex"], ["sex"], "duplicate column names", "'sex'")


def test_a_column_of_mixed_types_is_named_with_its_types() -> None:
    import pandas as pd

    mixed = pd.Series([1, SECRET, 3], dtype=object)
    _refused(_frame(age=mixed), ["age", "sex"], ["age", "sex"], "'age'", "int, str")
    _refused(_frame(w=mixed), ["age", "w"], ["age"], "'w'", "several types")


@pytest.mark.parametrize(
    ("values", "what"),
    [
        ([SECRET.encode(), b"\xff", b"b"], "bytes"),
        ([[SECRET], ["b"], ["c"]], "nested values"),
        ([{"a": SECRET}, {"a": "b"}, {"a": "c"}], "nested values"),
        ([[SECRET], "b", "c"], "nested values"),
    ],
    ids=["bytes", "lists", "dicts", "list-and-text"],
)
def test_bytes_and_nested_values_in_a_key_variable_are_refused(values: list, what: str) -> None:
    _refused(_frame(sex=values), ["age", "sex"], ["age", "sex"], "'sex'", what)


def test_non_text_column_names_are_read_as_text() -> None:
    import pandas as pd

    from pipeline.risk.table import table_of

    frame = pd.DataFrame({0: ["1", "2"], 1: [3, 4]})
    table = table_of(frame, ["0", "1"], ["0", "1"], "utf-8", ",")
    assert table.column_names == ["0", "1"] and table.column("1").to_pylist() == ["3", "4"]
    clash = pd.DataFrame({1: ["a"], "1": ["b"]})  # the same name once read as text
    _refused(clash, ["1"], ["1"], "duplicate column names")


@pytest.mark.parametrize(
    ("array", "what"),
    [
        (pa.array([SECRET.encode(), b"b", b"\xff"], pa.binary()), "bytes"),
        (pa.array([[SECRET], ["b"], ["c"]]), "nested values"),
    ],
    ids=["binary", "list"],
)
def test_a_parquet_key_column_of_bytes_or_lists_is_refused(
    tmp_path: Path, array: pa.Array, what: str
) -> None:
    path = tmp_path / "x.parquet"
    pq.write_table(pa.table({"sex": array, "w": [1.0, 2.0, 3.0]}), path)
    _refused(path, ["sex", "w"], ["sex"], "'sex'", what)
