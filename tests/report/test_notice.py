"""The public notice (APPI Art. 43) written beside every published output: words, no values."""

from __future__ import annotations

import json


def test_every_run_publishes_a_notice_of_its_columns_in_japanese_and_english(
    published_demo,
) -> None:
    out = published_demo / "out" / "census_demo"
    text = (out / "public_notice.md").read_text(encoding="utf-8")
    manifest = json.loads((out / "manifest.json").read_text())
    rows = {
        line.split("|")[1].strip(): line
        for line in text.splitlines()
        if line.startswith("| ") and "Item" not in line
    }
    assert set(rows) == set(manifest["columns_out"])  # every published column, no other
    assert "generalized (level" in rows["municipality"] and "一般化" in rows["municipality"]
    assert "top-coded" in rows["income"] and "random code" in rows["household_id"]
    assert "as collected" in rows["sex"]  # no step changed it
    assert "匿名加工情報" in text and "anonymously processed information" in text
    assert f"{manifest['rows_out']:,}" in text
    # the processing method stays in the manifest: no threshold, seed or removed column name
    caps = [str(s["facts"]["threshold"]) for s in manifest["steps"] if "threshold" in s["facts"]]
    assert caps and not any(cap in text for cap in caps if len(cap) > 2)
    assert str(manifest["seed"]) not in text
    assert not any(column in text for column in manifest["columns_removed"])
