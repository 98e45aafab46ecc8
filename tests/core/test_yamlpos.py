"""YAML with lines: libyaml's parser gives what PyYAML's gives, and PyYAML words the problems."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.core import yamlpos
from pipeline.core.yamlpos import YamlProblem, load_with_lines

REPO = Path(__file__).resolve().parents[2]
FAST = getattr(yaml, "CSafeLoader", None)
needs_libyaml = pytest.mark.skipif(FAST is None, reason="this PyYAML has no libyaml")


def _read(text: str, loader: type) -> tuple:
    """What a parser gives: the data, the lines, the problems (line, message), or its problem."""
    try:
        data, lines, problems = yamlpos._load(text, loader)
    except YamlProblem as problem:
        return ("problem", problem.line, problem.message)
    return data, lines, [(p.line, p.message) for p in problems]


def _loaded(text: str) -> tuple:
    """``_read`` of ``load_with_lines`` (either parser, as a recipe is loaded)."""
    try:
        data, lines, problems = load_with_lines(text)
    except YamlProblem as problem:
        return ("problem", problem.line, problem.message)
    return data, lines, [(p.line, p.message) for p in problems]


@needs_libyaml
@pytest.mark.parametrize(
    "path",
    sorted(
        p.relative_to(REPO)
        for folder in ("recipes", "data_contracts")
        for p in (REPO / folder).rglob("*.yaml")
    ),
    ids=str,
)
def test_both_parsers_read_the_projects_recipes_and_contracts_alike(path: Path) -> None:
    text = (REPO / path).read_text(encoding="utf-8")
    fast = _read(text, FAST)
    assert fast[0] != "problem"
    assert fast == _read(text, yaml.SafeLoader)


SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=12)
)
KEYS = st.text(alphabet="abcdefghijk_-. 日本", min_size=1, max_size=8)
DOCUMENTS = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=4),
    max_leaves=25,
)


@needs_libyaml
@settings(max_examples=150, deadline=None)
@given(DOCUMENTS, st.booleans(), st.booleans())
def test_both_parsers_read_any_document_alike(data: object, flow: bool, duplicate: bool) -> None:
    text = yaml.safe_dump(data, default_flow_style=flow, allow_unicode=True)
    if duplicate and isinstance(data, dict) and data and not flow:  # a key written twice
        text += text.splitlines()[0] + "\n"
    python = _read(text, yaml.SafeLoader)
    fast = _read(text, FAST)
    if fast[0] != "problem":  # what libyaml loads, it loads as PyYAML does
        assert fast == python
    assert _loaded(text) == python  # and what it cannot, PyYAML's parser says


def test_a_merge_key_overriding_a_value_is_no_duplicate() -> None:
    text = "base: &b\n  x: 1\n  y: 2\nother:\n  <<: *b\n  x: 3\n"
    data, lines, problems = load_with_lines(text)
    assert data == {"base": {"x": 1, "y": 2}, "other": {"x": 3, "y": 2}}
    assert problems == []
    assert lines[("other", "x")] == 6 and ("other", "y") not in lines  # as written
    assert _loaded(text) == _read(text, yaml.SafeLoader)


@pytest.mark.parametrize(
    "text",
    [
        "a:\t1\n",  # libyaml reads it; PyYAML refuses the tab, as it always did
        "a: [1,\t2]\n",
        "a: b: c\n",  # libyaml: "mapping values are not allowed in this context"
        "a: [1, 2\n",  # libyaml: "did not find expected ',' or ']'"
        'x: "\\ud800"\n',  # an escape libyaml refuses and PyYAML reads
        "a: !!int ten\n",
        "a: !!python/object:os.system {}\n",
    ],
)
def test_what_libyaml_cannot_load_is_pythons_to_say(text: str) -> None:
    assert _loaded(text) == _read(text, yaml.SafeLoader)
    if FAST is not None and text.startswith("a: b"):  # the two parsers word it differently
        assert _read(text, FAST)[2] != _loaded(text)[2]
