"""The recipe's ``utility:`` section: which figures to measure and the limits the gate enforces."""

from __future__ import annotations

from pydantic import Field, field_validator, model_validator

from pipeline.core.columns import StrictModel

_SHARE = {"ge": 0, "le": 1}


class UtilityLimits(StrictModel):
    """Largest acceptable losses; the gate blocks publication when one is exceeded (exit 4)."""

    max_suppressed_share: float | None = Field(
        None, **_SHARE, description="Share of the values of any one key variable suppressed."
    )
    max_suppressed_records: float | None = Field(
        None, **_SHARE, description="Share of records whose key values are all suppressed."
    )
    max_precision_loss: float | None = Field(
        None, **_SHARE, description="Precision loss (mean of level/height, suppressed = 1)."
    )
    max_hellinger: float | None = Field(
        None, **_SHARE, description="Hellinger distance of any one key or table variable."
    )
    max_tvd: float | None = Field(
        None, **_SHARE, description="Total-variation distance of any one chosen 2-way table."
    )
    max_il1s_mean: float | None = Field(
        None, ge=0, description="Mean IL1s per value of the numeric variables (IL1s / values)."
    )


class AnalysisSpec(StrictModel):
    """What the protection cost an analyst: models learnt from the input and from the release."""

    target: str | None = Field(
        None, description="Classifiers (logistic regression, gradient boosting) learn this column."
    )
    features: list[str] | None = Field(
        None, description="Their features (default: the key variables and numeric variables)."
    )
    formula: str | None = Field(
        None, description="Least squares 'y ~ a + b' on both: Karr et al.'s interval overlap."
    )
    seed: int = Field(0, ge=0, description="Of the held-out records.")

    @model_validator(mode="after")
    def _something(self) -> AnalysisSpec:
        if self.target is None and self.formula is None:
            raise ValueError("give target or formula (or both)")
        if self.target is not None and self.target in (self.features or []):
            raise ValueError("the target may not be a feature")
        if self.formula is not None and not self.formula_columns():
            raise ValueError("the formula must read 'y ~ a + b' (column names)")
        return self

    def formula_columns(self) -> list[str]:
        """The formula's response and predictors (empty: not of the form ``y ~ a + b``)."""
        left, sep, right = (self.formula or "").partition("~")
        names = [left.strip(), *(p.strip() for p in right.split("+"))]
        return names if sep and all(n and " " not in n for n in names) else []

    def columns(self) -> list[str]:
        """Every column the analysis names (the default features aside)."""
        named = [self.target, *(self.features or []), *self.formula_columns()]
        return list(dict.fromkeys(c for c in named if c))


class UtilitySpec(StrictModel):
    """Information-loss measures of a run (always taken) and the limits on them."""

    numeric: list[str] | None = Field(
        None,
        description="Numeric variables for IL1s, means, standard deviations and correlations. "
        "Default: the numeric columns that are neither key variables nor the weight.",
    )
    tables: list[list[str]] = Field(
        default_factory=list,
        description="2-way tables compared by total-variation distance, e.g. [[age, sex]].",
    )
    warn_share: float = Field(
        0.25,
        **_SHARE,
        description="The verdict warns when a key variable loses more than this share of its "
        "values to suppression, even without limits.",
    )
    limits: UtilityLimits = Field(default_factory=UtilityLimits)
    analysis: AnalysisSpec | None = Field(
        None,
        description="Models an analyst would fit, on the input and on the release (a sample "
        "of at most about 100,000 released records).",
    )

    @field_validator("tables")
    @classmethod
    def _pairs(cls, value: list[list[str]]) -> list[list[str]]:
        for i, table in enumerate(value):
            if len(table) != 2 or table[0] == table[1]:
                raise ValueError(f"table {i} must name two different columns")
        return value
