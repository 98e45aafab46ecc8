"""The Python API: every function on paths, DataFrames and Arrow tables, and its errors."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

import pipeline
from pipeline import api
from pipeline.cli.risk import main as risk_main
from tests.conftest import demo_recipe

KEYS = ["age", "sex", "municipality", "occupation"]


@pytest.mark.slow
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
    assert (
        risk_main(
            [str(path), "--key-vars", ",".join(KEYS), "--weight", "weight", "--format", "json"]
        )
        == 0
    )
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
    found = api.utility(
        original, released, ["age", "sex"], numeric=["income"], levels={"age": (1, 2)}
    )
    (sex,) = [v for v in found.variables if v.column == "sex"]
    assert sex.suppressed == len(original[::7])
    (income,) = found.numeric
    assert income.il1s == 0
    by_path = workdir / "released.csv"
    released.to_csv(by_path, index=False)
    again = api.utility(
        workdir / "data" / "census.csv",
        by_path,
        ["age", "sex"],
        numeric=["income"],
        levels={"age": (1, 2)},
    )
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


@pytest.mark.slow
def test_run_takes_a_recipe_as_a_dict_resolved_against_the_current_directory(
    workdir: Path,
) -> None:
    import yaml

    steps = (
        "  - top_code: {column: age, above: 90}\n"
        "  - recode: {column: occupation, level: 1,\n"
        "             hierarchy: recipes/hierarchies/occupation.csv}\n"  # the cwd's, in a dict
    )
    recipe = yaml.safe_load(demo_recipe(workdir, steps).read_text())
    recipe["columns"]["key_variables"] = ("age", "sex", "municipality")  # a tuple, as a list
    result = pipeline.run(recipe, output="out/dict", package=Path("out_pkg"))
    assert result.manifest.recipe.path == "<dict>" and len(result.manifest.recipe.sha256) == 64
    assert result.package == Path("out_pkg") and (workdir / "out_pkg" / "contents.json").exists()
    assert result.manifest.rows_out == len(pd.read_parquet(workdir / "out" / "dict" / "data"))


def test_a_bad_dict_recipe_gives_every_problem_at_once_by_key_path(workdir: Path) -> None:
    bad = {
        "version": 1,
        "name": "t",
        "seed": "x",
        "input": {"path": Path("data/census.csv"), "format": "csvv"},
        "output": {"dir": "out/x"},
        "columns": {"key_variables": ["age"], "weight": {1, 2}},
        "steps": [{"top_code": {"column": "age", "above": "ninety"}}, {"recod": {}}],
    }
    with pytest.raises(pipeline.RecipeError) as found:
        pipeline.run(bad)
    lines = [str(p) for p in found.value.problems]
    assert found.value.exit_code == 2
    expected = [
        "<dict> seed:",
        "<dict> input.format:",
        "<dict> columns.weight:",
        "<dict> steps[0].top_code.above: expected a number",
        "<dict> steps[1].recod: unknown step 'recod'; did you mean 'recode'?",
    ]
    for where in expected:
        assert any(line.startswith(where) for line in lines), (where, lines)
    assert not any("input.path" in line for line in lines)  # a Path is a path
    with pytest.raises(pipeline.RecipeError, match="pipeline.api.tabulate"):
        pipeline.run({**bad, "kind": "tabulation"})
    with pytest.raises(pipeline.RecipeError, match="got int"):
        pipeline.run(42)  # type: ignore[arg-type]
    assert not (workdir / "out").exists()


@pytest.mark.slow
def test_tabulate_returns_the_protected_tables_for_a_path_and_a_dict(workdir: Path) -> None:
    import shutil

    import yaml

    from tests.conftest import REPO, copy_demo

    copy_demo(workdir)
    path = shutil.copy(REPO / "recipes" / "census_tables.yaml", workdir / "recipes")
    found = api.tabulate(path, output="out/tables")
    names = [t.name for t in found.manifest.tables]
    assert list(found.tables) == names and found.out_dir == Path("out/tables")
    for name, frame in found.tables.items():
        assert {"value", "status"} <= set(frame.columns)
        hidden = frame["status"] == "X"
        assert frame.loc[hidden, "value"].isna().all()
        (record,) = [t for t in found.manifest.tables if t.name == name]
        assert int(hidden.sum()) == record.primary + record.secondary
    recipe = yaml.safe_load(Path(path).read_text())
    for table in recipe["tables"]:  # a dict's relative paths are the current directory's
        hierarchy = table["rows"]["recode"].get("hierarchy", "")
        if hierarchy.startswith("hierarchies/"):
            table["rows"]["recode"]["hierarchy"] = "recipes/" + hierarchy
        if isinstance(table["rows"].get("labels"), str):
            table["rows"]["labels"] = "recipes/" + table["rows"]["labels"]
    again = api.tabulate(recipe, output="out/tables_dict")
    assert again.manifest.recipe.path == "<dict>"
    for name, frame in found.tables.items():
        pd.testing.assert_frame_equal(again.tables[name], frame)
    with pytest.raises(pipeline.RecipeError, match="microdata recipe"):
        api.tabulate(demo_recipe(workdir, "  - shuffle_records: {}\n"))
    few = pd.read_csv(workdir / "data" / "census.csv", dtype=str).drop(columns=["occupation"])
    few.to_csv(workdir / "data" / "few.csv", index=False)
    with pytest.raises(pipeline.InputDataError, match="occupation"):
        api.tabulate(path, input="data/few.csv", output="out/t2")
    assert not (workdir / "out" / "t2").exists()


# ---- issue 24: frames the API cannot read, recipes that nest without end, '~' paths ---------

SECRET = "SECRET-VALUE-42"


def _small(**columns: object) -> pd.DataFrame:
    base: dict[str, object] = {"age": [30, 31, 32], "sex": ["1", "2", "1"], "w": [1.0, 2.0, 3.0]}
    return pd.DataFrame({**base, **columns})


BAD_FRAMES = {  # the frame, the column named, what the message says
    "duplicate-names": (
        pd.DataFrame([[1, "1", 1.0]] * 3, columns=["age", "age", "w"]),
        "age",
        "duplicate column names",
    ),
    "mixed-types": (_small(age=pd.Series([1, SECRET, 3], dtype=object)), "age", "several types"),
    "bytes": (_small(age=[SECRET.encode(), b"\xff", b"x"]), "age", "bytes"),
    "lists": (_small(age=[[SECRET], ["b"], ["c"]]), "age", "nested values"),
    "mixed-weight": (_small(w=pd.Series([1.0, SECRET, 3], dtype=object)), "w", "several types"),
}
CALLS = {
    "risk": lambda data: api.risk(data, ["age", "sex"], weight="w"),
    "scan": lambda data: api.scan(data),
    "utility": lambda data: api.utility(data, data, ["age", "sex"], numeric=["w"]),
}


@pytest.mark.parametrize("call", CALLS)
@pytest.mark.parametrize("bad", BAD_FRAMES)
def test_a_frame_the_api_cannot_read_is_an_input_error_naming_the_column(
    bad: str, call: str
) -> None:
    frame, column, expected = BAD_FRAMES[bad]
    with pytest.raises(pipeline.InputDataError) as found:
        CALLS[call](frame)
    message = found.value.render()
    assert found.value.exit_code == 3 and expected in message and f"{column!r}" in message
    assert SECRET not in message


def test_integer_column_names_are_read_as_text() -> None:
    frame = pd.DataFrame({0: ["a@example.com", "b@example.jp"] * 20, 1: ["1", "2"] * 20})
    assert {f.column for f in api.scan(frame)} == {"0"}
    assert {f.column for f in api.scan(frame, columns=[0])} == {"0"}
    assert api.risk(frame, [1]).summary["records"] == 40
    assert api.risk(frame, ["1"]).summary == api.risk(frame, [1]).summary


def test_run_and_tabulate_take_paths_not_frames(workdir: Path) -> None:
    recipe = demo_recipe(workdir, "  - shuffle_records: {}\n")
    for call in (api.run, api.tabulate):
        with pytest.raises(pipeline.RecipeError, match=r"input \(--input\) must be a file path"):
            call(recipe, input=_small())  # type: ignore[arg-type]
    with pytest.raises(pipeline.RecipeError, match=r"output \(--output\).*'~'"):
        api.run(recipe, output="~/out")
    assert not (workdir / "~").exists()


def _nested(depth: int) -> dict:
    top: dict = {}
    inner = top
    for _ in range(depth):
        inner["a"] = {}
        inner = inner["a"]
    return top


@pytest.mark.slow
@pytest.mark.parametrize("call", [api.run, api.tabulate], ids=["run", "tabulate"])
def test_a_dict_recipe_that_contains_itself_or_nests_too_deep(call) -> None:  # noqa: ANN001
    loop: dict = {"version": 1, "name": "t", "steps": [{"recode": {}}]}
    loop["steps"][0]["recode"]["map"] = loop["steps"][0]
    looped: list = []
    looped.append(looped)
    shared = ["x"] * 10
    for _ in range(6):
        shared = [shared] * 10  # 10 million values through shared lists
    cases = [
        (loop, "<dict> steps[0].recode.map: a mapping that contains itself"),
        ({"version": 1, "steps": looped}, "<dict> steps[0]: a list that contains itself"),
        ({"version": 1, "description": _nested(5000)}, "nesting deeper than 100 levels"),
        ({"version": 1, "description": shared}, "more than 1,000,000 values"),
    ]
    for recipe, expected in cases:
        with pytest.raises(pipeline.RecipeError) as found:
            call(recipe)
        (problem,) = found.value.problems  # the shape alone: what is left would be noise
        assert expected in str(problem), str(problem)
    with pytest.raises(pipeline.RecipeError, match=r"<dict> description\.a\.a\.a\.a\.a\.\.\.:"):
        call({"version": 1, "description": _nested(5000)})
