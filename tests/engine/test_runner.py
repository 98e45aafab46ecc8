"""End-to-end runs of real recipes on generated data (real dask, real files)."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from pipeline.cli.app import app
from pipeline.hierarchies import REGION_EN
from tests.conftest import copy_demo, data_digests, demo_recipe, imported_by_a_run

IDENTIFIERS = ["name", "address", "phone", "email", "my_number", "drivers_licence", "member_id"]
DEMO_STEPS = """\
  - recode: {column: municipality, hierarchy: jp_region, level: prefecture}
  - recode: {column: age, bands: [0, 15, 20, 25, 30, 35, 40, 45, 50, 55, 60, 65, 70, 75, 80, 85,
                                  90]}
  - recode: {column: occupation, hierarchy: hierarchies/occupation.csv, level: 1}
  - top_code: {column: age, above: 90, replace_with: 90}
  - top_code: {column: income, quantile: 0.995}
  - top_code: {column: household_size, above: 8}
  - subsample: {fraction: 0.8, by: household_id}
  - shuffle_records: {}
"""


def invoke(*args: str):
    return CliRunner().invoke(app, list(args))


def all_text(out: Path) -> str:
    return "\n".join(p.read_bytes().decode("latin-1") for p in out.rglob("*") if p.is_file())


@pytest.mark.slow
def test_demo_recipe_publishes_anonymized_data(workdir: Path) -> None:
    recipe = copy_demo(workdir)
    result = invoke("run", str(recipe))
    assert result.exit_code == 0, result.output
    out = workdir / "out" / "census_demo"
    data = pd.read_parquet(out / "data")
    source = pd.read_csv(workdir / "examples" / "census_sample.csv", dtype=str)
    assert not set(IDENTIFIERS) & set(data.columns)
    assert list(data.columns) == [
        "household_id",
        "age",
        "sex",
        "municipality",
        "occupation",
        "household_size",
        "income",
        "weight",
    ]
    assert data["age"].max() == 90 and (source["age"].astype(int) == 116).any()
    assert set(data["age"].dropna()) <= {
        0,
        15,
        20,
        25,
        30,
        35,
        40,
        45,
        50,
        55,
        60,
        65,
        70,
        75,
        80,
        85,
        90,
    }
    manifest = json.loads((out / "manifest.json").read_text())
    level = next(s for s in manifest["steps"] if s["name"] == "generalize")["facts"]["levels"]
    if level["municipality"] == 2:  # generalize chose the prefectures
        assert data["municipality"].dropna().str.fullmatch(r"(0[1-9]|[1-3]\d|4[0-7])").all()
    else:  # or the regions
        assert level["municipality"] in (3, 4)
        assert set(data["municipality"].dropna()) <= set(REGION_EN.values())
    cap = np.floor(np.quantile(source["income"].astype(float), 0.995))
    assert data["income"].max() == cap
    assert data["household_size"].max() <= 8
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["rows_in"] == len(source) and manifest["rows_out"] == len(data)
    for key in ("schema_version", "run_id", "generated_at", "seed", "packages"):
        assert key in manifest
    assert manifest["recipe"]["sha256"] == hashlib.sha256(recipe.read_bytes()).hexdigest()
    subsample = next(s for s in manifest["steps"] if s["name"] == "subsample")
    assert subsample["rows_out"] == len(data) < subsample["rows_in"]
    # no raw identifier value anywhere in the published files or the log
    text = all_text(out) + result.output
    for column in ("my_number", "phone", "member_id", "household_id", "drivers_licence"):
        for value in source[column].dropna().head(50):
            assert value not in text


@pytest.mark.slow
@pytest.mark.parametrize("scheduler", ["threads", "processes"])
def test_output_is_byte_identical_across_partitions(workdir: Path, scheduler: str) -> None:
    recipe = demo_recipe(workdir, DEMO_STEPS)
    digests = []
    for n in (1, 4, 16):
        out = f"out/p{n}"
        result = invoke(
            "run",
            str(recipe),
            "--partitions",
            str(n),
            "--output",
            out,
            "--scheduler",
            scheduler,
            "-q",
        )
        assert result.exit_code == 0, result.output
        digests.append(data_digests(workdir / out))
    assert digests[0] == digests[1] == digests[2]


@pytest.mark.slow
def test_a_local_run_never_imports_distributed(workdir: Path) -> None:
    # dask asks distributed for a client before a tree reduction unless told the shuffle method
    recipe = demo_recipe(workdir, DEMO_STEPS)
    assert not imported_by_a_run(workdir, recipe, "distributed")
    assert (workdir / "out" / "run" / "manifest.json").is_file()


@pytest.mark.slow
def test_small_files_are_cut_at_fixed_row_counts(workdir: Path) -> None:
    recipe = demo_recipe(workdir, "  - shuffle_records: {}\n", output="out/csv", fmt="csv")
    text = recipe.read_text().replace("format: csv}", "format: csv, rows_per_file: 300}")
    recipe.write_text(text)
    digests = []
    for n in (1, 5):
        result = invoke("run", str(recipe), "--partitions", str(n), "-q", "--output", f"out/c{n}")
        assert result.exit_code == 0, result.output
        digests.append(data_digests(workdir / f"out/c{n}"))
    assert digests[0] == digests[1]
    files = sorted((workdir / "out/c1/data").iterdir())
    assert len(files) == 7  # 2000 rows / 300
    frames = [pd.read_csv(f, dtype=str) for f in files]
    assert [len(f) for f in frames] == [300] * 6 + [200]
    # text keys keep their leading zeros in CSV output
    both = pd.concat(frames)
    assert both["municipality"].str.len().eq(5).all()


@pytest.mark.slow
def test_cp932_input_gives_the_same_data_as_utf8(workdir: Path, census_frame) -> None:
    census_frame.to_csv(workdir / "data" / "census_sjis.csv", index=False, encoding="cp932")
    utf8 = demo_recipe(workdir, DEMO_STEPS, output="out/utf8")
    assert invoke("run", str(utf8), "-q").exit_code == 0
    sjis = demo_recipe(
        workdir,
        DEMO_STEPS,
        output="out/sjis",
        input_path="data/census_sjis.csv",
        input_options=", encoding: cp932",
    )
    result = invoke("run", str(sjis), "-q")
    assert result.exit_code == 0, result.output
    a = pd.read_parquet(workdir / "out/utf8/data")
    b = pd.read_parquet(workdir / "out/sjis/data")
    _same_but_fresh_tokens(a, b)


def _same_but_fresh_tokens(a: pd.DataFrame, b: pd.DataFrame) -> None:
    """Equal data from two input files: the same households, each file its own tokens."""
    assert not set(a["household_id"]) & set(b["household_id"])  # tokens fresh per input
    for frame in (a, b):
        frame["household_id"] = pd.factorize(frame["household_id"])[0]
    pd.testing.assert_frame_equal(a, b, check_dtype=False)


@pytest.mark.slow
def test_parquet_input_gives_the_same_values_as_csv(workdir: Path, census_frame) -> None:
    census_frame.to_parquet(workdir / "data" / "census.parquet", index=False)
    from_csv = demo_recipe(workdir, DEMO_STEPS, output="out/csv")
    assert invoke("run", str(from_csv), "-q").exit_code == 0
    from_pq = demo_recipe(workdir, DEMO_STEPS, output="out/pq", input_path="data/census.parquet")
    result = invoke("run", str(from_pq), "-q", "--partitions", "3")
    assert result.exit_code == 0, result.output
    a = pd.read_parquet(workdir / "out/csv/data")
    b = pd.read_parquet(workdir / "out/pq/data")
    _same_but_fresh_tokens(a, b)


LOG_STEPS = """\
  - recode: {column: age, bands: [0, 15, 30, 45, 60, 75, 90]}
  - top_code: {column: income, quantile: 0.995}
  - bottom_code: {column: household_size, below: 1}
  - subsample: {fraction: 0.8, by: household_id}
  - generalize:
      k: 3
      hierarchies: {municipality: {hierarchy: jp_region}}
      suppress: none
      max_suppression: 0.9
  - local_suppression: {k: 3}
  - microaggregate: {variables: [income], k: 3}
  - add_noise: {variables: [household_size], noise: 10}
  - pram: {column: occupation, pd: 0.8}
  - shuffle_records: {}
