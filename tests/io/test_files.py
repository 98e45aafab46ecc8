"""Input files by name: Parquet folders checked, CSV headers, and where a CSV goes wrong."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pandas as pd
import pytest

from pipeline.core.errors import InputDataError
from pipeline.io import csvtext, files

SECRET = "PLANTEDQX7"


def _frame(n: int = 4) -> pd.DataFrame:
    return pd.DataFrame({"a": [str(i) for i in range(n)], "b": [f"{SECRET}{i}" for i in range(n)]})


def test_parquet_folder_skips_hidden_entries_and_lists_in_order(tmp_path: Path) -> None:
    _frame().to_parquet(tmp_path / "b.parquet")
    _frame().to_parquet(tmp_path / "a.parquet")
    (tmp_path / "_SUCCESS").write_text("")
    (tmp_path / ".staging").mkdir()
    _frame().to_parquet(tmp_path / ".staging" / "x.parquet")  # a run's own staging
    assert [p.name for p in files.parquet_files(tmp_path)] == ["a.parquet", "b.parquet"]


def test_parquet_folder_with_other_files_is_refused(tmp_path: Path) -> None:
    _frame().to_parquet(tmp_path / "a.parquet")
    (tmp_path / "notes.csv").write_text("x")
    with pytest.raises(InputDataError, match=r"not Parquet \(notes.csv\)"):
        files.parquet_files(tmp_path)


def test_empty_and_mismatched_parquet_files_are_named(tmp_path: Path) -> None:
    _frame().to_parquet(tmp_path / "a.parquet")
    (tmp_path / "b.parquet").write_bytes(b"")
    _frame().drop(columns=["b"]).to_parquet(tmp_path / "c.parquet")
    (tmp_path / "d.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(InputDataError) as info:
        files.parquet_files(tmp_path)
    text = info.value.render()
    assert "b.parquet is empty (0 bytes)" in text
    assert "c.parquet has other columns or types than a.parquet (b)" in text
    assert "d.parquet is not a readable Parquet file" in text
    assert SECRET not in text


def test_empty_folder(tmp_path: Path) -> None:
    with pytest.raises(InputDataError, match="holds no .parquet files"):
        files.parquet_files(tmp_path)


def test_csv_header_strips_a_byte_order_mark(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    _frame().to_csv(path, index=False, encoding="utf-8-sig")
    assert csvtext.csv_header(path, "utf-8", ",") == ["a", "b"]


def test_csv_header_names_the_line_of_bad_encoding(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_bytes(b"a,b\n" + "名前,x\n".encode("cp932"))
    with pytest.raises(InputDataError, match=r"not valid utf-8 text \(line 2\).*cp932"):
        csvtext.csv_header(path, "utf-8", ",")


def test_locate_extra_fields_names_the_line_never_the_row(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text(f"a,b\n1,x\n2,y\n3,{SECRET},{SECRET}2\n4,z\n")
    problem = csvtext.locate_csv_problem(path, "utf-8", ",")
    assert str(problem) == (
        f"input {path} line 4: 3 fields, the header has 2; a field holding the separator ',' "
        "must be quoted"
    )


def test_locate_counts_physical_lines_of_quoted_newlines(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text('a,b\n1,"two\nlines"\n2,y,extra\n')
    assert "line 4:" in str(csvtext.locate_csv_problem(path, "utf-8", ","))


def test_locate_a_record_too_large(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("a,b\n1,x\n2," + "y" * (csvtext.LARGE_RECORD + 10) + "\n3,z\n")
    problem = csvtext.locate_csv_problem(path, "utf-8", ",")
    assert "line 3: a record of 2.1 million characters, too large" in str(problem)


def test_header_hints() -> None:
    nfd = unicodedata.normalize("NFD", "データ")
    assert "another Unicode form (NFD" in csvtext.header_hints("データ", [nfd, "x"], ",")
    assert "';'-separated" in csvtext.header_hints("age", ["name;age;sex"], ",")
    assert "did you mean 'marital-status'" in csvtext.header_hints(
        "marital_status", ["age", "marital-status"], ","
    )
    assert csvtext.header_hints("zzz", ["age"], ",") == ""


def test_a_header_that_looks_like_a_record_is_never_quoted() -> None:
    """A CSV without a header row: its first record must not be printed as 'columns found'."""
    record = ["Taro Yamada", "Tokyo 1-2-3", "090-7391-8264", "taro@example.invalid", "23"]
    assert csvtext.header_looks_like_values(record)
    assert not csvtext.shows_header(record, ["name", "age"])
    listing = csvtext.columns_found(record, csvtext.shows_header(record, ["name", "age"]))
    assert "Taro" not in listing and "5 columns" in listing
    assert csvtext.header_hints("nam", record, ",", shown=False) == ""
    names = ["name", "age", "sex"]
    assert csvtext.shows_header(names, ["name", "agee"]) and not csvtext.header_looks_like_values(
        names
    )
    assert not csvtext.shows_header(["Taro", "Hanako", "x"], ["name", "age", "sex"])  # none match
