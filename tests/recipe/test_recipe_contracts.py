"""``contracts:`` in a recipe: loaded and checked with the recipe, all problems at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.core.errors import RecipeError
from pipeline.recipe.loader import load_recipe
from tests.conftest import REPO, demo_recipe

STEPS = "  - shuffle_records: {}\n"
HEAD = "apiVersion: v3.0.2\nkind: DataContract\nid: x\nversion: 1.0.0\nstatus: active\n"


def test_demo_recipe_loads_both_contracts() -> None:
    loaded = load_recipe(REPO / "recipes" / "census_demo.yaml")
    assert loaded.input_contract is not None and loaded.output_contract is not None


def test_contract_problems_are_reported_with_the_recipes(workdir: Path) -> None:
    (workdir / "recipes" / "in.yaml").write_text(
        HEAD + "schema:\n  - name: t\n    properties:\n"
        "      - {name: my_number, logicalType: string, required: true}\n"
        "      - {name: name}\n"
    )
    (workdir / "recipes" / "out.yaml").write_text(
        HEAD + "schema:\n  - name: t\n    properties:\n      - {name: email}\n"
    )
    recipe = demo_recipe(
        workdir,
        STEPS + "  - top_cod: {}\n",
        extra="contracts: {input: in.yaml, output: out.yaml}\n",
    )
    with pytest.raises(RecipeError) as info:
        load_recipe(recipe)
    shown = str(info.value)
    assert "unknown step 'top_cod'" in shown  # recipe and contract problems together
    assert "'my_number' is an identifier column, which is never read" in shown
    assert "remove logicalType, required" in shown
    assert "'email' is a declared identifier column; identifiers are never published" in shown
    assert "'name'" not in shown  # presence-only is fine
    assert "test.yaml:" in shown and "contracts.input" in shown


def test_missing_contract_names_the_recipe_key(workdir: Path) -> None:
    recipe = demo_recipe(workdir, STEPS, extra="contracts: {output: nope.yaml}\n")
    with pytest.raises(RecipeError) as info:
        load_recipe(recipe)
    (problem,) = info.value.problems
    assert problem.code == "contract_missing" and "contracts.output" in problem.location


def test_broken_contract_reports_its_own_file_and_line(workdir: Path) -> None:
    (workdir / "recipes" / "in.yaml").write_text(
        HEAD + "schema:\n  - name: t\n    properties:\n      - {name: age, required: maybe}\n"
    )
    recipe = demo_recipe(workdir, STEPS, extra="contracts: {input: in.yaml}\n")
    with pytest.raises(RecipeError) as info:
        load_recipe(recipe)
    assert "in.yaml:9" in str(info.value)


def test_unknown_contracts_key_gets_a_hint(workdir: Path) -> None:
    recipe = demo_recipe(workdir, STEPS, extra="contracts: {inptu: in.yaml}\n")
    with pytest.raises(RecipeError, match="did you mean 'input'"):
        load_recipe(recipe)
