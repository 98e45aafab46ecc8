"""Text documentation of steps for ``anonymize steps`` (from docstrings and params models)."""

from __future__ import annotations

import textwrap

import yaml

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
    params = spec.params
    if params.wording is not None or params.record_wording is not None:
        words = [w for w in (params.wording, params.record_wording) if w is not None]
        lines += ["", "On the public notice: " + "; ".join(f"{w.ja} / {w.en}" for w in words)]
    if params.examples and not spec.automatic:
        lines += ["", "Examples:"]
        lines += [f"  - {spec.name}: {_flow(example)}" for example in params.examples]
    return "\n".join(lines)


def _flow(example: dict) -> str:
    """An example's parameters as one line of YAML (flow style, keys in their order)."""
    text = yaml.safe_dump(
        example, default_flow_style=True, sort_keys=False, allow_unicode=True, width=1000
    )
    return text.strip()


def _type_name(annotation: object) -> str:
    text = str(annotation).replace("typing.", "")
    return text.replace("<class '", "").replace("'>", "")
