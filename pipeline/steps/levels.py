"""What ``generalize`` is given per key variable (its levels) and its privacy models' parameters.

A variable's levels come from a hierarchy (an ARX-style file or ``jp_region``, see
``pipeline.hierarchies``) or a ladder of numeric bands, coarser upward, topped by ``*``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import Field, ValidationInfo, model_validator

from pipeline.core.columns import StrictModel
from pipeline.core.errors import InputDataError, Problem
from pipeline.hierarchies import JP_REGION, HierarchyError, band_labels, resolve
from pipeline.reductions import KeyCombinations
from pipeline.risk.lattice import Ladder, NotAHierarchy, ladder
from pipeline.steps.declaration import Wording
from pipeline.steps.recode import lookup_text
from pipeline.steps.registry import StepContext

if TYPE_CHECKING:
    # imported where used: checking a recipe (``anonymize validate``) loads none of them
    import pandas as pd

TOP = "*"
LEVEL_WORDS = {  # the levels of the built-in Japanese region hierarchy, for the public
    "code": ("地方公共団体コード", "local government codes"),
    "municipality": ("市区町村", "municipalities"),
    "prefecture": ("都道府県", "prefectures"),
    "region": ("地域ブロック", "regional blocks"),
    "region9": ("地域ブロック", "regional blocks"),
    "national": ("全国", "the whole country"),
}
JP_LADDER = ("municipality", "prefecture", "region9", "region", "national")  # nested levels


class Levels(StrictModel):
    """The levels of one key variable: a hierarchy (file or ``jp_region``) or a band ladder."""

    hierarchy: str | None = Field(None, description="'jp_region' or an ARX-style CSV file.")
    delimiter: Literal[";", ","] | None = Field(None, description="Hierarchy file separator.")
    levels: list[int | str] | None = Field(
        None,
        min_length=1,
        description="The hierarchy's levels to search, finest first (numbers or names). "
        "Default: all above 0; jp_region: municipality, prefecture, region9, region, national.",
    )
    bands: list[list[float]] | None = Field(
        None,
        min_length=1,
        description="Band ladder: per level the increasing lower edges, each level's edges "
        "among the previous level's; a last level '*' is added.",
    )
    labels: Literal["range", "lower"] = Field(
        "range",
        description="Band labels: 'range' writes '15-19' / '90+' (text, top level '*'); "
        "'lower' keeps the lower edge as a number (top level: missing).",
    )

    @model_validator(mode="after")
    def _one(self) -> Levels:
        if (self.hierarchy is None) == (self.bands is None):
            raise ValueError("give exactly one of hierarchy or bands")
        if self.levels is not None and self.hierarchy is None:
            raise ValueError("levels is only used with hierarchy")
        if self.labels == "lower" and self.bands is None:
            raise ValueError("labels is only used with bands")
        for i, edges in enumerate(self.bands or []):
            if not edges or any(b <= a for a, b in zip(edges, edges[1:], strict=False)):
                raise ValueError(f"bands[{i}]: edges must be strictly increasing")
            if i and not set(edges) <= set(self.bands[i - 1]):
                raise ValueError(f"bands[{i}]: every edge must be an edge of bands[{i - 1}]")
            if i and edges[0] != self.bands[0][0]:
                raise ValueError(f"bands[{i}]: must start at the first level's first edge")
        return self

    @model_validator(mode="after")
    def _hierarchy_usable(self, info: ValidationInfo) -> Levels:
        if self.hierarchy is not None:
            try:
                self.chosen(Path((info.context or {}).get("base_dir", ".")))
            except HierarchyError as exc:
                raise ValueError(str(exc)) from None
        return self

    def chosen(self, base_dir: Path) -> list[int]:
        """The hierarchy's column index of each searched level (finest first)."""
        hierarchy = resolve(self.hierarchy, base_dir, self.delimiter)
        if self.levels is None:
            if hierarchy.source == JP_REGION:
                return [hierarchy.level_index(n) for n in JP_LADDER]
            return list(range(1, hierarchy.depth))
        return [hierarchy.level_index(level) for level in self.levels]

    def level_labels(
        self, values: pd.Series, base_dir: Path
    ) -> tuple[list[np.ndarray], np.ndarray]:
        """Each value's label at levels 1..height, and which values are not covered."""
        import pandas as pd

        if self.bands is not None:
            number = pd.to_numeric(values, errors="coerce").to_numpy(np.float64, na_value=np.nan)
            unknown = np.isnan(number) | (number < self.bands[0][0])
            out = [self._band(number, np.asarray(e, np.float64)) for e in self.bands]
            return [*out, np.full(len(values), TOP, dtype=object)], unknown
        hierarchy = resolve(self.hierarchy, base_dir, self.delimiter)
        text = lookup_text(values).astype(object).to_numpy()
        unknown = np.array([t not in hierarchy.rows for t in text], dtype=bool)
        rows = [hierarchy.rows.get(t) for t in text]
        return [
            np.array([r[level] if r else None for r in rows], dtype=object)
            for level in self.chosen(base_dir)
        ], unknown

    @property
    def numeric(self) -> str | None:
        """The pandas dtype of numeric labels (``lower`` bands), else None (text)."""
        if self.labels != "lower":
            return None
        whole = all(float(e).is_integer() for edges in self.bands or [] for e in edges)
        return "Int64" if whole else "Float64"

    def _band(self, number: np.ndarray, edges: np.ndarray) -> np.ndarray:
        if self.labels == "range":
            return band_labels(number, edges)
        idx = np.searchsorted(edges, number, side="right") - 1
        text = np.array([_plain(e) for e in edges] + [None], dtype=object)
        return text[np.where((idx < 0) | np.isnan(number), len(edges), idx)]

    def level_words(self, level: int, base_dir: Path) -> Wording:
        """Level ``level`` in words for the public: its name and how many categories it has.

        ``地域ブロック（9区分）`` / ``regional blocks (9 categories)``; bands: ``5 区分の階級`` /
        ``5 bands``. The counts are the hierarchy's or the bands', never the data's.
        """
        if self.bands is not None:
            if level > len(self.bands):
                return Wording("全区分を統合", "all values merged into one")
            n = len(self.bands[level - 1])
            return Wording(f"{n} 区分の階級", f"{n} bands")
        hierarchy = resolve(self.hierarchy, base_dir, self.delimiter)
        index = self.chosen(base_dir)[level - 1]
        n = len(hierarchy.values_at(index))
        name = hierarchy.level_names[index] if hierarchy.level_names else ""
        ja, en = LEVEL_WORDS.get(name, (name or f"第 {level} 段階", name or f"level {level}"))
        return Wording(f"{ja}（{n}区分）", f"{en} ({n} categories)")

    def allowed(self, level: int, base_dir: Path) -> tuple[Any, ...]:
        """Every label of ``level`` (what the published column may hold)."""
        if self.bands is not None:
            if level > len(self.bands):
                return () if self.numeric else (TOP,)
            edges = np.asarray(self.bands[level - 1], np.float64)
            if self.numeric:
                return tuple(int(e) if self.numeric == "Int64" else float(e) for e in edges)
            return tuple(dict.fromkeys(band_labels(edges, edges)))
        hierarchy = resolve(self.hierarchy, base_dir, self.delimiter)
        return tuple(sorted(hierarchy.values_at(self.chosen(base_dir)[level - 1])))


