"""Tabulation recipes: tables from the confidential records and their output-checking rules.

``kind: tabulation``; the schema ``schemas/tabulation.schema.json`` is generated from these.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from pipeline.recipe.models import InputSpec, StrictModel
from pipeline.recipe.release import CategoryLabels, Words
from pipeline.steps.recode import RecodeParams

NOT_STATED = "not stated"
TOTAL = "Total"  # the margins' category, always last
STATS = ["units", "value", "weight", "absum", "top1", "top2"]  # what a cell holds
NEVER_RELEASED = {
    "max": "maxima are never released (output-checking rules)",
    "min": "minima are never released (output-checking rules)",
    "residuals": "residuals are never released (output-checking rules)",
}


class Variable(StrictModel):
    """A row or column variable, optionally coarsened like the ``recode`` step."""

    column: str
    missing: Literal["error", "category"] = Field(
        "error",
        description="Records whose value is missing: stop the run (error: leaving them out "
        "would let the totals of two tables reveal them by difference), or count them in a "
        f"category of their own labelled {NOT_STATED!r} that the rules protect like any cell.",
    )
    recode: dict[str, Any] | None = Field(
        None,
        description="Parameters of the recode step without column (hierarchy + level, bands, "
        "or map), e.g. {hierarchy: jp_region, level: prefecture}.",
    )
    labels: CategoryLabels = Field(
        default_factory=dict,
        description="A label per category, Japanese and English: a mapping, or a CSV file "
        "with the header value,ja,en (relative to the recipe). The built-in jp_region levels "
        "are named without it; labels given here take precedence.",
    )

    @model_validator(mode="after")
    def _valid_recode(self, info: ValidationInfo) -> Variable:
        if self.recode is not None:
            RecodeParams.model_validate(
                {**self.recode, "column": self.column}, context=info.context
            )
        return self

    def recode_params(self, base_dir: Path) -> RecodeParams | None:
        """The validated recode step parameters (None: the column is used as it is)."""
        if self.recode is None:
            return None
        data = {**self.recode, "column": self.column}
        return RecodeParams.model_validate(data, context={"base_dir": str(base_dir)})


class TableSpec(StrictModel):
    """One table: rows x columns (or rows only) of a count or a magnitude, in layers or not."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    rows: Variable
    columns: Variable | None = Field(None, description="Omit for a one-way table.")
    layers: Variable | None = Field(
        None,
        description="A third classifier (needs columns): a table of three dimensions, "
        "published as one rows x columns grid per category and a Total grid, protected as "
        "one table (every cell, margin and layer total).",
    )
    statistic: str = Field(
        "count", description="count | sum | mean | share (of the table total, in percent)."
    )
    variable: str | None = Field(None, description="The magnitude variable (sum, mean, share).")
    weight: str | None = Field(None, description="Sampling weight column.")
    unit: str | None = Field(
        None,
        description="Unit id (e.g. household or enterprise): units are counted and their "
        "contributions added before the rules apply. Default: each record is a unit.",
    )
    margins: bool = Field(True, description="Publish row, column and grand totals.")
    title: Words | None = Field(None, description="The table's title, Japanese and English.")
    value_unit: Words | None = Field(
        None, description="The unit of its figures (人 / persons, 円 / yen)."
    )
    notes: list[Words] = Field(default_factory=list, description="Footnotes of the table.")

    @field_validator("statistic")
    @classmethod
    def _known_statistic(cls, value: str) -> str:
        if value in NEVER_RELEASED:
            raise ValueError(NEVER_RELEASED[value])
        if value not in ("count", "sum", "mean", "share"):
            raise ValueError("expected one of 'count', 'sum', 'mean', 'share'")
        return value

    @model_validator(mode="after")
    def _variable_rules(self) -> TableSpec:
        if (self.statistic == "count") != (self.variable is None):
            raise ValueError("sum, mean and share need variable; count takes none")
        if self.layers is not None and self.columns is None:
            raise ValueError(
                "layers need columns: a table of three dimensions has rows, columns and layers"
            )
        roles = [
            ("rows", self.rows.column),
            ("columns", self.columns and self.columns.column),
            ("layers", self.layers and self.layers.column),
            ("variable", self.variable),
            ("weight", self.weight),
            ("unit", self.unit),
        ]
        seen: dict[str, str] = {}
        for role, column in roles:
            if column and column in seen:
                raise ValueError(f"column {column!r} is both {seen[column]} and {role}")
            if column:
                seen[column] = role
        return self

    @property
    def magnitude(self) -> bool:
        """True for sum, mean and share tables (dominance rules apply)."""
        return self.statistic != "count"

    @property
    def axes(self) -> list[Variable]:
        """The classifiers: rows, then columns and layers where the table has them."""
        return [v for v in (self.rows, self.columns, self.layers) if v is not None]

    def columns_used(self) -> list[str]:
        """Every input column the table reads."""
        cols = [v.column for v in self.axes]
        return [c for c in (*cols, self.variable, self.weight, self.unit) if c]


