"""A recipe's release block: what the public notice and the recipients need besides the data.

APPI Art. 43 asks the handler of anonymously processed information to publish the categories of
information about individuals it contains and, before providing it, the method of provision;
a recipient needs to know what each published column is. The recipe says it once, in Japanese
and English::

    release:
      handler:
        name: {ja: 株式会社サンプル, en: Sample Co., Ltd.}
        contact: privacy@example.jp
        url: https://example.jp/privacy
      reference_date: "2026-10-01"   # the date the data describes
      time_zone: Asia/Tokyo          # of the dates the notice shows (default)
      provision: {ja: 暗号化した電子ファイルで提供, en: encrypted electronic files}
      columns:
        age: {label: {ja: 年齢, en: Age}, unit: {ja: 歳, en: years}}

Nothing here is a value of the data, a threshold or a seed: the notice may show all of it.
"""

from __future__ import annotations

import csv
import datetime as dt
import zoneinfo
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    BeforeValidator,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from pipeline.core.strict import StrictModel

_TEXT = 500  # characters of a text in one language
LABEL_HEADER = ("value", "ja", "en")


class Words(StrictModel):
    """A text in Japanese and in English."""

    ja: str = Field(min_length=1, max_length=_TEXT, pattern=r"\S")
    en: str = Field(min_length=1, max_length=_TEXT, pattern=r"\S")


class Handler(StrictModel):
    """Who handles the anonymously processed information, and how the public reaches them."""

    name: Words = Field(description="The business's name.")
    address: Words | None = Field(None, description="Its address.")
    url: str | None = Field(
        None, pattern=r"^https?://\S+$", max_length=_TEXT, description="Its web page."
    )
    contact: str = Field(
        min_length=1,
        max_length=_TEXT,
        pattern=r"\S",
        description="Where questions go (an e-mail address, a telephone number, a desk).",
    )


def load_labels(path: Path) -> dict[str, Words]:
    """A category label file: a UTF-8 CSV with the header ``value,ja,en``, a row per category.

    Raises:
        ValueError: naming the file's line that is wrong (no value of the file is quoted).
    """
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            rows = list(csv.reader(fh))
    except FileNotFoundError:
        raise ValueError(f"label file {path.name!r} not found (beside the recipe)") from None
    except (OSError, UnicodeDecodeError):
        raise ValueError(f"label file {path.name!r} is not readable UTF-8 text") from None
    if not rows or [c.strip() for c in rows[0]] != list(LABEL_HEADER):
        raise ValueError(f"label file {path.name!r}: line 1 must be the header value,ja,en")
    out: dict[str, Words] = {}
    for line, row in enumerate(rows[1:], start=2):
        if len(row) != 3 or row[0] in out:
            what = "a value seen before" if len(row) == 3 else "not 3 fields"
            raise ValueError(f"label file {path.name!r}: line {line}: {what}")
        try:
            out[row[0]] = Words(ja=row[1], en=row[2])
        except ValidationError:
            raise ValueError(
                f"label file {path.name!r}: line {line}: ja and en must be non-empty texts of "
                f"at most {_TEXT} characters"
            ) from None
    return out


def _labels(value: Any, info: ValidationInfo) -> Any:
    """A label file's path (relative to the recipe) read into its labels; a mapping as is."""
    if not isinstance(value, str):
        return value
    path = Path(value)
    base = Path((info.context or {}).get("base_dir", "."))
    return load_labels(path if path.is_absolute() else base / path)


# a mapping, or a label file's path read into one as the recipe is validated (always a mapping
# afterwards; the schema shows both forms)
CategoryLabels = Annotated[dict[str, Words] | str, BeforeValidator(_labels)]


class ColumnLabel(StrictModel):
    """What a published column is, for the notice and the recipients."""

    label: Words = Field(description="The item's name (the notice lists items by it).")
    description: Words | None = Field(None, description="What it records, in a sentence.")
    unit: Words | None = Field(None, description="Its unit (numbers).")
    categories: CategoryLabels = Field(
        default_factory=dict,
        description="A label per category value (codes): a mapping, or a CSV file with the "
        "header value,ja,en.",
    )


class ReleaseSpec(StrictModel):
    """The release block of a recipe (see the module's documentation)."""

    handler: Handler
    reference_date: dt.date | None = Field(None, description="The date the data describes.")
    time_zone: str = Field(
        "Asia/Tokyo", description="The time zone of the dates the notice shows (IANA name)."
    )
    provision: Words = Field(description="How the data is provided to recipients, in words.")
    columns: dict[str, ColumnLabel] = Field(
        default_factory=dict, description="Per published column: its label and description."
    )

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not a time zone (e.g. Asia/Tokyo, UTC)") from None
        return value

    def local_date(self, stamp: str) -> str:
        """The date of a UTC timestamp (``2026-12-06T20:00:00Z``) in the release's time zone."""
        moment = dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
        return moment.astimezone(zoneinfo.ZoneInfo(self.time_zone)).date().isoformat()
