"""Where a recipe comes from: a YAML file (with the line of every key) or an in-memory mapping.

Both become the same plain data (text, numbers, true/false, lists and mappings) and are
validated the same way. A mapping has no lines, so its problems are located by key path only
(``<dict> steps[2].top_code.above: expected a number``); its relative paths, hierarchy files
included, are resolved against the current directory (its label ``<dict>`` has ``.`` as its
folder), and its SHA-256 is that of its canonical JSON (sorted keys, UTF-8).
"""

from __future__ import annotations

import datetime
import hashlib
import json
import numbers
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.core.errors import Problem, RecipeError
from pipeline.core.yamlpos import (
    MAX_DEPTH,
    MAX_VALUES,
    Path_,
    YamlProblem,
    format_path,
    line_of,
    load_with_lines,
    short_path,
)
from pipeline.io.csvtext import bad_byte_line

DICT_LABEL = Path("<dict>")
Lines = dict[Path_, int] | None  # None: an in-memory recipe, located by key path only
Reporter = Callable[..., None]


@dataclass(frozen=True)
class RecipeSource:
    """A recipe's plain data and where it came from.

    Attributes:
        path: The file, or ``<dict>`` for an in-memory recipe (its folder is ``.``).
        sha256: Of the file's bytes, or of the mapping's canonical JSON.
        data: The plain data (what ``yaml.safe_load`` gives for a file).
        lines: Key path -> line (None for a mapping).
        problems: What reading found (duplicate keys, values that are not plain data).
    """

    path: Path
    sha256: str
    data: Any
    lines: Lines
    problems: list[Problem]


def read_source(recipe: str | os.PathLike[str] | Mapping[str, Any]) -> RecipeSource:
    """Read a recipe file, or take a mapping as its plain data.

    Raises:
        RecipeError: the file is missing, unreadable, not UTF-8 or not YAML, ``recipe`` is
            neither a path nor a mapping, or either nests deeper than ``MAX_DEPTH``, contains
            itself or expands to more than ``MAX_VALUES`` values.
    """
    if isinstance(recipe, Mapping):
        problems: list[Problem] = []
        data = _plain(recipe, (), _Plain(problems))
        shape = [p for p in problems if p.code in _SHAPE]
        if shape:  # what is left of the recipe would only add noise (as a YAML file stops)
            raise RecipeError(shape)
        canonical = json.dumps(data, sort_keys=True, ensure_ascii=False, default=str)
        digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
        return RecipeSource(DICT_LABEL, digest, data, None, problems)
    if not isinstance(recipe, (str, os.PathLike)):
        kind = type(recipe).__name__
        raise RecipeError(
            [Problem(f"a recipe is a file path or a mapping (a dict), got {kind}", code="usage")]
        )
    path = Path(recipe)
    raw, data, lines, problems = read_yaml(path)
    return RecipeSource(path, hashlib.sha256(raw).hexdigest(), data, lines, problems)


def read_yaml(path: Path) -> tuple[bytes, Any, dict, list[Problem]]:
    """Read a YAML file with safe_load: its bytes, data, line map and YAML problems.

    Raises:
        RecipeError: the file is missing, unreadable, not UTF-8 or not YAML (with the line).

    """
    raw_bytes = b""
    try:
        raw_bytes = path.read_bytes()
        text = raw_bytes.decode("utf-8-sig")
    except FileNotFoundError:
        raise RecipeError([Problem(f"recipe file {path} not found", code="not_found")]) from None
    except UnicodeDecodeError as exc:
        where = f"{path}:{bad_byte_line(raw_bytes, exc)}"
        raise RecipeError([Problem("the recipe is not UTF-8 text", where, "unreadable")]) from None
    except OSError as exc:
        what = "is a folder" if path.is_dir() else f"cannot be read ({type(exc).__name__})"
        raise RecipeError([Problem(f"recipe file {path} {what}", code="unreadable")]) from None
    try:
        data, lines, yaml_problems = load_with_lines(text)
    except YamlProblem as exc:
        raise RecipeError(
            [Problem(exc.message, location=f"{path}:{exc.line}", code="yaml")]
        ) from None
    return (
        raw_bytes,
        data,
        lines,
        [Problem(p.message, f"{path}:{p.line}", "yaml") for p in yaml_problems],
    )


