"""The harness of the malformed-input suites: files, recipes, a case, how it is judged.

``tests/test_malformed.py`` and its siblings (``_inputs``, ``_extremes``, ``_series``) declare
cases with it; each case writes its files into ``tmp_path`` and runs ``anonymize`` in-process
through the console entry point (see ``tests/test_malformed.py``).
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.conftest import run_entry, write_file

TRACEBACK = "Traceback (most recent call last)"


def invoke(argv: list[str], capfd: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """Run ``anonymize *argv`` in-process; return (exit code, output)."""
    return run_entry(argv, capfd)


def tree(root: Path) -> dict[str, str]:
    """Every entry under ``root``: files by content hash, symlinks by target, folders as such."""
    out: dict[str, str] = {}
    for path in sorted(root.rglob("*")):
        key = str(path.relative_to(root))
        if path.is_symlink():
            out[key] = "-> " + os.readlink(path)
        elif path.is_dir():
            out[key] = "dir"
        elif path.is_file():
            out[key] = hashlib.sha256(path.read_bytes()).hexdigest()
        else:
            out[key] = "other"
    return out


HEADER = ["pid", "name", "age", "sex", "pref", "occupation", "income", "weight"]


PREFS = ["13101", "13102", "01101", "27100", "14100"]


OCCUPATIONS = ["A01", "A02", "B05", "B06"]


ROWS = 30


def good_rows(n: int = ROWS) -> list[list[str]]:
    """``n`` plain records (record i has age 20 + i % 50, income 100 * (i + 1))."""
    return [
        [
            str(i + 1),
            f"Yamada Taro{i:02d}",
            str(20 + i % 50),
            str(1 + i % 2),
            PREFS[i % len(PREFS)],
            OCCUPATIONS[i % len(OCCUPATIONS)],
            str(100 * (i + 1)),
            "1.5",
        ]
        for i in range(n)
    ]


def csv_text(rows: list[list[str]], header: list[str] = HEADER, sep: str = ",") -> str:
    return "\n".join(sep.join(r) for r in [header, *rows]) + "\n"


write = write_file


COLUMNS = """\
columns:
  direct_identifiers: [name]
  linking_ids: {pid: drop}
  key_variables: [age, sex]
