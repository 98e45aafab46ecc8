"""The peek at a recipe's data contracts (a hint to start GX's worker early)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.recipe import peek
from pipeline.recipe.peek import declares_contracts
from tests.conftest import REPO


def _recipe(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "recipe.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("contracts:\n  input: a.yaml\n", True),
        ("contracts:\n  output: b.yaml\n", True),
        ("version: 1\ncontracts: {input: null, output: 'b.yaml'}\nsteps: []\n", True),
        ("contracts: {input: 'null'}\n", True),  # quoted: a file called null
        ("steps:\n  - recode: {column: a}\ncontracts:\n  input: a.yaml\n", True),
        ("contracts: {}\n", False),
        ("contracts:\n  input:\n  output: ~\n", False),
        ("contracts: {other: a.yaml}\n", False),
        ("steps:\n  - contracts: {input: a.yaml}\n", False),  # not the recipe's own key
        ("release:\n  contracts: {input: a.yaml}\n", False),
        ("input: {path: contracts}\noutput: {dir: input}\n", False),
        ("x: &c {input: a.yaml}\ncontracts: *c\n", False),  # an alias: not followed
        ("- contracts\n- input\n", False),
        ("just text\n", False),
        ("", False),
        ("contracts: [input, output]\n", False),
        ("{[\ncontracts:\n  input: a.yaml\n", False),  # a syntax error first
        ("steps: []\n---\ncontracts: {input: a.yaml}\n", False),  # a second document
        ("? [a, b]\n: 1\ncontracts: {input: a.yaml}\n", True),  # a complex key before
        ("? {a: [b]}\n: {c: d}\n? [x]\n: [y]\n", False),
    ],
)
def test_a_recipe_names_a_contract_or_not(tmp_path: Path, text: str, named: bool) -> None:
    assert declares_contracts(_recipe(tmp_path, text)) is named


def test_the_bundled_recipes_are_peeked_as_they_load(monkeypatch) -> None:
    from pipeline.gate.stages import uses_row_checks
    from pipeline.recipe.loader import load_recipe

    monkeypatch.chdir(REPO)
    runs = [p for p in sorted((REPO / "recipes").glob("*.yaml")) if "tables" not in p.name]
    assert len(runs) >= 2
    for path in runs:  # the tabulation recipes are run by `anonymize tabulate`
        assert declares_contracts(path) is uses_row_checks(load_recipe(path)), path.name


def test_what_cannot_be_read_peeks_as_nothing(tmp_path: Path, monkeypatch) -> None:
    assert not declares_contracts(tmp_path / "missing.yaml")
    assert not declares_contracts(tmp_path)  # a folder
    broken = tmp_path / "latin1.yaml"
    broken.write_bytes("contracts: {input: caf\u00e9}\n".encode("latin-1"))
    assert not declares_contracts(broken)
    deep = "[" * 500 + "]" * 500  # no recursion: the events are read one by one
    assert declares_contracts(_recipe(tmp_path, f"steps: {deep}\ncontracts: {{input: a}}\n"))
    deeper = "[" * 200_000 + "]" * 200_000  # refused by the parser: no crash, no hint
    assert not declares_contracts(_recipe(tmp_path, f"steps: {deeper}\ncontracts: {{input: a}}"))
    monkeypatch.setattr(peek, "MAX_BYTES", 10)
    assert not declares_contracts(_recipe(tmp_path, "contracts: {input: a.yaml}\n"))


_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=8))
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(["input", "output", "contracts", "x", ""]), inner, max_size=3
        )
    ),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(
    document=st.dictionaries(
        st.sampled_from(["contracts", "steps", "input", "output", "release"]), _VALUES, max_size=4
    ),
    flow=st.booleans(),
)
def test_the_peek_agrees_with_the_loaded_document(document: dict, flow: bool) -> None:
    import tempfile

    import yaml

    contracts = document.get("contracts")
    named = isinstance(contracts, dict) and any(
        contracts.get(side) is not None for side in ("input", "output")
    )
    text = yaml.safe_dump(document, default_flow_style=flow, allow_unicode=True)
    with tempfile.TemporaryDirectory() as folder:
        assert declares_contracts(_recipe(Path(folder), text)) is named, text
