"""Pydantic models of ``risk_report.json``; ``schemas/risk_report.schema.json`` comes from them."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from pipeline.core.artifact import Artifact
from pipeline.gate.model import GateReport
from pipeline.manifest import FileRecord
from pipeline.risk.summary import RiskSummary
from pipeline.utility.model import Utility

# 1.3: perturbation; 1.4: step columns; 1.5: files; 1.6: series; 1.7: typed risk summary;
# 1.8: a step's key path in the recipe (recipe_key); 1.9: risk summary other_convention
SCHEMA_VERSION = "1.9"


class Histogram(BaseModel):
    """Counts of records per bucket."""

    labels: list[str]
    counts: list[int]


class CategoryCount(BaseModel):
    """A key-variable category (or pair) and how many records below k hold it."""

    value: str
    records: int


class Snapshot(BaseModel):
    """Risk of one state of the data (input after identifier removal, or the output)."""

    summary: RiskSummary
    class_sizes: Histogram = Field(description="Records by the size fk of their class.")
    individual_risk: Histogram = Field(description="Records by individual risk rk.")
    risky_categories: dict[str, list[CategoryCount]] = Field(
        description="Per key variable (and pair), the categories most held by records below k; "
        "only categories held by at least k such records are named, the rest are summed up."
    )
    l_diversity: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="Per sensitive variable."
    )


class StepChange(BaseModel):
    """What one step changed."""

    index: int
    name: str
    recipe_key: str | None = Field(
        None, description="The step's key path in the recipe (steps[i]); None: automatic."
    )
    columns: list[str] = Field(
        default_factory=list, description="The columns the step's parameters name."
    )
    rows_in: int
    rows_out: int
    facts: dict[str, Any] = Field(default_factory=dict)
    metrics: dict[str, int] = Field(default_factory=dict)


class Targets(BaseModel):
    """The recipe's risk targets and whether the published data meets them."""

    k: int
    k_reached: bool
    max_global_risk: float | None = None
    global_risk_ok: bool | None = None
    max_special_uniques: int | None = None
    max_dis_score: float | None = None
    suda2_ok: bool | None = Field(
        None, description="Whether SUDA2's special uniques and DIS-SUDA scores meet the targets."
    )


class SeriesSummary(BaseModel):
    """Whether the release was judged with the earlier releases of its series, and how."""

    judged: Literal["alone", "series"] = Field(
        description="series: with every earlier release of the series (their merged view); "
        "alone: as if no other release existed."
    )
    reason: str | None = Field(None, description="Why it was judged alone.")
    releases: int | None = Field(None, description="Releases of the series, this one included.")
    previous: str | None = Field(None, description="Run id of the release before this one.")
    persons_seen: int | None = Field(
        None, description="Records whose person an earlier release showed."
    )
    values_kept_hidden: int | None = Field(
        None, description="Values hidden because an earlier release hid them."
    )
    values_suppressed: int | None = Field(None, description="Values suppressed for the series.")
    records_withheld: int | None = Field(None, description="Records withheld for the series.")
    merged_k_violations: int | None = Field(
        None, description="Records of the merged view below k (0 when published)."
    )


class RiskReport(Artifact):
    """Disclosure risk before and after the recipe, for auditors."""

    schema_version: str = SCHEMA_VERSION
    recipe_sha256: str
    key_variables: list[str]
    sensitive: list[str]
    weight: str | None = None
    targets: Targets | None = Field(None, description="None when no key variables are declared.")
    before: Snapshot | None = None
    after: Snapshot | None = None
    suppressions: dict[str, int] = Field(default_factory=dict, description="Per key variable.")
    steps: list[StepChange]
    utility: Utility | None = Field(
        None, description="What the protection cost: information loss over the whole file."
    )
    gate: GateReport | None = Field(None, description="The data-quality gate's verdict.")
    files: list[FileRecord] = Field(
        default_factory=list, description="The released data files it describes, with SHA-256."
    )
    series: SeriesSummary | None = Field(
        None, description="A release series: judged alone, or with the releases before it."
    )
