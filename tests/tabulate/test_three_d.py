"""Tables of three dimensions: rows x columns x layers, protected as one cube.

The attack is written out: a prefecture x sex table in two age layers and their Total layer.
Each layer protected on its own as a 2-D table hides its small cell with a partner in the same
layer; the Total layer, published beside it, then gives the cell away (the Total layer's cell
less the other layer's). Protected as one cube, no hidden cell of any layer is narrower than
the rule's interval; an LP written here (not the tool's) over the published file checks it.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest
import yaml
from scipy.optimize import linprog

from pipeline.engine.apply import PendingChecks
from pipeline.tabulate import linked
from pipeline.tabulate.compute import assemble_cells, plan_cells, prepare
from pipeline.tabulate.cube import cube
from pipeline.tabulate.model import Rules, TableSpec
from pipeline.tabulate.protect import suppress, unprotected
from tests.conftest import invoke, write_recipe

# (prefecture, sex, age band) -> people; Tokyo's young men are the small cell
PEOPLE = {
    ("13", "1", "young"): 3,
    ("13", "2", "young"): 40,
    ("14", "1", "young"): 50,
    ("14", "2", "young"): 60,
    ("27", "1", "young"): 45,
    ("27", "2", "young"): 55,
    ("13", "1", "old"): 30,
    ("13", "2", "old"): 35,
    ("14", "1", "old"): 44,
    ("14", "2", "old"): 41,
    ("27", "1", "old"): 38,
    ("27", "2", "old"): 52,
}
RULES = Rules(threshold=10, dominance=[], min_interval_units=10)
AGES = {"young": 30, "old": 70}


def people() -> pd.DataFrame:
    rows = [key for key, n in PEOPLE.items() for _ in range(n)]
    frame = pd.DataFrame(rows, columns=["prefecture", "sex", "band"])
    frame["age"] = frame.pop("band").map(AGES)
    return frame


def three_d(name: str = "by_age") -> TableSpec:
    return TableSpec.model_validate(
        {
            "name": name,
            "rows": {"column": "prefecture"},
            "columns": {"column": "sex"},
            "layers": {"column": "age", "recode": {"bands": [0, 50], "labels": ["young", "old"]}},
        }
    )


def computed(specs: list[TableSpec], frame: pd.DataFrame | None = None) -> tuple[dict, list]:
    ddf = dd.from_pandas(people() if frame is None else frame, npartitions=2)
    with PendingChecks() as checks:
        prepared = {s.name: prepare(ddf, s, Path("."), checks) for s in specs}
        plans = {s.name: plan_cells(prepared[s.name], s) for s in specs}
        families = linked.families(specs)
        finest = [linked.finest_plan(prepared, f) for f in families]
        (found, finest) = checks.settle((plans, finest))[0]
    return {s.name: assemble_cells(found[s.name], s) for s in specs}, finest


def attack(frame: pd.DataFrame, axes: list[str]) -> list[float]:
    """Each hidden cell's interval width from a published cube (an LP written here).

    ``frame``: one row per cell and margin, ``Total`` for a margin, ``status`` X when hidden.
    Every line of the cube along any axis adds up to its margin; hidden cells are >= 0.
    """
    categories = [sorted(set(frame[a]) - {"Total"}) + ["Total"] for a in axes]
    value = {tuple(row[a] for a in axes): row for _, row in frame.iterrows()}
    hidden = [k for k, row in value.items() if row["status"] == "X"]
    where = {k: i for i, k in enumerate(hidden)}
    a_eq, b_eq = [], []
    for axis in range(len(axes)):
        others = [categories[i] for i in range(len(axes)) if i != axis]
        for fixed in itertools.product(*others):
            line = []
            for c in categories[axis]:
                key = list(fixed)
                key.insert(axis, c)
                line.append(tuple(key))
            coefs, rhs = np.zeros(len(hidden)), 0.0
            for key, sign in [(k, 1.0) for k in line[:-1]] + [(line[-1], -1.0)]:
                if key not in value:  # a combination no record holds: an empty cell
                    continue
                if key in where:
                    coefs[where[key]] += sign
                else:
                    rhs -= sign * float(value[key]["value"])
            if coefs.any():
                a_eq.append(coefs)
                b_eq.append(rhs)
    widths = []
    for k in range(len(hidden)):
        c = np.zeros(len(hidden))
        c[k] = 1.0
        lo = linprog(c, A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs")
        hi = linprog(-c, A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs")
        widths.append(float("inf") if hi.status == 3 else -hi.fun - lo.fun)
    return widths


def test_the_cube_adds_up_along_every_axis() -> None:
    rng = np.random.default_rng(3)
    inner = rng.integers(0, 50, size=(3, 4, 2)).astype(float)
    full = np.zeros((4, 5, 3))
    full[:3, :4, :2] = inner
    full[3, :, :] = full[:3].sum(axis=0)
    full[:, 4, :] = full[:, :4].sum(axis=1)
    full[:, :, 2] = full[:, :, :2].sum(axis=2)
    table = cube((4, 5, 3))
    assert len(table.groups) == 5 * 3 + 4 * 3 + 4 * 5
    assert np.allclose(table.equations() @ full.ravel(), 0.0)
    assert not np.allclose(table.equations() @ (full.ravel() + np.eye(60)[7]), 0.0)


def test_layers_protected_one_by_one_give_the_small_cell_away() -> None:
    spec = three_d()
    cells = computed([spec])[0][spec.name]
    two_d = TableSpec.model_validate({**spec.model_dump(), "layers": None})
    parts = []
    for layer in ["young", "old", None]:
        keep = cells["layer"].isna() if layer is None else cells["layer"] == layer
        alone = suppress(cells[keep].reset_index(drop=True), two_d, RULES)
        assert unprotected(alone) == []  # each layer looks protected on its own ...
        parts.append(alone.assign(layer="Total" if layer is None else layer))
    frame = _published(pd.concat(parts, ignore_index=True))
    assert (frame.status == "X").sum() >= 4
    assert min(attack(frame, ["age", "prefecture", "sex"])) == pytest.approx(0.0, abs=1e-6)


def test_the_cube_protected_as_one_keeps_every_hidden_cell_wide_enough() -> None:
    spec = three_d()
    cells = computed([spec])[0][spec.name]
    checked = suppress(cells, spec, RULES)
    assert unprotected(checked) == []
    primary = checked[checked.suppression == "primary"]
    assert [
        (r, c, lay) for r, c, lay in zip(primary.row, primary.col, primary.layer, strict=True)
    ] == [("13", "1", "young")]
    frame = _published(checked.assign(layer=checked["layer"].fillna("Total")))
    widths = attack(frame, ["age", "prefecture", "sex"])
    assert len(widths) >= 8 and min(widths) >= 10 - 1e-6


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_many_small_cells_of_a_cube_are_all_protected(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 900
    frame = pd.DataFrame(
        {
            "prefecture": rng.choice(
                ["01", "02", "13", "14", "27", "47"], n, p=[0.3, 0.05, 0.3, 0.2, 0.1, 0.05]
            ),
            "sex": rng.choice(["1", "2"], n),
            "age": rng.choice([10, 30, 60, 80], n, p=[0.2, 0.4, 0.3, 0.1]),
        }
    )
    spec = TableSpec.model_validate(
        {
            "name": "many",
            "rows": {"column": "prefecture"},
            "columns": {"column": "sex"},
            "layers": {"column": "age", "recode": {"bands": [0, 20, 50, 70]}},
        }
    )
    cells = computed([spec], frame)[0][spec.name]
    checked = suppress(cells, spec, RULES)
    primary = checked.suppression == "primary"
    assert primary.sum() >= 5 and unprotected(checked) == []
    published = _published(checked.assign(layer=checked["layer"].fillna("Total").astype(str)))
    widths = dict(
        zip(
            published.index[published.status == "X"],
            attack(published, ["age", "prefecture", "sex"]),
            strict=True,
        )
    )
    assert all(widths[i] >= 10 - 1e-6 for i in np.flatnonzero(primary))


def test_a_cube_is_linked_with_a_table_of_the_same_records() -> None:
    flat = TableSpec.model_validate(
        {"name": "by_prefecture", "rows": {"column": "prefecture"}, "columns": {"column": "age"}}
    )
    specs = [three_d(), flat]
    assert [[s.name for s in f] for f in linked.families(specs)] == [["by_age", "by_prefecture"]]
    cells, finest = computed(specs)
    together = linked.suppress_family(cells, specs, RULES, finest[0])
    widths = linked.system_widths(cells, specs, RULES, together, finest[0])
    assert widths and min(widths) >= 10 - 1e-6


def _published(checked: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame(
        {
            "age": checked["layer"].astype(str),
            "prefecture": checked["row"].where(checked.level.isin(["cell", "row"]), "Total"),
            "sex": checked["col"].where(checked.level.isin(["cell", "col"]), "Total"),
            "value": checked["value"].where(checked.suppression == "none"),
            "status": np.where(checked.suppression == "none", "", "X"),
        }
    )
    return out.astype({"prefecture": str, "sex": str})


def _recipe(tmp_path: Path, extra: dict | None = None) -> Path:
    data = tmp_path / "people.csv"
    people().to_csv(data, index=False)
    (tmp_path / "recipes").mkdir(exist_ok=True)
    table = {
        "name": "people_by_age",
        "rows": {"column": "prefecture", "labels": {"13": {"ja": "東京都", "en": "Tokyo"}}},
        "columns": {"column": "sex", "recode": {"map": {"1": "male", "2": "female"}}},
        "layers": {"column": "age", "recode": {"bands": [0, 50], "labels": ["young", "old"]}},
        "statistic": "count",
    }
    return write_recipe(
        tmp_path,
        yaml.safe_dump(
            {
                "version": 1,
                "kind": "tabulation",
                "name": "cube",
                "input": {"path": str(data), "format": "csv"},
                "output": {"dir": str(tmp_path / "out")},
                "rules": {"threshold": 10, "dominance": [], "min_interval_units": 10},
                "tables": [{**table, **(extra or {})}],
            },
            allow_unicode=True,
        ),
    )


def test_a_tabulation_run_publishes_a_protected_cube(tmp_path: Path) -> None:
    result = invoke("tabulate", str(_recipe(tmp_path)))
    assert result.exit_code == 0, result.output
    out = tmp_path / "out"
    frame = pd.read_csv(out / "tables" / "people_by_age.csv", dtype=str)
    assert list(frame.columns[:3]) == ["age", "prefecture", "prefecture_label"]
    assert list(dict.fromkeys(frame["age"])) == ["young", "old", "Total"]
    shown = frame[frame.status != "X"]
    records = people().assign(band=lambda f: np.where(f.age < 50, "young", "old"))
    sexes = {"1": "male", "2": "female"}
    for _, row in shown.iterrows():
        picked = records
        if row["age"] != "Total":
            picked = picked[picked.band == row["age"]]
        if row["prefecture"] != "Total":
            picked = picked[picked.prefecture == row["prefecture"]]
        if row["sex"] != "Total":
            picked = picked[picked.sex.map(sexes) == row["sex"]]
        assert int(row["value"]) == len(picked)
    widths = attack(frame.assign(value=frame["value"].astype(float)), ["age", "prefecture", "sex"])
    assert min(widths) >= 10 - 1e-6
    report = json.loads((out / "review" / "check_report.json").read_text())
    cells = report["tables"]["people_by_age"]
    assert len(cells) == len(frame) == 3 * 4 * 3
    assert [c["layer"] for c in cells[:12]] == ["young"] * 12 and cells[-1]["layer"] is None
    page = (out / "tables" / "tables.html").read_text()
    assert page.count("<table>") >= 3 and "age: young" in page and "age: Total" in page
    assert "13 東京都 / Tokyo" in page
    assert "young | " in (out / "review" / "check_report.html").read_text()


@pytest.mark.parametrize(
    ("extra", "said"),
    [
        ({"columns": None}, "layers need columns"),
        ({"layers": {"column": "sex"}}, "is both columns and layers"),
    ],
)
def test_a_cube_recipe_error_is_named(tmp_path: Path, extra: dict, said: str) -> None:
    result = invoke("tabulate", str(_recipe(tmp_path, extra)))
    assert result.exit_code == 2 and said in result.output, result.output
    assert not (tmp_path / "out").exists()
