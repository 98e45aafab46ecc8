"""Generalization hierarchies: ARX-style CSV files and the built-in Japanese region ladder.

An ARX hierarchy file has one row per original value and one column per level, level 0 being
the value itself: ``B11;B;*``. Fields are separated by ``;`` or ``,`` (detected from the first
row unless given). The built-in ``jp_region`` ladder works on JIS X 0402 local government codes.
"""

from __future__ import annotations

import csv
import functools
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from pipeline.core.jpcodes import jis_check_digit
from pipeline.io.csvtext import bad_byte_line

if TYPE_CHECKING:
    import pandas as pd

JP_REGION = "jp_region"
JP_LEVELS = ("code", "municipality", "prefecture", "region", "region9", "national")
REGION_EN = {
    "北海道": "Hokkaido",
    "東北": "Tohoku",
    "関東": "Kanto",
    "中部": "Chubu",
    "近畿": "Kinki",
    "中国": "Chugoku",
    "四国": "Shikoku",
    "九州": "Kyushu",
    "沖縄": "Okinawa",
}


class HierarchyError(ValueError):
    """A hierarchy file cannot be used; the message names the file and line."""


@dataclass(frozen=True)
class Hierarchy:
    """Value -> generalized value, for each level (level 0 is the value itself)."""

    source: str
    rows: dict[str, tuple[str, ...]]
    level_names: tuple[str, ...] = ()

    @property
    def depth(self) -> int:
        """Number of levels including level 0."""
        return len(next(iter(self.rows.values())))

    def level_index(self, level: int | str) -> int:
        """Translate a level number or name into a column index, or raise ValueError."""
        if isinstance(level, str):
            if level not in self.level_names:
                names = ", ".join(self.level_names) or f"numbers 0..{self.depth - 1}"
                raise ValueError(f"unknown level {level!r} of {self.source} (levels: {names})")
            return self.level_names.index(level)
        if not 0 <= level < self.depth:
            raise ValueError(f"level must be between 0 and {self.depth - 1} for {self.source}")
        return level

    def mapping(self, level: int | str) -> dict[str, str]:
        """Return the value -> generalized value map at ``level``."""
        i = self.level_index(level)
        return {value: row[i] for value, row in self.rows.items()}

    def values_at(self, level: int | str) -> set[str]:
        """All values of one level (what a recoded column may hold)."""
        i = self.level_index(level)
        return {row[i] for row in self.rows.values()}

    def order(self, level: int | str) -> list[str]:
        """The values of one level in the hierarchy's order (first appearance, row by row).

        For a file this is the order its author wrote; the built-in ``jp_region`` rows are in
        code order, so its levels come in code order (regions by their first prefecture).
        """
        i = self.level_index(level)
        return list(dict.fromkeys(row[i] for row in self.rows.values()))


def band_names(edges: np.ndarray) -> list[str]:
    """The label of each band of increasing lower ``edges`` (the last band is open).

    ``15-19`` and ``90+`` for integral edges, ``[1.5,2.5)`` otherwise.
    """
    integral = all(float(e).is_integer() for e in edges)
    fmt = (lambda v: str(int(v))) if integral else (lambda v: f"{v:g}")
    out = []
    for i, lo in enumerate(edges):
        if i + 1 == len(edges):
            out.append(f"{fmt(lo)}+")
        elif integral:
            out.append(f"{fmt(lo)}-{int(edges[i + 1]) - 1}")
        else:
            out.append(f"[{fmt(lo)},{fmt(edges[i + 1])})")
    return out


