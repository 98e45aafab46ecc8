"""Contract -> gate checks, run on real Parquet files (GX per batch, dask for whole-file facts)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.contracts.odcs import Contract
from pipeline.gate.contract_table import table_checks
from pipeline.gate.contract_types import type_matches
from pipeline.gate.contracts import row_checks
from pipeline.gate.gx_engine import RowValidator
from pipeline.io.dataset import Dataset


def contract(properties: list[dict], quality: list[dict] | None = None) -> Contract:
    return Contract.model_validate(
        {
            "apiVersion": "v3.0.2",
            "kind": "DataContract",
            "id": "t",
            "version": "1",
            "status": "active",
            "schema": [{"name": "t", "properties": properties, "quality": quality or []}],
        }
    )


@pytest.fixture
def data(tmp_path: Path) -> Dataset:
    frame = pd.DataFrame(
        {
            "id": ["a", "b", "c", "c", "d", "e"],
            "age": pd.array([1, 50, 130, None, 20, 20], dtype="Int64"),
            "code": ["01101", "13101", "1310", None, "27100", "27100"],
            "day": ["2026-01-01", "2026-13-1", None, "2026-02-03", "2026-02-03", "2026-02-03"],
        }
    )
    # two files: uniqueness and duplicates must be counted across files, not per file
    for i, part in enumerate((frame.iloc[:3], frame.iloc[3:])):
        pq.write_table(pa.Table.from_pandas(part, preserve_index=False), tmp_path / f"p{i}.parquet")
    return Dataset.parquet(tmp_path)


def run(c: Contract, data: Dataset) -> dict[str, tuple]:
    validator = RowValidator(row_checks(c, data.schema), "input")
    for chunk in data.chunks(validator.columns):
        validator.add(chunk)
    checks = [*table_checks(c, data, "input", set()), *validator.finish()[0]]
    return {check.id: (check.reason, check.observed, check.passed) for check in checks}


def test_property_rules_map_to_counted_checks(data: Dataset) -> None:
    c = contract(
        [
            {"name": "id", "logicalType": "string", "unique": True, "required": True},
            {
                "name": "age",
                "logicalType": "integer",
                "required": True,
                "logicalTypeOptions": {"minimum": 0, "maximum": 120},
            },
            {
                "name": "code",
                "logicalType": "string",
                "logicalTypeOptions": {"pattern": "^[0-9]{5}$", "minLength": 5, "maxLength": 5},
            },
            {"name": "day", "logicalType": "date"},
            {"name": "gone", "logicalType": "string"},
        ],
        [{"type": "library", "metric": "rowCount", "mustBeGreaterThan": 10}],
    )
    got = run(c, data)
    assert got["id.unique"] == ("not_unique", 1, False)
    assert got["id.null_values"] == ("null_values", 0, True)
    assert got["age.null_values"] == ("null_values", 1, False)
    assert got["age.out_of_range"] == ("out_of_range", 1, False)
    assert got["age.type"][2] and got["id.type"][2]
    assert got["code.pattern_mismatch"] == ("pattern_mismatch", 1, False)
    assert got["code.length_out_of_range"] == ("length_out_of_range", 1, False)
    assert got["day.type_mismatch"] == ("type_mismatch", 1, False)
    assert got["gone.column_missing"] == ("column_missing", 1, False)
    assert got["table.quality.rowCount"] == ("row_count_out_of_bounds", 6, False)


def test_quality_metrics_compare_counts_and_percent(data: Dataset) -> None:
    lib = {"type": "library"}
    rules = [
        {**lib, "metric": "nullValues", "mustBeLessOrEqualTo": 20, "unit": "percent"},
        {**lib, "metric": "missingValues", "arguments": {"missingValues": ["1310"]}, "mustBe": 0},
        {
            **lib,
            "metric": "invalidValues",
            "arguments": {"validValues": ["01101", "13101"]},
            "mustBeLessThan": 3,
        },
        {**lib, "metric": "duplicateValues", "mustBe": 0},
    ]
    c = contract(
        [{"name": "code", "quality": rules}], [{**lib, "metric": "duplicateValues", "mustBe": 0}]
    )
    got = run(c, data)
    assert got["code.quality.nullValues"] == ("quality_null_values", 1, True)  # 1/6 <= 20 %
    assert got["code.quality.missingValues"] == ("quality_missing_values", 2, False)
    assert got["code.quality.invalidValues"] == ("quality_invalid_values", 3, False)
    assert got["code.quality.duplicateValues"] == ("quality_duplicate_values", 1, False)
    assert got["table.quality.duplicateValues"] == ("quality_duplicate_rows", 0, True)


@pytest.mark.parametrize(
    ("logical", "arrow", "whole", "ok"),
    [
        ("integer", pa.int64(), False, True),
        ("integer", pa.float64(), True, True),
        ("integer", pa.float64(), False, False),
        ("number", pa.float64(), False, True),
        ("number", pa.string(), False, False),
        ("string", pa.large_string(), False, True),
        ("string", pa.int64(), False, False),
        ("date", pa.date32(), False, True),
    ],
)
def test_type_matches(logical: str, arrow: pa.DataType, whole: bool, ok: bool) -> None:
    assert type_matches(logical, arrow, whole) is ok
