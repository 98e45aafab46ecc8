"""The Python API: every function on paths, DataFrames and Arrow tables, and its errors."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

import pipeline
from pipeline import api
from pipeline.cli_risk import main as risk_main
from tests.conftest import demo_recipe

KEYS = ["age", "sex", "municipality", "occupation"]


def test_run_publishes_and_returns_the_manifest(workdir: Path) -> None:
    recipe = demo_recipe(workdir, "  - top_code: {column: age, above: 90}\n")
    result = pipeline.run(recipe, output="out/api")
    assert result.out_dir.name == "api" and (result.out_dir / "manifest.json").exists()
    assert result.manifest.rows_out == len(pd.read_parquet(result.out_dir / "data"))
    with pytest.raises(pipeline.InputDataError) as bad:
        pipeline.run(demo_recipe(workdir, "  - top_code: {column: nope, above: 1}\n", "out/x"))
    assert bad.value.exit_code == 3 and "nope" in str(bad.value)
    with pytest.raises(pipeline.RecipeError) as wrong:
        pipeline.run(demo_recipe(workdir, "  - top_code: {above: 1}\n", "out/x"))
    assert wrong.value.exit_code == 2 and "column" in str(wrong.value)
    with pytest.raises(pipeline.RecipeError):
        pipeline.run(recipe, scheduler="thread")


def test_risk_is_the_commands_for_a_path_a_frame_and_a_table(workdir: Path, capsys) -> None:
    path = workdir / "data" / "census.csv"
    found = api.risk(path, KEYS, weight="weight", k=3)
    capsys.readouterr()
    assert risk_main([str(path), "--key-vars", ",".join(KEYS), "--weight", "weight",
                      "--format", "json"]) == 0  # fmt: skip
    assert found.summary == json.loads(capsys.readouterr().out)
    frame = pd.read_csv(path, dtype={"municipality": str})
    for data in (frame, pa.Table.from_pandas(frame)):
        again = api.risk(data, KEYS, weight="weight", k=3)
        assert again.summary == found.summary
    records = found.records
    assert list(records.columns) == ["fk", "Fk", "rk"] and len(records) == len(frame)
    # input order: a record's fk is the size of its key combination
    sizes = frame.groupby(KEYS, dropna=False)["sex"].transform("size")
    complete = frame[KEYS].notna().all(axis=1)
    assert (records["fk"][complete].to_numpy() >= sizes[complete].to_numpy()).all()


def test_risk_errors_are_typed_and_name_no_value(workdir: Path) -> None:
    frame = pd.DataFrame({"a": ["SECRETVALUE", "x"], "w": ["SECRETWEIGHT", "2"]})
    with pytest.raises(pipeline.InputDataError) as missing:
        api.risk(frame, ["a", "nope"])
    assert "nope" in str(missing.value) and missing.value.exit_code == 3
    with pytest.raises(pipeline.InputDataError) as weights:
        api.risk(frame, ["a"], weight="w")
    assert "SECRET" not in str(weights.value)
    with pytest.raises(pipeline.RecipeError):
        api.risk(frame, [])
    with pytest.raises(pipeline.RecipeError):
        api.risk(frame, ["a"], k=0)
    with pytest.raises(pipeline.InputDataError):
        api.risk(workdir / "nothing.csv", ["a"])
    with pytest.raises(pipeline.RecipeError):
        api.risk([1, 2], ["a"])


def test_an_unexpected_error_keeps_no_library_message(monkeypatch) -> None:
    import pipeline.risk.table as table

    def broken(*args, **kwargs):
        raise ValueError("the value SECRETVALUE is bad")

    monkeypatch.setattr(table, "risk_of_table", broken)
    with pytest.raises(pipeline.UnexpectedError) as found:
        api.risk(pd.DataFrame({"a": ["x"]}), ["a"])
    assert "SECRETVALUE" not in str(found.value) and "ValueError" in str(found.value)
    assert found.value.__cause__ is None and found.value.__suppress_context__


def test_utility_compares_two_frames_as_the_command_does(workdir: Path) -> None:
    original = pd.read_csv(workdir / "data" / "census.csv", dtype={"municipality": str})
    released = original.copy()
    released["age"] = (released["age"] // 10) * 10
    released.loc[::7, "sex"] = None
    found = api.utility(original, released, ["age", "sex"], numeric=["income"],
                             levels={"age": (1, 2)})  # fmt: skip
    (sex,) = [v for v in found.variables if v.column == "sex"]
    assert sex.suppressed == len(original[::7])
    (income,) = found.numeric
    assert income.il1s == 0
    by_path = workdir / "released.csv"
    released.to_csv(by_path, index=False)
    again = api.utility(workdir / "data" / "census.csv", by_path, ["age", "sex"],
                             numeric=["income"], levels={"age": (1, 2)})  # fmt: skip
    assert again.model_dump() == found.model_dump()
    with pytest.raises(pipeline.InputDataError):
        api.utility(original, released.iloc[:10], ["age"])
    with pytest.raises(pipeline.RecipeError):
        api.utility(original, released, ["age"], tables=[("age",)])


def test_scan_finds_identifiers_in_a_frame_and_a_file(workdir: Path) -> None:
    path = workdir / "data" / "census.csv"
    found = api.scan(path, columns=["email", "phone", "age"])
    kinds = {(f.column, f.kind) for f in found}
    assert {c for c, _ in kinds} == {"email", "phone"}
    frame = pd.read_csv(path, dtype=str)[["email", "phone", "age"]]
    assert {(f.column, f.kind) for f in api.scan(frame)} == kinds
    with pytest.raises(pipeline.RecipeError):
        api.scan(frame, min_confidence=2)