class Dominance(StrictModel):
    """(n, k) dominance: the n largest units must not exceed k% of a magnitude cell."""

    n: int = Field(ge=1, le=2, description="1 or 2 largest units (the annex's rules).")
    k: float = Field(gt=0, le=100)


class PPercent(StrictModel):
    """The p% rule (and its prior-knowledge variant, the (p, q) rule) of magnitude cells."""

    p: float = Field(
        gt=0,
        le=100,
        description="No contributor's value may be estimated by another to within p% of it.",
    )
    q: float = Field(
        100,
        gt=0,
        le=100,
        description="What every contributor already knows of "
        "the others' values, within q% (100: nothing; the plain p% rule).",
    )

    @model_validator(mode="after")
    def _p_within_q(self) -> PPercent:
        if self.p > self.q:
            raise ValueError("p must not exceed q (the (p, q) rule)")
        return self

    @property
    def name(self) -> str:
        """The rule as a failed cell names it (``p_percent_10``, ``p_percent_10_50``)."""
        q = "" if self.q == 100 else f"_{self.q:g}"
        return f"p_percent_{self.p:g}{q}"

    def protection(self, x1: float, x2: float, total: float) -> float:
        """The upper protection a cell needs (> 0: the cell is sensitive).

        The second largest contributor knows its own value and, within q%, the rest: it must
        not bound the largest's value within p% of it, so the cell's upper bound must reach
        ``total + (p x1 - q (total - x1 - x2)) / 100`` (Hundepool et al., 4.2-4.3).
        """
        return (self.p * x1 - self.q * (total - x1 - x2)) / 100.0


class Rules(StrictModel):
    """Output-checking rules (defaults: the Ministry of Finance annex)."""

    threshold: int = Field(
        10, ge=1, le=1_000_000_000, description="Least units in a non-zero cell."
    )
    dominance: list[Dominance] = Field(
        default_factory=lambda: [Dominance(n=1, k=70), Dominance(n=2, k=85)]
    )
    p_percent: PPercent | None = Field(
        None,
        description="Magnitude tables: a cell is sensitive when its total less its two largest "
        "contributions is below p% (or p/q) of the largest; its hidden interval must reach "
        "the protection the rule derives.",
    )
    concentration: float | None = Field(
        None, gt=0, le=100, description="Largest share (%) of a cell in its row/column total."
    )
    min_interval_units: float = Field(
        10, ge=0, description="Count tables: least width of a hidden cell's interval."
    )
    min_interval_share: float = Field(
        0.3, ge=0, le=1, description="Magnitude tables: least width as a share of the value."
    )


class TabulationOutput(StrictModel):
    """Where the protected tables are published."""

    dir: str


class TabulationRecipe(StrictModel):
    """A tabulation recipe: input, tables and rules."""

    version: Literal[1]
    kind: Literal["tabulation"]
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    description: str | None = None
    input: InputSpec
    output: TabulationOutput
    rules: Rules = Field(default_factory=Rules)
    tables: list[TableSpec] = Field(min_length=1)
    weight: str | None = Field(
        None,
        description="The sampling weight of every table that names none: counts and sums "
        "become weighted estimates (a table opts out with weight: null).",
    )
    source: Words | None = Field(None, description="Where the data comes from (a survey, a year).")
    reference_date: dt.date | None = Field(None, description="The date the data describes.")

    @model_validator(mode="after")
    def _unique_names(self) -> TabulationRecipe:
        names = [t.name for t in self.tables]
        if len(names) != len(set(names)):
            raise ValueError("table names must be unique")
        return self

    @model_validator(mode="after")
    def _default_weight(self) -> TabulationRecipe:
        """Tables that name no weight take the recipe's (a weight: null of their own stays)."""
        if self.weight is None:
            return self
        for i, table in enumerate(self.tables):
            if "weight" in table.model_fields_set:
                continue
            if self.weight in table.columns_used():
                raise ValueError(
                    f"weight {self.weight!r} is also a column of table {table.name!r}: "
                    "give that table weight: null or its own weight"
                )
            self.tables[i] = table.model_copy(update={"weight": self.weight})
        return self
