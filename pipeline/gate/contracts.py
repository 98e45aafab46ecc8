"""Turn an ODCS v3 contract into gate checks: row checks for GX, table checks for dask.

Mapping (reason code in brackets):

* a property not in the data [``column_missing``]; ``logicalType`` against the stored type
  [``type_mismatch``] (text columns declared ``date`` / ``timestamp`` / ``boolean`` are checked
  for ISO-8601 dates / true-false words instead);
* ``required`` -> no missing values [``null_values``]; ``unique`` -> no repeated value over the
  whole file [``not_unique``];
* ``logicalTypeOptions``: ``minimum`` ... ``exclusiveMaximum`` [``out_of_range``],
  ``minLength`` / ``maxLength`` [``length_out_of_range``], ``pattern`` [``pattern_mismatch``];
* ``quality`` library metrics: ``nullValues``, ``missingValues`` (``arguments.missingValues``),
  ``invalidValues`` (``arguments.validValues`` or ``arguments.pattern``), ``duplicateValues``
  [``quality_<metric>``]; at table level ``rowCount`` [``row_count_out_of_bounds``] and
  ``duplicateValues`` (whole duplicate rows) [``quality_duplicate_rows``].
"""

from __future__ import annotations

import re

import pandas as pd
import pyarrow as pa

from pipeline.contracts.odcs import Contract, Property, QualityRule
from pipeline.gate.checks import RowCheck, Stage, table_result
from pipeline.gate.model import CheckResult
from pipeline.gate.reasons import Reason
from pipeline.io.dataset import Dataset

_TEXT_FORMS = {
    "date": r"^\d{4}-\d{2}-\d{2}$",
    "timestamp": r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$",
}
_BOOLEAN_WORDS = ["true", "false", "True", "False", "TRUE", "FALSE", "0", "1"]


def _is_text(t: pa.DataType) -> bool:
    return pa.types.is_string(t) or pa.types.is_large_string(t)


def type_matches(logical: str, arrow: pa.DataType, whole_numbers: bool) -> bool:
    """Tell whether a stored Arrow type satisfies an ODCS ``logicalType``.

    ``whole_numbers`` is true for float columns known to hold only whole numbers.
    """
    checks = {
        "integer": pa.types.is_integer(arrow) or (pa.types.is_floating(arrow) and whole_numbers),
        "number": pa.types.is_integer(arrow)
        or pa.types.is_floating(arrow)
        or pa.types.is_decimal(arrow),
        "string": _is_text(arrow),
        "boolean": pa.types.is_boolean(arrow) or _is_text(arrow),
        "date": pa.types.is_date(arrow) or pa.types.is_timestamp(arrow) or _is_text(arrow),
        "timestamp": pa.types.is_timestamp(arrow) or _is_text(arrow),
        "time": pa.types.is_time(arrow) or _is_text(arrow),
        "object": pa.types.is_struct(arrow),
        "array": pa.types.is_list(arrow) or pa.types.is_large_list(arrow),
    }
    return checks.get(logical, True)


def _type_check(prop: Property, arrow: pa.DataType) -> str:
    """What the type check verified, in words.

    A float column passes as integer only when every value was measured to be a whole number.
    """
    what = f"{prop.name} is {prop.logicalType} (stored as {arrow}"
    if prop.logicalType == "integer" and pa.types.is_floating(arrow):
        return what + ": passes only if every value is a whole number)"
    return what + ")"


def _rule_check(prop: str, rule: QualityRule, expectations: tuple, what: str) -> RowCheck:
    metric = re.sub(r"(?<!^)(?=[A-Z])", "_", str(rule.metric)).lower()
    return RowCheck(
        id=f"{prop}.quality.{rule.metric}",
        reason=Reason(f"quality_{metric}"),
        column=prop,
        description=rule.description or f"{what} in {prop}: {rule.threshold()}",
        expectations=expectations,
        source="contract",
        threshold=rule.threshold(),
        rule=lambda observed, rows, r=rule: r.passes(observed, rows),
    )


def row_checks(contract: Contract, schema: pa.Schema) -> list[RowCheck]:
    """Row checks of the contract's properties that are columns of ``schema``."""
    out: list[RowCheck] = []
    present = set(schema.names)
    for prop in contract.table.properties:
        if prop.name not in present:
            continue
        out += _property_checks(prop, schema.field(prop.name).type)
    return out


