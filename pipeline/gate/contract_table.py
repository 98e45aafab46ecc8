"""An ODCS v3 contract's whole-table rules, and the contract as a kind of gate check.

Columns present and their types, uniqueness, duplicate values and rows, row counts: measured over
the whole file (dask) after the row checks (``pipeline.gate.contracts``) are validated in the
stage's pass. Reason codes: see ``pipeline.gate.contracts``.
"""

from __future__ import annotations

import pandas as pd

from pipeline.contracts.odcs import Contract
from pipeline.gate.catalog import CheckKind, Evidence, register
from pipeline.gate.checks import Stage, table_result
from pipeline.gate.contract_types import type_description, type_matches
from pipeline.gate.contracts import row_checks
from pipeline.gate.model import CheckResult
from pipeline.gate.reasons import Reason
from pipeline.io.dataset import Dataset


def table_checks(
    contract: Contract,
    data: Dataset,
    stage: Stage,
    whole_numbers: set[str],
    present_elsewhere: set[str] = frozenset(),
) -> list[CheckResult]:
    """Whole-table checks: columns present, types, uniqueness and row-count rules (dask).

    ``present_elsewhere`` are columns known to exist but not read (identifiers in the input).
    """
    out: list[CheckResult] = []
    present = set(data.columns)
    rows = data.rows()
    for prop in contract.table.properties:
        name = prop.name
        if name not in present:
            found = name in present_elsewhere
            out.append(
                table_result(
                    stage,
                    f"{name}.column_missing",
                    Reason.COLUMN_MISSING,
                    f"column {name} exists",
                    0 if found else 1,
                    "present",
                    found,
                    name,
                    "contract",
                )
            )
            continue
        arrow = data.schema.field(name).type
        if prop.logicalType:
            ok = type_matches(prop.logicalType, arrow, name in whole_numbers)
            out.append(
                table_result(
                    stage,
                    f"{name}.type",
                    Reason.TYPE_MISMATCH,
                    type_description(prop, arrow),
                    None,
                    prop.logicalType,
                    ok,
                    name,
                    "contract",
                )
            )
        dup_rules = [
            r for r in prop.quality if r.type == "library" and r.metric == "duplicateValues"
        ]
        if prop.unique or dup_rules:
            dups = _duplicate_values(data, name)
            if prop.unique:
                out.append(
                    table_result(
                        stage,
                        f"{name}.unique",
                        Reason.NOT_UNIQUE,
                        f"no value of {name} repeats",
                        dups,
                        "0 repeated values",
                        dups == 0,
                        name,
                        "contract",
                    )
                )
            for rule in dup_rules:
                out.append(
                    table_result(
                        stage,
                        f"{name}.quality.duplicateValues",
                        Reason.QUALITY_DUPLICATE_VALUES,
                        rule.description or f"repeated values in {name}: {rule.threshold()}",
                        dups,
                        rule.threshold(),
                        rule.passes(dups, rows),
                        name,
                        "contract",
                    )
                )
    table_metrics = {  # metric: (reason, what, how to measure it over the whole file)
        "rowCount": (Reason.ROW_COUNT_OUT_OF_BOUNDS, "row count", lambda: rows),
        "duplicateValues": (
            Reason.QUALITY_DUPLICATE_ROWS,
            "duplicate rows",
            lambda: _duplicate_rows(data),
        ),
    }
    for rule in contract.table.quality:
        if rule.type != "library":
            continue
        reason, what, measure = table_metrics[str(rule.metric)]
        observed = measure()
        out.append(
            table_result(
                stage,
                f"table.quality.{rule.metric}",
                reason,
                rule.description or f"{what} {rule.threshold()}",
                observed,
                rule.threshold(),
                rule.passes(observed, rows),
                None,
                "contract",
            )
        )
    return out


def _duplicate_values(data: Dataset, column: str) -> int:
    """Non-missing values minus distinct values of ``column`` over the whole file (dask)."""
    import dask

    series = data.dask_frame([column])[column].dropna()
    count, distinct = dask.compute(series.count(), series.nunique())
    return int(count) - int(distinct)


def _duplicate_rows(data: Dataset) -> int:
    """Rows that repeat an earlier row, over the whole file (64-bit row hashes, dask)."""
    frame = data.dask_frame(data.columns)
    hashes = frame.map_partitions(
        lambda pdf: pd.util.hash_pandas_object(pdf, index=False), meta=("h", "uint64")
    )
    counts = hashes.value_counts(split_out=1).compute()
    return int((counts - 1).clip(lower=0).sum())


def _table(ev: Evidence) -> list[CheckResult]:
    if ev.contract is None:
        return []
    whole, elsewhere = set(ev.whole_numbers), set(ev.identifiers_present)
    return table_checks(ev.contract, ev.data, ev.stage, whole, elsewhere)


register(
    CheckKind(
        name="data_contract",
        summary="the data keeps its ODCS contract: columns, types, required values, ranges, "
        "lengths, patterns, uniqueness and quality rules",
        reasons=(
            Reason.COLUMN_MISSING,
            Reason.TYPE_MISMATCH,
            Reason.NULL_VALUES,
            Reason.NOT_UNIQUE,
            Reason.OUT_OF_RANGE,
            Reason.LENGTH_OUT_OF_RANGE,
            Reason.PATTERN_MISMATCH,
            Reason.QUALITY_NULL_VALUES,
            Reason.QUALITY_MISSING_VALUES,
            Reason.QUALITY_INVALID_VALUES,
            Reason.QUALITY_DUPLICATE_VALUES,
            Reason.QUALITY_DUPLICATE_ROWS,
            Reason.ROW_COUNT_OUT_OF_BOUNDS,
        ),
        stages=("input", "output"),
        reads=("contract", "schema", "data", "whole_numbers", "identifiers_present"),
        source="contract",
        rows=lambda ev: [] if ev.contract is None else row_checks(ev.contract, ev.schema),
        table=_table,
    )
)
