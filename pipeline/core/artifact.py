"""The header of every JSON artifact the tool writes (manifest, gate, risk and check reports).

A leaf: it imports nothing of ``pipeline``, so every layer may use ``TOOL`` and ``now_utc``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, Field

TOOL = "anonymize-pipeline"  # the marker in every JSON file this tool writes


def now_utc() -> str:
    """Current time as an ISO-8601 UTC string (every artifact's ``generated_at``)."""
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class Artifact(BaseModel):
    """Which tool wrote the file, for which run, when, of which recipe (dbt-style header).

    Each artifact sets its own ``schema_version`` default; ``tool`` is the marker the tool
    looks for before it replaces a file (it never replaces one without it).
    """

    schema_version: str
    tool: Literal["anonymize-pipeline"] = Field(TOOL, description="Marks files of this tool.")
    run_id: str
    generated_at: str = Field(description="ISO-8601 UTC time the artifact was written.")
    recipe_name: str
