"""Risk of a CSV or Parquet file read with pyarrow (the ``anonymize risk`` path)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.errors import InputDataError
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
