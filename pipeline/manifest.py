"""The run manifest (``OUT/manifest.json``): what ran, on what, with which result.

It records the seed, so it belongs with the data holder's processing-method records
(APPI 加工方法等情報) and is not meant for recipients. Schema: ``schemas/manifest.schema.json``.
"""

from __future__ import annotations

import platform
from importlib import metadata
from typing import Any, Literal

from pydantic import BaseModel, Field

from pipeline.core.artifact import Artifact
from pipeline.gate.model import GateReport
from pipeline.risk.summary import RiskSummary
from pipeline.utility.model import Utility

# 1.2: utility; 1.3: perturbation; 1.4: artifacts, signature; 1.5: typed risk summaries;
# 1.6: the other missing-value convention's figures (risk summary other_convention); 1.7: a
# folder input's sha256 is that of its files' sha256sum listing (its surrogate tokens change)
SCHEMA_VERSION = "1.7"
_PACKAGES = (
    "anonymize-pipeline",
    "pandas",
    "pyarrow",
    "numpy",
    "dask",
    "distributed",
    "pydantic",
    "great_expectations",
)


class StepRecord(BaseModel):
    """One step as it ran."""

    index: int = Field(description="Position in the run; automatic steps come first.")
    name: str
    automatic: bool = False
    params: dict[str, Any]
    rows_in: int
    rows_out: int
    facts: dict[str, Any] = Field(default_factory=dict, description="Computed thresholds etc.")
    metrics: dict[str, int] = Field(default_factory=dict, description="E.g. values_changed.")


class FileRecord(BaseModel):
    """One published data file."""

    path: str
    rows: int
    sha256: str


class SourceRecord(BaseModel):
    """The recipe or the input file."""

    path: str
    sha256: str = Field(
        description="SHA-256 of the file (of a recipe given as data: of its canonical JSON); "
        "of an input folder, the SHA-256 of its data files' sha256sum listing: a line "
        "'<hex>  <path relative to the folder>' per file, sorted by path in byte order "
        "(LC_ALL=C), names escaped as sha256sum escapes them."
    )
    records_sha256: str | None = Field(
        None,
        description="The input's records in canonical form (input.identity: records; see "
        "pipeline.io.identity): the release's draws come from it, not from the bytes.",
    )


class ArtifactRecord(BaseModel):
    """One file the run wrote beside its data (a report, the notice, a page, a table)."""

    path: str = Field(description="Relative to the output folder.")
    bytes: int
    sha256: str


class Signature(BaseModel):
    """The manifest's HMAC, under a key the recipe names (the key itself is never written)."""

    algorithm: Literal["HMAC-SHA-256"] = "HMAC-SHA-256"
    key_env: str = Field(description="The environment variable that held the key.")
    value: str = Field(description="Hex HMAC of the manifest's canonical JSON without it.")


class RunHeader(Artifact):
    """What every run's manifest starts with: which run, when, of which recipe and input.

    ``artifacts`` lists every other file of the output with its SHA-256 (the data files are in
    ``files``), so that ``--gate-only`` can tell any file edited, added or removed; with
    ``output.signing_key_env`` the manifest is signed, which covers every file through them.
    """

    schema_version: str = SCHEMA_VERSION
    recipe: SourceRecord
    input: SourceRecord
    artifacts: list[ArtifactRecord] = Field(
        default_factory=list, description="Every file of the output but the data and itself."
    )
    signature: Signature | None = Field(
        None, description="HMAC-SHA-256 of the manifest (output.signing_key_env)."
    )


class Manifest(RunHeader):
    """Everything an auditor needs to know how a published output was produced."""

    seed: int
    scheduler: str
    packages: dict[str, str]
    rows_in: int
    rows_out: int
    columns_removed: list[str] = Field(description="Identifier columns deleted (names only).")
    columns_out: list[str]
    column_types: dict[str, str] = Field(
        default_factory=dict, description="Arrow type of each output column."
    )
    steps: list[StepRecord]
    files: list[FileRecord]
    risk_before: RiskSummary | None = Field(
        None, description="Risk of the input over the key variables (after identifier removal)."
    )
    risk_after: RiskSummary | None = Field(None, description="Risk of the published data.")
    utility: Utility | None = Field(
        None, description="What the protection cost: information loss over the whole file."
    )
    gate: GateReport | None = Field(None, description="The data-quality gate's verdict.")
    seconds: float


def package_versions() -> dict[str, str]:
    """Versions of Python and the packages that shape the output."""
    out = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out
