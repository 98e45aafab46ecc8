"""The codebook recipients get with the data: what each published column is and holds.

``codebook.json`` (schema ``schemas/codebook.schema.json``), ``codebook.md`` and its page
``codebook.html``, written beside
the data and copied into the recipient package: per published column its label, description and
unit (the recipe's ``release:`` block), its type, how it was processed (the steps' own words,
as in the notice), what a missing value means (values the tool suppressed vs values missing
in the input, counted), and every category that occurs in the published data with its label
and records (bands as ranges, hierarchy levels by their names; more than 1,000 categories: not
listed); the weight and what it sums to. Like the notice it names no threshold, seed or key: the
categories listed are the published data's own.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, Field

from pipeline.core.artifact import Artifact
from pipeline.core.numbers import number
from pipeline.gate.catalog import RanStep
from pipeline.manifest import Manifest
from pipeline.recipe.models import Recipe
from pipeline.recipe.release import Words
from pipeline.report.document import markdown_page
from pipeline.report.notice import methods
from pipeline.report.profile import Profile, type_word

if TYPE_CHECKING:
    # imported where used: checking a recipe (``anonymize validate``) loads none of them
    import pyarrow as pa

CODEBOOK_JSON = "codebook.json"
CODEBOOK_MD = "codebook.md"
CODEBOOK_PAGE = "codebook.html"  # the same as a page
CODEBOOK_SCHEMA_VERSION = "1.0"
AS_COLLECTED = Words(ja="そのまま", en="as collected")


class Category(BaseModel):
    """A value that occurs in the published column."""

    value: str = Field(description="The value as the data holds it (text).")
    label: Words | None = Field(None, description="Its label (the recipe's release block).")
    records: int = Field(description="Published records holding it.")


class Missing(BaseModel):
    """What a missing value of the column means, counted."""

    records: int = Field(description="Published records without a value.")
    suppressed: int | None = Field(
        None, description="Of them, values the tool deleted (suppression); None: not counted."
    )
    in_input: int | None = Field(None, description="Of them, values missing in the input.")


class CodebookColumn(BaseModel):
    """One published column."""

    name: str
    label: Words | None = None
    description: Words | None = None
    unit: Words | None = None
    type: Literal["integer", "number", "text", "boolean", "other"]
    processed: list[Words] = Field(description="How it was processed, in words.")
    missing: Missing
    categories: list[Category] | None = Field(
        None, description="Every value that occurs (None: a measure, or over 1,000 values)."
    )


class WeightTotal(BaseModel):
    """The survey weight, and what it sums to over the published records."""

    column: str
    total: float


class Codebook(Artifact):
    """What recipients need to read the published data (``codebook.json``)."""

    schema_version: str = CODEBOOK_SCHEMA_VERSION
    records: int
    columns: list[CodebookColumn]
    weight: WeightTotal | None = None


def build_codebook(
    manifest: Manifest,
    recipe: Recipe,
    steps: Sequence[RanStep],
    base_dir: Path,
    schema: pa.Schema,
    profile: Profile,
) -> Codebook:
    """The codebook of a run's published files (``profile``: measured as they were written)."""
    how = methods(manifest, recipe, steps, base_dir)
    labels = recipe.release.columns if recipe.release is not None else {}
    meant: dict[str, dict[str, Words]] = {}  # what the steps' categories mean (bands)
    for ran in steps:
        for column, words in ran.params.categories(base_dir).items():
            meant[column] = {v: Words(ja=w.ja, en=w.en) for v, w in words.items()}
    suppressed = (
        {v.column: v.suppressed for v in manifest.utility.variables}
        if (manifest.utility is not None)
        else {}
    )
    columns = []
    for name in schema.names:
        spec = labels.get(name)
        ja, en = how.get(name, ([], []))
        missing = profile.missing.get(name, 0)
        cut = suppressed.get(name)
        counts = profile.categories.get(name)
        named = {**meant.get(name, {}), **(spec.categories if spec is not None else {})}
        columns.append(
            CodebookColumn(
                name=name,
                label=spec.label if spec else None,
                description=spec.description if spec else None,
                unit=spec.unit if spec else None,
                type=profile.types.get(name) or type_word(schema.field(name).type),
                processed=[Words(ja=j, en=e) for j, e in zip(ja, en, strict=True)]
                or [AS_COLLECTED],
                missing=Missing(
                    records=missing,
                    suppressed=cut,
                    in_input=None if cut is None else max(missing - cut, 0),
                ),
                categories=None if counts is None else _categories(counts, named),
            )
        )
    weight = recipe.columns.weight
    total = None
    if weight in schema.names and profile.weight_total is not None:
        total = WeightTotal(column=weight, total=profile.weight_total)
    return Codebook(
        run_id=manifest.run_id,
        generated_at=manifest.generated_at,
        recipe_name=manifest.recipe_name,
        records=manifest.rows_out,
        columns=columns,
        weight=total,
    )


