"""The ``recode`` step: coarsen a column with a hierarchy, numeric bands or a category map."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import Field, ValidationInfo, field_validator, model_validator

from pipeline.core.columns import ColumnsSpec
from pipeline.core.errors import Problem
from pipeline.core.requirements import OneOf, Requirement
from pipeline.hierarchies import (
    JP_REGION,
    HierarchyError,
    band_index,
    band_names,
    jp_labels,
    resolve,
)
from pipeline.steps.registry import (
    Check,
    Declaration,
    Effect,
    StepContext,
    StepParams,
    Wording,
    step,
)

if TYPE_CHECKING:
    # imported where used: checking a recipe (``anonymize validate``) loads none of them
    import dask.dataframe as dd
    import pandas as pd
    import pyarrow as pa


@functools.cache
def jp_words(level: str | None = None) -> dict[str, Wording]:
    """The built-in region ladder's names, Japanese and English, of one level or of all.

    All levels' values are distinct texts (codes, ``Kanto``, ``Japan``), so one mapping serves
    a column generalized to whichever level the search chose; regions come in code order.
    """
    names = [level] if level is not None else ["region", "region9", "national", "prefecture"]
    if level is None:
        names += ["municipality", "code"]
    return {v: Wording(ja, en) for name in names for v, (ja, en) in jp_labels(name).items()}


class RecodeParams(StepParams):
    """Parameters of ``recode``: exactly one of ``hierarchy``, ``bands`` or ``map``."""

    logged = ("unknown_values",)

    column_fields = ("column",)
    wording = Wording("区分の統合（リコーディング）", "coarsened into wider categories")
    examples = (
        {"column": "municipality", "hierarchy": "jp_region", "level": "prefecture"},
        {"column": "age", "bands": [0, 15, 65, 75], "labels": "range"},
        {"column": "household_size", "bands": [1, 2, 5]},
        {"column": "sex", "map": {"1": "M", "2": "F"}},
    )

    column: str
    delimiter: Literal[";", ","] | None = Field(None, description="Hierarchy file separator.")
    hierarchy: str | None = Field(
        None, description="'jp_region' or an ARX-style CSV file (relative to the recipe)."
    )
    level: int | str | None = Field(None, description="Target level of the hierarchy.")
    bands: list[float] | None = Field(
        None, min_length=1, description="Increasing lower edges; the last band is open-ended."
    )
    labels: Literal["lower", "range"] | list[str] = Field(
        "lower",
        description="Band labels: 'lower' keeps the lower edge as a number, 'range' writes "
        "'15-19' / '90+', or one label per band.",
    )
    map: dict[str, str] | None = Field(
        None, min_length=1, description="Category map: old value -> new value."
    )
    on_unknown: Literal["error", "missing", "value"] = Field(
        "error",
        description="Values outside the hierarchy/bands/map: fail, set missing, or set "
        "unknown_value.",
    )
    unknown_value: str | int | float | None = None

    def categories(self, base_dir: Path) -> dict[str, dict[str, Wording]]:
        """Bands as ranges (each band's value: the range it holds); jp_region levels by name."""
        if self.hierarchy == JP_REGION:
            hierarchy = resolve(JP_REGION, base_dir)
            named = dict(jp_words(hierarchy.level_names[hierarchy.level_index(self.level)]))
            if self.on_unknown == "value":
                named[_plain(self.unknown_value)] = Wording("区分外", "outside the classification")
            return {self.column: named}
        if self.bands is None or self.labels == "range":
            return {}
        edges = self.bands
        whole = all(float(e).is_integer() for e in edges)
        out: dict[str, Wording] = {}
        for i, lo in enumerate(edges):
            value = _edge(lo) if self.labels == "lower" else self.labels[i]
            if i + 1 == len(edges):
                out[value] = Wording(f"{_edge(lo)}以上", f"{_edge(lo)} and over")
            elif whole:
                top = _edge(edges[i + 1] - 1)
                one = top == _edge(lo)  # a band of one whole number is that number
                out[value] = Wording(
                    top if one else f"{_edge(lo)}～{top}", top if one else f"{_edge(lo)}-{top}"
                )
            else:
                nxt = _edge(edges[i + 1])
                out[value] = Wording(f"{_edge(lo)}以上{nxt}未満", f"{_edge(lo)} to under {nxt}")
        return {self.column: out}

    def declare(self, columns: ColumnsSpec) -> Declaration:
        """Reads the column (as numbers for bands) and replaces its values."""
        numeric = [self.column] if self.bands is not None else []
        one = {self.column}
        return Declaration(reads=one, numeric=numeric, writes=one, replaces=one)

    def requirements(self, facts: dict[str, Any], base_dir: Path) -> list[Requirement]:
        """The published column holds only values of the target level, bands or map."""
        if self.bands is not None:
            edges = np.asarray(self.bands, dtype="float64")
            labels = _band_labels(self, edges)
            allowed = [_plain(v) for v in labels]
            what = "the bands"
        elif self.map is not None:
            allowed, what = sorted(set(self.map.values())), "the map"
        else:
            hierarchy = resolve(self.hierarchy, base_dir, self.delimiter)
            allowed = sorted(set(hierarchy.mapping(self.level).values()))
            what = f"{self.hierarchy} level {self.level}"
        if self.on_unknown == "value":
            allowed.append(_plain(self.unknown_value))
        return [OneOf(self.column, tuple(dict.fromkeys(allowed)), what)]

    def generalizes(self, facts: dict[str, Any], base_dir: Path) -> dict[str, tuple[int, int]]:
        """A hierarchy's level and height; bands and maps are level 1 of 2 (value, group, *)."""
        if self.hierarchy is None:
            return {self.column: (1, 2)}
        hierarchy = resolve(self.hierarchy, base_dir, self.delimiter)
        return {self.column: (hierarchy.level_index(self.level), hierarchy.depth - 1)}

    @field_validator("hierarchy")
    @classmethod
    def _hierarchy_exists(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None:
            base = Path((info.context or {}).get("base_dir", "."))
            try:
                resolve(value, base, info.data.get("delimiter"))
            except HierarchyError as exc:
                raise ValueError(str(exc)) from None
        return value

    @field_validator("level")
    @classmethod
    def _level_exists(cls, value: int | str | None, info: ValidationInfo) -> int | str | None:
        hierarchy = info.data.get("hierarchy")
        if value is not None and hierarchy is not None:
            base = Path((info.context or {}).get("base_dir", "."))
            resolve(hierarchy, base, info.data.get("delimiter")).level_index(value)
        return value

    @field_validator("map", mode="before")
    @classmethod
    def _map_as_text(cls, value: object) -> object:
        """YAML reads ``{1: M}`` with an integer key; codes are compared as text."""
        if isinstance(value, dict):
            return {str(k): v if v is None else str(v) for k, v in value.items()}
        return value

    @field_validator("bands")
    @classmethod
    def _increasing(cls, value: list[float] | None) -> list[float] | None:
        if value is not None and any(b <= a for a, b in zip(value, value[1:], strict=False)):
            raise ValueError("band edges must be strictly increasing")
        return value

    @model_validator(mode="after")
    def _one_method(self) -> RecodeParams:
        chosen = [k for k in ("hierarchy", "bands", "map") if getattr(self, k) is not None]
        if len(chosen) != 1:
            raise ValueError("give exactly one of hierarchy, bands or map")
        if self.hierarchy is not None and self.level is None:
            raise ValueError("a hierarchy needs level")
        if self.hierarchy is None and self.level is not None:
            raise ValueError("level is only used with hierarchy")
        if isinstance(self.labels, list) and len(self.labels) != len(self.bands or []):
            raise ValueError("labels needs one label per band")
        if (self.on_unknown == "value") != (self.unknown_value is not None):
            raise ValueError("unknown_value is needed exactly when on_unknown is 'value'")
        numeric_out = self.bands is not None and self.labels == "lower"
        if numeric_out and isinstance(self.unknown_value, str):
            raise ValueError("with labels: lower the bands are numbers, so unknown_value must be")
        return self


@step("recode", params=RecodeParams)
def recode(df: dd.DataFrame, params: RecodeParams, ctx: StepContext) -> Effect:
    """Coarsen a column: hierarchy level, numeric bands or a category map.

    * ``hierarchy: jp_region, level: prefecture`` — JIS X 0402 municipality codes (5 digits, or
      6 with a valid check digit) to ``municipality`` (wards to their city), ``prefecture``
      (``13``), ``region`` (8 blocks), ``region9`` or ``national``.
    * ``hierarchy: hierarchies/occupation.csv, level: 1`` — an ARX-style file (one row per value,
      one column per level, ``;`` or ``,``), resolved relative to the recipe file.
    * ``bands: [0, 15, 20, ...]`` — numeric lower edges; a value goes to the band whose lower edge
      is the largest edge <= value, the last band is open (``90`` means "90 and over").
      ``labels: lower`` (default) keeps the lower edge as a number, ``range`` writes ``15-19``.
    * ``map: {"1": A, "2": A}`` — an explicit category map.

    Missing values stay missing. A value the hierarchy, bands or map does not cover is an error
    that names the column and the number of rows (never the values), unless ``on_unknown`` says
    ``missing`` or ``value`` (with ``unknown_value``). The count is taken over the whole file
    in the run's next pass over the data (no pass of its own); an error then stops the run
    before anything is published, with every failing recode listed.
    """
    import pandas as pd
    import pyarrow as pa

    column = params.column
    if params.bands is not None:
        edges = np.asarray(params.bands, dtype="float64")
        labels = _band_labels(params, edges)
        meta_dtype = "Float64" if not isinstance(labels, list) else "string"
        if not isinstance(labels, list) and all(float(e).is_integer() for e in edges):
            meta_dtype = "Int64"
        func, args = _apply_bands, (edges, labels, meta_dtype)
    else:
        mapping = params.map or resolve(params.hierarchy, ctx.base_dir, params.delimiter).mapping(
            params.level
        )
        lookup = (
            pa.array(list(mapping), pa.string()),
            pa.array(list(mapping.values()), pa.string()),
        )
        meta_dtype, func, args = "string", apply_map, lookup
    what, strict = _what(params), params.on_unknown == "error"

    def problem(n_unknown: int) -> Problem | None:
        if not (n_unknown and strict):
            return None
        return Problem(
            f"column {column!r}: {n_unknown} row(s) hold values outside the "
            f"{what}; add them or set on_unknown: missing | value",
            location=ctx.location,
            code="recode_unknown_value",
        )

    fill: Any = pd.NA if params.on_unknown != "value" else params.unknown_value
    meta = pd.DataFrame({"value": pd.Series(dtype=meta_dtype), "unknown": pd.Series(dtype=bool)})
    both = df[column].map_partitions(_recode_partition, func, args, fill, meta_dtype, meta=meta)
    # the unknown values are counted in the engine's next pass over the data (no pass of its own)
    checked = Check(both["unknown"].sum(), "unknown_values", problem)
    return Effect(df.assign(**{column: both["value"]}), checks=(checked,))


def _plain(value: Any) -> Any:
    """A band edge or label as a plain Python value (whole floats as int)."""
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return int(value)
    return value.item() if isinstance(value, np.generic) else value


def _what(params: RecodeParams) -> str:
    if params.bands is not None:
        return "bands (below the first edge)"
    return "map" if params.map is not None else f"hierarchy {params.hierarchy}"


def lookup_text(values: pd.Series) -> pd.Series:
    """Text form used to look values up (integral numbers without a trailing .0)."""
    import pandas as pd

    if pd.api.types.is_float_dtype(values.dtype):
        as_float = values.astype("Float64")
        if bool(((as_float % 1 == 0) | as_float.isna()).all()):
            return as_float.astype("Int64").astype("string")
    return values.astype("string")


def apply_map(values: pd.Series, keys: pa.Array, labels: pa.Array) -> tuple[pd.Series, np.ndarray]:
    """Look the values' text up among ``keys`` (Arrow's hash lookup); unknown values flagged."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc

    text = pa.array(lookup_text(values).array, pa.string())
    found = pc.index_in(text, value_set=keys)
    out = pd.Series(pd.array(labels.take(found), dtype="string"), index=values.index)
    return out, pc.and_(pc.is_valid(text), pc.is_null(found)).to_numpy(zero_copy_only=False)


def _apply_bands(
    values: pd.Series, edges: np.ndarray, labels: Any, dtype: str
) -> tuple[pd.Series, np.ndarray]:
    """The band of each value (the last lower edge <= value); values below the first flagged."""
    import pandas as pd
    import pyarrow as pa

    idx, present = band_index(values, edges)
    valid = (idx >= 0) & present
    picked = np.clip(idx, 0, None)
    if isinstance(labels, np.ndarray):  # the lower edges, as numbers
        numbers = labels[picked]
        if dtype == "Int64":
            out = pd.arrays.IntegerArray(numbers.astype(np.int64), ~valid)
        else:
            out = pd.arrays.FloatingArray(numbers, ~valid)
        return pd.Series(out, index=values.index), (idx < 0) & present
    text = pa.array(labels, pa.string()).take(pa.array(picked, mask=~valid))
    out = pd.Series(pd.array(text, dtype="string"), index=values.index)
    return out, (idx < 0) & present


def _band_labels(params: RecodeParams, edges: np.ndarray) -> Any:
    if isinstance(params.labels, list):
        return list(params.labels)
    if params.labels == "lower":
        return edges
    return band_names(edges)


def _recode_partition(
    values: pd.Series, func: Any, args: tuple, fill: Any, dtype: str
) -> pd.DataFrame:
    """The recoded values (``value``) and which were not covered (``unknown``), in one go."""
    import pandas as pd

    out, unknown = func(values, *args)
    if unknown.any():
        out = out.astype("object").where(~unknown, fill)
    return pd.DataFrame({"value": out.astype(dtype), "unknown": unknown}, index=values.index)


def _edge(edge: float) -> str:
    """A band edge as its number's text (whole numbers without ``.0``)."""
    return str(int(edge)) if float(edge).is_integer() else repr(float(edge))
