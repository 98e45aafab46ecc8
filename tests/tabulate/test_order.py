"""Tables as statisticians lay them out: natural order, margins last, names of region codes."""

from __future__ import annotations

from pathlib import Path

import dask.dataframe as dd
import pandas as pd
import pytest

from pipeline.engine.apply import PendingChecks
from pipeline.tabulate.compute import assemble_cells, plan_cells, prepare
from pipeline.tabulate.model import Rules, TableSpec, Variable
from pipeline.tabulate.order import arrange, axis, category_order, labelled, view
from pipeline.tabulate.output import published
from pipeline.tabulate.pages import grid
from pipeline.tabulate.protect import suppress
from pipeline.tabulate.review import cell_checks

HERE = Path(".")


def var(column: str = "x", **extra) -> Variable:
    return Variable.model_validate({"column": column, **extra}, context={"base_dir": "."})


def test_bands_come_in_the_order_of_their_lower_edge() -> None:
    lower = var("age", recode={"bands": [0, 20, 100, 120]})
    assert category_order([120, 0, 100, 20], lower, HERE) == ("0", "20", "100", "120")
    ranged = var("age", recode={"bands": [0, 15, 65, 100], "labels": "range"})
    shuffled = ["65-99", "100+", "0-14", "15-64"]  # as text: 0-14, 100+, 15-64, 65-99
    assert category_order(shuffled, ranged, HERE) == ("0-14", "15-64", "65-99", "100+")
    named = var("age", recode={"bands": [0, 65], "labels": ["young", "old"]})
    assert category_order(["young", "old"], named, HERE) == ("young", "old")


def test_a_hierarchy_level_comes_in_the_file_order(tmp_path: Path) -> None:
    (tmp_path / "h.csv").write_text("z1;Zeta;*\na1;Alpha;*\nm1;Mu;*\nz2;Zeta;*\n")
    level = Variable.model_validate(
        {"column": "c", "recode": {"hierarchy": "h.csv", "level": 1}},
        context={"base_dir": str(tmp_path)},
    )
    assert category_order(["Mu", "Alpha", "Zeta"], level, tmp_path) == ("Zeta", "Alpha", "Mu")
    assert axis(level, ["Mu"], tmp_path).name == "c (level 1)"


def test_japanese_regions_come_in_code_order() -> None:
    region = var("municipality", recode={"hierarchy": "jp_region", "level": "region"})
    found = ["Kyushu", "Chubu", "Hokkaido", "Kanto", "Tohoku"]
    assert category_order(found, region, HERE) == ("Hokkaido", "Tohoku", "Kanto", "Chubu", "Kyushu")
    code = var("municipality", recode={"hierarchy": "jp_region", "level": "code"})
    assert category_order(["13101", "01100", "01000"], code, HERE) == ("01000", "01100", "13101")


def test_other_categories_numbers_numerically_else_text_not_stated_last() -> None:
    plain = var("size", missing="category")
    assert category_order(["10", "not stated", "9", "1"], plain, HERE) == (
        "1",
        "9",
        "10",
        "not stated",
    )
    assert category_order([10, 9, 1], var("size"), HERE) == ("1", "9", "10")
    assert category_order(["b", "10", "a", "9"], var("kind"), HERE) == ("10", "9", "a", "b")


def test_a_map_keeps_the_order_the_recipe_wrote() -> None:
    mapped = var("sex", recode={"map": {"1": "male", "2": "female"}})
    assert category_order(["female", "male"], mapped, HERE) == ("male", "female")


def test_prefectures_are_named_and_the_header_names_the_level() -> None:
    prefecture = var("municipality", recode={"hierarchy": "jp_region", "level": "prefecture"})
    rows = axis(prefecture, ["47", "13", "01"], HERE)
    assert rows.order == ("01", "13", "47") and rows.name == "prefecture"
    assert rows.shown("13") == "13 東京都 / Tokyo" and rows.shown("Total") == "Total"
    municipality = var("municipality", recode={"hierarchy": "jp_region", "level": "municipality"})
    assert (
        axis(municipality, ["01100"], HERE).shown("01100")
        == "01100 北海道札幌市 / Sapporo, Hokkaido"
    )
    assert axis(var("sex"), ["1"], HERE).labels == {}  # a column as it is: nothing to name


