"""Generate the published JSON Schemas from the pydantic models.

``python -m pipeline.schemas`` rewrites ``schemas/``; a test fails when the files are stale.
The recipe schema's ``steps`` items are the union of every step's parameter model.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from pipeline.engine.progress import LogEvent
from pipeline.gate.model import GateReport
from pipeline.manifest import Manifest
from pipeline.recipe.models import Recipe
from pipeline.report.codebook import Codebook
from pipeline.report.model import RiskReport
from pipeline.steps import STEPS
from pipeline.tabulate.model import TabulationRecipe
from pipeline.tabulate.phases import TabulationManifest
from pipeline.tabulate.review import CheckReport

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schemas"


def recipe_schema() -> dict[str, Any]:
    """JSON Schema of a recipe, with one alternative per public step."""
    schema = Recipe.model_json_schema(ref_template="#/$defs/{model}")
    defs = schema.setdefault("$defs", {})
    alternatives = []
    for name in sorted(STEPS):
        spec = STEPS[name]
        if spec.automatic:
            continue
        sub = spec.params.model_json_schema(ref_template="#/$defs/{model}")
        defs.update(sub.pop("$defs", {}))
        model_name = spec.params.__name__
        defs[model_name] = sub
        alternatives.append(
            {
                "type": "object",
                "description": spec.summary,
                "properties": {
                    name: {"anyOf": [{"$ref": f"#/$defs/{model_name}"}, {"type": "null"}]}
                },
                "required": [name],
                "additionalProperties": False,
            }
        )
    schema["properties"]["steps"]["items"] = {"oneOf": alternatives}
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "recipe.schema.json"
    return schema


def artifact_schema(model: type[BaseModel], name: str) -> dict[str, Any]:
    """JSON Schema of an output artifact (``manifest.json``, ``risk_report.json``, ...)."""
    schema = model.model_json_schema(ref_template="#/$defs/{model}")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"{name}.schema.json"
    return schema


def rendered() -> dict[str, str]:
    """File name -> JSON text of every published schema."""
    schemas = {
        "recipe.schema.json": recipe_schema(),
        "manifest.schema.json": artifact_schema(Manifest, "manifest"),
        "risk_report.schema.json": artifact_schema(RiskReport, "risk_report"),
        "gate_report.schema.json": artifact_schema(GateReport, "gate_report"),
        "tabulation.schema.json": artifact_schema(TabulationRecipe, "tabulation"),
        "tabulation_manifest.schema.json": artifact_schema(
            TabulationManifest, "tabulation_manifest"
        ),
        "check_report.schema.json": artifact_schema(CheckReport, "check_report"),
        "codebook.schema.json": artifact_schema(Codebook, "codebook"),
        "log_event.schema.json": artifact_schema(LogEvent, "log_event"),
    }
    return {name: json.dumps(s, indent=2, ensure_ascii=False) + "\n" for name, s in schemas.items()}


def main() -> int:
    """Write the schemas into ``schemas/``."""
    SCHEMA_DIR.mkdir(exist_ok=True)
    for name, text in rendered().items():
        (SCHEMA_DIR / name).write_text(text, encoding="utf-8")
        print(f"wrote schemas/{name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
