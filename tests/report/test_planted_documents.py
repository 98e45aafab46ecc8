"""Every document and page the tool writes, over every step type, holds no planted value.

Records carry planted values in every column a recipe removes or changes (a name, an address,
an e-mail, a phone, a person and a household id, an age of 4,729,163, an income of 918,273,645.5,
an odd weight); a recipe runs every step type, twice as a release series, then tabulates the
same records and is blocked once. No page (risk report, blocked run, tables, review), notice or
codebook may show a planted value or the seed; the notice and the codebook, which recipients
get, also show no threshold or other figure the steps derived from the data.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import DEMO_COLUMNS, invoke, write_occupation_hierarchy
from tests.engine.test_runner import LOG_STEPS, _derived
from tests.test_no_value_leaks import AGE_PLANT, INCOME_PLANT, WEIGHT_PLANT, leaks_in

pytestmark = pytest.mark.slow

SEED = "7351987"
STEPS = LOG_STEPS.replace(  # the ten step types of the log test, and the two it leaves out
    "  - shuffle_records: {}\n",
    "  - rank_swap: {variables: [weight], p: 10}\n  - risk: {k: 3}\n  - shuffle_records: {}\n",
)
TABLES = """\
version: 1
kind: tabulation
name: planted_tables
input: {path: data/planted.csv}
output: {dir: out/tables}
weight: weight
tables:
  - name: people
    rows: {column: municipality, recode: {hierarchy: jp_region, level: region}}
    columns: {column: age, recode: {bands: [0, 15, 65, 75], labels: range}}
    statistic: count
  - name: income
    rows: {column: sex}
    statistic: sum
    variable: income
    unit: household_id
"""


def _planted(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.copy()
    frame["income"] = frame["income"].astype("float64")
    frame.loc[0, ["name", "address"]] = ["PLANTNAMEQX7 Taro01", "PLANTADDRQX7 3-chome"]
    frame.loc[0, ["email", "phone"]] = ["plantmailqx7.0@example.invalid", "090-7391-8264"]
    frame.loc[0, ["member_id", "household_id"]] = ["PLANTMEMBERQX7000", "PLANTHHQX7000"]
    frame.loc[1, "age"] = int(AGE_PLANT)
    frame.loc[2, "income"] = float(INCOME_PLANT)
    frame.loc[3, "weight"] = float(WEIGHT_PLANT)
    return frame


def _recipe(root: Path, output: str, risk: str = "{k: 3}") -> Path:
    path = root / "recipes" / f"{output.replace('/', '_')}.yaml"
    path.write_text(
        f"version: 1\nname: planted\ninput: {{path: data/planted.csv}}\n"
        f"output: {{dir: {output}, format: parquet}}\nseed: {SEED}\n{DEMO_COLUMNS}"
        f"risk: {risk}\nseries: {{person: member_id, key_env: PLANTED_SERIES_KEY}}\n"
        f"steps:\n{textwrap.dedent(STEPS)}",
        encoding="utf-8",
    )
    return path


def _documents(folder: Path) -> dict[str, str]:
    names = ("*.html", "*.md", "codebook.json", "tables/*.html", "review/*.html")
    return {
        str(p.relative_to(folder.parent)): p.read_text(encoding="utf-8")
        for pattern in names
        for p in sorted(folder.glob(pattern))
    }


def test_no_document_or_page_shows_a_planted_value_the_seed_or_a_derived_figure(
    workdir: Path, census_frame: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLANTED_SERIES_KEY", "a series key of at least sixteen bytes")
    write_occupation_hierarchy(workdir / "recipes" / "hierarchies" / "occupation.csv")
    frame = _planted(census_frame)
    frame.to_csv(workdir / "data" / "planted.csv", index=False)
    assert leaks_in((workdir / "data" / "planted.csv").read_text(encoding="utf-8"))
    ran = [
        invoke("run", str(_recipe(workdir, "out/night1")), "-q"),
        invoke("run", str(_recipe(workdir, "out/night2")), "-q", "--previous", "out/night1"),
        invoke(
            "run",
            str(_recipe(workdir, "out/blocked", "{k: 3, max_global_risk: 0.000000001}")),
            "-q",
        ),
    ]
    assert [r.exit_code for r in ran] == [0, 0, 4], [r.output for r in ran]
    (workdir / "recipes" / "tables.yaml").write_text(TABLES, encoding="utf-8")
    tabulated = invoke("tabulate", "recipes/tables.yaml", "-q")
    assert tabulated.exit_code == 0, tabulated.output

    documents: dict[str, str] = {}
    for folder in ("night1", "night2", "tables"):
        documents |= _documents(workdir / "out" / folder)
    blocked = workdir / "out" / "blocked.gate_report.html"
    documents[blocked.name] = blocked.read_text(encoding="utf-8")
    pages = [n for n in documents if n.endswith(".html")]
    assert len(pages) == 9 and "night2/codebook.html" in documents  # every kind of page
    steps = [s for n in ("night1", "night2") for s in _manifest(workdir, n)["steps"]]
    assert {s["name"] for s in steps} >= {"series", "series_person", "rank_swap", "risk", "pram"}
    figures = _derived([s["facts"] for s in steps])
    assert figures  # the steps derived figures from the data: the thresholds kept back
    for name, text in documents.items():
        assert not leaks_in(text), (name, leaks_in(text))
        assert SEED not in text and f"{int(SEED):,}" not in text, name
        if "notice" in name or "codebook" in name:  # what recipients get
            for figure in figures:
                assert figure not in text, (name, figure)
            for word in ("threshold", "seed", "replace_with", "weight_factor", "matri"):
                assert word not in text.lower(), (name, word)


def _manifest(root: Path, name: str) -> dict:
    return json.loads((root / "out" / name / "manifest.json").read_text(encoding="utf-8"))
