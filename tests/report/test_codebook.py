"""The codebook recipients get: every published column, its categories, missing values, weight."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.report.profile import MAX_CATEGORIES, ProfileStream
from tests.conftest import REPO


@pytest.fixture
def out(published_demo: Path) -> Path:
    return published_demo / "out" / "census_demo"


def _data(out: Path) -> pa.Table:
    return pa.concat_tables(pq.read_table(f) for f in sorted((out / "data").glob("*.parquet")))


def test_every_published_column_is_described_with_what_it_holds(out: Path) -> None:
    book = json.loads((out / "codebook.json").read_text(encoding="utf-8"))
    schema = json.loads((REPO / "schemas" / "codebook.schema.json").read_text())
    jsonschema.validate(book, schema)
    data = _data(out)
    manifest = json.loads((out / "manifest.json").read_text())
    columns = {c["name"]: c for c in book["columns"]}
    assert list(columns) == data.column_names and book["records"] == data.num_rows
    for name, column in columns.items():
        assert column["label"] is not None, name  # the demo labels every column
        assert column["missing"]["records"] == data.column(name).null_count
        if column["categories"] is not None:
            found = data.column(name).value_counts().to_pylist()
            counts = {str(v["values"]): v["counts"] for v in found if v["values"] is not None}
            assert {c["value"]: c["records"] for c in column["categories"]} == counts
    suppressed = {v["column"]: v["suppressed"] for v in manifest["utility"]["variables"]}
    assert columns["municipality"]["missing"]["suppressed"] == suppressed["municipality"] > 0
    ages = {c["value"]: c["label"]["en"] for c in columns["age"]["categories"]}
    assert ages["0"] == "0-14" and ages["15"] == "15-19" and ages["90"] == "90 and over"
    jobs = {c["value"]: c["label"]["ja"] for c in columns["occupation"]["categories"]}
    assert jobs["C"] == "事務従事者"
    assert columns["household_id"]["categories"] is None  # over 1,000: not listed
    assert columns["income"]["type"] in ("integer", "number")
    weights = data.column("weight").to_pylist()
    assert book["weight"]["total"] == pytest.approx(sum(weights), rel=1e-12)
    assert columns["municipality"]["processed"][0]["en"].startswith("generalized to regional")


def test_the_codebook_names_no_threshold_seed_or_removed_column(out: Path) -> None:
    manifest = json.loads((out / "manifest.json").read_text())
    text = (out / "codebook.md").read_text(encoding="utf-8")
    text += (out / "codebook.json").read_text(encoding="utf-8")
    caps = [s["facts"]["threshold"] for s in manifest["steps"] if "threshold" in s["facts"]]
    assert caps and not any(f"{int(c):,}" in text or str(int(c)) in text for c in caps if c > 999)
    assert str(manifest["seed"]) not in text
    assert not any(f"`{column}`" in text for column in manifest["columns_removed"])
    assert "| 0 | 0～14 / 0-14 |" in text


def test_the_profile_lists_categories_up_to_the_limit_and_sums_the_weight_exactly() -> None:
    many = pa.table({"code": [str(i) for i in range(MAX_CATEGORIES + 1)]})
    stream = ProfileStream(many.schema, None)
    stream.add(many)
    assert stream.finish().categories["code"] is None
    weights = pa.table({"w": [1e16, 1.0, -1e16, 0.5], "c": ["a", None, "a", "b"]})
    one, two = ProfileStream(weights.schema, "w"), ProfileStream(weights.schema, "w")
    one.add(weights)
    for part in weights.to_batches(max_chunksize=1):
        two.add(part)
    assert one.finish() == two.finish()
    assert one.finish().weight_total == 1.5  # exact, where a float sum gives 0.5 or 2.0
    assert one.finish().categories["c"] == {"a": 2, "b": 1}
    assert one.finish().missing == {"w": 0, "c": 1}


def test_a_long_column_is_judged_on_all_its_values_whatever_its_head_shows() -> None:
    n = 20_000
    few_then_many = [str(i % 500) if i < n // 2 else str(i) for i in range(n)]
    few = [None if i % 7 == 0 else str(i % MAX_CATEGORIES) for i in range(n)]
    table = pa.table({"late": few_then_many, "ids": [str(i) for i in range(n)], "few": few})
    stream = ProfileStream(table.schema, None)
    stream.add(table)
    found = stream.finish()
    assert found.categories["late"] is None and found.categories["ids"] is None
    expected: dict[str, int] = {}
    for value in few:
        if value is not None:
            expected[value] = expected.get(value, 0) + 1
    assert found.categories["few"] == expected and found.missing["few"] == len(range(0, n, 7))
