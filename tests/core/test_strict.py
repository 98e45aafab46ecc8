"""A boolean is never a number: every numeric field of every user-written model refuses it.

The fields are found from each model's published JSON Schema (not from the code that refuses
them): every property whose schema admits an integer or a number, directly, in a union, as list
items or as mapping values, is given ``true`` and must be refused there with a named reason.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

import pytest
from pydantic import ValidationError

import pipeline
from pipeline.core.strict import StrictModel

NUMBER_TYPES = {"integer", "number"}


def _all_models() -> list[type[StrictModel]]:
    for info in pkgutil.walk_packages(pipeline.__path__, "pipeline."):
        if not info.name.endswith("__main__"):
            importlib.import_module(info.name)
    found, todo = [], list(StrictModel.__subclasses__())
    while todo:
        model = todo.pop()
        found.append(model)
        todo += model.__subclasses__()
    return sorted(set(found), key=lambda m: f"{m.__module__}.{m.__qualname__}")


def _options(schema: dict[str, Any]) -> list[dict[str, Any]]:
    return [schema, *schema.get("anyOf", []), *schema.get("oneOf", [])]


def _booleans_for(schema: dict[str, Any]) -> list[Any]:
    """Values that put ``true`` where ``schema`` expects a number (none if it takes booleans)."""
    options = _options(schema)
    types = {
        t
        for o in options
        for t in ([o["type"]] if isinstance(o.get("type"), str) else o.get("type", []))
    }
    consts = [o["const"] for o in options if "const" in o] + [
        v for o in options for v in o.get("enum", [])
    ]
    if "boolean" in types or any(isinstance(c, bool) for c in consts):
        return []
    found: list[Any] = []
    numeric_const = any(isinstance(c, int | float) for c in consts)
    if types & NUMBER_TYPES or numeric_const:
        found.append(True)
    for option in options:
        if option.get("type") == "array" and isinstance(option.get("items"), dict):
            found += [[value] for value in _booleans_for(option["items"])]
        extra = option.get("additionalProperties")
        if option.get("type") == "object" and isinstance(extra, dict):
            found += [{"name": value} for value in _booleans_for(extra)]
    return found


def _cases() -> list[tuple[type[StrictModel], str, Any]]:
    cases = []
    for model in _all_models():
        schema = model.model_json_schema()
        for name, prop in schema.get("properties", {}).items():
            if "$ref" in prop or any("$ref" in o for o in _options(prop)[1:]):
                continue  # a nested model: checked as a model of its own
            cases += [(model, name, value) for value in _booleans_for(prop)]
    return cases


CASES = _cases()


def test_the_registry_has_numeric_fields_everywhere() -> None:
    models = {model.__name__ for model, _, _ in CASES}
    assert {"RiskSpec", "Recipe", "OutputSpec", "ScanSpec", "LDiversity"} <= models
    assert len(models) >= 15, sorted(models)


@pytest.mark.parametrize(
    ("model", "name", "value"),
    CASES,
    ids=[f"{m.__name__}.{n}={v!r}" for m, n, v in CASES],
)
def test_a_boolean_is_never_a_number(model: type[StrictModel], name: str, value: Any) -> None:
    with pytest.raises(ValidationError) as caught:
        model.model_validate({name: value})
    at_field = [e for e in caught.value.errors() if e["loc"][:1] == (name,)]
    assert at_field, caught.value.errors()
    assert any("not true/false" in e["msg"] for e in at_field), at_field


def test_numbers_and_booleans_in_their_place_still_pass() -> None:
    from pipeline.recipe.models import RiskSpec, ScanSpec
    from pipeline.steps.generalize import GeneralizeParams

    assert RiskSpec.model_validate({"k": 5}).k == 5
    assert RiskSpec.model_validate({"max_global_risk": 1}).max_global_risk == 1.0
    assert ScanSpec.model_validate({"output": False}).output is False
    with pytest.raises(ValidationError, match="not true/false"):
        GeneralizeParams.model_validate({"k": True, "hierarchies": {}})


def test_a_dict_recipe_with_a_boolean_k_is_refused_at_its_key_path(tmp_path, monkeypatch) -> None:
    from pipeline import api
    from pipeline.core.errors import RecipeError

    monkeypatch.chdir(tmp_path)
    (tmp_path / "in.csv").write_text("age,sex\n30,1\n")
    recipe = {
        "version": 1,
        "name": "d",
        "input": {"path": "in.csv"},
        "output": {"dir": "out"},
        "seed": 1,
        "columns": {"key_variables": ["age", "sex"]},
        "risk": {"k": True},
        "steps": [{"generalize": {"k": True, "hierarchies": {"age": {"bands": [[0, 50]]}}}}],
    }
    with pytest.raises(RecipeError) as caught:
        api.run(recipe)
    shown = [str(p) for p in caught.value.problems]
    assert "<dict> risk.k: expected a number, not true/false" in shown, shown
    assert "<dict> steps[0].generalize.k: expected a number, not true/false" in shown, shown
    assert not (tmp_path / "out").exists()
