"""Issue 24 ("release blockers"): the perturbative steps on extreme values, each a named outcome.

The same harness as ``tests/test_malformed.py`` (its setups, expectations and checks), with a
list of its own: values near the float limits are processed (``microaggregate``, ``add_noise``,
``rank_swap``) or refused with a named error (noise beyond the floats), recipes that cannot
work are refused at validation (a variable twice, a variable that is also a stratum, the
weight under noise or microaggregation), ``pram`` refuses too many categories before building
a matrix, ``microaggregate`` with k above the file is an input error, ``anonymize utility``
names its bad options. Every case runs ``anonymize`` in-process and must end in the listed exit
code, say what is listed, show no traceback, no numpy ``RuntimeWarning`` and no data value
(the planted values' digits), and end well under 60 seconds.
"""

from __future__ import annotations

import json
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tests.malformed import (
    COLUMNS,
    STEP_LINE,
    Case,
    Expect,
    at,
    cli,
    invoke,
    judged,
    recipe_text,
    run,
    scenario,
)

ROWS = 60
BIG = "1.2345e200"  # planted values: their digits must never be shown
HUGE = "9.87654e307"
BEYOND = "1.70001e308"
SECRETS = ("1.2345", "9.87654", "1.70001", "SECRETCAT")
WEIGHTED = COLUMNS + "  weight: weight\n"
CASES: list[Case] = []


def case(id: str, setup: Any, code: int | tuple[int, ...], *expect: Expect, **kwargs: Any) -> None:
    CASES.append(Case(id, setup, code, tuple(expect), **kwargs))