def locate(path: Path, lines: Lines, loc: Path_) -> str:
    """``file:line key.path`` (a mapping: ``<dict> key.path``)."""
    where = str(path) if lines is None else f"{path}:{line_of(lines, loc)}"
    return f"{where} {format_path(loc)}".rstrip()


def reporter(path: Path, lines: Lines, problems: list[Problem]) -> Reporter:
    """``at(key_path, message, code)``: add a problem located as ``file:line key.path:``."""

    def at(loc: Path_, message: str, code: str = "invalid") -> None:
        problems.append(Problem(message, location=locate(path, lines, loc) + ":", code=code))

    return at


def home_path_problem(value: Any) -> str | None:
    """Why a path written with a leading ``~`` is refused, or None.

    Nothing expands ``~`` (a shell does, unquoted, on the command line): such a path would be a
    folder named ``~`` here, while some libraries would read it as the home folder.
    """
    if isinstance(value, str) and value.startswith("~"):
        return (
            f"{value!r} starts with '~', which is not expanded to a home folder: write the "
            "path in full (or ./~ for a folder named '~')"
        )
    return None


def home_paths(paths: Mapping[Path_, Any], at: Reporter) -> None:
    """Report each of ``paths`` (key path -> value) that starts with ``~``."""
    for loc, value in paths.items():
        problem = home_path_problem(value)
        if problem:
            at(loc, problem, "home_path")


_PLAIN = "text, a number, true/false, a date, a list or a mapping"
_SHAPE = ("contains_itself", "too_deep", "too_large")


@dataclass
class _Plain:
    """What converting a mapping has found: its problems, the containers open, values so far."""

    problems: list[Problem]
    open: set[int] = field(default_factory=set)  # ids of the mappings and lists being read
    values: int = 0

    def problem(self, loc: Path_, message: str, code: str) -> None:
        where = f"{DICT_LABEL} {short_path(loc)}".rstrip()
        self.problems.append(Problem(message, f"{where}:", code))


def _plain(value: Any, loc: Path_, seen: _Plain) -> Any:
    """``value`` as YAML's plain data; anything else is a problem naming its type, never it.

    Tuples become lists, paths text and numpy-like numbers Python numbers, so a recipe built in
    Python validates as the same recipe written in YAML would. A mapping or list that contains
    itself, nesting deeper than ``MAX_DEPTH`` and more than ``MAX_VALUES`` values (one object
    referenced many times) are problems too, as in a YAML file.
    """
    seen.values += 1
    if seen.values > MAX_VALUES:
        if seen.values == MAX_VALUES + 1:
            seen.problem((), f"the recipe holds more than {MAX_VALUES:,} values", "too_large")
        return None
    if value is None or isinstance(value, (str, bool, int, float, datetime.date)):
        return value
    if isinstance(value, (Mapping, list, tuple)):
        return _container(value, loc, seen)
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if type(value).__module__ == "numpy" and hasattr(value, "item"):  # np.bool_, np.int64...
        return _plain(value.item(), loc, seen)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    seen.problem(loc, f"expected plain data ({_PLAIN}), got {type(value).__name__}", "not_plain")
    return None


def _container(value: Mapping | list | tuple, loc: Path_, seen: _Plain) -> Any:
    """A mapping or a list as plain data (see ``_plain``)."""
    kind = "mapping" if isinstance(value, Mapping) else "list"
    if id(value) in seen.open:
        seen.problem(loc, f"a {kind} that contains itself", "contains_itself")
        return None
    if len(loc) >= MAX_DEPTH:
        seen.problem(loc, f"nesting deeper than {MAX_DEPTH} levels", "too_deep")
        return None
    seen.open.add(id(value))
    try:
        if not isinstance(value, Mapping):
            return [_plain(item, (*loc, i), seen) for i, item in enumerate(value)]
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                seen.problem(
                    loc, f"keys are text, got a key of type {type(key).__name__}", "not_plain"
                )
                continue
            out[key] = _plain(item, (*loc, key), seen)
        return out
    finally:
        seen.open.discard(id(value))
