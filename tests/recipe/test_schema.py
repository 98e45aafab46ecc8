"""The published JSON Schemas in schemas/ are up to date and describe real recipes."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import yaml

from pipeline import schemas

jsonschema = pytest.importorskip("jsonschema")

REPO = Path(__file__).resolve().parents[2]
SCHEMA_DIR = REPO / "schemas"
DEMO = REPO / "recipes" / "census_demo.yaml"
REGENERATE = "run `python -m pipeline.schemas` and commit schemas/"


@pytest.fixture(scope="module")
def validator():
    schema = json.loads((SCHEMA_DIR / "recipe.schema.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


@pytest.fixture
def demo() -> dict:
    return yaml.safe_load(DEMO.read_text(encoding="utf-8"))


def errors(validator, data: dict) -> list:
    return sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))


def test_schema_dir_matches_models():
    assert schemas.SCHEMA_DIR == SCHEMA_DIR
    expected = schemas.rendered()
    committed = sorted(p.name for p in SCHEMA_DIR.glob("*.json")) if SCHEMA_DIR.is_dir() else []
    assert committed == sorted(expected), f"schemas/ holds other files than expected; {REGENERATE}"
    for name, text in expected.items():
        on_disk = (SCHEMA_DIR / name).read_text(encoding="utf-8")
        assert on_disk == text, f"schemas/{name} is stale; {REGENERATE}"


def test_manifest_schema_is_a_valid_json_schema():
    schema = json.loads((SCHEMA_DIR / "manifest.schema.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$id"] == "manifest.schema.json"


def test_recipe_schema_offers_every_public_step_and_no_automatic_one():
    schema = json.loads((SCHEMA_DIR / "recipe.schema.json").read_text(encoding="utf-8"))
    offered = {
        name for alt in schema["properties"]["steps"]["items"]["oneOf"] for name in alt["required"]
    }
    assert offered == {n for n, s in schemas.STEPS.items() if not s.automatic}
    assert "drop_identifiers" not in offered and "linking_ids" not in offered


def test_minimal_recipe_validates(validator):
    data = {
        "version": 1,
        "name": "minimal",
        "input": {"path": "data/census.csv"},
        "output": {"dir": "out/run"},
        "seed": 1,
        "columns": {
            "direct_identifiers": ["name"],
            "linking_ids": {"household_id": {"method": "surrogate"}},
        },
        "steps": [
            {"top_code": {"column": "age", "above": 90}},
            {"recode": {"column": "age", "bands": [0, 15, 20]}},
            {"shuffle_records": {}},
            {"shuffle_records": None},
        ],
    }
    assert errors(validator, data) == []


def test_demo_recipe_validates(validator, demo):
    assert [e.message for e in errors(validator, demo)] == []


def test_unknown_step_name_does_not_validate(validator, demo):
    bad = copy.deepcopy(demo)
    bad["steps"].append({"top_cod": {"column": "age", "above": 90}})
    index = len(bad["steps"]) - 1
    paths = [list(e.absolute_path) for e in errors(validator, bad)]
    assert ["steps", index] in paths
    # the same entry spelled correctly raises nothing at that place
    bad["steps"][index] = {"top_code": {"column": "age", "above": 90}}
    assert ["steps", index] not in [list(e.absolute_path) for e in errors(validator, bad)]


@pytest.mark.parametrize(
    ("change", "where"),
    [
        (lambda d: d.update(stpes=[]), []),
        (lambda d: d["steps"].insert(0, {"drop_identifiers": {"columns": ["x"]}}), ["steps", 0]),
        (lambda d: d["steps"][3]["top_code"].update(abvoe=90), ["steps", 3]),  # age 116 rule
        (lambda d: d.pop("seed"), []),
    ],
    ids=["unknown-key", "automatic-step", "unknown-param", "missing-seed"],
)
def test_other_invalid_recipes_do_not_validate(validator, demo, change, where):
    before = [list(e.absolute_path) for e in errors(validator, demo)]
    change(demo)
    after = [list(e.absolute_path) for e in errors(validator, demo)]
    assert after.count(where) > before.count(where)
