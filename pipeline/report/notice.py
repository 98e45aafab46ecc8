"""The public notice of a release (APPI Art. 43): what the published data contains, in words.

A business that creates anonymously processed information publishes without delay the
categories of information about individuals it contains, and before providing it to a third
party those categories and the method of provision, stating to the recipient that the data is
anonymously processed information. Every run writes ``public_notice.md`` (and the same as a page,
``public_notice.html``) beside the data, in
Japanese and English, ready to publish: the published columns and how each was processed, in
words. It names no value, no threshold, no seed and no key: those are the processing method
(加工方法等情報), which the handler keeps secure in ``manifest.json``. How a step changed a
column is the step's own wording (its ``describe``); a step that changed a published column and
has none is refused, so no changed column is ever called "as collected".
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pipeline.gate.catalog import RanStep
from pipeline.manifest import Manifest
from pipeline.recipe.models import Recipe
from pipeline.report.document import markdown_page
from pipeline.steps.declaration import Description, UndescribedStep, Wording
from pipeline.steps.identifiers import LinkingIdsParams

NOTICE = "public_notice.md"
NOTICE_PAGE = "public_notice.html"  # the same notice as a page to post


def notice_text(
    manifest: Manifest, recipe: Recipe, steps: Sequence[RanStep], base_dir: Path
) -> str:
    """The notice in Markdown; ``steps`` are the recipe's steps as they ran."""
    how = methods(manifest, recipe, steps, base_dir)
    release = recipe.release
    lines = ["# 匿名加工情報の公表 / Public notice of anonymously processed information", ""]
    if missing := missing_release(recipe, manifest.columns_out):
        lines += [f"> **未記入 / Not yet filled in** (recipe `release:`): {missing}", ""]
    lines += _header(manifest, recipe)
    lines += [
        "",
        "## 含まれる個人に関する情報の項目 / Categories of information about individuals",
        "",
        "| 項目 / Item | 加工の方法 / How it was processed |",
        "|---|---|",
    ]
    for column in manifest.columns_out:
        ja, en = how.get(column, ([], []))
        words = "、".join(ja) + " / " + ", ".join(en) if ja else "そのまま / as collected"
        lines.append(f"| {_item(recipe, column)} | {words} |")
    records = [w for ran in steps if (w := _describe(ran, recipe, base_dir).records)]
    removed = len(manifest.columns_removed)
    lines += [
        "",
        "## 削除した情報 / Removed",
        "",
        f"- 特定の個人を識別できる記述、個人識別符号、連結符号: {removed} 項目を削除 / "
        f"descriptions identifying individuals, identification codes and linking codes: "
        f"{removed} columns deleted",
    ]
    if records:
        lines.append(
            "- " + "、".join(w.ja for w in records) + " / " + ", ".join(w.en for w in records)
        )
    lines += ["", "## 提供の方法 / Method of provision", ""]
    if release is not None:
        lines.append(f"{release.provision.ja} / {release.provision.en}")
    else:
        kind = recipe.output.format.upper()
        lines.append(f"電子ファイル（{kind} 形式）/ electronic files ({kind})")
    lines += ["", "## 受領者の方へ / To recipients", "", *RECIPIENTS, ""]
    return "\n".join(lines)


RECIPIENTS = (
    "本データは個人情報の保護に関する法律に定める匿名加工情報です。受領者は、本データの作成に用い"
    "られた個人情報に係る本人を識別するために、本データを他の情報と照合すること、及び当該個人情報から"
    "削除された記述等若しくは個人識別符号又は加工の方法に関する情報を取得することが禁止されています。",
    "This data is anonymously processed information under Japan's Act on the Protection of "
    "Personal Information. To identify the persons of the personal information it was created "
    "from, recipients must not collate it with other information, nor obtain the descriptions "
    "or identification codes deleted from that information, nor information on how it was "
    "processed.",
)


