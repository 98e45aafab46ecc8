"""The tabulation's HTML pages: ``tables/tables.html`` (recipients) and the review page.

Both are templates of ``pipeline/report/templates`` (Jinja2, autoescaped). ``tables.html`` shows
every protected table as a grid in the natural order of :mod:`pipeline.tabulate.order` (margins
last, region codes with their names), the rules the cells were checked against, the run id and
the gate's verdict. ``review/check_report.html`` renders ``review/check_report.json`` for the
output checker, marked "not for recipients": it shows the units and intervals of hidden cells.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from pipeline.core.numbers import cell
from pipeline.gate.model import GateReport
from pipeline.report.render import render
from pipeline.tabulate.model import TOTAL, TableSpec, TabulationRecipe
from pipeline.tabulate.order import View
from pipeline.tabulate.output import HIDDEN
from pipeline.tabulate.review import CheckReport

_STATISTIC = {"count": "count", "sum": "sum", "mean": "mean", "share": "share (%)"}


Rows = list[tuple[str, list[tuple[str, bool]]]]  # (label, (text, hidden) per column) per row


@dataclass(frozen=True)
class Part:
    """One grid of a table: a caption (a layer of a table of three dimensions), columns, rows."""

    caption: str
    columns: list[str]
    rows: Rows


@dataclass(frozen=True)
class Grid:
    """One table as people read it.

    Its title, what its figures are, the header, its grids (one; a table of three dimensions
    has one per layer and its Total layer last) and footnotes.
    """

    name: str
    what: str
    header: str
    parts: list[Part]
    title: str = ""
    notes: tuple[str, ...] = ()

    @property
    def columns(self) -> list[str]:
        """The last grid's column labels (a table of three dimensions: its Total layer's)."""
        return self.parts[-1].columns

    @property
    def rows(self) -> Rows:
        """The last grid's rows."""
        return self.parts[-1].rows


def statement(spec: TableSpec) -> str:
    """What the table's figures are, weighted or not, in words (Japanese / English)."""
    counted = "世帯・事業所等の単位" if spec.unit else "レコード"
    of = f" of {spec.variable}" if spec.variable else ""
    if spec.weight is not None:
        ja, en = "重み付けあり", f"weighted by {spec.weight}"
    else:
        ja, en = "重み付けなし", "unweighted"
    what = {
        "count": ("件数", f"number of {'units' if spec.unit else 'records'}"),
        "sum": ("合計", f"sum{of}"),
        "mean": ("平均", f"mean{of}"),
        "share": ("構成比（%）", f"share of the table total{of} (%)"),
    }[spec.statistic]
    unit = f"; 単位: {spec.value_unit.ja} / unit: {spec.value_unit.en}" if spec.value_unit else ""
    return f"{what[0]}（{ja}、{counted}）/ {what[1]}, {en}{unit}"


def grid(frame: pd.DataFrame, spec: TableSpec, layout: View) -> Grid:
    """The published table laid out as rows x columns (``layout``'s order, totals last).

    A table of three dimensions gives one grid per layer, captioned with the layer's name and
    category, its Total layer last.
    """
    what = statement(spec)
    title = f"{spec.title.ja} / {spec.title.en}" if spec.title else spec.name
    notes = tuple(f"{n.ja} / {n.en}" for n in spec.notes)
    if spec.layers is None or layout.layers is None:
        parts = [_part(frame, spec, layout, "")]
    else:
        shown = frame[spec.layers.column]
        parts = [
            _part(
                frame[shown == layer],
                spec,
                layout,
                f"{layout.layers.name}: {layout.layers.shown(layer)}",
            )
            for layer in [*layout.layers.order, TOTAL]
            if (shown == layer).any()
        ]
    return Grid(spec.name, what, layout.header, parts, title, notes)


def _part(frame: pd.DataFrame, spec: TableSpec, layout: View, caption: str) -> Part:
    """One rows x columns grid of the published cells in ``frame``."""
    r = spec.rows.column
    texts = [
        (HIDDEN, True) if s == HIDDEN else ("–" if pd.isna(v) else cell(v), False)
        for v, s in zip(frame["value"], frame["status"], strict=True)
    ]
    if spec.columns is None or layout.columns is None:
        rows = [(layout.rows.shown(a), [t]) for a, t in zip(frame[r], texts, strict=True)]
        return Part(caption, [_STATISTIC[spec.statistic]], rows)
    c = spec.columns.column
    cells = dict(zip(zip(frame[r], frame[c], strict=True), texts, strict=True))
    order_r, order_c = [*layout.rows.order, TOTAL], [*layout.columns.order, TOTAL]
    rows = [
        (layout.rows.shown(i), [cells.get((i, j), ("", False)) for j in order_c])
        for i in order_r
        if any((i, j) in cells for j in order_c)
    ]
    columns = [layout.columns.shown(j) for j in order_c if any((i, j) in cells for i in order_r)]
    return Part(caption, columns, rows)


def tables_page(
    review: CheckReport,
    sections: list[tuple[TableSpec, pd.DataFrame, View]],
    gate: GateReport,
    recipe: TabulationRecipe,
) -> str:
    """``tables/tables.html``: every table, the rules, the run id and the gate's verdict."""
    return render(
        "tables.html.j2",
        review=review,
        gate=gate,
        recipe=recipe,
        grids=[grid(frame, spec, layout) for spec, frame, layout in sections],
        data={"run_id": review.run_id, "schema_version": review.schema_version},
    )


def _layer_shown(layout: View, layer: str | None) -> str:
    """A cell's layer as the review names it before its row (empty: no layers)."""
    if layout.layers is None:
        return ""
    return f"{TOTAL if layer is None else layout.layers.shown(layer)} | "


def review_page(review: CheckReport, sections: list[tuple[TableSpec, pd.DataFrame, View]]) -> str:
    """``review/check_report.html``: the check report rendered, marked not for recipients."""
    views = {spec.name: layout for spec, _, layout in sections}
    tables = []
    for name, cells in review.tables.items():
        layout = views[name]
        rows = [
            (
                _layer_shown(layout, c.layer)
                + (TOTAL if c.row is None else layout.rows.shown(c.row)),
                TOTAL if c.col is None else layout.columns.shown(c.col) if layout.columns else "",
                c,
            )
            for c in cells
        ]
        hidden = [row for row in rows if row[2].suppression != "none"]
        primary = sum(row[2].suppression == "primary" for row in hidden)
        tables.append((name, layout.header, hidden, primary, rows))
    return render(
        "check_report.html.j2",
        review=review,
        tables=tables,
        data={"run_id": review.run_id, "schema_version": review.schema_version},
    )
