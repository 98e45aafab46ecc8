"""Nightly releases of a series stay safe together (issue 25), with the attack as the test.

Each test publishes releases of one recipe on census files that share most of their people
(households leave, others arrive, some values change), the later ones with ``--previous``.
``tests.series.attack`` then links the releases as an attacker would (shared tokens, exact
incomes) and must learn nothing: no value hidden in one release shown in another, no linked
record below k once what the releases show of it is merged. The same files released one by one,
without the series, must leak - so the attack is shown to find what it looks for.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pipeline
from pipeline.demo.census import generate_census, write_occupation_hierarchy
from tests.conftest import examples, invoke
from tests.series.attack import attack, load

KEY_ENV = "ANON_TEST_SERIES_KEY"
KEYS = ["age", "sex", "municipality", "occupation", "household_size"]


def recipe(output: str, series: bool = True, subsample: bool = False) -> dict:
    """The demo's roles and protection, as a dict (hierarchy files relative to the cwd)."""
    steps: list[dict] = [
        {"recode": {"column": "age", "bands": [0, 15, 30, 45, 60, 75, 90]}},
        {"recode": {"column": "occupation", "hierarchy": "occupation.csv", "level": 1}},
        {"recode": {"column": "municipality", "hierarchy": "jp_region", "level": "prefecture"}},
        {"top_code": {"column": "household_size", "above": 6}},
    ]
    if subsample:
        steps.append({"subsample": {"fraction": 0.8, "by": "household_id"}})
    steps += [
        {"local_suppression": {"k": 3, "importance": ["sex", "age", "household_size"]}},
        {"shuffle_records": {}},
    ]
    out = {
        "version": 1,
        "name": "nightly",
        "input": {"path": "night.csv"},
        "output": {"dir": output, "format": "parquet"},
        "seed": 11,
        "columns": {
            "direct_identifiers": ["name", "address", "phone", "email"],
            "identification_codes": ["my_number", "drivers_licence"],
            "linking_ids": {"member_id": "drop", "household_id": "surrogate"},
            "key_variables": KEYS,
            "weight": "weight",
        },
        "risk": {"k": 3},
        "steps": steps,
    }
    if series:
        out["series"] = {"person": "member_id", "key_env": KEY_ENV}
    return out


def population(n: int, seed: int) -> pd.DataFrame:
    """Census people with a unique income each (what the attacker links on)."""
    frame = generate_census(n, seed=seed)
    frame["member_id"] = f"s{seed}-" + frame["member_id"].astype(str)
    frame["household_id"] = f"s{seed}-" + frame["household_id"].astype(str)
    frame["income"] = frame["income"].astype("int64") * 1000 + np.arange(n) + seed * 100_000
    return frame


def next_night(
    frame: pd.DataFrame, seed: int, leave: float, arrive: int, change: float
) -> pd.DataFrame:
    """Households leave, new ones arrive, some people's household size changes."""
    rng = np.random.default_rng(seed)
    households = frame["household_id"].unique()
    gone = set(rng.choice(households, int(leave * len(households)), replace=False))
    stay = frame[~frame["household_id"].isin(gone)].copy()
    moved = rng.random(len(stay)) < change
    stay.loc[moved, "household_size"] = stay.loc[moved, "household_size"].astype(int) % 6 + 1
    return pd.concat([stay, population(arrive, seed)], ignore_index=True) if arrive else stay


@pytest.fixture
def nightly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(KEY_ENV, "a series key of at least sixteen bytes")
    write_occupation_hierarchy(tmp_path / "occupation.csv")
    return tmp_path


def publish(nights: list[pd.DataFrame], series: bool, prefix: str, **kwargs: bool) -> list[Path]:
    """Publish each night's file; each with ``--previous`` the one before (in a series)."""
    outs: list[Path] = []
    for i, frame in enumerate(nights):
        frame.to_csv("night.csv", index=False)
        previous = str(outs[-1]) if outs and series else None
        result = pipeline.run(recipe(f"out/{prefix}{i}", series, **kwargs), previous=previous)
        outs.append(result.out_dir)
    return outs


def found(outs: list[Path]) -> dict[str, int]:
    releases = [load(out) for out in outs]
    return attack(releases, KEYS, 3, ["income", "sex"], tokens="household_id")


@pytest.mark.slow
def test_two_nights_reveal_nothing_where_alone_they_leak(nightly: Path) -> None:
    first = population(1500, 1)
    nights = [first, next_night(first, 2, leave=0.15, arrive=120, change=0.05)]
    alone = found(publish(nights, series=False, prefix="alone"))
    assert alone["linked"] > 500 and alone["revealed"] + alone["below_k"] > 0, alone
    outs = publish(nights, series=True, prefix="series")
    leaks = found(outs)
    assert leaks["linked"] > 500, leaks
    assert (leaks["revealed"], leaks["below_k"], leaks["shared_tokens"]) == (0, 0, 0), leaks
    report = json.loads((outs[1] / "risk_report.json").read_text())
    series = report["series"]
    assert series["judged"] == "series" and series["releases"] == 2
    assert series["merged_k_violations"] == 0 and series["persons_seen"] > 1000
    checks = {c["id"]: c for c in report["gate"]["output"]["checks"]}
    assert checks["series.k"]["passed"] and checks["series.k"]["reason"] == "series_k_violated"


@pytest.mark.slow
def test_a_release_alone_says_so(nightly: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KEY_ENV)
    population(300, 1).to_csv("night.csv", index=False)
    result = pipeline.run(recipe("out/alone"))
    series = json.loads((result.out_dir / "risk_report.json").read_text())["series"]
    assert series["judged"] == "alone" and KEY_ENV in series["reason"]
    assert not (result.out_dir / "series.json").exists()
    assert "judged alone" in (result.out_dir / "risk_report.html").read_text()


