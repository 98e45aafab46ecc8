"""Pydantic models of the information-loss figures (in ``manifest.json`` and ``risk_report.json``).

Every figure is an aggregate over the whole file: counts, shares, distances. Never a value.
"""

from __future__ import annotations

from pydantic import BaseModel, Field


class VariableLoss(BaseModel):
    """What one key (or table) variable lost."""

    column: str
    level: int | None = Field(None, description="Generalization level (None: not generalized).")
    height: int | None = Field(None, description="Height of its hierarchy (levels above 0).")
    suppressed: int = Field(description="Values present before and missing after.")
    suppressed_share: float = Field(description="suppressed / records.")
    categories_before: int = Field(description="Distinct values before (released records).")
    categories_after: int = Field(description="Distinct values after.")
    precision_loss: float = Field(description="Mean over records of level/height (suppressed 1).")
    loss: float = Field(description="ARX's loss: mean share of the domain merged into a value.")
    entropy: float = Field(description="Non-uniform entropy (bits, summed over records).")
    hellinger: float = Field(
        description="Hellinger distance of the released distribution from the original's at "
        "the released level of detail (suppression counts as a category of its own)."
    )
    changed_share: float | None = Field(
        None, description="Randomised (PRAM) variables: share of values changed."
    )
    changed_by_category: list[float] | None = Field(
        None,
        description="Randomised variables: share of each category's values changed, in the "
        "sorted order of the categories (as PRAM's matrices; no category is named).",
    )


class NumericLoss(BaseModel):
    """What one numeric variable lost."""

    column: str
    records: int = Field(description="Records with a value before and after.")
    il1s: float | None = Field(
        description="sdcMicro's IL1s: sum over records of |x - x'| / (sqrt(2) sd(x))."
    )
    il1s_mean: float | None = Field(description="IL1s / records (the per-value mean).")
    mean_before: float | None
    mean_after: float | None
    sd_before: float | None
    sd_after: float | None
    mean_change: float | None = Field(description="(mean after - mean before) / |mean before|.")
    sd_change: float | None = Field(description="(sd after - sd before) / sd before.")


class Perturbation(BaseModel):
    """Risk and loss of perturbed numeric variables (noise, microaggregation, swapping).

    Over the records with every perturbed variable present before and after; values
    standardised by the original's standard deviation.
    """

    variables: list[str]
    records: int = Field(description="Records compared.")
    sse_sst: float | None = Field(
        description="Sum of squared differences / total sum of squares (standardised)."
    )
    interval_disclosure: float | None = Field(
        description="Share of records whose every original value lies within released value "
        "+- interval_k sd (sd of the released variable): sdcMicro 5.8.1's dRisk."
    )
    interval_k: float = Field(0.05, description="Half-width of the interval, in sds.")
    record_linkage: float | None = Field(
        description="Share of released records whose nearest original record (Euclidean, "
        "standardised) is their own; ties count as links."
    )
    linkage_records: int = Field(description="Released records whose link was tried.")


class TableLoss(BaseModel):
    """A chosen 2-way table: before (at the released level of detail) and after."""

    columns: list[str]
    tvd: float = Field(description="Total-variation distance, 0.5 * sum |p - q|.")
    cells_before: int
    cells_after: int


class ModelAccuracy(BaseModel):
    """One classifier trained on the original and on the released records."""

    model: str
    original: float = Field(description="Accuracy of the model learnt from the original.")
    released: float = Field(description="Accuracy of the model learnt from the released.")
    relative: float | None = Field(description="released / original (1: nothing lost).")


class Coefficient(BaseModel):
    """One coefficient of the regression, on both files, and the overlap of its intervals."""

    term: str
    original: float
    released: float
    overlap: float = Field(description="Karr et al.'s interval overlap J (1: identical).")


class Regression(BaseModel):
    """The formula's least-squares fit on both files."""

    formula: str
    coefficients: list[Coefficient] = Field(
        description="Each shared coefficient on both files (empty in a run's published files: "
        "a category's coefficient on the input is its records' own values)."
    )
    compared: int = Field(0, description="Coefficients compared (shared by both fits).")
    mean_overlap: float | None = Field(description="Mean J over the shared coefficients.")
    not_comparable: list[str] = Field(
        default_factory=list,
        description="Predictors not compared: their categories differ between the files "
        "(generalized, recoded, suppressed); named by variable, never by category.",
    )


class AnalysisUtility(BaseModel):
    """What the protection cost an analyst (``anonymize utility --model / --formula``)."""

    records: int = Field(description="Matched records used (a seeded sample past the limit).")
    test_records: int = Field(description="Held-out records the classifiers are scored on.")
    target: str | None = None
    features: list[str] = Field(default_factory=list)
    majority: float | None = Field(None, description="Accuracy of the majority class.")
    classification: list[ModelAccuracy] = Field(default_factory=list)
    regression: Regression | None = None


class Utility(BaseModel):
    """What the protection cost, over the released records' values before and after the steps.

    Records removed by sampling are counted in ``records_removed``; the other figures compare
    each released record with itself before the steps.
    """

    records: int = Field(description="Released records.")
    records_removed: int = Field(0, description="Records not released (sampling, deletion).")
    key_variables: list[str]
    k: int = Field(description="The k that average class size is measured against.")
    suppressed_records: int = Field(description="Records whose key values are all suppressed.")
    precision_loss: float = Field(description="Mean over key variables of their precision loss.")
    loss: float = Field(description="Mean over key variables of ARX's loss.")
    discernibility: float = Field(
        description="Sum over classes of |class|^2, plus records for each suppressed record."
    )
    classes: int = Field(description="Equivalence classes of the released key values.")
    c_avg: float | None = Field(description="(records - suppressed) / classes / k.")
    entropy: float = Field(description="Non-uniform entropy over the key variables (bits).")
    variables: list[VariableLoss] = Field(default_factory=list)
    numeric: list[NumericLoss] = Field(default_factory=list)
    il1s: float | None = Field(
        None, description="sdcMicro's IL1s of the numeric variables together (a sum)."
    )
    il1s_mean: float | None = Field(
        None, description="IL1s / values compared: the mean, comparable across files."
    )
    correlation_change: float | None = Field(
        None, description="Largest absolute change of a correlation between numeric variables."
    )
    analysis: AnalysisUtility | None = Field(
        None, description="What the protection cost an analyst (classifiers, regression)."
    )
    tables: list[TableLoss] = Field(default_factory=list)
    perturbation: Perturbation | None = Field(
        None, description="Perturbed numeric variables: interval disclosure, linkage, SSE/SST."
    )
    warnings: list[str] = Field(default_factory=list, description="Variables losing much.")
