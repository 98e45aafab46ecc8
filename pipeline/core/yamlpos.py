"""Safe YAML loading that remembers the line of every key, for error messages.

Only plain data is accepted (``yaml.SafeLoader``): a tag such as ``!!python/object`` is an error,
so a recipe can never run code. Duplicate keys are errors too (YAML would silently keep the last).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

import yaml

Path_ = tuple[str | int, ...]
MAX_DEPTH = 100  # mappings and lists nested deeper are refused (no recipe needs 10)
MAX_VALUES = 1_000_000  # values a document may expand to through its aliases
# what PyYAML's safe constructors raise for a tagged value they cannot read (!!bool maybe: KeyError)
_UNREADABLE = (ValueError, TypeError, IndexError, KeyError, AttributeError, OverflowError)


class YamlProblem(Exception):
    """A syntax or structure problem at a given line."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


# libyaml's parser when PyYAML has it (its wheels do): a recipe and its contracts parse several
# times faster, which every command that loads a recipe pays before anything else
_FAST = getattr(yaml, "CSafeLoader", None)


def load_with_lines(text: str) -> tuple[Any, dict[Path_, int], list[YamlProblem]]:
    """Parse YAML text into plain data plus a map from key path to 1-based line.

    libyaml parses the text when PyYAML has it; text it cannot load is parsed again by PyYAML's
    own parser, whose problems (their words and lines) are the ones raised, and so is text with a
    tab (libyaml reads ``a:<tab>1``, which PyYAML refuses). The same data and lines come from
    either parser.

    Returns:
        (data, lines, problems): ``problems`` lists duplicate keys; syntax errors raise.

    Raises:
        YamlProblem: the text is not valid YAML, uses a tag that is not plain data, or gives a
            tag a value it cannot read (``!!int ten``).

    """
    if _FAST is not None and "\t" not in text:
        with contextlib.suppress(Exception):  # whatever it was, PyYAML's parser says it below
            return _load(text, _FAST)
    return _load(text, yaml.SafeLoader)


def _load(text: str, loader: type) -> tuple[Any, dict[Path_, int], list[YamlProblem]]:
    """``load_with_lines`` with the parser of ``loader`` (safe constructors either way)."""
    try:
        shape = _shape_problem(text, loader)  # before composing: PyYAML recurses once per level
        if shape is not None:
            raise shape
        node = yaml.compose(text, Loader=loader)
        lines: dict[Path_, int] = {}
        problems: list[YamlProblem] = []
        if node is not None:  # before the constructors, which merge ``<<:`` keys into the node
            _walk(node, (), lines, problems)
        data = _constructed(text, node, loader)
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
    return data, lines, problems


def _constructed(text: str, node: yaml.Node | None, loader: type) -> Any:
    """The plain data of ``text``, composed as ``node`` (``yaml.safe_load``'s constructors).

    Raises:
        YamlProblem: a value its tag (written or read from its form) cannot construct.
    """
    if node is None:  # an empty document
        return None
    try:
        return yaml.constructor.SafeConstructor().construct_document(node)
    except _UNREADABLE:  # located on the text composed again (the constructors change a node)
        raise _unreadable_value(yaml.compose(text, Loader=loader)) from None


_READ_AS = {"timestamp": "a date", "int": "a whole number", "float": "a number", "bool": "yes/no"}


def _unreadable_value(node: yaml.Node | None) -> YamlProblem:
    """The first value its tag cannot read (``!!int ten``; ``2020-13-45``, read as a date).

    Each value is read alone to find its line; the message names the tag, never the value.
    """
    constructor = yaml.constructor.SafeConstructor()
    pending = [node] if node is not None else []
    while pending:
        current = pending.pop(0)
        if isinstance(current, yaml.MappingNode):
            pending[:0] = [n for pair in current.value for n in pair]
        elif isinstance(current, yaml.SequenceNode):
            pending[:0] = list(current.value)
        else:
            try:
                constructor.construct_object(current)
            except yaml.YAMLError:
                continue  # not this kind of problem: the one PyYAML raised comes later
            except _UNREADABLE:
                return _unreadable(current)
    return YamlProblem(1, "YAML value error: a value cannot be read as its tag says")


