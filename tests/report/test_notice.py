"""The public notice (APPI Art. 43) written beside every published output: words, no values."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from pipeline.recipe.loader import load_recipe
from pipeline.recipe.release import ReleaseSpec
from pipeline.report.notice import missing_release, notice_text
from pipeline.steps.generalize import GeneralizeParams
from tests.conftest import copy_demo, invoke


def _rows(text: str) -> dict[str, str]:
    return {
        line.split("|")[1].strip(): line
        for line in text.splitlines()
        if line.startswith("| ") and "Item" not in line
    }


def test_every_run_publishes_a_notice_of_its_items_by_label_in_japanese_and_english(
    published_demo: Path,
) -> None:
    out = published_demo / "out" / "census_demo"
    text = (out / "public_notice.md").read_text(encoding="utf-8")
    manifest = json.loads((out / "manifest.json").read_text())
    release = load_recipe(published_demo / "recipes" / "census_demo.yaml").recipe.release
    rows = _rows(text)
    labels = {
        c: f"{release.columns[c].label.ja} / {release.columns[c].label.en}"
        for c in manifest["columns_out"]
    }
    assert set(rows) == set(labels.values())  # every published column by its label, no other
    assert not any(f"| {c} |" in text for c in manifest["columns_out"])  # never by column name
    area = rows[labels["municipality"]]
    assert "地域ブロック（9区分）に一般化" in area and "regional blocks (9 categories)" in area
    assert "top-coded" in rows[labels["income"]] and "random code" in rows[labels["household_id"]]
    assert "as collected" in rows[labels["sex"]]  # no step changed it
    assert release.handler.name.ja in text and release.handler.contact in text
    assert release.provision.en in text and "(Parquet)" in text
    assert f"Reference date: {release.reference_date.isoformat()}" in text
    assert "(Asia/Tokyo)" in text and "Not yet filled in" not in text
    # the recipients' duties as the law states them
    assert "識別するために" in text and "照合" in text and "個人識別符号" in text
    assert "collate it with other information" in text and "how it was processed" in text
    assert f"{manifest['rows_out']:,}" in text
    # the processing method stays in the manifest: no threshold, seed or removed column name
    caps = [str(s["facts"]["threshold"]) for s in manifest["steps"] if "threshold" in s["facts"]]
    assert caps and not any(cap in text for cap in caps if len(cap) > 2)
    assert str(manifest["seed"]) not in text
    assert not any(column in text for column in manifest["columns_removed"])


def test_the_date_is_the_release_s_own_day() -> None:
    spec = ReleaseSpec.model_validate(
        {
            "handler": {"name": {"ja": "事業者", "en": "Handler"}, "contact": "desk"},
            "provision": {"ja": "提供", "en": "provided"},
        }
    )
    assert spec.local_date("2026-12-06T20:00:00Z") == "2026-12-07"  # 05:00 in Tokyo
    utc = spec.model_copy(update={"time_zone": "UTC"})
    assert utc.local_date("2026-12-06T20:00:00Z") == "2026-12-06"


def test_without_a_release_block_the_notice_and_the_log_say_what_is_missing(
    published_demo: Path,
) -> None:
    path = published_demo / "recipes" / "census_demo.yaml"
    loaded = load_recipe(path)
    manifest = json.loads((published_demo / "out" / "census_demo" / "manifest.json").read_text())
    bare = loaded.recipe.model_copy(update={"release": None})
    assert "the handler, the method of provision" in missing_release(bare, ["age"])
    partial = loaded.recipe.release.model_copy(
        update={"columns": {"age": loaded.recipe.release.columns["age"]}}
    )
    some = loaded.recipe.model_copy(update={"release": partial})
    assert missing_release(some, ["age", "sex", "income"]) == (
        "項目名 / labels of 2 item(s): sex, income"
    )
    from pipeline.manifest import Manifest

    text = notice_text(Manifest.model_validate(manifest), bare, [], loaded.base_dir)
    assert text.splitlines()[2].startswith("> **未記入 / Not yet filled in**")
    assert "| age |" in text  # by column name, for want of a label


def test_validate_lists_the_columns_without_a_label(workdir: Path) -> None:
    path = copy_demo(workdir)
    recipe = yaml.safe_load(path.read_text(encoding="utf-8"))
    del recipe["release"]["columns"]["income"]
    path.write_text(yaml.safe_dump(recipe, allow_unicode=True), encoding="utf-8")
    result = invoke("validate", str(path))
    assert result.exit_code == 0, result.output
    assert "the public notice will lack" in result.output and "income" in result.output


def test_a_generalized_level_is_named_with_its_categories() -> None:
    params = GeneralizeParams.model_validate(
        {
            "k": 3,
            "hierarchies": {
                "municipality": {
                    "hierarchy": "jp_region",
                    "levels": ["municipality", "prefecture", "region9", "region"],
                }
            },
        }
    )
    words = params.hierarchies["municipality"].level_words(2, Path("."))
    assert (words.ja, words.en) == ("都道府県（47区分）", "prefectures (47 categories)")


def test_a_label_for_a_deleted_or_unknown_column_is_refused_with_its_key_path(
    workdir: Path,
) -> None:
    path = copy_demo(workdir)
    original = yaml.safe_load(path.read_text(encoding="utf-8"))

    def validate(edit) -> tuple[int, str]:  # noqa: ANN001 - a function editing the recipe
        recipe = yaml.safe_load(yaml.safe_dump(original))
        edit(recipe["release"])
        path.write_text(yaml.safe_dump(recipe, allow_unicode=True), encoding="utf-8")
        result = invoke("validate", str(path))
        return result.exit_code, result.output

    label = {"label": {"ja": "氏名", "en": "Name"}}
    code, text = validate(lambda r: r.update(time_zone="Mars/Olympus"))
    assert code == 2 and "release.time_zone" in text and "is not a time zone" in text
    code, text = validate(lambda r: r["columns"].update(name=label))
    assert code == 2 and "release.columns.name" in text and "deleted before the steps" in text
    code, text = validate(lambda r: r["columns"].update(nowhere=label))
    assert code == 3 and "nowhere" in text and "release.columns.nowhere" in text


def test_category_labels_come_from_a_file_beside_the_recipe_or_a_named_error(
    workdir: Path,
) -> None:
    path = copy_demo(workdir)
    recipe = yaml.safe_load(path.read_text(encoding="utf-8"))
    recipe["release"]["columns"]["occupation"]["categories"] = "hierarchies/labels.csv"
    path.write_text(yaml.safe_dump(recipe, allow_unicode=True), encoding="utf-8")
    labels = path.parent / "hierarchies" / "labels.csv"
    labels.write_text("value,ja,en\nA,管理的職業従事者,Managers\n", encoding="utf-8")
    loaded = load_recipe(path).recipe.release.columns["occupation"].categories
    assert loaded["A"].en == "Managers" and list(loaded) == ["A"]
    wrong = {
        "value;ja;en\nA;x;y\n": "line 1 must be the header value,ja,en",
        "value,ja,en\nA,x,y\nA,z,w\n": "line 3: a value seen before",
        "value,ja,en\nA,x\n": "line 2: not 3 fields",
        "value,ja,en\nA,,y\n": "line 2: ja and en must be non-empty",
        b"value,ja,en\nA,\xff,y\n": "is not readable UTF-8 text",
    }
    for text, said in wrong.items():
        if isinstance(text, bytes):
            labels.write_bytes(text)
        else:
            labels.write_text(text, encoding="utf-8")
        result = invoke("validate", str(path))
        assert result.exit_code == 2, result.output
        assert "release.columns.occupation.categories" in result.output and said in result.output
        assert "Traceback" not in result.output
    labels.unlink()
    result = invoke("validate", str(path))
    assert result.exit_code == 2 and "label file 'labels.csv' not found" in result.output
