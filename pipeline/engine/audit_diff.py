"""``--gate-only``: where two records of a fact differ, by key path, never by value.

A record may be tampered with: a path is shown up to its first key that is not a field name of
the tool's records or a column, so a key of the tamperer's making is never repeated.
"""

from __future__ import annotations

import functools
import math
import re
from typing import Any

from pipeline.manifest import Manifest
from pipeline.report.model import RiskReport
from pipeline.steps import STEPS

REL_TOL = 1e-9  # figures measured again may differ in the last bits (summation order)


def differences(expected: Any, found: Any, where: str = "") -> list[str]:
    """Key paths where ``found`` differs from ``expected`` (floats to ``REL_TOL``)."""
    if isinstance(expected, dict) and isinstance(found, dict):
        out = []
        for key in sorted(set(expected) | set(found), key=str):
            at = f"{where}.{key}" if where else str(key)
            if key not in expected or key not in found:
                out.append(at)
            else:
                out += differences(expected[key], found[key], at)
        return out
    if isinstance(expected, list) and isinstance(found, list):
        if len(expected) != len(found):
            return [where or "."]
        return [
            d
            for i, (a, b) in enumerate(zip(expected, found, strict=True))
            for d in differences(a, b, f"{where}[{i}]")
        ]
    floats = isinstance(expected, float) or isinstance(found, float)
    if floats and _number(expected) and _number(found):
        same = (math.isnan(expected) and math.isnan(found)) or math.isclose(
            expected, found, rel_tol=REL_TOL, abs_tol=1e-300
        )
        return [] if same else [where or "."]
    same = type(expected) is type(found) and expected == found
    return [] if same else [where or "."]


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


@functools.cache
def _field_names() -> frozenset[str]:
    """Every field name of the manifest, the risk report and the steps' parameters."""
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            found.update(
                node.get("properties", {}) if isinstance(node.get("properties"), dict) else ()
            )
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for model in (Manifest, RiskReport, *(spec.params for spec in STEPS.values())):
        walk(model.model_json_schema())
    return frozenset(found)


_PART = re.compile(r"\[\d+\]|[^.\[]+")


def shown_path(path: str, names: set[str]) -> str:
    """``path`` cut at its first key that is not a field name or a column (never a value).

    A record may be tampered with: a key of its own making is not repeated in a message.
    """
    if path in names:
        return path
    out = ""
    for part in _PART.findall(path):
        if part.startswith("["):
            out += part
        elif part in _field_names() or part in names:
            out += f".{part}" if out else part
        else:
            return f"{out}.<key>" if out else "<key>"
    return out
