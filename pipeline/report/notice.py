"""The public notice of a release (APPI Art. 43): what the published data contains, in words.

A business that creates anonymously processed information publishes without delay the
categories of information about individuals it contains, and before providing it to a third
party those categories and the method of provision, stating to the recipient that the data is
anonymously processed information. Every run writes ``public_notice.md`` beside the data, in
Japanese and English, ready to publish: the published columns and how each was processed, in
words. It names no value, no threshold, no seed and no key: those are the processing method
(加工方法等情報), which the handler keeps secure in ``manifest.json``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pipeline.gate.derive import RanStep
from pipeline.manifest import Manifest
from pipeline.recipe.models import Recipe

NOTICE = "public_notice.md"

_METHODS = {  # step -> (Japanese, English), how the values of a column were processed
    "recode": ("区分の統合（リコーディング）", "coarsened into wider categories"),
    "generalize": ("一般化", "generalized"),
    "top_code": ("トップコーディング", "top-coded"),
    "bottom_code": ("ボトムコーディング", "bottom-coded"),
    "local_suppression": ("一部の値の削除（局所的抑制）", "some values deleted"),
    "microaggregate": ("ミクロアグリゲーション（グループ平均への置換）",
                       "replaced by group means (microaggregation)"),
    "add_noise": ("ノイズの付加", "random noise added"),
    "rank_swap": ("レコード間の値の入替え（スワッピング）", "values swapped between records"),
    "pram": ("無作為化（PRAM）", "randomised (PRAM)"),
    "linking_ids": ("ランダムな符号への置換", "replaced by a random code"),
    "subsample": ("抽出に合わせた補正", "adjusted to the sample"),
    "series": ("一部の値の削除（局所的抑制）", "some values deleted"),
}  # fmt: skip
_RECORDS = {  # step -> (Japanese, English), what was done to the records as a whole
    "subsample": ("レコードの抽出（標本化）", "a random sample of the records"),
    "shuffle_records": ("レコードの順序の無作為化", "records in random order"),
}


def notice_text(
    manifest: Manifest, recipe: Recipe, steps: Sequence[RanStep], base_dir: Path
) -> str:
    """The notice in Markdown; ``steps`` are the recipe's steps as they ran."""
    methods = _methods(manifest, recipe, steps, base_dir)
    day = manifest.generated_at[:10]
    lines = [
        "# 匿名加工情報の公表 / Public notice of anonymously processed information", "",
        f"- 作成日 / Created: {day}",
        f"- 名称 / Name: {recipe.name}" + (f" — {recipe.description}" if recipe.description
                                            else ""),
        f"- レコード数 / Records: {manifest.rows_out:,}", "",
        "## 含まれる個人に関する情報の項目 / Categories of information about individuals", "",
        "| 項目 / Item | 加工の方法 / How it was processed |", "|---|---|",
    ]  # fmt: skip
    for column in manifest.columns_out:
        ja, en = methods.get(column, ([], []))
        how = "、".join(ja) + " / " + ", ".join(en) if ja else "そのまま / as collected"
        lines.append(f"| {column} | {how} |")
    records = [_RECORDS[s.name] for s in steps if s.name in _RECORDS]
    removed = len(manifest.columns_removed)
    lines += [
        "", "## 削除した情報 / Removed", "",
        f"- 特定の個人を識別できる記述、個人識別符号、連結符号: {removed} 項目を削除 / "
        f"descriptions identifying individuals, identification codes and linking codes: "
        f"{removed} columns deleted",
    ]  # fmt: skip
    if records:
        lines.append(
            "- " + "、".join(j for j, _ in records) + " / " + ", ".join(e for _, e in records)
        )
    lines += [
        "", "## 提供の方法 / Method of provision", "",
        f"電子ファイル（{recipe.output.format.upper()} 形式）/ electronic files "
        f"({recipe.output.format.upper()})", "",
        "## 受領者の方へ / To recipients", "",
        "本データは個人情報保護法に定める匿名加工情報です。本人を識別するために他の情報と照合すること、"
        "及び加工の方法に関する情報を取得することは禁止されています。",
        "This data is anonymously processed information under Japan's Act on the Protection of "
        "Personal Information. Recipients must not collate it with other information to "
        "identify any person, nor obtain information on how it was processed.", "",
    ]  # fmt: skip
    return "\n".join(lines)


def _methods(
    manifest: Manifest, recipe: Recipe, steps: Sequence[RanStep], base_dir: Path
) -> dict[str, tuple[list[str], list[str]]]:
    """Per published column, how it was processed (in order, each way once)."""
    out: dict[str, tuple[list[str], list[str]]] = {}

    def add(column: str, ja: str, en: str) -> None:
        mine = out.setdefault(column, ([], []))
        if ja not in mine[0]:
            mine[0].append(ja)
            mine[1].append(en)

    for column, how in recipe.columns.linking_ids.items():
        if how != "drop" and column in manifest.columns_out:
            add(column, *_METHODS["linking_ids"])
    for ran in steps:
        if ran.name not in _METHODS:
            continue
        ja, en = _METHODS[ran.name]
        levels = ran.params.generalizes(ran.facts, base_dir)
        for column in sorted(_changed(ran, recipe, levels)):
            if column in manifest.columns_out:
                level = levels.get(column)
                if level:
                    add(column, f"{ja}（{level[1]} 段階中 {level[0]}）",
                        f"{en} (level {level[0]} of {level[1]})")  # fmt: skip
                else:
                    add(column, ja, en)
    return out


def _changed(ran: RanStep, recipe: Recipe, levels: dict) -> set[str]:
    """The columns a step changed: generalized above level 0, with values suppressed, written."""
    if ran.name == "generalize":
        return {c for c, (level, _) in levels.items() if level > 0}
    if ran.name == "local_suppression":
        return {c for c, n in (ran.facts.get("suppressions") or {}).items() if n}
    if ran.name == "series":
        return {c for c, n in (ran.facts.get("values_suppressed") or {}).items() if n}
    return set(ran.params.writes(recipe.columns))


def write_notice(
    folder: Path, manifest: Manifest, recipe: Recipe, steps: Sequence[RanStep], base_dir: Path
) -> Path:
    """Write ``public_notice.md`` into ``folder`` (the staging directory); return its path."""
    path = folder / NOTICE
    path.write_text(notice_text(manifest, recipe, steps, base_dir), encoding="utf-8")
    return path