def _unreadable(node: yaml.Node) -> YamlProblem:
    """The problem of one value its tag cannot read (the tag written, or read from its form)."""
    line, short = node.start_mark.line + 1, node.tag.replace("tag:yaml.org,2002:", "")
    implicit = yaml.resolver.Resolver().resolve(yaml.ScalarNode, node.value, (True, False))
    if node.style is None and implicit == node.tag:  # written plainly: read as a date...
        kind = _READ_AS.get(short, f"!!{short}")
        return YamlProblem(
            line, f"YAML value error: a value YAML reads as {kind} is not one (quote it for text)"
        )
    return YamlProblem(
        line,
        f"YAML value error: a value tagged !!{short} is not one (tags are not needed: "
        "write the value plainly)",
    )


@dataclass
class _Open:
    """A mapping or list being read: its anchor, its items so far and the values it holds."""

    mapping: bool
    anchor: str | None
    items: int = 0
    key: str | int = ""  # a mapping's last key
    current: str | int = ""  # the key or index of the item being read
    size: int = 1


def _shape_problem(text: str, loader: type = yaml.SafeLoader) -> YamlProblem | None:
    """What makes a document unsafe to compose, located; else None.

    Nesting deeper than ``MAX_DEPTH``, an alias inside its own anchor (a mapping or list that
    contains itself) or more than ``MAX_VALUES`` values through aliases. Reads the parser's
    events (no recursion), so a document of any depth is checked.
    """
    stack: list[_Open] = []
    sizes: dict[str, int] = {}  # values behind each anchor (its latest definition)
    unclosed: dict[str, bool] = {}  # whether an anchor's latest definition is still open
    for event in yaml.parse(text, Loader=loader):
        line = event.start_mark.line + 1
        if isinstance(event, (yaml.ScalarEvent, yaml.AliasEvent, yaml.CollectionStartEvent)):
            _enter(stack, event.value if isinstance(event, yaml.ScalarEvent) else None)
            where = short_path(tuple(o.current for o in stack))
        if isinstance(event, yaml.AliasEvent):
            if unclosed.get(str(event.anchor)):
                return YamlProblem(
                    line,
                    f"{where}: a mapping or list that contains itself "
                    "(an alias inside its own anchor)",
                )
            _grow(stack, sizes.get(str(event.anchor), 1))
        elif isinstance(event, yaml.ScalarEvent):
            _grow(stack, 1)
            if event.anchor is not None:
                sizes[event.anchor], unclosed[event.anchor] = 1, False
        elif isinstance(event, yaml.CollectionStartEvent):
            if len(stack) >= MAX_DEPTH:
                return YamlProblem(line, f"{where}: nesting deeper than {MAX_DEPTH} levels")
            stack.append(_Open(isinstance(event, yaml.MappingStartEvent), event.anchor))
            if event.anchor is not None:
                unclosed[event.anchor] = True
        elif isinstance(event, yaml.CollectionEndEvent):
            done = stack.pop()
            if done.anchor is not None:
                sizes[done.anchor], unclosed[done.anchor] = done.size, False
            _grow(stack, done.size)
        if stack and max(stack[0].size, stack[-1].size) > MAX_VALUES:
            return YamlProblem(
                line, f"the document expands to more than {MAX_VALUES:,} values through its aliases"
            )
    return None


def _enter(stack: list[_Open], scalar: str | None) -> None:
    """Count the node starting now as the next item (key, value, element) of the innermost."""
    if not stack:
        return
    top = stack[-1]
    if top.mapping and top.items % 2 == 0:  # a key
        top.key = scalar if scalar is not None else "?"
    else:
        top.current = top.key if top.mapping else top.items
    top.items += 1


def _grow(stack: list[_Open], size: int) -> None:
    if stack:
        stack[-1].size += size


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


def short_path(path: Path_, keep: int = 6) -> str:
    """``format_path`` of at most ``keep`` parts, ``...`` after them (a path nested too deep)."""
    return format_path(path) if len(path) <= keep else format_path(path[:keep]) + "..."


def parse_path(text: str) -> Path_:
    """``format_path``'s inverse for plain keys: ``l_diversity.column`` -> its parts."""
    parts: list[str | int] = []
    for name in text.split("."):
        base, _, rest = name.partition("[")
        parts.append(base)
        parts += [int(i) for i in rest.replace("]", "").split("[") if i.isdigit()] if rest else []
    return tuple(parts)