def band_labels(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """The band label (:func:`band_names`) of each number; None below the first edge or NaN."""
    names = np.array([*band_names(edges), None], dtype=object)
    idx = np.searchsorted(edges, values, side="right") - 1
    idx = np.where((idx < 0) | np.isnan(values), len(edges), idx)
    return names[idx]


LOOKUP_SPAN = 1 << 16  # whole numbers spanning at most this many values: banded by a table


def band_index(values: pd.Series, edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each value's band (the last edge <= it as a float; -1 below the first) and presence.

    Whole numbers in a span of at most ``LOOKUP_SPAN`` values (ages, sizes, years) are looked
    up in a table of their span's bands, one binary search per possible value instead of per
    record (the bands of 10M ages: 0.2 s -> 0.03 s); the bands are the same, each number
    compared as the float it converts to. A missing value gets the band a NaN would.
    """
    import pandas as pd

    if pd.api.types.is_signed_integer_dtype(values.dtype) and values.notna().any():
        low, high = int(values.min()), int(values.max())
        if high - low < LOOKUP_SPAN:
            missing = values.isna().to_numpy(dtype=bool)
            span = np.arange(low, high + 1, dtype=np.int64).astype(np.float64)
            table = np.searchsorted(edges, span, side="right") - 1
            idx = table[values.to_numpy(dtype=np.int64, na_value=low) - low]
            idx[missing] = edges.size - 1  # where NaN sorts: last
            return idx, ~missing
    if pd.api.types.is_numeric_dtype(values.dtype):
        arr = values.to_numpy(dtype="float64", na_value=np.nan)
    else:
        arr = pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    return np.searchsorted(edges, arr, side="right") - 1, ~np.isnan(arr)


def sniff_delimiter(first_line: str) -> str:
    """Pick ``;`` or ``,``, whichever occurs more often in the first row."""
    return ";" if first_line.count(";") >= first_line.count(",") else ","


@functools.lru_cache(maxsize=64)
def _load_arx_cached(path: str, mtime_ns: int, delimiter: str | None) -> Hierarchy:
    raw = Path(path).read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise HierarchyError(
            f"{path}:{bad_byte_line(raw, exc)}: the hierarchy file is not UTF-8 text "
            "(save it as UTF-8)"
        ) from None
    lines = text.splitlines()
    if not any(line.strip() for line in lines):
        raise HierarchyError(f"{path}: the hierarchy file is empty")
    delim = delimiter or sniff_delimiter(next(line for line in lines if line.strip()))
    rows: dict[str, tuple[str, ...]] = {}
    width = 0
    for lineno, fields in enumerate(csv.reader(lines, delimiter=delim), start=1):
        if not fields or all(not f.strip() for f in fields):
            continue
        fields = [f.strip() for f in fields]
        width = width or len(fields)
        if len(fields) != width:
            raise HierarchyError(
                f"{path}:{lineno}: expected {width} levels like the first row, found {len(fields)}"
            )
        if width < 2:
            raise HierarchyError(f"{path}:{lineno}: a hierarchy row needs at least two levels")
        if fields[0] in rows and rows[fields[0]] != tuple(fields):
            raise HierarchyError(f"{path}:{lineno}: a value is listed twice with different levels")
        rows[fields[0]] = tuple(fields)
    if not rows:
        raise HierarchyError(f"{path}: the hierarchy file has no rows")
    return Hierarchy(source=Path(path).name, rows=rows)


def load_arx(path: Path, delimiter: str | None = None) -> Hierarchy:
    """Load an ARX-style hierarchy CSV (cached while the file is unchanged).

    Raises:
        HierarchyError: the file is missing, a folder, unreadable, not UTF-8, empty or
            ragged (with file and line).

    """
    try:
        mtime = path.stat().st_mtime_ns
    except OSError:
        raise HierarchyError(f"hierarchy file {path} not found") from None
    if not path.is_file():
        raise HierarchyError(f"hierarchy {path} is a folder, expected a CSV file")
    try:
        return _load_arx_cached(str(path), mtime, delimiter)
    except OSError as exc:
        reason = type(exc).__name__
        raise HierarchyError(f"hierarchy file {path} cannot be read ({reason})") from None


def _data_rows(name: str) -> list[dict[str, str]]:
    with resources.files("pipeline.data").joinpath(name).open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@functools.lru_cache(maxsize=1)
def jp_region() -> Hierarchy:
    """The JIS X 0402 ladder: code -> municipality -> prefecture -> region -> region9 -> national.

    * code: the 5-digit code itself (a 6-digit code with a valid check digit is accepted too);
    * municipality: wards of designated cities become their city (Tokyo's special wards are
      municipalities and stay);
    * prefecture: the two-digit prefecture code (``01``..``47``);
    * region: the eight blocks (Hokkaido, Tohoku, Kanto, Chubu, Kinki, Chugoku, Shikoku, Kyushu);
    * region9: the same with Okinawa as its own block; national: ``Japan``.

    Prefecture-level codes ``PP000`` are accepted and map to their prefecture.
    """
    prefs = {r["pref_code"]: r for r in _data_rows("jp_prefectures.csv")}
    cities = _data_rows("jp_municipalities.csv")
    parents = {
        (r["prefecture_id"], r["city_ja"]): r["id"] for r in cities if not r["special_district_ja"]
    }
    rows: dict[str, tuple[str, ...]] = {}

    def add(code: str, municipality: str) -> None:
        pref = prefs[code[:2]]
        row = (
            code,
            municipality,
            code[:2],
            REGION_EN[pref["region8"]],
            REGION_EN[pref["region9"]],
            "Japan",
        )
        rows[code] = row
        rows[code + str(jis_check_digit(code))] = row

    for r in cities:
        city = r["id"]
        if r["special_district_ja"]:
            city = parents.get((r["prefecture_id"], r["city_ja"]), r["id"])
        add(r["id"], city)
    for code in prefs:
        add(code + "000", code + "000")
    return Hierarchy(source=JP_REGION, rows=dict(sorted(rows.items())), level_names=JP_LEVELS)


@functools.lru_cache(maxsize=1)
def jp_names() -> dict[str, dict[str, str]]:
    """Japanese names of the built-in ladder's codes, per level that holds codes.

    ``prefecture``: ``13`` -> ``東京都``; ``municipality``: ``13101`` -> ``東京都千代田区``
    (a designated city's code -> its city); ``code``: the same with wards (``01101`` ->
    ``北海道札幌市中央区``), also under the 6-digit form with its check digit. ``PP000`` is the
    prefecture's name.
    """
    prefs = {r["pref_code"]: r["name_ja"] for r in _data_rows("jp_prefectures.csv")}
    code = {pref + "000": name for pref, name in prefs.items()}
    for r in _data_rows("jp_municipalities.csv"):
        code[r["id"]] = prefs[r["prefecture_id"]] + r["city_ja"] + r["special_district_ja"]
    municipality = {c: code[c] for c in jp_region().values_at("municipality")}
    code |= {c + str(jis_check_digit(c)): name for c, name in code.items()}
    return {"prefecture": prefs, "municipality": municipality, "code": code}


@functools.cache
def jp_labels(level: str) -> dict[str, tuple[str, str]]:
    """Japanese and English names of one level of the built-in ladder: value -> (ja, en).

    ``prefecture``: ``13`` -> (``東京都``, ``Tokyo``); ``region``: ``Kanto`` -> (``関東``,
    ``Kanto``); ``municipality`` and ``code``: ``13101`` -> (``東京都千代田区``, ``Chiyoda,
    Tokyo``); ``national``: ``Japan`` -> (``日本``, ``Japan``).
    """
    prefs = {r["pref_code"]: r for r in _data_rows("jp_prefectures.csv")}
    if level in ("region", "region9"):
        return {en: (ja, en) for ja, en in REGION_EN.items()}
    if level == "national":
        return {"Japan": ("日本", "Japan")}
    if level == "prefecture":
        return {code: (r["name_ja"], r["name_en"]) for code, r in prefs.items()}
    english = {code + "000": r["name_en"] for code, r in prefs.items()}
    for r in _data_rows("jp_municipalities.csv"):
        pref, city = prefs[r["prefecture_id"]]["name_en"], r["city_en"]
        english[r["id"]] = city if city.endswith(f", {pref}") else f"{city}, {pref}"
    english |= {c + str(jis_check_digit(c)): name for c, name in english.items()}
    names = jp_names().get(level, {})
    return {code: (ja, english[code]) for code, ja in names.items()}


def resolve(hierarchy: str, base_dir: Path, delimiter: str | None = None) -> Hierarchy:
    """Return the built-in ladder for ``jp_region`` or load a file relative to ``base_dir``."""
    if hierarchy == JP_REGION:
        return jp_region()
    path = Path(hierarchy)
    return load_arx(path if path.is_absolute() else base_dir / path, delimiter)
