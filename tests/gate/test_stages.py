"""The data-quality gate end to end: every kind of violation blocks publication with its reason.

Faults are injected the way real bugs would show up (a step that forgets to cap, a recode that
lets codes through, a step that loses rows); the gate must catch each one on the real files.
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import jsonschema
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import pipeline.engine.phases as runner
from pipeline.core.columns import INTERNAL_PREFIX, ROW
from pipeline.steps import STEPS
from pipeline.steps import recode as recode_mod
from pipeline.steps import topcode as topcode_mod
from pipeline.steps.registry import Effect
from tests.conftest import (
    REPO,
    assert_blocked,
    assert_blocked_page,
    copy_demo,
    demo_recipe,
    gate_report,
    invoke,
    reasons,
)

STEPS_TEXT = """\
  - recode: {column: municipality, hierarchy: jp_region, level: prefecture}
  - recode: {column: age, bands: [0, 20, 40, 60, 80]}
  - recode: {column: occupation, hierarchy: hierarchies/occupation.csv, level: 1}
  - top_code: {column: age, above: 80}
  - top_code: {column: income, quantile: 0.99}
  - subsample: {fraction: 0.5, by: household_id}
  - shuffle_records: {}
"""
SAFE_RISK = "risk: {k: 1}\n"
NAMES = ["name", "address", "phone", "email"]


def publish_previous(workdir: Path, recipe: Path) -> bytes:
    result = invoke("run", str(recipe))
    assert result.exit_code == 0, result.output
    return (workdir / "out" / "run" / "manifest.json").read_bytes()


@pytest.mark.slow
def test_clean_run_publishes_with_gate_in_manifest_and_report(workdir: Path) -> None:
    recipe = demo_recipe(workdir, STEPS_TEXT, extra=SAFE_RISK)
    result = invoke("run", str(recipe))
    assert result.exit_code == 0, result.output
    out = workdir / "out" / "run"
    manifest = json.loads((out / "manifest.json").read_text())
    gate = manifest["gate"]
    assert gate["passed"] and gate["outcome"] == "published"
    checks = {c["id"]: c for c in gate["output"]["checks"]}
    assert checks["steps[3].top_code.age"]["engine"] == "arrow"  # no contract: GX not needed
    assert gate["output"]["engine_versions"] == {}
    assert checks["steps[0].recode.municipality"]["reason"] == "recode_value_outside_level"
    assert "steps[1].recode.age" not in checks  # superseded by the later top_code of age
    assert checks["rows.reconcile"]["observed"] == manifest["rows_out"]
    assert all(f"columns.direct_identifiers.{n}" in checks for n in NAMES)
    schema = json.loads((REPO / "schemas" / "gate_report.schema.json").read_text())
    jsonschema.validate(gate, schema)
    report = json.loads((out / "risk_report.json").read_text())
    assert report["gate"]["passed"]
    assert "Data-quality gate" in (out / "risk_report.html").read_text()
    assert not (workdir / "out" / "run.gate_report.json").exists()


@pytest.mark.slow
def test_identifier_column_left_blocks(workdir: Path, monkeypatch) -> None:
    recipe = demo_recipe(workdir, STEPS_TEXT, extra=SAFE_RISK)
    spec = STEPS["drop_identifiers"]
    monkeypatch.setitem(
        STEPS, "drop_identifiers", dataclasses.replace(spec, func=lambda d, p, c: Effect(d))
    )
    monkeypatch.setattr(runner, "check_columns", lambda loaded, recipe, header: list(header))
    result = invoke("run", str(recipe))
    report = assert_blocked(workdir, result, "identifier_column_present")
    failed = {c["column"] for c in report["output"]["checks"] if not c["passed"]}
    assert {"name", "my_number", "member_id"} <= failed
    census = pd.read_csv(workdir / "data" / "census.csv", dtype=str)
    text = (workdir / "out" / "run.gate_report.json").read_text() + result.output
    text += (workdir / "out" / "run.gate_report.html").read_text()
    assert not any(value in text for value in census["name"].head(50))
    assert not any(value in text for value in census["my_number"].head(50))


@pytest.mark.slow
def test_cap_exceeded_blocks_and_keeps_previous_output(workdir: Path, monkeypatch) -> None:
    recipe = demo_recipe(workdir, STEPS_TEXT, extra=SAFE_RISK)
    previous = publish_previous(workdir, recipe)
    monkeypatch.setattr(topcode_mod, "_cap", lambda values, t, r, upper, dtype: values)
    result = invoke("run", str(recipe))
    report = assert_blocked(workdir, result, "cap_exceeded", previous)
    failed = [c for c in report["output"]["checks"] if not c["passed"]]
    assert "steps[4].top_code.income" in {c["id"] for c in failed}
    assert all(c["observed"] > 0 for c in failed if c["reason"] == "cap_exceeded")


@pytest.mark.slow
def test_unknown_recode_value_blocks(workdir: Path, monkeypatch) -> None:
    recipe = demo_recipe(workdir, STEPS_TEXT, extra=SAFE_RISK)

    def leaky(values, func, args, fill, dtype):  # a recode that lets the raw codes through
        out = values if pd.api.types.is_string_dtype(values.dtype) else values.astype(dtype)
        return pd.DataFrame({"value": out, "unknown": False}, index=values.index)

    monkeypatch.setattr(recode_mod, "_recode_partition", leaky)
    result = invoke("run", str(recipe))
    report = assert_blocked(workdir, result, "recode_value_outside_level")
    failed = {c["id"] for c in report["output"]["checks"] if not c["passed"]}
    assert {"steps[0].recode.municipality", "steps[2].recode.occupation"} <= failed


@pytest.mark.slow
def test_k_violated_blocks(workdir: Path) -> None:
    recipe = demo_recipe(workdir, STEPS_TEXT, extra="risk: {k: 3}\n")
    result = invoke("run", str(recipe))
    report = assert_blocked(workdir, result, "k_anonymity_violated")
    (k_check,) = [c for c in report["output"]["checks"] if c["id"] == "risk.k"]
    assert k_check["observed"] > 0


@pytest.mark.slow
def test_k_reached_by_local_suppression_publishes(workdir: Path) -> None:
    steps = STEPS_TEXT + "  - local_suppression: {k: 3}\n"
    recipe = demo_recipe(workdir, steps, extra="risk: {k: 3}\n")
    result = invoke("run", str(recipe))
    assert result.exit_code == 0, result.output


@pytest.mark.slow
def test_global_risk_too_high_blocks(workdir: Path) -> None:
    recipe = demo_recipe(workdir, STEPS_TEXT, extra="risk: {k: 1, max_global_risk: 0.0001}\n")
    result = invoke("run", str(recipe))
    assert_blocked(workdir, result, "global_risk_too_high")


@pytest.mark.slow
def test_row_count_mismatch_blocks(workdir: Path, monkeypatch) -> None:
    recipe = demo_recipe(workdir, STEPS_TEXT, extra=SAFE_RISK)
    spec = STEPS["shuffle_records"]

    def lossy(df, params, ctx):  # a step that silently loses every tenth record
        return Effect(df[df[ROW] % 10 != 0])

    monkeypatch.setitem(STEPS, "shuffle_records", dataclasses.replace(spec, func=lossy))
    result = invoke("run", str(recipe))
    report = assert_blocked(workdir, result, "row_count_mismatch")
    (check,) = [c for c in report["output"]["checks"] if c["id"] == "rows.reconcile"]
    assert "subsampled" in check["description"]


@pytest.mark.slow
def test_output_contract_failure_blocks(workdir: Path) -> None:
    contract = (REPO / "data_contracts" / "census_output.odcs.yaml").read_text()
    (workdir / "recipes" / "out.yaml").write_text(
        contract.replace("{minimum: 0, maximum: 90}", "{minimum: 0, maximum: 60}")
    )
    bands = ", ".join(str(b) for b in range(0, 95, 5))
    steps = STEPS_TEXT.replace("0, 20, 40, 60, 80", bands).replace("above: 80", "above: 90")
    steps += "  - top_code: {column: household_size, above: 8}\n"
    recipe = demo_recipe(workdir, steps, extra=SAFE_RISK + "contracts: {output: out.yaml}\n")
    result = invoke("run", str(recipe))
    report = assert_blocked(workdir, result, "out_of_range")
    failed = [c for c in report["output"]["checks"] if not c["passed"]]
    assert [(c["source"], c["column"]) for c in failed] == [("contract", "age")]


def test_input_contract_broken_exits_3_naming_every_check(workdir: Path) -> None:
    contract = (REPO / "data_contracts" / "census_input.odcs.yaml").read_text()
    contract = contract.replace("{minimum: 0, maximum: 130}", "{minimum: 0, maximum: 100}")
    contract = contract.replace(
        "      - name: weight\n", "      - name: missing_col\n      - name: weight\n"
    )
    (workdir / "recipes" / "in.yaml").write_text(contract)
    recipe = demo_recipe(workdir, STEPS_TEXT, extra=SAFE_RISK + "contracts: {input: in.yaml}\n")
    frame = pd.read_csv(workdir / "data" / "census.csv", dtype=str)
    frame.loc[3, "age"] = "116"
    frame.loc[5, "sex"] = "9"
    frame.to_csv(workdir / "data" / "census.csv", index=False)
    result = invoke("run", str(recipe))
    assert result.exit_code == 3, result.output
    assert {"out_of_range", "column_missing", "quality_invalid_values"} <= reasons(result)
    assert "age" in result.output and "missing_col" in result.output
    assert not (workdir / "out" / "run").exists()
    report = gate_report(workdir)
    assert report["outcome"] == "input_rejected" and report["output"] is None
    page = assert_blocked_page(workdir / "out" / "run.gate_report.html", report)
    assert not re.search(r"(?<![\w.])116(?![\w.])", page)
    # the value never shows as a token of its own (timings such as "0.116 s" may hold the digits)
    assert not re.search(r"(?<![\w.])116(?![\w.])", result.output)


@pytest.mark.slow
def test_demo_recipe_contracts_pass_and_gate_only_revalidates(workdir: Path) -> None:
    recipe = copy_demo(workdir)
    assert invoke("run", str(recipe)).exit_code == 0
    out = workdir / "out" / "census_demo"
    gate = json.loads((out / "manifest.json").read_text())["gate"]
    assert gate["input"]["passed"] and gate["output"]["passed"]
    assert any(c["source"] == "contract" for c in gate["output"]["checks"])
    result = invoke("run", str(recipe), "--gate-only", str(out))
    assert result.exit_code == 0, result.output
    assert "valid" in result.output
    # an auditor re-validating a tampered file: integrity and cap both fail, exit 4
    part = out / "data" / "part-00000.parquet"
    table = pq.read_table(part)
    ages = table.column("age").to_pylist()
    ages[0] = 116
    table = table.set_column(table.schema.get_field_index("age"), "age", pa.array(ages, pa.int64()))
    pq.write_table(table, part)
    report_file = workdir / "audit.json"
    result = invoke("run", str(recipe), "--gate-only", str(out), "--gate-report", str(report_file))
    assert result.exit_code == 4, result.output
    report = json.loads(report_file.read_text())
    failed = {c["reason"] for c in report["output"]["checks"] if not c["passed"]}
    assert {"file_integrity", "cap_exceeded", "out_of_range"} <= failed
    assert report["outcome"] == "invalid"


@pytest.mark.slow
@pytest.mark.parametrize("encoding", ["utf-8", "cp932"])
def test_gate_only_reads_csv_output_with_its_types(workdir: Path, encoding: str) -> None:
    recipe = demo_recipe(workdir, STEPS_TEXT, extra=SAFE_RISK, fmt="csv")
    text = recipe.read_text().replace("format: csv}", f"format: csv, encoding: {encoding}}}")
    recipe.write_text(text)
    assert invoke("run", str(recipe)).exit_code == 0
    out = workdir / "out" / "run"
    result = invoke("run", str(recipe), "--gate-only", str(out))
    assert result.exit_code == 0, result.output
    # a changed recipe is flagged: the output was not produced by it
    recipe.write_text(text.replace("above: 80", "above: 70"))
    result = invoke("run", str(recipe), "--gate-only", str(out))
    assert result.exit_code == 4 and "recipe_mismatch" in reasons(result), result.output


def undeclared_phone(workdir: Path, extra: str) -> Path:
    """A recipe whose input has the phone column renamed and not declared anywhere."""
    frame = pd.read_csv(workdir / "data" / "census.csv", dtype=str)
    frame = frame.rename(columns={"phone": "contact"})
    frame.to_csv(workdir / "data" / "census.csv", index=False)
    recipe = demo_recipe(workdir, STEPS_TEXT, extra=SAFE_RISK + extra)
    recipe.write_text(
        recipe.read_text().replace("[name, address, phone, email]", "[name, address, email]")
    )  # noqa: E501
    return recipe


def test_undeclared_identifier_in_the_input_exits_3(workdir: Path) -> None:
    recipe = undeclared_phone(workdir, "")
    result = invoke("run", str(recipe))
    assert result.exit_code == 3, result.output
    assert "undeclared_identifier" in reasons(result) and "contact" in result.output
    assert "phone in" in result.output
    census = pd.read_csv(workdir / "data" / "census.csv", dtype=str)
    assert not any(v in result.output for v in census["contact"].head(50))
    assert not (workdir / "out" / "run").exists()


@pytest.mark.slow
def test_warned_identifier_is_still_stopped_by_the_output_scan(workdir: Path) -> None:
    recipe = undeclared_phone(workdir, "scan: {undeclared: warn}\n")
    result = invoke("run", str(recipe))
    report = assert_blocked(workdir, result, "identifier_found")
    (check,) = [c for c in report["output"]["checks"] if c["id"] == "scan.contact"]
    assert not check["passed"] and "phone" in check["description"]
    assert [c["passed"] for c in report["input"]["checks"] if c["id"] == "scan.contact"] == [True]


@pytest.mark.slow
def test_ignored_column_publishes(workdir: Path) -> None:
    recipe = undeclared_phone(workdir, "scan: {ignore: [contact]}\n")
    assert invoke("run", str(recipe)).exit_code == 0


def test_identifiers_in_free_text_are_found(workdir: Path) -> None:
    frame = pd.read_csv(workdir / "data" / "census.csv", dtype=str)
    frame["notes"] = "特記事項なし"
    frame.loc[::50, "notes"] = "本人連絡先 " + frame.loc[::50, "phone"] + " に確認済"
    frame.to_csv(workdir / "data" / "census.csv", index=False)
    recipe = demo_recipe(workdir, STEPS_TEXT, extra=SAFE_RISK)
    result = invoke("run", str(recipe))
    assert result.exit_code == 3 and "notes" in result.output, result.output


OUT_CONTRACT = """\
apiVersion: v3.0.2
kind: DataContract
id: urn:test:out
name: out
version: 1.0.0
status: active
schema:
  - name: out
    physicalType: table
    properties:
      - {name: note, logicalType: string, required: true}
