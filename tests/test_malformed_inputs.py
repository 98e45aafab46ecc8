"""Issue 24 ("release blockers"): inputs and recipes that ended in exit 1, each a named outcome.

The same harness as ``tests/test_malformed.py`` (its setups, expectations and checks), with a
list of its own: every case runs ``anonymize`` in-process, must not show a traceback nor exit 1,
must exit with one of the listed codes and say what is listed, and never shows a data value
(the data's telling values hold ``SECRET``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from tests.malformed import (
    COLUMNS,
    HEADER,
    STEP_LINE,
    Case,
    Expect,
    at,
    cli,
    csv_text,
    good_rows,
    invoke,
    judged,
    parquet_table,
    recipe_text,
    run,
    tabulation,
    tree,
    untouched,
    validate,
    write_parquet,
)

SECRET = "SECRET-VALUE-42"
CASES: list[Case] = []


def case(id: str, setup: Any, code: int | tuple[int, ...], *expect: Expect, **kwargs: Any) -> None:
    CASES.append(Case(id, setup, code, tuple(expect), **kwargs))


def _published_empty(tmp: Path, code: int, out: str) -> None:
    """A header-only input publishes its header and no record."""
    (part,) = (tmp / "out" / "t" / "data").iterdir()
    assert part.read_text(encoding="utf-8").strip().count("\n") == 0, part.read_text()


# ---- 1. generalize: the sensitive column of l-diversity / t-closeness ------------------------

HIERARCHY = "hierarchies: {age: {bands: [[0, 40, 80]]}}"
for model in ("l_diversity: {column: incomee, l: 2}", "t_closeness: {column: incomee, t: 0.5}"):
    field = model.split(":")[0]
    step = recipe_text([f"  - generalize: {{k: 2, {HIERARCHY}, {model}}}"])
    for command, setup in (("run", run(step)), ("validate", validate(step))):
        case(
            f"generalize-{field}-column-missing-{command}",
            setup,
            3,
            "'incomee'",
            f"steps[0].generalize.{field}.column",
            "did you mean 'income'?",
            "columns found",
        )
DELETED = f"  - generalize: {{k: 2, {HIERARCHY}, l_diversity: {{column: name}}}}"
case(
    "generalize-l-diversity-column-deleted",
    validate(recipe_text([DELETED])),
    2,
    at("r.yaml", STEP_LINE),
    "steps[0].generalize.l_diversity.column",
    "deleted",
)

# ---- 2. a header-only input through generalize: an empty output, as without it --------------

HEADER_ONLY = csv_text([])
for label, extra in (
    ("", ""),
    ("-l-diversity", ", l_diversity: {column: income, l: 2}"),
    ("-suppress-none", ", suppress: none"),
):
    steps = [f"  - generalize: {{k: 2, {HIERARCHY}{extra}}}"]
    if label == "-suppress-none":
        steps.append("  - local_suppression: {k: 2}")
    case(
        f"input-header-only-generalize{label}",
        run(recipe_text(steps), data=HEADER_ONLY),
        0,
        check=_published_empty,
    )
for metric in ("discernibility", "entropy", "loss"):
    case(
        f"input-header-only-generalize-{metric}",
        run(
            recipe_text([f"  - generalize: {{k: 2, {HIERARCHY}, metric: {metric}}}"]),
            data=HEADER_ONLY,
        ),
        0,
        check=_published_empty,
    )
case("input-header-only-top-code", run(data=HEADER_ONLY), 0, check=_published_empty)

# ---- 3. the household column missing in every record -------------------------------------

NO_HOUSEHOLDS = csv_text([[*r, ""] for r in good_rows()], header=[*HEADER, "hh"])
case(
    "input-household-missing-everywhere",
    run(recipe_text(extra="risk: {k: 1, household: hh}\n"), data=NO_HOUSEHOLDS),
    0,
)
case(
    "input-household-missing-everywhere-generalize",
    run(
        recipe_text(
            [f"  - generalize: {{k: 2, {HIERARCHY}, max_suppression: 0.5}}"],
            extra="risk: {k: 2, household: hh}\n",
        ),
        data=NO_HOUSEHOLDS,
    ),
    0,
)
case(
    "cli-risk-household-missing-everywhere",
    cli("risk", "in.csv", "--key-vars", "age,sex", "--household", "hh", data=NO_HOUSEHOLDS),
    0,
    "household_global_risk",
)

# ---- 4. Parquet columns that are not categories or numbers, through every command ----------


def _with(column: str, array: pa.Array) -> Any:
    """A Parquet file of the good records with ``column`` replaced by ``array``."""

    def make(path: Path) -> None:
        table = parquet_table()
        write_parquet(path, table.set_column(table.schema.get_field_index(column), column, array))

    return make


N = len(good_rows())
LISTS = pa.array([[SECRET, str(i)] for i in range(N)])
BYTES = pa.array([SECRET.encode() + bytes([i, 255]) for i in range(N)], pa.binary())
TEXT_WEIGHT = pa.array([SECRET, *["1.5"] * (N - 1)])
for label, column, array, expected in (
    ("list", "sex", LISTS, "nested values"),
    ("binary", "sex", BYTES, "bytes"),
):
    files = {"p.parquet": _with(column, array)}
    case(
        f"cli-risk-parquet-{label}-key",
        cli("risk", "p.parquet", "--key-vars", "age,sex", csv=False, files=files),
        3,
        "'sex'",
        expected,
    )
    case(
        f"cli-risk-parquet-{label}-household",
        cli("risk", "p.parquet", "--key-vars", "age", "--household", "sex", csv=False, files=files),
        3,
        "'sex'",
        expected,
    )
    case(
        f"cli-scan-parquet-{label}",
        cli("scan", "p.parquet", csv=False, files=files),
        3,
        "'sex'",
        expected,
    )
    case(
        f"run-parquet-{label}-key",
        run(recipe_text(input="{path: p.parquet}"), csv=False, files=files),
        3,
        "'sex'",
        expected,
        "p.parquet",
    )
case(
    "cli-risk-parquet-text-weight",
    cli(
        "risk",
        "p.parquet",
        "--key-vars",
        "age,sex",
        "--weight",
        "weight",
        csv=False,
        files={"p.parquet": _with("weight", TEXT_WEIGHT)},
    ),
    3,
    "weight column 'weight'",
    "not numbers",
)

# ---- 6. recipes that contain themselves or nest without end -------------------------------

DEEP = "description:\n" + "".join(" " * (i + 1) + "a:\n" for i in range(5000)) + " " * 5001 + "x\n"
BOMB = "".join(
    f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]\n" if i else "a0: &a0 [x, x, x, x, x]\n"
    for i in range(9)
)
for label, extra, line, expected in (
    ("alias-cycle", "description: &d {x: *d}\n", 12, "contains itself"),
    ("step-alias-cycle", "", STEP_LINE, "contains itself"),
    ("nesting-5000-block", DEEP, 112, "nesting deeper than 100 levels"),
    ("nesting-5000-flow", "d: " + "[" * 5000 + "]" * 5000 + "\n", 12, "nesting deeper than 100"),
    ("alias-expansion", BOMB, 18, "more than 1,000,000 values"),  # a6 passes it
):
    steps = ["  - recode: &r {column: sex, map: {x: *r}}"] if label == "step-alias-cycle" else None
    text = recipe_text(steps, extra=extra)
    for command, setup in (("validate", validate(text)), ("run", run(text))):
        case(f"recipe-{label}-{command}", setup, 2, at("r.yaml", line), expected, safety=True)

# ---- 7. paths written with '~' (YAML's null alone; never expanded) -------------------------

for label, output in (
    ("null", "{dir: ~, format: csv}"),
    ("quoted", "{dir: '~', format: csv}"),
    ("home-child", "{dir: ~/out, format: csv}"),
):
    expected = "null" if label == "null" else "starts with '~'"
    case(
        f"recipe-output-dir-tilde-{label}",
        run(recipe_text(output=output)),
        2,
        at("r.yaml", 4),
        "output.dir",
        expected,
        safety=True,
    )
case(
    "recipe-input-path-tilde",
    run(recipe_text(input="{path: ~/in.csv}")),
    2,
    at("r.yaml", 3),
    "input.path",
    "starts with '~'",
    safety=True,
)
case(
    "cli-run-output-tilde",
    run(None, "--output", "~"),
    2,
    "--output",
    "starts with '~'",
    safety=True,
)
case(
    "cli-run-input-tilde",
    run(None, "--input", "~/in.csv"),
    2,
    "--input",
    "starts with '~'",
    safety=True,
)
case(
    "cli-validate-input-tilde",
    cli("validate", "r.yaml", "--input", "~/in.csv", files={"r.yaml": recipe_text()}),
    2,
    "--input",
)
case(
    "cli-tabulate-output-tilde",
    cli("tabulate", "r.yaml", "--output", "~/t", files={"r.yaml": tabulation()}),
    2,
    "--output",
    "starts with '~'",
    safety=True,
)
case(
    "recipe-tabulation-output-tilde",
    cli(
        "tabulate", "r.yaml", files={"r.yaml": tabulation().replace("{dir: out/tt}", "{dir: '~'}")}
    ),
    2,
    at("r.yaml", 5),
    "output.dir",
    "starts with '~'",
    safety=True,
)
case("cli-run-output-dot-tilde-allowed", run(recipe_text(output="{dir: ./~/t, format: csv}")), 0)


# --------------------------------------------------------------------------------------------
# The test (as tests/test_malformed.py's, with this module's cases)
# --------------------------------------------------------------------------------------------


def test_cases_are_unique() -> None:
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids)), [i for i in ids if ids.count(i) > 1]
    assert COLUMNS in recipe_text()  # the recipes above keep test_malformed's line numbers


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_malformed_input(
    case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # a '~' expanded anywhere lands here
    argv = case.setup(tmp_path)
    before = tree(tmp_path) if case.safety else {}
    code, output = invoke(argv, capfd)
    shown = f"anonymize {' '.join(argv)} -> exit {code}\n{output[-3000:]}"
    judged(case, code, output, shown)
    assert SECRET not in output, shown
    home = [p.name for p in (tmp_path / "home").glob("*") if not p.name.startswith(".")]
    assert not home, f"a path was expanded to the home folder: {home}"  # libraries' dot folders
    if case.safety:
        untouched(case, before, tmp_path, code, shown)
    if case.check is not None:
        case.check(tmp_path, code, output)