"""


def _derived(facts: object) -> list[str]:
    """The figures of the manifest's step facts that are not counts, as a log would print them."""
    if isinstance(facts, dict):
        return [t for v in facts.values() for t in _derived(v)]
    if isinstance(facts, list):
        return [t for v in facts for t in _derived(v)]
    if isinstance(facts, float) and abs(facts) >= 1000:
        return [f"{facts:.10g}", f"{facts:,.0f}", f"{int(facts)}"]
    return []


@pytest.mark.slow
def test_plain_log_lines_name_steps_and_counts_but_no_derived_figures(workdir: Path) -> None:
    recipe = demo_recipe(workdir, LOG_STEPS)
    result = invoke("run", str(recipe))
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert all(line[:4].isdigit() and "anonymize:" in line for line in lines)  # timestamped
    assert max(map(len, lines)) <= 160
    assert any("subsample household_id: units=" in line for line in lines)
    assert any("local_suppression: missing=any, suppressed_total=" in line for line in lines)
    manifest = json.loads((workdir / "out" / "run" / "manifest.json").read_text())
    facts = {s["name"]: s["facts"] for s in manifest["steps"]}
    assert facts["top_code"]["threshold"] > 1000 and facts["pram"]  # the figures kept back
    text = result.output
    for figure in _derived([s["facts"] for s in manifest["steps"]]):
        assert figure not in text, figure
    for word in ("threshold", "replace_with", "levels", "matri", "weight_factor", "{", "[["):
        assert word not in text, word
    number = r"(?<![\w.])\d+(\.\d+)?[eE][+-]?\d+(?![\w.])"  # not a run id's hex digits
    assert not re.search(number, text), "scientific notation"
    # nor do the documents recipients get: the notice and the codebook (10 step types)
    out = workdir / "out" / "run"
    for name in ("public_notice.md", "codebook.md", "codebook.json"):
        document = (out / name).read_text(encoding="utf-8")
        for figure in _derived([s["facts"] for s in manifest["steps"]]):
            assert figure not in document, (name, figure)
        for word in ("threshold", "replace_with", "weight_factor", "matri", "seed"):
            assert word not in document, (name, word)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["local", "tcp"])
