"""How a table is laid out for people: categories in their natural order, margins last, names.

Each classifier's categories come in the order a statistician expects, the same whatever the
partitions (it depends only on the recipe and on which categories the table holds):

* numeric bands: by their lower edge (``0-14, 15-64, 65+``, not ``0, 100, 120, 20``);
* a hierarchy level: the hierarchy's order, i.e. each value's first appearance at that level in
  the file; the built-in ``jp_region`` levels come in code order (regions by their first
  prefecture);
* a map: the order of the map's values as written in the recipe;
* anything else (and values the recode does not list, such as ``unknown_value``): numbers
  numerically when every such category is a number, otherwise sorted as text;
* the ``not stated`` category (``missing: category``) just before the margin, ``Total`` last.

Categories are named in Japanese and English wherever people read them (``13 東京都 / Tokyo``,
``関東 / Kanto``, ``A 管理的職業従事者 / Managers``): the built-in Japanese region levels by the
bundled names, any classifier by the recipe's ``labels`` (which take precedence); the files keep
the codes, with label columns beside them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipeline.hierarchies import JP_REGION, band_names, jp_labels, resolve
from pipeline.steps.recode import RecodeParams
from pipeline.tabulate.model import NOT_STATED, TableSpec, Variable

_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_ROW_MARGIN = ("col", "total")  # levels whose row category is the margin
_COL_MARGIN = ("row", "total")


@dataclass(frozen=True)
class Axis:
    """One classifier of a table as people read it.

    Attributes:
        column: The classifier column of the published files.
        name: What its categories are: the hierarchy level's name (``prefecture``), else the
            column.
        order: The categories (their published text) in natural order, without the margin.
        labels: Category -> (Japanese, English) name, where one is known.
    """

    column: str
    name: str
    order: tuple[str, ...]
    labels: Mapping[str, tuple[str, str]] = field(default_factory=dict)

    def rank(self, category: Any) -> int:
        """Position of a category in :attr:`order`; the margin (None) comes last."""
        if category is None:
            return len(self.order)
        return self._positions[str(category)]

    def shown(self, category: str) -> str:
        """The category as people read it: ``13 東京都 / Tokyo``, ``関東 / Kanto``, or as is."""
        label = self.labels.get(category)
        if label is None:
            return category
        ja, en = label
        return f"{ja} / {en}" if category in (ja, en) else f"{category} {ja} / {en}"

    @cached_property
    def _positions(self) -> dict[str, int]:
        return {c: i for i, c in enumerate(self.order)}


@dataclass(frozen=True)
class View:
    """A table's classifiers as people read them (columns is None for a one-way table).

    ``layers``: the third classifier of a table of three dimensions (None: two or fewer).
    """

    rows: Axis
    columns: Axis | None
    layers: Axis | None = None

    @property
    def header(self) -> str:
        r"""The corner of the grid: ``prefecture \ sex``, or the row variable alone."""
        if self.columns is None:
            return self.rows.name
        return f"{self.rows.name} \\ {self.columns.name}"


def known_order(params: RecodeParams, base_dir: Path) -> list[str]:
    """The categories a recode produces, in their natural order (empty: sort what is there).

    Bands labelled by their lower edge are numbers and sorted as such.
    """
    if params.bands is not None:
        if isinstance(params.labels, list):
            return list(params.labels)
        if params.labels == "range":
            return band_names(np.asarray(params.bands, dtype="float64"))
        return []
    if params.map is not None:
        return list(dict.fromkeys(params.map.values()))
    return resolve(params.hierarchy, base_dir, params.delimiter).order(params.level)


def category_order(categories: Iterable[Any], var: Variable, base_dir: Path) -> tuple[str, ...]:
    """The distinct categories of one classifier (as published text) in natural order.

    Args:
        categories: The categories the table holds (None, a margin, is skipped).
        var: The classifier.
        base_dir: The recipe's folder (hierarchy files).

    Returns:
        The recode's categories in its order, then any other in numeric or text order, then
        ``not stated`` when the variable has that category.
    """
    texts = {str(c) for c in categories if c is not None}
    stated = var.missing == "category" and NOT_STATED in texts
    if stated:
        texts.discard(NOT_STATED)
    params = var.recode_params(base_dir)
    known = [t for t in known_order(params, base_dir) if t in texts] if params else []
    rest = texts.difference(known)
    if all(_NUMBER.fullmatch(t) for t in rest):
        others = sorted(rest, key=lambda t: (float(t), t))
    else:
        others = sorted(rest)
    return (*dict.fromkeys(known), *others, *([NOT_STATED] if stated else []))


def axis_name(var: Variable, base_dir: Path) -> str:
    """What a classifier's categories are: a hierarchy level's name, otherwise the column.

    ``prefecture`` for ``{hierarchy: jp_region, level: prefecture}``; a level of a file without
    level names is ``occupation (level 1)``; level 0, bands and maps keep the column's name.
    """
    params = var.recode_params(base_dir)
    if params is None or params.hierarchy is None:
        return var.column
    hierarchy = resolve(params.hierarchy, base_dir, params.delimiter)
    index = hierarchy.level_index(params.level)
    if index == 0:
        return var.column
    if hierarchy.level_names:
        return hierarchy.level_names[index]
    return f"{var.column} (level {index})"


def axis(var: Variable, categories: Iterable[Any], base_dir: Path) -> Axis:
    """One classifier laid out: its name, its categories in order and their labels."""
    order = category_order(categories, var, base_dir)
    params = var.recode_params(base_dir)
    known: dict[str, tuple[str, str]] = {}
    if params is not None and params.hierarchy == JP_REGION:
        hierarchy = resolve(JP_REGION, base_dir)
        known = jp_labels(hierarchy.level_names[hierarchy.level_index(params.level)])
    known = {**known, **{c: (w.ja, w.en) for c, w in var.labels.items()}}
    labels = {c: known[c] for c in order if c in known}
    return Axis(var.column, axis_name(var, base_dir), order, labels)


def view(checked: pd.DataFrame, spec: TableSpec, base_dir: Path) -> View:
    """The table's classifiers laid out, from the categories its cells hold."""
    rows = axis(spec.rows, checked.loc[~checked.level.isin(_ROW_MARGIN), "row"], base_dir)
    if spec.columns is None:
        return View(rows, None)
    cols = checked.loc[~checked.level.isin(_COL_MARGIN), "col"]
    layers = None
    if spec.layers is not None:
        layers = axis(spec.layers, checked["layer"].dropna(), base_dir)
    return View(rows, axis(spec.columns, cols, base_dir), layers)


