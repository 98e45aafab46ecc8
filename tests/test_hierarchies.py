"""Hierarchy files (ARX CSV) and the built-in jp_region ladder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipeline.hierarchies import (
    JP_LEVELS,
    LOOKUP_SPAN,
    HierarchyError,
    band_index,
    jp_region,
    load_arx,
    resolve,
    sniff_delimiter,
)


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_text(text, encoding=encoding, newline="")
    return path


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("B11;B;*", ";"),
        ("B11,B,*", ","),
        ("a;b,c", ";"),  # a tie goes to ';'
        ("single", ";"),
        ("x,y;z,w", ","),
    ],
)
def test_sniff_delimiter(line: str, expected: str) -> None:
    assert sniff_delimiter(line) == expected


@pytest.mark.parametrize("sep", [";", ","])
def test_load_arx_both_separators(tmp_path: Path, sep: str) -> None:
    path = write(tmp_path / "occ.csv", f"B11{sep}B{sep}*\nB12{sep}B{sep}*\nC25{sep}C{sep}*\n")
    h = load_arx(path)
    assert h.depth == 3
    assert h.mapping(1) == {"B11": "B", "B12": "B", "C25": "C"}
    assert h.values_at(2) == {"*"}
    assert h.mapping(0) == {"B11": "B11", "B12": "B12", "C25": "C25"}
    assert h.source == "occ.csv"


def test_load_arx_bom_blank_lines_crlf_and_spaces(tmp_path: Path) -> None:
    path = write(tmp_path / "h.csv", "\ufeffB11 ; B ; *\r\n\r\n  \r\nC25;C;*\r\n")
    h = load_arx(path)
    assert h.mapping(1) == {"B11": "B", "C25": "C"}


def test_load_arx_explicit_delimiter(tmp_path: Path) -> None:
    path = write(tmp_path / "h.csv", "x;y;z,G,*\nB11,B,*\n")
    assert load_arx(path, ",").mapping(1) == {"x;y;z": "G", "B11": "B"}


def test_load_arx_duplicate_identical_rows_are_fine(tmp_path: Path) -> None:
    path = write(tmp_path / "h.csv", "B11;B;*\nB11;B;*\n")
    assert load_arx(path).mapping(1) == {"B11": "B"}


def test_load_arx_missing_file(tmp_path: Path) -> None:
    with pytest.raises(HierarchyError, match="not found"):
        load_arx(tmp_path / "nope.csv")


@pytest.mark.parametrize("text", ["", "\n\n", "  \r\n \t\n"])
def test_load_arx_empty_file(tmp_path: Path, text: str) -> None:
    path = write(tmp_path / "empty.csv", text)
    with pytest.raises(HierarchyError, match="the hierarchy file is empty"):
        load_arx(path)


def test_load_arx_only_separators_is_empty(tmp_path: Path) -> None:
    path = write(tmp_path / "seps.csv", ";;\n ; ;\n")
    with pytest.raises(HierarchyError):
        load_arx(path).level_index(1)


def test_load_arx_ragged_row_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path / "ragged.csv", "B11;B;*\n\nB12;B;*\nC25;C\n")
    with pytest.raises(HierarchyError) as info:
        load_arx(path)
    message = str(info.value)
    assert f"{path}:4:" in message
    assert "expected 3 levels" in message and "found 2" in message
    assert "C25" not in message


def test_load_arx_single_level(tmp_path: Path) -> None:
    path = write(tmp_path / "one.csv", "B11\nB12\n")
    with pytest.raises(HierarchyError, match=r"one.csv:1: a hierarchy row needs at least two"):
        load_arx(path)


def test_load_arx_conflicting_duplicate(tmp_path: Path) -> None:
    path = write(tmp_path / "dup.csv", "B11;B;*\nB11;C;*\n")
    with pytest.raises(HierarchyError, match=r"dup.csv:2: a value is listed twice"):
        load_arx(path)


def test_load_arx_reloads_changed_file(tmp_path: Path) -> None:
    import os

    path = write(tmp_path / "h.csv", "B11;B;*\n")
    assert load_arx(path).mapping(1) == {"B11": "B"}
    write(path, "B11;X;*\n")
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10_000_000))
    assert load_arx(path).mapping(1) == {"B11": "X"}


def test_level_index_errors(tmp_path: Path) -> None:
    h = load_arx(write(tmp_path / "h.csv", "B11;B;*\n"))
    assert h.level_index(2) == 2
    with pytest.raises(ValueError, match="between 0 and 2"):
        h.level_index(3)
    with pytest.raises(ValueError, match="between 0 and 2"):
        h.level_index(-1)
    with pytest.raises(ValueError, match="unknown level 'top'"):
        h.level_index("top")


def test_resolve_relative_and_absolute(tmp_path: Path) -> None:
    (tmp_path / "hier").mkdir()
    path = write(tmp_path / "hier" / "h.csv", "B11;B;*\n")
    assert resolve("hier/h.csv", tmp_path).mapping(1) == {"B11": "B"}
    assert resolve(str(path), Path("/nonexistent")).mapping(1) == {"B11": "B"}
    assert resolve("jp_region", tmp_path) is jp_region()


def test_jp_region_ladder() -> None:
    h = jp_region()
    assert h.level_names == JP_LEVELS
    assert h.rows["14101"] == ("14101", "14100", "14", "Kanto", "Kanto", "Japan")
    assert h.rows["13101"][1] == "13101"  # Tokyo special wards stay
    assert h.rows["47201"][3:5] == ("Kyushu", "Okinawa")
    assert h.rows["131016"] == h.rows["13101"]
    assert h.rows["13000"][2] == "13"
    assert h.mapping("prefecture")["01101"] == "01"
    assert h.values_at("region") == {
        "Hokkaido",
        "Tohoku",
        "Kanto",
        "Chubu",
        "Kinki",
        "Chugoku",
        "Shikoku",
        "Kyushu",
    }
    assert len(h.values_at("region9")) == 9
    assert h.values_at("national") == {"Japan"}
    assert len(h.values_at("prefecture")) == 47


def test_load_arx_folder_is_a_named_error(tmp_path: Path) -> None:
    with pytest.raises(HierarchyError, match="is a folder"):
        load_arx(tmp_path)


def test_load_arx_not_utf8_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "h.csv"
    path.write_bytes(b"a;x\nb;y\n" + "東京;関東\n".encode("cp932"))
    with pytest.raises(HierarchyError, match=r"h.csv:3: the hierarchy file is not UTF-8"):
        load_arx(path)


EDGES = np.array([0.0, 5.0, 17.5, 80.0, 2.0**62 + 1024])


BANDED = [
    [3, 17, None, -4, 80, 81, 0, 5, None],  # around the edges, below the first, missing
    [2**62, 2**62 + 600, None, 2**62 + 1],  # 2**62 + 600 is below the last edge, its float not
    [7] * 5,  # one value
    [None, None],  # nothing present: the float path
    [],
    [-(2**63), 2**63 - 1],  # a span wider than the table: the float path
]
TYPES = {"Int64": np.int64, "Int8": np.int8, "int64[pyarrow]": np.int64}


@pytest.mark.parametrize(
    ("values", "dtype"),
    [
        (values, dtype)
        for values in BANDED
        for dtype, kind in TYPES.items()
        if all(np.iinfo(kind).min <= v <= np.iinfo(kind).max for v in values if v is not None)
    ],
)
def test_whole_numbers_are_banded_as_their_floats_would_be(values: list, dtype: str) -> None:
    """The lookup table gives every record the band a binary search of its float gives."""
    column = pd.Series(pd.array(values, dtype=dtype))
    idx, present = band_index(column, EDGES)
    as_float = column.to_numpy(dtype="float64", na_value=np.nan)
    assert idx.tolist() == (np.searchsorted(EDGES, as_float, side="right") - 1).tolist()
    assert present.tolist() == (~np.isnan(as_float)).tolist()


@pytest.mark.parametrize(
    ("span", "searched"), [(LOOKUP_SPAN, LOOKUP_SPAN), (LOOKUP_SPAN + 1, None)]
)
def test_the_lookup_table_serves_spans_up_to_its_size(
    span: int, searched: int | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A span of the table's size is banded through it; one value more, by the floats."""
    looked: list[int] = []
    real = np.searchsorted

    def spy(a: np.ndarray, v: np.ndarray, side: str = "left") -> np.ndarray:
        if a is EDGES:
            looked.append(len(v))
        return real(a, v, side)

    monkeypatch.setattr(np, "searchsorted", spy)
    whole = np.tile(np.arange(span, dtype=np.int64) - 7, 2)  # each value twice: 2 x span records
    idx, present = band_index(pd.Series(whole), EDGES)
    assert looked == [searched or whole.size]  # the span's values, or every record's float
    assert idx.tolist() == (real(EDGES, whole.astype(np.float64), "right") - 1).tolist()
    assert present.all()