def _categories(counts: dict, named: dict[str, Words]) -> list[Category]:
    """The categories in the order their labels come (bands, regions), then the rest sorted."""
    rank = {value: i for i, value in enumerate(named)}
    ordered = sorted(counts.items(), key=lambda vn: (rank.get(str(vn[0]), len(rank)), vn[0]))
    return [Category(value=str(v), label=named.get(str(v)), records=n) for v, n in ordered]


def codebook_markdown(book: Codebook) -> str:
    """The codebook as people read it (``codebook.md``), Japanese and English."""
    lines = [
        f"# コードブック / Codebook: {book.recipe_name}",
        "",
        f"- レコード数 / Records: {book.records:,}",
    ]
    if book.weight is not None:
        lines.append(
            f"- 集計用乗率 / Weight: `{book.weight.column}`, 合計 / total "
            f"{number(book.weight.total, 6)} (推計の母集団の大きさ / the population it estimates)"
        )
    for column in book.columns:
        lines += ["", *_column_lines(column)]
    return "\n".join(lines) + "\n"


def _column_lines(column: CodebookColumn) -> list[str]:
    title = f"{column.label.ja} / {column.label.en}" if column.label else column.name
    lines = [f"## {title}", "", f"- 列名 / Column: `{column.name}` ({column.type})"]
    if column.description is not None:
        lines.append(f"- 説明 / Description: {column.description.ja} / {column.description.en}")
    if column.unit is not None:
        lines.append(f"- 単位 / Unit: {column.unit.ja} / {column.unit.en}")
    ja = "、".join(w.ja for w in column.processed)
    en = ", ".join(w.en for w in column.processed)
    lines.append(f"- 加工 / Processing: {ja} / {en}")
    m = column.missing
    if m.suppressed is None:
        lines.append(f"- 欠損 / Missing: {m.records:,}")
    else:
        lines.append(
            f"- 欠損 / Missing: {m.records:,}（うち秘匿のため削除 {m.suppressed:,}、調査時点で欠損 "
            f"{m.in_input:,}）/ {m.records:,} ({m.suppressed:,} deleted by the protection, "
            f"{m.in_input:,} missing in the input)"
        )
    if column.categories is None:
        if column.type in ("text", "integer"):
            lines.append("- 区分 / Categories: 1,000 を超えるため省略 / over 1,000, not listed")
        return lines
    lines += ["", "| 値 / Value | ラベル / Label | レコード数 / Records |", "|---|---|---:|"]
    for c in column.categories:
        label = f"{c.label.ja} / {c.label.en}" if c.label else ""
        lines.append(f"| {_cell(c.value)} | {label} | {c.records:,} |")
    return lines


def _cell(value: str) -> str:
    """A value in a Markdown table cell (its pipes and line breaks kept from the layout)."""
    return value.replace("|", "\\|").replace("\n", " ")


def write_codebook(folder: Path, book: Codebook) -> None:
    """Write ``codebook.json``, ``codebook.md`` and its page into ``folder`` (staging)."""
    (folder / CODEBOOK_JSON).write_text(book.model_dump_json(indent=2) + "\n", encoding="utf-8")
    text = codebook_markdown(book)
    (folder / CODEBOOK_MD).write_text(text, encoding="utf-8")
    (folder / CODEBOOK_PAGE).write_text(codebook_page(text, book.run_id), encoding="utf-8")


def codebook_page(text: str, run_id: str) -> str:
    """The codebook's page (``codebook.html``): its Markdown rendered."""
    return markdown_page(text, "コードブック / Codebook", "codebook", run_id)
