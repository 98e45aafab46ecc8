"""The header of every JSON artifact the tool writes (manifest, gate, risk and check reports)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from pipeline import TOOL


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