"""


TOP_CODE = "  - top_code: {column: age, above: 60}"


def recipe_text(
    steps: list[str] | None = None,
    *,
    version: str = "1",
    name: str = "t",
    input: str = "{path: in.csv}",
    output: str = "{dir: out/t, format: csv}",
    seed: str = "1",
    columns: str = COLUMNS,
    extra: str = "",
) -> str:
    """A recipe whose lines are fixed: 1 version .. 5 seed, 6-9 columns, 10 steps, 11 step 0.

    ``extra`` goes after the steps, so step line numbers do not move.
    """
    body = "\n".join(steps if steps is not None else [TOP_CODE])
    return (
        f"version: {version}\nname: {name}\ninput: {input}\noutput: {output}\nseed: {seed}\n"
        f"{columns}steps:\n{body}\n{extra}"
    )


STEP_LINE = 11  # the line of steps[0] in recipe_text


def parquet_table(rows: list[list[str]] | None = None) -> pa.Table:
    rows = rows if rows is not None else good_rows()
    data: dict[str, Any] = {c: [r[i] for r in rows] for i, c in enumerate(HEADER)}
    for column in ("age", "income"):
        data[column] = [int(v) for v in data[column]]
    data["weight"] = [float(v) for v in data["weight"]]
    return pa.table(data)


def write_parquet(path: Path, table: pa.Table | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table if table is not None else parquet_table(), path)
    return path


def scenario(
    recipe: str | None = None,
    argv: tuple[str, ...] = ("run", "r.yaml"),
    data: str | bytes | None = None,
    files: dict[str, str | bytes | Callable[[Path], object]] | None = None,
    csv: bool = True,
    prepare: Callable[[Path], object] | None = None,
) -> Callable[[Path], list[str]]:
    """A setup: writes in.csv (the good data unless ``data``), r.yaml, ``files``; ``prepare``."""

    def setup(tmp: Path) -> list[str]:
        if csv:
            write(tmp / "in.csv", data if data is not None else csv_text(good_rows()))
        if recipe is not None:
            write(tmp / "r.yaml", recipe)
        for rel, content in (files or {}).items():
            if callable(content):
                content(tmp / rel)
            else:
                write(tmp / rel, content)
        if prepare is not None:
            prepare(tmp)
        return list(argv)

    return setup


def validate(recipe: str, **kwargs: Any) -> Callable[[Path], list[str]]:
    return scenario(recipe, argv=("validate", "r.yaml"), **kwargs)


def run(recipe: str | None = None, *extra: str, **kwargs: Any) -> Callable[[Path], list[str]]:
    recipe = recipe if recipe is not None else recipe_text()
    return scenario(recipe, argv=("run", "r.yaml", "-q", *extra), **kwargs)


def cli(*argv: str, **kwargs: Any) -> Callable[[Path], list[str]]:
    return scenario(argv=argv, **kwargs)


def at(name: str, line: int) -> re.Pattern[str]:
    """``name:LINE`` or ``name ... line LINE`` on one line of the output."""
    n = re.escape(name)
    return re.compile(rf"{n}:{line}\b|{n}\b[^\n]*\bline {line}\b")


Expect = str | re.Pattern[str] | tuple[str | re.Pattern[str], ...]


@dataclass(frozen=True)
class Case:
    """One malformed input: how to set it up, the exit code(s) and what the output must say."""

    id: str
    setup: Callable[[Path], list[str]]
    code: int | tuple[int, ...]
    expect: tuple[Expect, ...] = ()
    when: dict[int, tuple[Expect, ...]] | None = None  # more expectations for one exit code
    check: Callable[[Path, int, str], None] | None = None
    safety: bool = False  # nothing that existed before may change (the lock file may appear)
    lock_of: str = "out/t"  # the output whose lock file may appear

    def __repr__(self) -> str:  # short ids in pytest's output
        return self.id


TABULATION = """\
version: 1
kind: tabulation
name: tt
input: {path: in.csv, format: csv}
output: {dir: out/tt}
rules: {threshold: 1, dominance: [], min_interval_units: 0}
tables:
  - name: by_sex
    rows: {column: sex, recode: {map: MAP}}
    statistic: count
"""


def tabulation(map_: str = "{'1': male, '2': female}", extra: str = "") -> str:
    text = TABULATION.replace("MAP", map_)
    return text.replace("{map: ", "{" + extra + "map: ") if extra else text


def _matches(expect: Expect, output: str) -> bool:
    if isinstance(expect, tuple):
        return any(_matches(e, output) for e in expect)
    if isinstance(expect, re.Pattern):
        return expect.search(output) is not None
    return expect in output


def _describe(expect: Expect) -> str:
    if isinstance(expect, tuple):
        return " or ".join(_describe(e) for e in expect)
    return f"/{expect.pattern}/" if isinstance(expect, re.Pattern) else repr(expect)


def judged(case: Case, code: int, output: str, shown: str) -> None:
    """What every malformed case must show: no traceback, its exit code, its messages."""
    assert TRACEBACK not in output, shown
    assert code != 1, shown
    allowed = case.code if isinstance(case.code, tuple) else (case.code,)
    assert code in allowed, f"expected exit {allowed}; {shown}"
    expected = list(case.expect) + list((case.when or {}).get(code, ()))
    missing = [_describe(e) for e in expected if not _matches(e, output)]
    assert not missing, f"the output lacks {', '.join(missing)}; {shown}"


def untouched(case: Case, before: dict[str, str], tmp: Path, code: int, shown: str) -> None:
    """Nothing under ``tmp`` changed but the run's lock (and a published output, on exit 0)."""
    after = tree(tmp)
    lock = str(Path(case.lock_of).parent / f".{Path(case.lock_of).name}.lock")
    if lock not in before:
        after.pop(lock, None)
    for parent in Path(case.lock_of).parents:  # a folder the run made to hold its lock
        if str(parent) != "." and str(parent) not in before and after.get(str(parent)) == "dir":
            after.pop(str(parent))
    if code == 0:  # a run allowed to publish: only its output and lock are new
        after = {
            k: v
            for k, v in after.items()
            if k != case.lock_of and not k.startswith(case.lock_of + "/")
        }
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    assert not changed, f"changed under {tmp}: {changed}; {shown}"
