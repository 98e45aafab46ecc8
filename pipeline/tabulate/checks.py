"""The output checking of a tabulation as a kind of gate check (``pipeline.gate.catalog``).

Reason codes: ``interval_too_narrow`` (a primary cell is published, or its interval over the
table's other published cells is narrower than the rules require) and ``hidden_value_published``
(a published file shows a value of a hidden cell, or marks other cells hidden than the
protection did). Measured on each table as protected and on its files as written.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from pipeline.gate.catalog import CheckKind, register
from pipeline.gate.checks import table_result
from pipeline.gate.model import CheckResult
from pipeline.gate.reasons import Reason
from pipeline.tabulate.output import HIDDEN
from pipeline.tabulate.protect import unprotected


@dataclass(frozen=True)
class Protected:
    """A protected table: its name, its cells with their verdicts, its published files."""

    name: str
    checked: pd.DataFrame
    files: list[Path]


def table_checks(name: str, checked: pd.DataFrame, files: list[Path]) -> list[CheckResult]:
    """A table's checks: its primary cells protected, its files holding no hidden value."""
    narrow = unprotected(checked)
    hidden = checked["suppression"] != "none"
    leaked = 0
    for file in files:
        frame = pd.read_csv(file) if file.suffix == ".csv" else pd.read_parquet(file)
        shown = frame["status"].astype("string").fillna("") == HIDDEN
        leaked += int((shown.to_numpy() != hidden.to_numpy()).sum())
        leaked += int(frame.loc[shown, "value"].notna().sum())
    return [
        table_result(
            "output",
            f"{name}.intervals",
            Reason.INTERVAL_TOO_NARROW,
            f"every primary cell of {name} is hidden with a wide enough interval"
            + (f" ({'; '.join(narrow)})" if narrow else ""),
            len(narrow),
            "0 cells",
            not narrow,
        ),
        table_result(
            "output",
            f"{name}.hidden",
            Reason.HIDDEN_VALUE_PUBLISHED,
            f"the published files of {name} hold no value of a hidden cell",
            leaked,
            "0 cells",
            leaked == 0,
        ),
    ]


register(
    CheckKind(
        name="table_cells",
        summary="every primary cell of a protected table is hidden with a wide enough interval, "
        "and no published file shows a hidden cell's value",
        reasons=(Reason.INTERVAL_TOO_NARROW, Reason.HIDDEN_VALUE_PUBLISHED),
        reads=("tables",),
        scope="tables",
        table=lambda ev: [
            check for t in ev.tables for check in table_checks(t.name, t.checked, t.files)
        ],
    )
)
