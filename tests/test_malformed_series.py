"""Issue 25: a release series given what it cannot use - a named error, nothing touched.

The harness of ``tests/test_malformed.py``: every case runs ``anonymize`` in-process, must not
show a traceback nor exit 1, exits with its code and says what is listed. The key variables'
values never show; the series key (``ANON_MALFORMED_LONG_KEY``'s value) never shows either.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import pipeline
from tests.malformed import (
    Case,
    Expect,
    csv_text,
    good_rows,
    invoke,
    judged,
    recipe_text,
    run,
    tree,
    untouched,
    validate,
)

LONG_KEY = "a-key-that-is-long-enough-for-hmac"
SERIES = "series: {person: pid, key_env: ANON_MALFORMED_LONG_KEY}\nrisk: {k: 2}\n"
SERIES_RECIPE = recipe_text(extra=SERIES)
CASES: list[Case] = []


def case(id: str, setup: Any, code: int, *expect: Expect, **kwargs: Any) -> None:
    CASES.append(Case(id, setup, code, tuple(expect), safety=kwargs.pop("safety", True), **kwargs))


def published(text: str = SERIES_RECIPE, output: str = "prev", then: Any = None) -> Any:
    """A prepare step: publish ``text`` (as prev.yaml) to ``output`` first."""

    def prepare(tmp: Path) -> None:
        (tmp / "prev.yaml").write_text(text, encoding="utf-8")
        pipeline.run(str(tmp / "prev.yaml"), output=str(tmp / output))
        if then is not None:
            then(tmp / output)

    return prepare


def flip_state(out: Path) -> None:
    """Change one byte of the state file (a changed state)."""
    data = bytearray((out / "series_state.parquet").read_bytes())
    data[len(data) // 2] ^= 1
    (out / "series_state.parquet").write_bytes(bytes(data))


def _rows(out: Path) -> int:
    return json.loads((out / "manifest.json").read_text())["rows_out"]


PREVIOUS = ("--previous", "prev")
case(
    "series-previous-without-series",
    run(recipe_text(), *PREVIOUS, prepare=published()),
    2,
    "--previous needs a release series",
    "series:",
)
case(
    "series-previous-key-unset",
    run(SERIES_RECIPE.replace("LONG_KEY", "UNSET_KEY"), *PREVIOUS, prepare=published()),
    2,
    "ANON_MALFORMED_UNSET_KEY",
    "is not set",
)
case(
    "series-key-too-short",
    run(SERIES_RECIPE.replace("LONG_KEY", "SHORT_KEY")),
    2,
    "ANON_MALFORMED_SHORT_KEY",
    "too short",
)
case(
    "series-previous-is-the-output",
    run(SERIES_RECIPE, "--previous", "out/t", prepare=published(output="out/t")),
    2,
    "is the output itself",
)
case(
    "series-previous-not-a-release",
    run(SERIES_RECIPE, *PREVIOUS, files={"prev/notes.txt": "not a release"}),
    2,
    "not a release published by this tool",
)
case(
    "series-previous-missing",
    run(SERIES_RECIPE, "--previous", "nowhere"),
    3,
    "nowhere does not exist",
)
case(
    "series-previous-other-recipe",
    run(
        SERIES_RECIPE, *PREVIOUS, prepare=published(SERIES_RECIPE.replace("name: t", "name: other"))
    ),
    2,
    "belongs to another recipe",
)
case(
    "series-previous-without-state",
    run(SERIES_RECIPE, *PREVIOUS, prepare=published(recipe_text())),
    3,
    "holds no series state",
)
case(
    "series-previous-state-changed",
    run(SERIES_RECIPE, *PREVIOUS, prepare=published(then=flip_state)),
    3,
    "changed after it was written",
)
case(
    "series-previous-with-gate-only",
    run(SERIES_RECIPE, "--gate-only", "prev", *PREVIOUS, prepare=published()),
    2,
    "--previous",
)
case(
    "series-person-not-an-identifier",
    validate(SERIES_RECIPE.replace("person: pid", "person: occupation")),
    2,
    "series.person",
    "must never be published",
)
case(
    "series-without-risk",
    validate(recipe_text(extra=SERIES.replace("risk: {k: 2}\n", ""))),
    2,
    "a release series is judged against risk.k",
)
case(
    "series-person-missing-in-input",
    run(SERIES_RECIPE.replace("person: pid", "person: name").replace("[name]", "[name, x]")),
    3,
    "'x'",
)
BLANK = csv_text([[""] + row[1:] if i in (3, 7) else row for i, row in enumerate(good_rows())])
case(
    "series-person-id-blank",
    run(SERIES_RECIPE, data=BLANK),
    3,
    "missing in 2 record(s)",
    safety=False,
)
TWICE = csv_text([["1"] + row[1:] if i in (3, 7) else row for i, row in enumerate(good_rows())])
case(
    "series-person-id-twice",
    run(SERIES_RECIPE, data=TWICE),
    3,
    "appear in more than one record",
    safety=False,
)


def test_cases_are_unique() -> None:
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids)) and len(ids) >= 14


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_malformed_series(
    case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ANON_MALFORMED_UNSET_KEY", raising=False)
    monkeypatch.setenv("ANON_MALFORMED_SHORT_KEY", "short")
    monkeypatch.setenv("ANON_MALFORMED_LONG_KEY", LONG_KEY)
    argv = case.setup(tmp_path)
    before = tree(tmp_path) if case.safety else {}
    code, output = invoke(argv, capfd)
    shown = f"anonymize {' '.join(argv)} -> exit {code}\n{output[-3000:]}"
    judged(case, code, output, shown)
    assert LONG_KEY not in output, shown
    if case.safety:
        untouched(case, before, tmp_path, code, shown)


@pytest.mark.slow
def test_a_second_release_publishes_with_its_previous(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    """The cases above fail for their reason only: the same setup, done right, publishes."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ANON_MALFORMED_LONG_KEY", LONG_KEY)
    argv = run(SERIES_RECIPE, *PREVIOUS, prepare=published())(tmp_path)
    code, output = invoke(argv, capfd)
    assert code == 0, output
    series = json.loads((tmp_path / "out" / "t" / "risk_report.json").read_text())["series"]
    assert series["releases"] == 2 and series["persons_seen"] == _rows(tmp_path / "prev")
