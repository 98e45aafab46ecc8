"""What a tabulation publishes: protected tables (CSV, Parquet, HTML) and the check report.

``tables/`` is for recipients: hidden cells are ``X`` with no value. ``review/check_report.json``
is for the output checker: per cell its units, top-1 and top-2 contribution shares, the rules it
failed, whether it is hidden (primary or secondary) and the interval an attacker can derive.
"""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.tabulate.model import TableSpec

HIDDEN = "X"
TOTAL = "Total"


def published(checked: pd.DataFrame, spec: TableSpec) -> pd.DataFrame:
    """The table as released: one row per cell and margin, hidden values removed."""
    grand = float(checked.loc[checked.level == "total", "value"].iloc[0])
    value = checked["value"].astype(float)
    if spec.statistic == "mean":
        value = value / checked["weight"].where(checked["weight"] != 0)
    elif spec.statistic == "share":
        value = 100 * value / grand if grand else value * float("nan")
    hidden = checked["suppression"] != "none"
    rows = checked["row"].where(checked.level.isin(["cell", "row"]), TOTAL)
    out = pd.DataFrame(
        {
            spec.rows.column: rows.astype(str),
            "value": value.round(6).where(~hidden),
            "status": hidden.map({True: HIDDEN, False: ""}),
        }
    )
    if spec.columns is not None:
        cols = checked["col"].where(checked.level.isin(["cell", "col"]), TOTAL)
        out.insert(1, spec.columns.column, cols.astype(str))
    return out


def write_table(frame: pd.DataFrame, folder: Path, name: str) -> list[Path]:
    """``name.csv`` and ``name.parquet`` in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    csv, parquet = folder / f"{name}.csv", folder / f"{name}.parquet"
    frame.to_csv(csv, index=False, lineterminator="\n")
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), parquet)
    return [csv, parquet]


def check_report(checked: pd.DataFrame) -> list[dict[str, Any]]:
    """Per cell: units, contribution shares, failed rules, suppression and interval."""
    out = []
    for cell in checked.itertuples(index=False):
        absum = float(cell.absum)
        out.append(
            {
                "level": cell.level,
                "row": None if cell.row is None else str(cell.row),
                "col": None if cell.col is None else str(cell.col),
                "units": int(cell.units),
                "top1_share": round(cell.top1 / absum, 6) if absum else None,
                "top2_share": round((cell.top1 + cell.top2) / absum, 6) if absum else None,
                "rules_failed": list(cell.rules_failed),
                "suppression": cell.suppression,
                "required_interval": cell.required,
                "interval": None if cell.lo is None or pd.isna(cell.lo) else [cell.lo, cell.hi],
            }
        )
    return out


def _number(value: float) -> str:
    if float(value).is_integer() or abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:,.2f}"


def html_table(frame: pd.DataFrame, spec: TableSpec) -> str:
    """One table as a wide HTML grid (rows x columns, totals last)."""
    r = spec.rows.column
    pairs = zip(frame["value"], frame["status"], strict=True)
    shown = frame.assign(shown=[HIDDEN if s == HIDDEN else _number(v) for v, s in pairs])
    if spec.columns is None:
        body = "".join(
            f"<tr><th>{escape(a)}</th><td>{escape(b)}</td></tr>"
            for a, b in zip(shown[r], shown["shown"], strict=True)
        )
        head = f"<tr><th>{escape(r)}</th><th>{escape(spec.statistic)}</th></tr>"
        return f"<table>{head}{body}</table>"
    c = spec.columns.column
    wide = shown.pivot(index=r, columns=c, values="shown")
    order_r = [x for x in wide.index if x != TOTAL] + [TOTAL]
    order_c = [x for x in wide.columns if x != TOTAL] + [TOTAL]
    wide = wide.reindex(index=order_r, columns=order_c)
    head = f"<tr><th>{escape(r)} \\ {escape(c)}</th>" + "".join(
        f"<th>{escape(str(x))}</th>" for x in order_c
    ) + "</tr>"  # fmt: skip
    body = "".join(
        f"<tr><th>{escape(str(i))}</th>"
        + "".join(f"<td>{escape(str(v))}</td>" for v in wide.loc[i])
        + "</tr>"
        for i in order_r
    )
    return f"<table>{head}{body}</table>"


def html_page(title: str, sections: list[tuple[TableSpec, pd.DataFrame]]) -> str:
    """All published tables on one self-contained page."""
    css = (
        "body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:1000px;color:#1f2937}"
        "table{border-collapse:collapse;margin:.5rem 0 1.5rem;font-size:.9rem}td,th{border:1px "
        "solid #e5e7eb;padding:.25rem .6rem;text-align:right}th{background:#f9fafb}"
    )
    parts = [f"<h1>{escape(title)}</h1><p>X: suppressed by output checking.</p>"]
    for spec, frame in sections:
        what = spec.statistic + (f" of {spec.variable}" if spec.variable else "")
        parts.append(f"<h2>{escape(spec.name)}: {escape(what)}</h2>{html_table(frame, spec)}")
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}'
        f"</title><style>{css}</style></head><body>{''.join(parts)}</body></html>\n"
    )