def test_distributed_schedulers_give_identical_bytes(workdir: Path, kind: str) -> None:
    from distributed import LocalCluster

    recipe = demo_recipe(workdir, DEMO_STEPS)
    assert invoke("run", str(recipe), "-q", "--output", "out/threads").exit_code == 0
    if kind == "local":
        result = invoke("run", str(recipe), "-q", "--output", "out/d", "--scheduler", "local")
    else:
        with LocalCluster(
            host="127.0.0.1", n_workers=1, threads_per_worker=2, dashboard_address=":0"
        ) as cluster:
            address = cluster.scheduler_address
            result = invoke("run", str(recipe), "-q", "--output", "out/d", "--scheduler", address)
    assert result.exit_code == 0, result.output
    assert data_digests(workdir / "out/threads") == data_digests(workdir / "out/d")


@pytest.mark.slow
@pytest.mark.parametrize("bits", [0, 3])
def test_shuffled_output_is_sorted_by_the_order_keys_in_buckets(
    workdir: Path, monkeypatch, bits: int
) -> None:
    from pipeline.core.randomness import order_keys
    from pipeline.engine import produce
    from pipeline.recipe.models import ColumnsSpec
    from pipeline.steps.registry import StepContext

    monkeypatch.setattr(produce, "order_bits", lambda rows: bits)
    frame = pd.read_csv(workdir / "data" / "census.csv", dtype=str)
    frame["record_no"] = np.arange(len(frame)).astype(str)
    frame.to_csv(workdir / "data" / "census.csv", index=False)
    recipe = demo_recipe(workdir, "  - shuffle_records: {}\n")
    outputs = []
    for partitions in ("1", "4"):
        out = f"out/p{partitions}"
        result = invoke("run", str(recipe), "--output", out, "--partitions", partitions)
        assert result.exit_code == 0, result.output
        outputs.append(pd.read_parquet(workdir / out / "data")["record_no"].astype(int).tolist())
    ctx = StepContext(seed=42, index=2, name="shuffle_records", columns=ColumnsSpec())
    keys = order_keys(np.arange(len(frame), dtype=np.int64), ctx.derive_key("shuffle"))
    assert outputs[0] == outputs[1] == np.argsort(keys, kind="stable").tolist()
    assert outputs[0] != list(range(len(frame)))


def test_deferred_unknown_value_checks_stop_the_run_with_all_problems(workdir: Path) -> None:
    # the recode checks are settled in the next pass over the data (here the quantile's);
    # both failures are reported together and nothing is published
    steps = """\
  - recode: {column: occupation, map: {"A01": X}}
  - recode: {column: sex, map: {"1": M}}
  - top_code: {column: income, quantile: 0.99}
"""
    result = invoke("run", str(demo_recipe(workdir, steps)))
    assert result.exit_code == 3, result.output
    assert "input error (2 problems)" in result.output
    assert "column 'occupation'" in result.output and "column 'sex'" in result.output
    assert "steps[0].recode" in result.output and "steps[1].recode" in result.output
    assert not (workdir / "out" / "run").exists()


@pytest.mark.slow
def test_unknown_value_facts_are_in_the_manifest(workdir: Path) -> None:
    steps = '  - recode: {column: sex, map: {"1": M}, on_unknown: missing}\n'
    result = invoke("run", str(demo_recipe(workdir, steps)))
    assert result.exit_code == 0, result.output
    manifest = json.loads((workdir / "out" / "run" / "manifest.json").read_text())
    recode = next(s for s in manifest["steps"] if s["name"] == "recode")
    assert recode["facts"]["unknown_values"] > 0
