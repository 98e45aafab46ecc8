"""Linked tables: a hidden cell must not be recoverable from the recipe's tables together.

The attack is written out: a region x sex table and a prefecture x sex table of the same
people. Protected one by one, the prefecture table hides its small cell with the cheapest
partner prefecture, in another region; the region table then gives it away (the region's total
less the published prefecture of the same region). Protected as one system, no hidden cell of
either table is narrower than the rule's interval over both.
"""

from __future__ import annotations

import json
from pathlib import Path

import dask.dataframe as dd
import pandas as pd
import pytest

from pipeline.engine.apply import PendingChecks
from pipeline.tabulate import linked
from pipeline.tabulate.compute import assemble_cells, plan_cells, prepare
from pipeline.tabulate.model import Rules, TableSpec
from pipeline.tabulate.protect import suppress, unprotected
from tests.conftest import invoke, write_recipe

# prefecture (municipality) -> (men, women); Tokyo and Kanagawa are Kanto, Kyoto and Osaka Kinki
PEOPLE = {"13101": (3, 40), "14100": (50, 60), "26100": (12, 11), "27100": (45, 55)}
RULES = Rules(threshold=10, dominance=[], min_interval_units=10)


def people() -> pd.DataFrame:
    rows = [
        (m, s)
        for m, (men, women) in PEOPLE.items()
        for s, n in (("1", men), ("2", women))
        for _ in range(n)
    ]
    return pd.DataFrame(rows, columns=["municipality", "sex"])


def spec(name: str, level: str, statistic: str = "count") -> TableSpec:
    """A table of municipality (at ``level``) x sex; a magnitude one adds up income."""
    magnitude = {"statistic": statistic, "variable": "income"} if statistic != "count" else {}
    return TableSpec.model_validate(
        {
            "name": name,
            "rows": {
                "column": "municipality",
                "recode": {"hierarchy": "jp_region", "level": level},
            },
            "columns": {"column": "sex"},
            **magnitude,
        }
    )


def computed(specs: list[TableSpec]) -> tuple[dict, pd.Series]:
    ddf = dd.from_pandas(people(), npartitions=2)
    with PendingChecks() as checks:
        prepared = {s.name: prepare(ddf, s, Path("."), checks) for s in specs}
        plans = {s.name: plan_cells(prepared[s.name], s) for s in specs}
        (found, finest) = checks.settle((plans, linked.finest_plan(prepared, specs)))[0]
    return {s.name: assemble_cells(found[s.name], s) for s in specs}, finest


def test_tables_protected_one_by_one_give_the_small_cell_away() -> None:
    specs = [spec("by_region", "region"), spec("by_prefecture", "prefecture")]
    cells, finest = computed(specs)
    alone = {s.name: suppress(cells[s.name], s, RULES) for s in specs}
    small = alone["by_prefecture"]
    assert small.loc[small.suppression == "primary", "row"].tolist() == ["13"]
    assert unprotected(small) == []  # within its own table it looks protected ...
    assert linked.system_widths(cells, specs, RULES, alone, finest) == [
        0.0
    ]  # ... but the region table recovers it


def test_tables_protected_together_keep_every_hidden_cell_wide_enough() -> None:
    specs = [spec("by_region", "region"), spec("by_prefecture", "prefecture")]
    cells, finest = computed(specs)
    assert [[s.name for s in f] for f in linked.families(specs)] == [["by_region", "by_prefecture"]]
    together = linked.suppress_family(cells, specs, RULES, finest)
    assert all(w >= 10 - 1e-6 for w in linked.system_widths(cells, specs, RULES, together, finest))
    for checked in together.values():
        assert unprotected(checked) == []  # the intervals recorded are the system's


def test_a_tabulation_run_links_them_and_the_review_says_so(workdir: Path) -> None:
    people().to_csv(workdir / "data" / "people.csv", index=False)
    body = """\
        version: 1
        kind: tabulation
        name: linked
        input: {path: data/people.csv, format: csv}
        output: {dir: out/linked}
        rules: {threshold: 10, dominance: [], min_interval_units: 10}
        tables:
          - name: by_region
            rows: {column: municipality, recode: {hierarchy: jp_region, level: region}}
            columns: {column: sex}
          - name: by_prefecture
            rows: {column: municipality, recode: {hierarchy: jp_region, level: prefecture}}
            columns: {column: sex}
        """
    result = invoke("tabulate", str(write_recipe(workdir, body)), "-q")
    assert result.exit_code == 0, result.output
    review = json.loads((workdir / "out" / "linked" / "review" / "check_report.json").read_text())
    assert review["linked"] == [["by_region", "by_prefecture"]]
    (small,) = [c for c in review["tables"]["by_prefecture"] if c["suppression"] == "primary"]
    low, high = small["interval"]
    assert high is None or high - low >= 10


