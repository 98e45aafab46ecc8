"""The p% rule and its prior-knowledge variant (p, q): sensitive cells and their protection.

The attack is written out: the second largest contributor of a hidden cell knows its own value
(and, under (p, q), the rest within q%); from the published table it can only bound the cell
by the interval linear programming gives, so its estimate of the largest contribution must stay
more than p% away from the truth.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from pydantic import ValidationError

from pipeline.tabulate.model import PPercent, Rules
from pipeline.tabulate.protect import unprotected
from tests.conftest import invoke, tables_demo
from tests.tabulate.test_protect import COUNTS, cell, records, table

NO_OTHER_RULE = {"threshold": 1, "dominance": [], "min_interval_share": 0.0}


def test_the_rule_and_its_protection() -> None:
    rule = PPercent(p=10)
    assert rule.protection(100.0, 50.0, 155.0) == pytest.approx(5.0)  # rest 5 < 10% of 100
    assert rule.protection(100.0, 50.0, 170.0) < 0  # rest 20: safe
    prior = PPercent(p=10, q=50)  # the others known within 50%: rest 5 is worth 2.5
    assert prior.protection(100.0, 50.0, 155.0) == pytest.approx(7.5)
    assert prior.protection(100.0, 50.0, 165.0) == pytest.approx(2.5)  # rest 15 < 20 = p/q x1
    assert prior.protection(100.0, 50.0, 175.0) < 0  # rest 25 >= 20
    assert rule.name == "p_percent_10" and prior.name == "p_percent_10_50"
    with pytest.raises(ValidationError, match="p must not exceed q"):
        PPercent(p=20, q=10)
    with pytest.raises(ValidationError):
        PPercent(p=0)


@pytest.mark.parametrize("q", [100.0, 40.0])
def test_a_sensitive_cell_is_hidden_beyond_the_reach_of_the_second_contributor(q: float) -> None:
    counts = {k: 12 for k in COUNTS}
    # (b, y): 600 + 500 + ten of 2 = 1,120: rest 20 < 10% of 600 (and < 10/40 x 600)
    values = {("b", "y"): [600.0, 500.0] + [2.0] * 10}
    rules = Rules(p_percent=PPercent(p=10, q=q), **NO_OTHER_RULE)
    checked = table(records(counts, values), rules, statistic="sum", variable="income")
    hit = cell(checked, "cell", "b", "y")
    name = "p_percent_10" if q == 100 else "p_percent_10_40"
    assert hit.rules_failed == [name] and hit.suppression == "primary"
    x1, x2, total = 600.0, 500.0, hit.value
    needed = (10 * x1 - q * (total - x1 - x2)) / 100
    assert hit.required_up == pytest.approx(needed) and hit.required_down == pytest.approx(needed)
    # the attack: the second contributor bounds the largest by hi - x2 - (1 - q/100) rest
    rest_known = (1 - q / 100) * (total - x1 - x2)
    assert hit.hi - x2 - rest_known >= (1 + 0.10) * x1 - 1e-6
    assert hit.value - hit.lo >= needed - 1e-6  # the lower protection level, symmetric
    assert unprotected(checked) == []
    others = checked[(checked.level == "cell") & (checked.suppression == "primary")]
    assert len(others) == 1  # every other cell has a rest of 8+ units of 10: safe


def test_without_the_rule_the_cell_is_published_and_the_attack_succeeds() -> None:
    counts = {k: 12 for k in COUNTS}
    values = {("b", "y"): [600.0, 500.0] + [2.0] * 10}
    checked = table(
        records(counts, values), Rules(**NO_OTHER_RULE), statistic="sum", variable="income"
    )
    hit = cell(checked, "cell", "b", "y")
    assert hit.suppression == "none"  # published: 1,120 - 500 = 620, within 3.4% of 600
    assert abs((hit.value - 500.0) - 600.0) / 600.0 < 0.10


def test_count_tables_ignore_the_rule() -> None:
    rules = Rules(p_percent=PPercent(p=10), **NO_OTHER_RULE)
    checked = table(records(COUNTS), rules)
    assert not any(f for f in checked.rules_failed)


def test_a_tabulation_recipe_applies_the_rule_and_its_review_shows_the_levels(
    workdir: Path,
) -> None:
    recipe = tables_demo(workdir)
    sample = workdir / "examples" / "census_sample.csv"
    frame = pd.read_csv(sample, dtype=str)
    frame.loc[frame.index[0], "income"] = "9000000000"  # one household earns nearly all
    frame.to_csv(sample, index=False)
    text = recipe.read_text(encoding="utf-8")
    recipe.write_text(
        text.replace("  concentration: 90", "  p_percent: {p: 25, q: 50}\n  concentration: 90"),
        encoding="utf-8",
    )
    result = invoke("tabulate", str(recipe), "-q")
    assert result.exit_code == 0, result.output
    review = json.loads(
        (workdir / "out" / "census_tables" / "review" / "check_report.json").read_text()
    )
    assert review["rules"]["p_percent"] == {"p": 25.0, "q": 50.0}
    hit = [
        c
        for cells in review["tables"].values()
        for c in cells
        if "p_percent_25_50" in c["rules_failed"]
    ]
    assert hit  # the cells of the planted household (no other cell of the demo is sensitive)
    for c in hit:
        assert c["suppression"] == "primary" and c["required_above"] > 0
        assert c["interval"][1] is None or c["interval"][1] - c["interval"][0] >= (
            c["required_above"] + c["required_below"] - 1e-6
        )
