"""What a tabulation publishes for recipients: protected tables (CSV, Parquet).

``tables/`` is for recipients: hidden cells are ``X`` with no value, rows and columns in the
order of :mod:`pipeline.tabulate.order`. Its HTML page and the output checker's review page are
:mod:`pipeline.tabulate.pages`; ``review/check_report.json`` is :mod:`pipeline.tabulate.review`.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.tabulate.model import TOTAL, TableSpec

HIDDEN = "X"


def published(checked: pd.DataFrame, spec: TableSpec) -> pd.DataFrame:
    """The table as released: one row per cell and margin, hidden values removed.

    A table of three dimensions has its layer column first (``Total`` on the Total layer).

    Unweighted counts are whole numbers (``158``, never ``158.0``); other statistics keep six
    decimals.
    """
    overall = (checked.level == "total") & checked["layer"].isna()  # a cube: the Total layer's
    grand = float(checked.loc[overall, "value"].iloc[0])
    value = checked["value"].astype(float)
    if spec.statistic == "mean":
        value = value / checked["weight"].where(checked["weight"] != 0)
    elif spec.statistic == "share":
        value = 100 * value / grand if grand else value * float("nan")
    hidden = checked["suppression"] != "none"
    rows = checked["row"].where(checked.level.isin(["cell", "row"]), TOTAL)
    shown = value.round(6).where(~hidden)
    if spec.statistic == "count" and spec.weight is None:  # a number of records: a whole number
        shown = shown.astype("Int64")
    out = pd.DataFrame(
        {
            spec.rows.column: rows.astype(str),
            "value": shown,
            "status": hidden.map({True: HIDDEN, False: ""}),
        }
    )
    if spec.columns is not None:
        cols = checked["col"].where(checked.level.isin(["cell", "col"]), TOTAL)
        out.insert(1, spec.columns.column, cols.astype(str))
    if spec.layers is not None:  # a table of three dimensions: its layer first
        layers = checked["layer"].where(checked["layer"].notna(), TOTAL)
        out.insert(0, spec.layers.column, layers.astype(str))
    return out


def write_table(frame: pd.DataFrame, folder: Path, name: str) -> list[Path]:
    """``name.csv`` and ``name.parquet`` in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    csv, parquet = folder / f"{name}.csv", folder / f"{name}.parquet"
    frame.to_csv(csv, index=False, lineterminator="\n")
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), parquet)
    return [csv, parquet]