"""


def _small_recipe(workdir: Path, fmt: str, input_path: str) -> Path:
    (workdir / "recipes" / "out.odcs.yaml").write_text(OUT_CONTRACT)
    recipe = workdir / "recipes" / "small.yaml"
    recipe.write_text(
        f"version: 1\nname: small\ninput: {{path: {input_path}}}\n"
        f"output: {{dir: out/run, format: {fmt}}}\nseed: 1\n"
        "contracts: {output: out.odcs.yaml}\ncolumns: {key_variables: [region]}\n"
        "steps:\n  - top_code: {column: age, above: 50}\n"
    )
    return recipe


def test_a_csv_output_is_measured_as_recipients_read_it(workdir: Path) -> None:
    """``N/A`` is text in memory but missing once written as CSV and read back."""
    notes = ["N/A" if i % 10 == 0 else "ok" for i in range(300)]
    frame = pd.DataFrame({"region": ["A", "B", "C"] * 100, "note": notes, "age": range(300)})
    frame.to_csv(workdir / "data" / "small.csv", index=False)
    result = invoke("run", str(_small_recipe(workdir, "csv", "data/small.csv")))
    report = assert_blocked(workdir, result, "null_values")
    (check,) = [c for c in report["output"]["checks"] if c["id"] == "note.null_values"]
    assert check["observed"] == 30


def test_an_all_missing_column_fails_its_checks_not_the_run(workdir: Path) -> None:
    table = pa.table({"region": ["A", "B"] * 150, "note": pa.nulls(300), "age": range(300)})
    pq.write_table(table, workdir / "data" / "small.parquet")
    result = invoke("run", str(_small_recipe(workdir, "parquet", "data/small.parquet")))
    report = assert_blocked(workdir, result, "null_values")
    (check,) = [c for c in report["output"]["checks"] if c["id"] == "note.null_values"]
    assert check["observed"] == 300


@pytest.mark.slow
def test_a_cap_on_the_weight_gives_way_to_the_sample_that_reweights(workdir: Path) -> None:
    steps = "  - top_code: {column: weight, quantile: 0.9}\n  - subsample: {fraction: 0.5}\n"
    result = invoke("run", str(demo_recipe(workdir, steps, extra=SAFE_RISK)))
    assert result.exit_code == 0, result.output
    manifest = json.loads((workdir / "out" / "run" / "manifest.json").read_text())
    ids = {c["id"] for c in manifest["gate"]["output"]["checks"]}
    assert not any(i.startswith("steps[0].top_code.weight") for i in ids)


@pytest.mark.slow
def test_a_blocked_page_goes_when_a_run_publishes_and_a_foreign_file_is_never_replaced(
    workdir: Path,
) -> None:
    blocked = demo_recipe(workdir, STEPS_TEXT, extra="risk: {k: 1000}\n")
    assert_blocked(workdir, invoke("run", str(blocked)), "k_anonymity_violated")
    page = workdir / "out" / "run.gate_report.html"
    recipe = demo_recipe(workdir, STEPS_TEXT, extra=SAFE_RISK)
    assert invoke("run", str(recipe)).exit_code == 0
    assert not page.exists() and not (workdir / "out" / "run.gate_report.json").exists()
    page.write_text("<html>the user's own page</html>")
    result = invoke("run", str(blocked))
    assert result.exit_code == 2 and "refusing" in result.output, result.output
    assert page.read_text() == "<html>the user's own page</html>"


def test_the_input_scan_reads_no_internal_column(workdir: Path, monkeypatch) -> None:
    """Row numbers and a linking ID's hashed units are the run's own: never scanned."""
    from pipeline.gate import scanning

    scanned: list[str] = []
    original = scanning.scan_array

    def spy(column: str, values: pa.ChunkedArray, *rest: object) -> list:
        scanned.append(column)
        return original(column, values, *rest)

    monkeypatch.setattr(scanning, "scan_array", spy)
    recipe = demo_recipe(workdir, "  - subsample: {fraction: 0.5, by: household_id}\n")
    result = invoke("run", str(recipe), "-q")
    assert result.exit_code == 0, result.output
    assert {"age", "income", "household_id"} <= set(scanned)  # input and output stages ran
    assert not [c for c in scanned if c.startswith(INTERNAL_PREFIX)]
