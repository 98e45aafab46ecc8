"""Safe YAML loading that remembers the line of every key, for error messages.

Only plain data is accepted (``yaml.SafeLoader``): a tag such as ``!!python/object`` is an error,
so a recipe can never run code. Duplicate keys are errors too (YAML would silently keep the last).
"""

from __future__ import annotations

from typing import Any

import yaml

Path_ = tuple[str | int, ...]


class YamlProblem(Exception):
    """A syntax or structure problem at a given line."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


def load_with_lines(text: str) -> tuple[Any, dict[Path_, int], list[YamlProblem]]:
    """Parse YAML text into plain data plus a map from key path to 1-based line.

    Returns:
        (data, lines, problems): ``problems`` lists duplicate keys; syntax errors raise.

    Raises:
        YamlProblem: the text is not valid YAML or uses a tag that is not plain data.

    """
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        what = exc.problem or str(exc)
        if exc.context and exc.context_mark and exc.context_mark.line + 1 != line:
            what += f" ({exc.context} at line {exc.context_mark.line + 1})"
        if "could not determine a constructor" in str(exc):
            what = "tags such as !!python are not allowed in a recipe (plain data only)"
        raise YamlProblem(line, f"YAML syntax error: {what}") from None
    except yaml.YAMLError as exc:
        raise YamlProblem(1, f"YAML error: {exc}") from None
    lines: dict[Path_, int] = {}
    problems: list[YamlProblem] = []
    if node is not None:
        _walk(node, (), lines, problems)
    return data, lines, problems


def _walk(
    node: yaml.Node, path: Path_, lines: dict[Path_, int], problems: list[YamlProblem]
) -> None:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key in seen:
                problems.append(YamlProblem(key_node.start_mark.line + 1, f"duplicate key {key!r}"))
            seen.add(key)
            lines[(*path, key)] = key_node.start_mark.line + 1
            _walk(value_node, (*path, key), lines, problems)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _walk(item, (*path, i), lines, problems)


def line_of(lines: dict[Path_, int], path: Path_) -> int:
    """The line of ``path`` or of its nearest ancestor that exists in the file."""
    for cut in range(len(path), -1, -1):
        if path[:cut] in lines:
            return lines[path[:cut]]
    return 1


def format_path(path: Path_) -> str:
    """``('steps', 2, 'top_code', 'above')`` -> ``steps[2].top_code.above``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out
