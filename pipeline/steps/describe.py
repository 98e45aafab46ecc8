"""Text documentation of steps for ``anonymize steps`` (from docstrings and params models)."""

from __future__ import annotations

import textwrap

from pipeline.steps.registry import StepSpec


def describe_step(spec: StepSpec) -> str:
    """Render one step: name, documentation and a line per parameter."""
    head = spec.name + ("  (automatic, from columns:)" if spec.automatic else "")
    lines = [head, "=" * len(head), spec.doc, ""]
    fields = spec.params.model_fields
    if fields:
        lines.append("Parameters:")
        for name, field in fields.items():
            kind = _type_name(field.annotation)
            default = "required" if field.is_required() else f"default {field.get_default()!r}"
            desc = f" - {field.description}" if field.description else ""
            lines.append(
                textwrap.fill(
                    f"  {name} ({kind}, {default}){desc}", 100, subsequent_indent="      "
                )
            )
    else:
        lines.append("Parameters: none (write {})")
    return "\n".join(lines)


def _type_name(annotation: object) -> str:
    text = str(annotation).replace("typing.", "")
    return text.replace("<class '", "").replace("'>", "")
