"""What the published files hold, column by column, for the codebook.

One pass; no value is kept beyond the categories that occur.

Per published column: its missing values; for a column of codes or categories (text, whole
numbers, booleans) every value that occurs with its records, up to ``MAX_CATEGORIES`` (a column
with more is free text or a measure: "many", no list); the weight's total, summed exactly
(``pipeline.core.exact``), so it does not depend on how the files are cut. Fed the tables the
writer cuts into files, as the gate's measures are (``pipeline.engine.measure``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from pipeline.core.exact import SUM_UNIT, exact_sum, ratio

if TYPE_CHECKING:
    # imported where used: checking a recipe (``anonymize validate``) loads none of them
    import pyarrow as pa

MAX_CATEGORIES = 1000
_HEAD = 8 * MAX_CATEGORIES  # values looked at first: more categories there, more in all


def is_categorical(kind: pa.DataType) -> bool:
    """Whether a column of this type is listed by its values (text, codes, whole numbers)."""
    import pyarrow as pa

    if pa.types.is_dictionary(kind):
        return True
    return (
        pa.types.is_string(kind)
        or pa.types.is_large_string(kind)
        or pa.types.is_integer(kind)
        or pa.types.is_boolean(kind)
    )


def type_word(kind: pa.DataType) -> str:
    """A column's type in words for recipients."""
    import pyarrow as pa

    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    if pa.types.is_boolean(kind):
        return "boolean"
    if pa.types.is_integer(kind):
        return "integer"
    if pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        return "number"
    return "text" if pa.types.is_string(kind) or pa.types.is_large_string(kind) else "other"


@dataclass
class Profile:
    """The published files' columns as the codebook describes them.

    Attributes:
        types: Each column's type in words (``integer``, ``number``, ``text``, ``boolean``,
            ``other``), as the files are read.
        missing: Missing values per column.
        categories: Per categorical column, each value that occurs and its records (None: more
            than ``MAX_CATEGORIES``, or not categorical).
        weight_total: The weight column's total (None without one).
    """

    types: dict[str, str] = field(default_factory=dict)
    missing: dict[str, int] = field(default_factory=dict)
    categories: dict[str, dict[Any, int] | None] = field(default_factory=dict)
    weight_total: float | None = None


class ProfileStream:
    """A :class:`Profile` of the files, fed their tables in order (``add``, then ``finish``)."""

    def __init__(self, schema: pa.Schema, weight: str | None) -> None:
        self.columns = list(schema.names)
        self._types = {name: type_word(schema.field(name).type) for name in self.columns}
        self._missing = dict.fromkeys(self.columns, 0)
        self._counts: dict[str, dict[Any, int] | None] = {
            name: {} if is_categorical(schema.field(name).type) else None for name in self.columns
        }
        self._weight = weight if weight in self.columns else None
        self._total = 0

    def add(self, table: pa.Table | pa.RecordBatch) -> None:
        """Count one table's missing values and categories."""
        import pyarrow.compute as pc

        for name in self.columns:
            column = table.column(name)
            self._missing[name] += column.null_count
            counts = self._counts[name]
            if counts is None or len(column) == column.null_count:
                continue
            head = column.slice(0, _HEAD)  # ids and tokens: their first values tell (0.3 s/1M)
            if len(column) > _HEAD and _categories(pc.value_counts(head)) > MAX_CATEGORIES:
                self._counts[name] = None
                continue
            found = pc.value_counts(column)
            if _categories(found) > MAX_CATEGORIES:  # more than listed: no value turned to Python
                self._counts[name] = None
                continue
            values = found.field("values").to_pylist()
            for value, n in zip(values, found.field("counts").to_pylist(), strict=True):
                if value is not None:
                    counts[value] = counts.get(value, 0) + n
            if len(counts) > MAX_CATEGORIES:
                self._counts[name] = None
        if self._weight is not None:
            weights = table.column(self._weight).to_numpy(zero_copy_only=False)
            finite = np.asarray(weights, dtype=np.float64)
            self._total += exact_sum(finite[np.isfinite(finite)])

    def finish(self) -> Profile:
        """The profile of every table added."""
        total = ratio(self._total, 1, SUM_UNIT) if self._weight is not None else None
        return Profile(dict(self._types), dict(self._missing), dict(self._counts), total)


def _categories(found: pa.StructArray) -> int:
    """The values ``pc.value_counts`` found, missing values not counted."""
    return len(found) - found.field("values").null_count