def _digest(out: Path) -> str:
    return hashlib.sha256(b"".join(p.read_bytes() for p in sorted(out.glob("data/*")))).hexdigest()


@pytest.mark.slow
def test_the_state_stays_out_of_what_recipients_get_and_a_rerun_is_identical(
    nightly: Path,
) -> None:
    first = population(600, 1)
    outs = publish([first], series=True, prefix="n")
    first.to_csv("night.csv", index=False)
    assert pipeline.run(recipe("out/n0")).out_dir == outs[0]  # a run replaces its own release
    second = next_night(first, 2, leave=0.1, arrive=50, change=0.0)
    second.to_csv("night.csv", index=False)
    runs = [
        pipeline.run(recipe(f"out/again{i}"), previous=str(outs[0]), package=f"pkg{i}")
        for i in range(2)
    ]
    assert _digest(runs[0].out_dir) == _digest(runs[1].out_dir)
    package = {p.name for p in Path("pkg0").rglob("*")}
    assert not package & {"series.json", "series_state.parquet", "manifest.json"}
    published = load(runs[0].out_dir)
    assert not any(c.startswith("__anon") for c in published.columns)
    assert "member_id" not in published.columns
    state = (runs[0].out_dir / "series_state.parquet").read_bytes()
    for person in second["member_id"].head(50):
        assert person.encode() not in state
    manifest = json.loads((runs[0].out_dir / "manifest.json").read_text())
    assert {a["path"] for a in manifest["artifacts"]} >= {"series.json", "series_state.parquet"}


@pytest.mark.slow
def test_the_sample_keeps_the_households_it_took(nightly: Path) -> None:
    first = population(1200, 1)
    nights = [first, next_night(first, 2, leave=0.1, arrive=0, change=0.0)]
    outs = publish(nights, series=True, prefix="s", subsample=True)
    releases = [load(out) for out in outs]
    incomes = [set(r["income"].astype(str)) for r in releases]
    stayed = set(nights[1]["income"].astype(str))
    # no one left out on night 1 is sampled on night 2, and everyone still there and sampled
    # on night 1 is released on night 2 unless the series withheld them
    withheld = json.loads((outs[1] / "risk_report.json").read_text())["series"]["records_withheld"]
    assert incomes[1] <= incomes[0] & stayed
    assert len(incomes[0] & stayed) - len(incomes[1]) == withheld
    assert 0.6 * len(stayed) < len(incomes[1]) < 0.9 * len(stayed)
    assert found(outs)["revealed"] == 0


@pytest.mark.slow
@settings(max_examples=examples(3), deadline=None, suppress_health_check=list(HealthCheck))
@given(
    st.lists(
        st.tuples(st.floats(0.0, 0.3), st.integers(0, 80), st.floats(0.0, 0.2)),
        min_size=2,
        max_size=2,
    ),
    st.integers(0, 1000),
)
def test_any_arrivals_departures_and_changes_reveal_nothing(
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch_module: None,
    changes: list[tuple[float, int, float]],
    seed: int,
) -> None:
    folder = tmp_path_factory.mktemp("series")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(folder)
        write_occupation_hierarchy(folder / "occupation.csv")
        nights = [population(400, seed)]
        for i, (leave, arrive, change) in enumerate(changes):
            nights.append(next_night(nights[-1], seed * 10 + i + 1, leave, arrive, change))
        leaks = found(publish(nights, series=True, prefix="h"))
    assert (leaks["revealed"], leaks["below_k"], leaks["shared_tokens"]) == (0, 0, 0), leaks


@pytest.fixture(scope="module")
def monkeypatch_module() -> None:
    """The series key for the hypothesis test (fixtures of a function scope do not fit it)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(KEY_ENV, "a series key of at least sixteen bytes")
        yield


@pytest.mark.slow
def test_suda2_and_population_targets_are_judged_on_the_merged_view(nightly: Path) -> None:
    first = population(600, 1)
    nights = [first, next_night(first, 2, leave=0.1, arrive=60, change=0.05)]
    targets = {"max_special_uniques": 10_000, "max_dis_score": 1.0}
    targets["population"] = {"max_share": 1.0}
    outs: list[Path] = []
    for i, frame in enumerate(nights):
        frame.to_csv("night.csv", index=False)
        body = recipe(f"out/t{i}")
        body["risk"].update(targets)
        Path(f"t{i}.yaml").write_text(yaml.safe_dump(body), encoding="utf-8")
        previous = str(outs[-1]) if outs else None
        outs.append(pipeline.run(f"t{i}.yaml", previous=previous).out_dir)
    report = json.loads((outs[1] / "risk_report.json").read_text())
    checks = {c["id"]: c for c in report["gate"]["output"]["checks"]}
    for name in ("special_uniques", "max_dis_score", "population.max_share"):
        merged = checks[f"series.{name}"]
        assert merged["passed"] and merged["reason"] == "series_risk_too_high"
        assert merged["description"].startswith("the merged view of the series: ")
    audit = Path("audit.json")
    result = invoke("run", "t1.yaml", "--gate-only", str(outs[1]), "--gate-report", str(audit))
    assert result.exit_code == 0, result.output
    again = {c["id"]: c for c in json.loads(audit.read_text())["output"]["checks"]}
    for name in ("special_uniques", "max_dis_score", "population.max_share"):
        assert again[f"series.{name}"]["observed"] == checks[f"series.{name}"]["observed"]