def data(n: int = ROWS, **planted: dict[int, str]) -> str:
    """``n`` records (pid, name, age, sex, pref, occupation, income, spend, weight) as CSV.

    ``planted`` sets a column's text in the given 0-based records.
    """
    frame = pd.DataFrame(
        {
            "pid": np.arange(1, n + 1),
            "name": [f"Yamada Taro{i:05d}" for i in range(n)],
            "age": 20 + np.arange(n) % 50,
            "sex": 1 + np.arange(n) % 2,
            "pref": ["13101", "13102", "01101"] * (n // 3) + ["13101"] * (n % 3),
            "occupation": ["A01", "A02", "B05", "B06"] * (n // 4) + ["A01"] * (n % 4),
            "income": 100 * (np.arange(n) + 1),
            "spend": 7 * (np.arange(n) % 13) + 50,
            "weight": 1.5 + np.arange(n) % 3,
        }
    ).astype(str)
    for column, values in planted.items():
        for record, value in values.items():
            frame.loc[record, column] = value
    return frame.to_csv(index=False)


def go(recipe: str, table: str | None = None) -> Any:
    """``anonymize run r.yaml -q`` on ``table`` (default: this module's plain records)."""
    return run(recipe, data=table if table is not None else data())


def steps(*lines: str, columns: str = COLUMNS) -> str:
    """A recipe with the given steps (``recipe_text``'s line numbers: step 0 on line 11)."""
    return recipe_text([f"  - {line}" for line in lines], columns=columns)


def _output(tmp: Path) -> pd.DataFrame:
    return pd.read_csv(tmp / "out" / "t" / "data" / "part-00000.csv")


def _facts(tmp: Path, name: str) -> dict:
    manifest = json.loads((tmp / "out" / "t" / "manifest.json").read_text(encoding="utf-8"))
    return next(s for s in manifest["steps"] if s["name"] == name)["facts"]


def finite(*columns: str) -> Any:
    """A check: the published columns hold finite numbers where the input had values."""

    def check(tmp: Path, code: int, out: str) -> None:
        published = _output(tmp)
        for column in columns:
            values = published[column].dropna().to_numpy(np.float64)
            assert values.size and np.isfinite(values).all(), column

    return check


def grouped(column: str, k: int) -> Any:
    """A check: every published value of ``column`` is shared by at least k records."""

    def check(tmp: Path, code: int, out: str) -> None:
        counts = _output(tmp)[column].value_counts()
        assert (counts >= k).all() and np.isfinite(counts.index.to_numpy(np.float64)).all()

    return check


# ---- 1. microaggregate: values near the float limits are standardised without overflow -------

case(
    "microaggregate-1e200-one-variable",
    go(steps("microaggregate: {variables: [income], k: 3}"), data(income={0: BIG})),
    0,
    check=grouped("income", 3),
)
case(
    "microaggregate-1e308-two-variables",
    go(
        steps("microaggregate: {variables: [income, spend], k: 3}"),
        data(income={0: HUGE, 1: HUGE, 2: f"-{HUGE}"}),
    ),
    0,
    check=finite("income", "spend"),
)
case(
    "microaggregate-1e308-one-variable-strata",
    go(
        steps("microaggregate: {variables: [income], k: 3, strata: [sex]}"),
        data(income={0: HUGE, 2: HUGE, 4: HUGE}),
    ),
    0,
    check=grouped("income", 3),
)

# ---- 2. add_noise and rank_swap: finite figures, or a named error beyond the floats ----------

case(
    "add-noise-1e308-additive",
    go(steps("add_noise: {variables: [income, spend]}"), data(income={0: HUGE, 1: HUGE})),
    0,
    check=finite("income", "spend"),
)
case(
    "add-noise-1e200-correlated",
    go(steps("add_noise: {variables: [income, spend], method: correlated}"), data(income={0: BIG})),
    0,
    check=finite("income", "spend"),
)
case(
    "rank-swap-1e308",
    go(steps("rank_swap: {variables: [income, spend]}"), data(income={0: HUGE, 1: f"-{HUGE}"})),
    0,
    check=finite("income"),
)
case(
    "add-noise-beyond-the-floats",
    go(
        steps("add_noise: {variables: [spend, income], noise: 1000}"),
        data(income={i: BEYOND for i in range(0, ROWS, 6)}),
    ),
    3,
    at("r.yaml", STEP_LINE),
    "steps[0].add_noise",
    "column 'income'",
    "record(s)",
    "beyond the range of 64-bit floats",
    "top_code 'income'",
)

# ---- 3. recipes refused at validation: the key path and why ----------------------------------

case(
    "microaggregate-variable-twice",
    go(steps("microaggregate: {variables: [income, income]}")),
    2,
    at("r.yaml", STEP_LINE),
    "steps[0].microaggregate.variables[1]",
    "'income' is listed twice",
)
case(
    "microaggregate-variable-is-a-stratum",
    go(steps("microaggregate: {variables: [income, spend], strata: [sex, income]}")),
    2,
    at("r.yaml", STEP_LINE),
    "steps[0].microaggregate.strata[1]",
    "'income'",
    "microaggregated or a stratum",
)
case(
    "rank-swap-variable-twice",
    go(steps("rank_swap: {variables: [spend, income, spend]}")),
    2,
    "steps[0].rank_swap.variables[2]",
    "'spend' is listed twice",
)
case(
    "add-noise-on-the-weight",
    go(steps("add_noise: {variables: [income, weight], noise: 1000}", columns=WEIGHTED)),
    2,
    at("r.yaml", STEP_LINE + 1),
    "steps[0].add_noise.variables[1]",
    "columns.weight",
    "negative",
)
case(
    "microaggregate-on-the-weight",
    go(steps("microaggregate: {variables: [weight]}", columns=WEIGHTED)),
    2,
    "steps[0].microaggregate.variables[0]",
    "columns.weight",
)
case(
    "pram-column-is-a-stratum",
    go(steps("pram: {column: occupation, strata: [occupation]}")),
    2,
    "steps[0].pram.strata[0]",
    "'occupation'",
)


def _weights_kept(tmp: Path, code: int, out: str) -> None:
    weights = np.sort(_output(tmp)["weight"].to_numpy(np.float64))
    assert (weights > 0).all() and np.array_equal(weights, np.sort(1.5 + np.arange(ROWS) % 3))


case(
    "rank-swap-on-the-weight-keeps-it-positive",
    go(steps("rank_swap: {variables: [weight]}", columns=WEIGHTED)),
    0,
    check=_weights_kept,
)

# ---- 4. pram: a limit on the categories, found before any matrix; a bounded manifest ---------

MANY = data(10_136, occupation={i: f"SECRETCAT{i:05d}" for i in range(10_136)})
case(
    "pram-10136-categories",
    go(steps("pram: {column: occupation}"), MANY),
    3,
    at("r.yaml", STEP_LINE),
    "steps[0].pram",
    "column 'occupation'",
    "10,136 categories",
    "limit of 1,000",
)


def _summarised(tmp: Path, code: int, out: str) -> None:
    facts = _facts(tmp, "pram")
    assert "matrices" not in facts and facts["matrix_summary"]["largest"] == 1000
    assert (tmp / "out" / "t" / "manifest.json").stat().st_size < 200_000
    assert (tmp / "out" / "t" / "risk_report.json").stat().st_size < 200_000


THOUSAND = data(3000, occupation={i: f"SECRETCAT{i % 1000:05d}" for i in range(3000)})
case(
    "pram-1000-categories-summarised",
    go(steps("pram: {column: occupation}"), THOUSAND),
    0,
    check=_summarised,
)

# ---- 5. microaggregate: k above the file is an error; a small stratum a warning --------------

case(
    "microaggregate-k-above-the-file",
    go(steps("microaggregate: {variables: [income], k: 100}")),
    3,
    at("r.yaml", STEP_LINE),
    "steps[0].microaggregate",
    f"{ROWS} record(s)",
    "fewer than k = 100",
)


def _small_stratum(tmp: Path, code: int, out: str) -> None:
    assert _facts(tmp, "microaggregate")["suppressed_records"] == 2
    published = pd.read_csv(tmp / "out" / "t" / "data" / "part-00000.csv")
    assert published["income"].isna().sum() == 2


case(
    "microaggregate-stratum-below-k-warns",
    scenario(
        steps("microaggregate: {variables: [income], k: 3, strata: [pref]}"),
        argv=("run", "r.yaml"),
        data=data(pref={5: "27100", 7: "27100"}),
    ),
    0,
    "warning: microaggregate: 2 record(s)",
    "fewer than k = 3",
    "set missing",
    check=_small_stratum,
)

# ---- 6. anonymize utility: bad options and columns that are not numbers ----------------------

RELEASED = {"rel.csv": data()}
for option in ("--perturbed", "--numeric"):
    case(
        f"utility{option}-text-column",
        cli(
            "utility",
            "in.csv",
            "rel.csv",
            "--key-vars",
            "age,sex",
            option,
            "income,occupation",
            files={"in.csv": data(), **RELEASED},
        ),
        3,
        f"{option}: column 'occupation'",
        "holds text, not numbers",
    )
case(
    "utility-levels-above-height",
    cli(
        "utility",
        "in.csv",
        "rel.csv",
        "--key-vars",
        "age,sex",
        "--levels",
        "age=5/2",
        files=RELEASED,
    ),
    2,
    "usage error",
    "--levels age=5/2",
    "height",
)
case(
    "utility-levels-not-a-key-variable",
    cli(
        "utility",
        "in.csv",
        "rel.csv",
        "--key-vars",
        "age,sex",
        "--levels",
        "pref=1/2",
        files=RELEASED,
    ),
    2,
    "usage error",
    "--levels: 'pref'",
)


# --------------------------------------------------------------------------------------------
# The test (as tests/test_malformed.py's, with this module's cases)
# --------------------------------------------------------------------------------------------


def test_cases_are_unique() -> None:
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids)), [i for i in ids if ids.count(i) > 1]


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_extreme(
    case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    argv = case.setup(tmp_path)
    start = time.monotonic()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RuntimeWarning)
        code, output = invoke(argv, capfd)
    elapsed = time.monotonic() - start
    shown = f"anonymize {' '.join(argv)} -> exit {code} in {elapsed:.1f} s\n{output[-3000:]}"
    judged(case, code, output, shown)
    assert "Warning" not in output, shown
    numpy_warnings = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
    assert not numpy_warnings, f"{numpy_warnings}; {shown}"
    assert not [s for s in SECRETS if s in output], shown
    if case.check is not None:
        case.check(tmp_path, code, output)
