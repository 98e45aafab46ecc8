"""The risk summary of a file: the figures an auditor reads, typed (manifest and reports).

Measured over the whole file by ``pipeline.risk.measures`` (in memory) or ``pipeline.risk.stream``
(streamed, spilled); the same figures as ``anonymize risk --format json``. The manifest's
``risk_before`` and ``risk_after`` and the risk report's snapshots hold one each; the JSON
Schemas in ``schemas/`` are generated from this model.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class KeyVariableSummary(BaseModel):
    """One key variable in the file."""

    model_config = ConfigDict(extra="forbid")

    categories: int = Field(description="Distinct values (missing not counted).")
    missing: int = Field(description="Records where it is missing.")


class OtherConvention(BaseModel):
    """The k figures counted under the other missing-value convention, for comparison."""

    model_config = ConfigDict(extra="forbid")

    missing: Literal["any", "category"] = Field(description="The other convention.")
    sample_uniques: int = Field(description="Records whose class holds only them (fk = 1).")
    k_violations: int = Field(description="Records in classes smaller than k (fk < k).")


class Suda2Summary(BaseModel):
    """SUDA2 special uniques of a file (``pipeline.risk.suda2``; sdcMicro's ``suda2``)."""

    model_config = ConfigDict(extra="forbid")

    dis_fraction: float = Field(description="Sampling fraction the DIS-SUDA score assumes.")
    scored: int = Field(description="Records with a minimal sample unique (SUDA score > 0).")
    special_uniques: int = Field(
        description="Records unique on fewer variables than all the key variables."
    )
    max_score: float = Field(description="Largest SUDA score.")
    max_dis_score: float = Field(description="Largest DIS-SUDA score.")
    dis_above: dict[str, int] = Field(description="Records with a DIS-SUDA score above each.")
    contributions: dict[str, float] = Field(
        description="Per key variable, the score of the MSUs it belongs to, in percent of all "
        "scores (sdcMicro's attribute_contributions; they add up to more than 100)."
    )


class ModelRiskSummary(BaseModel):
    """Model-based risk (``pipeline.risk.modrisk``; sdcMicro's ``modRisk``)."""

    model_config = ConfigDict(extra="forbid")

    unique_risk: float = Field(
        description="Sum over sample uniques of exp(-v)/m: that they are population uniques "
        "(sdcMicro's Risk-Measure 1)."
    )
    match_risk: float = Field(
        description="Sum over sample uniques of (1 - exp(-v))/v/m: that a match is correct "
        "(sdcMicro's Risk-Measure 2)."
    )
    cells: int = Field(description="Key combinations counted (m).")
    model: str = Field(description="The log-linear model's terms.")
    rounds: int = Field(description="Rounds of proportional fitting (0: closed form).")


class PopulationSummary(BaseModel):
    """Population uniques estimated from the class sizes (``pipeline.risk.population``; ARX)."""

    model_config = ConfigDict(extra="forbid")

    sampling_fraction: float = Field(description="The sample's share of the population (pi).")
    population: int = Field(description="N = round(records / pi).")
    sample_uniques: float = Field(description="Share of the records that are sample uniques.")
    zayatz: float | None = Field(description="Zayatz's population uniques, a share of N.")
    pitman: float | None = Field(description="Pitman's (None: no solution).")
    snb: float | None = Field(description="The slide negative binomial's (only for pi > 0.1).")
    dankar: float | None = Field(description="Dankar et al.'s rule's choice among them.")
    dankar_model: Literal["pitman", "zayatz", "snb", "none"] = Field(
        description="The model the rule chose (none: no sample unique, 0)."
    )


class RiskSummary(BaseModel):
    """Disclosure risk of a file over its key variables (sdcMicro's measures)."""

    model_config = ConfigDict(extra="forbid")

    records: int
    k: int = Field(description="The k that k_violations counts against.")
    missing: Literal["any", "category"] = Field(
        description="any: a missing key value matches any value (sdcMicro); category: a "
        "category of its own."
    )
    weighted: bool = Field(description="Whether the frequencies Fk are weighted.")
    sample_uniques: int = Field(description="Records whose class holds only them (fk = 1).")
    k_violations: int = Field(description="Records in classes smaller than k (fk < k).")
    expected_reidentifications: float = Field(description="Sum of the individual risks rk.")
    global_risk: float = Field(description="Expected re-identifications / records.")
    max_individual_risk: float
    classes: int = Field(description="Distinct key combinations.")
    household_expected_reidentifications: float | None = None
    household_global_risk: float | None = None
    l_violations: int | None = Field(
        None, description="Records (with a key value) in classes not l-diverse (risk.l_diversity)."
    )
    t_violations: int | None = Field(
        None, description="Records (with a key value) in classes not t-close (risk.t_closeness)."
    )
    key_variables: dict[str, KeyVariableSummary] = Field(default_factory=dict)
    suda2: Suda2Summary | None = Field(
        None, description="SUDA2 special uniques (when the recipe sets a SUDA2 target)."
    )
    model_risk: ModelRiskSummary | None = Field(
        None, description="Model-based risk (when the recipe sets risk.model)."
    )
    population: PopulationSummary | None = Field(
        None, description="Estimated population uniques (when the recipe sets risk.population)."
    )
    other_convention: OtherConvention | None = Field(
        None,
        description="Sample uniques and records below k had missing key values been counted "
        "the other way (the classes and l-diversity always count a missing value as a value).",
    )