PREFECTURES = ["13101", "01100", "47201", "13102", "01202", "27100"]


def checked_table(npartitions: int) -> tuple[TableSpec, pd.DataFrame]:
    rows = [(PREFECTURES[i % 6], str(1 + i % 2)) for i in range(240)]
    frame = pd.DataFrame(rows, columns=["municipality", "sex"])
    spec = TableSpec.model_validate(
        {
            "name": "t",
            "rows": {
                "column": "municipality",
                "recode": {"hierarchy": "jp_region", "level": "prefecture"},
            },
            "columns": {"column": "sex"},
        }
    )
    with PendingChecks() as checks:
        prepared = prepare(dd.from_pandas(frame, npartitions=npartitions), spec, HERE, checks)
        plan = plan_cells(prepared, spec)
        (computed,) = checks.settle(plan)
    checked = suppress(assemble_cells(computed, spec), spec, Rules(threshold=1, dominance=[]))
    return spec, checked


@pytest.mark.slow
def test_cells_come_row_by_row_with_margins_last_whatever_the_partitions() -> None:
    spec, checked = checked_table(1)
    layout = view(checked, spec, HERE)
    frame = published(arrange(checked, layout), spec)
    pairs = list(zip(frame["municipality"], frame["sex"], strict=True))
    assert pairs == [
        ("01", "1"),
        ("01", "2"),
        ("01", "Total"),
        ("13", "1"),
        ("13", "2"),
        ("13", "Total"),
        ("27", "1"),
        ("27", "2"),
        ("27", "Total"),
        ("47", "1"),
        ("47", "2"),
        ("47", "Total"),
        ("Total", "1"),
        ("Total", "2"),
        ("Total", "Total"),
    ]
    for n in (3, 7):
        spec_n, checked_n = checked_table(n)
        again = published(arrange(checked_n, view(checked_n, spec_n, HERE)), spec_n)
        pd.testing.assert_frame_equal(again, frame)


def test_files_keep_the_codes_beside_their_names_and_html_shows_both() -> None:
    spec, checked = checked_table(2)
    layout = view(checked, spec, HERE)
    frame = labelled(published(arrange(checked, layout), spec), layout)
    assert list(frame.columns) == [
        "municipality",
        "municipality_label",
        "municipality_label_en",
        "sex",
        "value",
        "status",
    ]
    assert frame.loc[frame.municipality == "13", "municipality_label"].eq("東京都").all()
    assert frame.loc[frame.municipality == "13", "municipality_label_en"].eq("Tokyo").all()
    assert frame.loc[frame.municipality == "Total", "municipality_label"].isna().all()
    laid = grid(frame, spec, layout)
    assert laid.header == "prefecture \\ sex"  # was "municipality \ sex"
    labels = [label for label, _ in laid.rows]
    assert labels.index("01 北海道 / Hokkaido") < labels.index("13 東京都 / Tokyo")
    assert labels.index("13 東京都 / Tokyo") < labels.index("47 沖縄県 / Okinawa")
    assert labels[-1] == "Total" and laid.columns[-1] == "Total"


def test_the_check_report_lists_the_cells_in_the_published_order() -> None:
    spec, checked = checked_table(4)
    ordered = arrange(checked, view(checked, spec, HERE))
    cells = [(c.level, c.row, c.col) for c in cell_checks(ordered)]
    frame = published(ordered, spec)
    assert cells[:3] == [("cell", "01", "1"), ("cell", "01", "2"), ("row", "01", None)]
    assert cells[-4:] == [
        ("row", "47", None),
        ("col", None, "1"),
        ("col", None, "2"),
        ("total", None, None),
    ]
    assert len(cells) == len(frame)