def arrange(checked: pd.DataFrame, layout: View) -> pd.DataFrame:
    """The cells row by row in natural order, each row's margin last, the column margins last.

    A table of three dimensions lists its layers so, one after the other in natural order,
    the Total layer last. The index is reset: a cell's position is its place in the check
    report.
    """
    rows = layout.rows.rank
    levels = checked.level.tolist()
    r = [rows(None if lv in _ROW_MARGIN else x) for lv, x in zip(levels, checked.row, strict=True)]
    c = [0] * len(levels)
    if layout.columns is not None:
        cols = layout.columns.rank
        pairs = zip(levels, checked.col, strict=True)
        c = [cols(None if lv in _COL_MARGIN else x) for lv, x in pairs]
    if layout.layers is None:
        return checked.iloc[np.lexsort((c, r))].reset_index(drop=True)
    rank = layout.layers.rank
    layer = [rank(None if x is None or pd.isna(x) else x) for x in checked["layer"]]
    return checked.iloc[np.lexsort((c, r, layer))].reset_index(drop=True)


def labelled(frame: pd.DataFrame, layout: View) -> pd.DataFrame:
    """The published table with label columns beside each named classifier.

    ``<column>_label`` holds the Japanese name, ``<column>_label_en`` the English one. The
    classifier column keeps the codes; the margin's labels are empty. Label columns whose
    names the table already uses are left out.
    """
    out = frame
    for ax in (layout.layers, layout.rows, layout.columns):
        if ax is None or not ax.labels:
            continue
        where = list(out.columns).index(ax.column) + 1
        for lang, suffix in ((0, "_label"), (1, "_label_en")):
            name = f"{ax.column}{suffix}"
            if name in out.columns:
                continue
            names = {c: pair[lang] for c, pair in ax.labels.items()}
            out = out.copy()
            out.insert(where, name, out[ax.column].map(names).astype("string"))
            where += 1
    return out