def _plain(edge: float) -> str:
    """An edge as the text of its number (whole numbers without ``.0``)."""
    return str(int(edge)) if float(edge).is_integer() else repr(float(edge))


def ladders_of(
    found: KeyCombinations, keys: list[str], specs: dict[str, Levels], ctx: StepContext
) -> tuple[list[Ladder], dict[str, tuple], dict[str, int]]:
    """Each key variable's ladder, the labels per level of its categories, the heights."""
    import pandas as pd

    ladders, labels, heights, problems = [], {}, {}, []
    for j, key in enumerate(keys):
        codes = found.codes[:, j]
        present = codes >= 0
        size = int(codes.max(initial=-1)) + 1
        records = np.bincount(codes[present], weights=found.counts[present], minlength=size)
        levels = specs.get(key)
        if levels is None:
            ladders.append(ladder([], records))
            continue
        first = np.full(size, -1, dtype=np.int64)
        first[codes[present][::-1]] = np.flatnonzero(present)[::-1]
        values = found.table[key].iloc[first].reset_index(drop=True)
        per_level, unknown = levels.level_labels(values, ctx.base_dir)
        if unknown.any():
            n = int(records[unknown].sum())
            problems.append(
                Problem(
                    f"column {key!r}: {n} record(s) hold values outside its hierarchy",
                    location=ctx.location,
                    code="generalize_unknown_value",
                )
            )
            continue
        maps = [pd.factorize(pd.Series(lab, dtype=object), sort=True)[0] for lab in per_level]
        try:
            ladders.append(ladder(maps, records))
        except NotAHierarchy as exc:
            problems.append(
                Problem(
                    f"column {key!r}: not a hierarchy ({exc})",
                    location=ctx.location,
                    code="not_a_hierarchy",
                )
            )
            continue
        labels[key] = (lookup_text(values), per_level)
        heights[key] = len(per_level)
    if problems:
        raise InputDataError(problems)
    return ladders, labels, heights