def _check(prop: Property, reason: Reason, text: str, name: str, **kwargs: object) -> RowCheck:
    return RowCheck(
        id=f"{prop.name}.{reason}",
        reason=reason,
        column=prop.name,
        description=text,
        expectations=((name, {"column": prop.name, **kwargs}),),
        source="contract",
    )


def _property_checks(prop: Property, arrow: pa.DataType) -> list[RowCheck]:
    c, o, out = prop.name, prop.logicalTypeOptions, []
    numeric = pa.types.is_integer(arrow) or pa.types.is_floating(arrow)
    if prop.required:
        out.append(
            _check(
                prop,
                Reason.NULL_VALUES,
                f"{c} has no missing value",
                "ExpectColumnValuesToNotBeNull",
            )
        )
    lo = o.minimum if o.minimum is not None else o.exclusiveMinimum
    hi = o.maximum if o.maximum is not None else o.exclusiveMaximum
    if numeric and (lo is not None or hi is not None):
        low = "" if lo is None else f"{lo:g} {'<' if o.exclusiveMinimum is not None else '<='} "
        high = "" if hi is None else f" {'<' if o.exclusiveMaximum is not None else '<='} {hi:g}"
        out.append(
            _check(
                prop,
                Reason.OUT_OF_RANGE,
                f"{low}{c}{high}",
                "ExpectColumnValuesToBeBetween",
                min_value=lo,
                max_value=hi,
                strict_min=o.exclusiveMinimum is not None and o.minimum is None,
                strict_max=o.exclusiveMaximum is not None and o.maximum is None,
            )
        )
    if _is_text(arrow):
        if o.minLength is not None or o.maxLength is not None:
            out.append(
                _check(
                    prop,
                    Reason.LENGTH_OUT_OF_RANGE,
                    f"length of {c} within [{o.minLength}, {o.maxLength}]",
                    "ExpectColumnValueLengthsToBeBetween",
                    min_value=o.minLength,
                    max_value=o.maxLength,
                )
            )
        if o.pattern is not None:
            out.append(
                _check(
                    prop,
                    Reason.PATTERN_MISMATCH,
                    f"{c} matches its pattern",
                    "ExpectColumnValuesToMatchRegex",
                    regex=o.pattern,
                )
            )
        if prop.logicalType in _TEXT_FORMS:
            out.append(
                _check(
                    prop,
                    Reason.TYPE_MISMATCH,
                    f"{c} holds ISO-8601 {prop.logicalType} text",
                    "ExpectColumnValuesToMatchRegex",
                    regex=_TEXT_FORMS[prop.logicalType],
                )
            )
        if prop.logicalType == "boolean":
            out.append(
                _check(
                    prop,
                    Reason.TYPE_MISMATCH,
                    f"{c} holds true/false words",
                    "ExpectColumnValuesToBeInSet",
                    value_set=_BOOLEAN_WORDS,
                )
            )
    for rule in prop.quality:
        if rule.type != "library":
            continue
        args = rule.arguments
        if rule.metric == "nullValues":
            out.append(
                _rule_check(
                    c, rule, (("ExpectColumnValuesToNotBeNull", {"column": c}),), "missing values"
                )
            )
        elif rule.metric == "missingValues":
            exps: tuple = (("ExpectColumnValuesToNotBeNull", {"column": c}),)
            words = [v for v in args.get("missingValues", []) if v is not None]
            if words:
                exps += (("ExpectColumnValuesToNotBeInSet", {"column": c, "value_set": words}),)
            out.append(_rule_check(c, rule, exps, "missing values"))
        elif rule.metric == "invalidValues":
            if "validValues" in args:
                exp = (
                    "ExpectColumnValuesToBeInSet",
                    {"column": c, "value_set": list(args["validValues"])},
                )
            else:
                exp = (
                    "ExpectColumnValuesToMatchRegex",
                    {"column": c, "regex": str(args.get("pattern", ".*"))},
                )
            out.append(_rule_check(c, rule, (exp,), "invalid values"))
    return out


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
                    _type_check(prop, arrow),
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
