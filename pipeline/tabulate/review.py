"""``review/check_report.json``: what the output checker sees of every cell (not for recipients).

Per table and cell (in the published order: rows in natural order, margins last): its units,
top-1 and top-2 contribution shares, the rules it failed, whether it is hidden (primary or
secondary) and the interval an attacker can derive. ``schemas/check_report.schema.json`` is
generated from these models.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import pandas as pd
from pydantic import BaseModel, Field

from pipeline.core.artifact import Artifact
from pipeline.tabulate.model import Rules

CHECK_REPORT_VERSION = "1.0"


class CellCheck(BaseModel):
    """One cell or margin and its verdict."""

    level: Literal["cell", "row", "col", "total"] = Field(
        description="cell, a row total (row), a column total (col) or the grand total."
    )
    row: str | None = Field(description="Row category as published; null on a column margin.")
    col: str | None = Field(description="Column category as published; null on a row margin.")
    layer: str | None = Field(
        None,
        description="A table of three dimensions: the layer's category as published; null on "
        "its Total layer (and in tables of one or two dimensions).",
    )
    units: int = Field(description="Units (records, or the table's unit) in the cell.")
    top1_share: float | None = Field(
        description="Largest unit's share of the cell's absolute contributions (null: none)."
    )
    top2_share: float | None = Field(description="The two largest units' share (null: none).")
    rules_failed: list[str] = Field(description="Primary rules the cell fails.")
    suppression: Literal["none", "primary", "secondary"]
    required_interval: float | None = Field(
        description="Least width of a primary cell's interval (null: not a primary cell)."
    )
    required_above: float | None = Field(
        None,
        description="How far above the value a primary cell's interval must reach (its upper "
        "protection level; the p% rule's own where it asks more); null: not a primary cell.",
    )
    required_below: float | None = Field(
        None, description="How far below the value it must reach (lower protection level)."
    )
    interval: tuple[float, float | None] | None = Field(
        description="A hidden cell's [lo, hi] as an attacker derives it from the published "
        "table (hi null: unbounded); null for a published cell."
    )


class CheckReport(Artifact):
    """The output checker's record of a tabulation run (``review/check_report.json``)."""

    schema_version: str = CHECK_REPORT_VERSION
    rules: Rules
    tables: dict[str, list[CellCheck]] = Field(
        description="Per table (recipe order), its cells and margins in the published order."
    )
    linked: list[list[str]] = Field(
        default_factory=list,
        description="Tables protected together (counting the same records, or adding up the "
        "same variable: sums, means and shares): their hidden cells' intervals are over all "
        "of them.",
    )


def _number(value: Any) -> float | None:
    """A float, None for a missing value (never NaN, which JSON has not)."""
    if value is None or pd.isna(value):
        return None
    return float(value)


def _interval(lo: Any, hi: Any) -> tuple[float, float | None] | None:
    low, high = _number(lo), _number(hi)
    if low is None:
        return None
    return low, None if high is None or math.isinf(high) else high


def cell_checks(checked: pd.DataFrame) -> list[CellCheck]:
    """Per cell of a protected table: units, shares, failed rules, suppression and interval."""
    out = []
    for cell in checked.itertuples(index=False):
        absum = float(cell.absum)
        out.append(
            CellCheck(
                level=cell.level,
                row=None if cell.level in ("col", "total") else str(cell.row),
                col=None if cell.level in ("row", "total") else str(cell.col),
                layer=None if cell.layer is None or pd.isna(cell.layer) else str(cell.layer),
                units=int(cell.units),
                top1_share=round(cell.top1 / absum, 6) if absum else None,
                top2_share=round((cell.top1 + cell.top2) / absum, 6) if absum else None,
                rules_failed=list(cell.rules_failed),
                suppression=cell.suppression,
                required_interval=_number(cell.required),
                required_above=_number(cell.required_up),
                required_below=_number(cell.required_down),
                interval=_interval(cell.lo, cell.hi),
            )
        )
    return out


def report_text(report: CheckReport) -> str:
    """The report as JSON text (indented, UTF-8 labels kept)."""
    return report.model_dump_json(indent=2) + "\n"
