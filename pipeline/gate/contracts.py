"""Turn an ODCS v3 contract into gate checks: row checks for GX (table checks: ``contract_table``).

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

import pyarrow as pa

from pipeline.contracts.odcs import Contract, Property, QualityRule
from pipeline.core.numbers import number
from pipeline.gate.checks import RowCheck
from pipeline.gate.contract_types import is_text
from pipeline.gate.reasons import Reason

_TEXT_FORMS = {
    "date": r"^\d{4}-\d{2}-\d{2}$",
    "timestamp": r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$",
}
_BOOLEAN_WORDS = ["true", "false", "True", "False", "TRUE", "FALSE", "0", "1"]


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
        low = (
            "" if lo is None else f"{number(lo)} {'<' if o.exclusiveMinimum is not None else '<='} "
        )
        high = (
            "" if hi is None else f" {'<' if o.exclusiveMaximum is not None else '<='} {number(hi)}"
        )
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
    if is_text(arrow):
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
