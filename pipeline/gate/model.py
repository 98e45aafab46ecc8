"""Results of the gate (part of manifest.json and risk_report.json)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from pipeline.core.artifact import Artifact
from pipeline.gate.reasons import Reason

# 1.2: one reason-code enum; 1.3: utility limits, warnings; 1.4: microaggregation groups;
# 1.5: engine "arrow" (the steps' caps and levels counted without GX)
GATE_SCHEMA_VERSION = "1.5"


class CheckResult(BaseModel):
    """One check: what it verified, what was measured, and whether it passed. Never values."""

    id: str
    stage: Literal["input", "output"]
    source: Literal["contract", "recipe"]
    reason: Reason = Field(description="Reason code reported when the check fails.")
    column: str | None = None
    description: str
    engine: Literal["great_expectations", "arrow", "table"] = Field(
        description="great_expectations: GX validated each row; arrow: Arrow compute counted "
        "the same expectation (a step's cap or level); table: computed from whole-file facts."
    )
    expectation: str | None = Field(None, description="Great Expectations expectation type.")
    observed: float | int | None = Field(None, description="Count or figure measured.")
    threshold: str = Field(description="What was required of the observed figure.")
    passed: bool


class GateResult(BaseModel):
    """Every check of one gate stage, collected all at once."""

    stage: Literal["input", "output"]
    passed: bool
    checks: list[CheckResult]
    batches: int = Field(0, description="Tables of the pass the row checks validated.")
    rows: int = Field(0, description="Rows validated.")
    seconds: float = 0.0
    engine_versions: dict[str, Any] = Field(
        default_factory=dict, description="Great Expectations' version, when GX validated rows."
    )
    warnings: list[str] = Field(
        default_factory=list,
        description="What passed but deserves a look (e.g. a variable "
        "that lost much of its values); never data values.",
    )

    @property
    def failures(self) -> list[CheckResult]:
        """The checks that failed."""
        return [c for c in self.checks if not c.passed]


class GateReport(Artifact):
    """The gate's verdict on one run (``gate_report.json``; also inside manifest and report)."""

    schema_version: str = GATE_SCHEMA_VERSION
    recipe_sha256: str
    outcome: Literal["published", "blocked", "input_rejected", "valid", "invalid"] = Field(
        description="published / blocked (exit 4) / input_rejected (exit 3) for a run; "
        "valid / invalid for --gate-only."
    )
    passed: bool
    input: GateResult | None = Field(None, description="Input contract (before any step).")
    output: GateResult | None = Field(None, description="Recipe-derived checks + output contract.")

    @property
    def failures(self) -> list[CheckResult]:
        """Failed checks of both stages."""
        return [c for r in (self.input, self.output) if r for c in r.failures]