def test_tables_that_cannot_be_protected_together_are_named(monkeypatch) -> None:
    specs = [spec("by_region", "region"), spec("by_prefecture", "prefecture")]
    cells, finest = computed(specs)

    def none(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202 - the solver finds no pattern
        raise linked.Unprotectable("no suppression pattern protects the primary cells")

    monkeypatch.setattr(linked, "protect", none)
    with pytest.raises(linked.Unprotectable) as raised:
        linked.suppress_family(cells, specs, RULES, finest)
    assert str(raised.value) == (
        "no suppression pattern protects the primary cells of by_region (none); "
        "by_prefecture (1 cell)"
    )


def test_tables_that_do_not_leak_keep_their_own_patterns(monkeypatch) -> None:
    # Kanagawa is now the cheapest partner of Tokyo's small cell, in the same region: the
    # prefecture table's own pattern is safe over both tables and is kept as it is
    monkeypatch.setitem(PEOPLE, "14100", (12, 11))
    monkeypatch.setitem(PEOPLE, "26100", (50, 60))
    specs = [spec("by_region", "region"), spec("by_prefecture", "prefecture")]
    cells, finest = computed(specs)
    alone = {s.name: suppress(cells[s.name], s, RULES) for s in specs}
    assert all(w >= 10 for w in linked.system_widths(cells, specs, RULES, alone, finest))
    together = linked.suppress_family(cells, specs, RULES, finest)
    for s in specs:
        assert together[s.name]["suppression"].tolist() == alone[s.name]["suppression"].tolist()


def test_a_mean_table_beside_a_sum_table_gives_its_hidden_cell_away_unless_linked() -> None:
    # the attack: Kanto's men in the sum table, less Kanagawa's men as the mean table's mean
    # times the count table's count, is Tokyo's three men's income
    frame = people().assign(income=lambda f: 300.0 + 7.0 * (f.index % 11))
    sums, means = (
        spec("sum_by_region", "region", "sum"),
        spec("mean_by_pref", "prefecture", "mean"),
    )
    counts = spec("count_by_pref", "prefecture")
    specs = [sums, means, counts]
    assert [[s.name for s in f] for f in linked.families(specs)] == [
        ["sum_by_region", "mean_by_pref"]
    ]
    rules = Rules(threshold=10, dominance=[], min_interval_share=0.3)
    ddf = dd.from_pandas(frame, npartitions=2)
    with PendingChecks() as checks:
        prepared = {s.name: prepare(ddf, s, Path("."), checks) for s in specs}
        plans = {s.name: plan_cells(prepared[s.name], s) for s in specs}
        found, finest = checks.settle((plans, linked.finest_plan(prepared, specs[:2])))[0]
    cells = {s.name: assemble_cells(found[s.name], s) for s in specs}
    alone = {s.name: suppress(cells[s.name], s, rules) for s in specs}

    def shown(name: str, row: str, col: str) -> float | None:
        t = alone[name]
        (cell,) = t[(t.level == "cell") & (t.row == row) & (t.col == col)].itertuples()
        if cell.suppression != "none":
            return None
        return cell.value / cell.weight if name == "mean_by_pref" else cell.value

    tokyo_men = frame[(frame.municipality == "13101") & (frame.sex == "1")].income.sum()
    kanagawa = shown("mean_by_pref", "14", "1") * shown("count_by_pref", "14", "1")
    assert shown("mean_by_pref", "13", "1") is None  # hidden in the mean table ...
    assert shown("sum_by_region", "Kanto", "1") - kanagawa == pytest.approx(
        tokyo_men
    )  # ... given away
    family = specs[:2]
    assert min(linked.system_widths(cells, family, rules, alone, finest)) == pytest.approx(
        0.0, abs=1e-6
    )
    together = linked.suppress_family(cells, family, rules, finest)
    widths = linked.system_widths(cells, family, rules, together, finest)
    primary = together["mean_by_pref"]
    required = primary.loc[primary.suppression == "primary", "required"].tolist()
    assert widths and all(w >= r - 1e-6 for w, r in zip(widths, required, strict=True))