def _header(manifest: Manifest, recipe: Recipe) -> list[str]:
    """Who publishes, when, what: the handler, dates in the release's time zone, records."""
    release = recipe.release
    if release is None:
        day, zone = manifest.generated_at[:10], "UTC"
    else:
        day, zone = release.local_date(manifest.generated_at), release.time_zone
    lines = [f"- 作成日 / Created: {day} ({zone})"]
    if release is not None:
        handler = release.handler
        lines.append(f"- 取扱事業者 / Handler: {handler.name.ja} / {handler.name.en}")
        if handler.address is not None:
            lines.append(f"- 所在地 / Address: {handler.address.ja} / {handler.address.en}")
        lines.append(f"- 問い合わせ先 / Contact: {handler.contact}")
        if handler.url is not None:
            lines.append(f"- URL: {handler.url}")
    description = f" — {recipe.description}" if recipe.description else ""
    lines.append(f"- 名称 / Name: {recipe.name}{description}")
    if release is not None and release.reference_date is not None:
        lines.append(f"- 基準日 / Reference date: {release.reference_date.isoformat()}")
    lines.append(f"- レコード数 / Records: {manifest.rows_out:,}")
    return lines


def _item(recipe: Recipe, column: str) -> str:
    """A published column as the notice names it: its label, else its name."""
    labels = recipe.release.columns if recipe.release is not None else {}
    label = labels[column].label if column in labels else None
    return f"{label.ja} / {label.en}" if label is not None else column


def missing_release(recipe: Recipe, published: Sequence[str]) -> str:
    """What the notice lacks that the recipe's ``release:`` block should say ("" when whole).

    Without it the notice names the handler nowhere and lists items by column name.
    """
    if recipe.release is None:
        return (
            "取扱事業者、提供の方法、項目名 / the handler, the method of provision and the "
            "items' labels"
        )
    unlabelled = [c for c in published if c not in recipe.release.columns]
    if not unlabelled:
        return ""
    return f"項目名 / labels of {len(unlabelled)} item(s): {', '.join(unlabelled)}"


def methods(
    manifest: Manifest, recipe: Recipe, steps: Sequence[RanStep], base_dir: Path
) -> dict[str, tuple[list[str], list[str]]]:
    """Per published column, how it was processed (in order, each way once).

    Raises:
        UndescribedStep: a step changed a published column and cannot say how.
    """
    out: dict[str, tuple[list[str], list[str]]] = {}

    def add(column: str, how: Wording) -> None:
        mine = out.setdefault(column, ([], []))
        if how.ja not in mine[0]:
            mine[0].append(how.ja)
            mine[1].append(how.en)

    replaced = LinkingIdsParams.wording
    for column, spec in recipe.columns.linking_ids.items():
        if spec.method != "drop" and column in manifest.columns_out and replaced is not None:
            add(column, replaced)
    for ran in steps:
        for column, how in sorted(_describe(ran, recipe, base_dir).columns.items()):
            if column in manifest.columns_out:
                add(column, how)
    return out


def _describe(ran: RanStep, recipe: Recipe, base_dir: Path) -> Description:
    """A step's description; a step that cannot describe itself is named in the refusal."""
    try:
        return ran.params.describe(ran.facts, base_dir, recipe.columns)
    except UndescribedStep as exc:
        raise UndescribedStep(ran.name, set(exc.columns)) from None


def write_notice(
    folder: Path, manifest: Manifest, recipe: Recipe, steps: Sequence[RanStep], base_dir: Path
) -> Path:
    """Write ``public_notice.md`` and its page into ``folder`` (staging); return the .md path."""
    path = folder / NOTICE
    text = notice_text(manifest, recipe, steps, base_dir)
    path.write_text(text, encoding="utf-8")
    (folder / NOTICE_PAGE).write_text(notice_page(text, manifest.run_id), encoding="utf-8")
    return path


def notice_page(text: str, run_id: str) -> str:
    """The notice's page (``public_notice.html``): its Markdown rendered."""
    title = "匿名加工情報の公表 / Public notice"
    return markdown_page(text, title, "public-notice", run_id)
