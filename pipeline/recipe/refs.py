"""Every column a recipe names, once: where (key path), which column, in what role.

The one list every column check reads: the loader's (no step, risk target or utility entry may
name a column that is deleted before the steps run), the input's (every named column exists,
with the key path of its first mention) and the ingest's (the columns read as numbers). A new
place in the recipe that names a column is added here and every check knows it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pipeline.core.yamlpos import Path_, format_path, parse_path
from pipeline.recipe.models import Recipe

IDENTIFIER_ROLES = ("direct_identifiers", "identification_codes", "linking_ids")


@dataclass(frozen=True)
class ColumnRef:
    """One mention of a column in a recipe.

    Attributes:
        path: Its key path (``("steps", 2, "recode", "column")``); a role of ``columns:`` is
            the role's path (``("columns", "key_variables")``).
        column: The column's name.
        role: What the recipe uses it for: a role of ``columns:`` (``key_variables``,
            ``linking_ids``...), ``numeric``, ``household``, ``sensitive``, ``utility``,
            ``person``, ``label`` (the release block) or ``step``.
        numeric: Whether it is read as numbers.
    """

    path: Path_
    column: str
    role: str
    numeric: bool = False

    @property
    def where(self) -> str:
        """The key path as the recipe writes it (``steps[2].recode.column``)."""
        return format_path(self.path)

    @property
    def deletes(self) -> bool:
        """Whether this mention declares the column an identifier (deleted before the steps)."""
        return self.role in IDENTIFIER_ROLES


def column_refs(recipe: Recipe, calls: Sequence[Any] = ()) -> list[ColumnRef]:
    """Every mention of a column in ``recipe`` and its validated step calls, in key order.

    ``calls`` are the loader's ``StepCall`` objects (index, spec, params).
    """
    cols = recipe.columns
    out = [
        ColumnRef(("columns", role), column, role, numeric=role == "weight")
        for column, roles in cols.roles().items()
        for role in roles
    ]
    out += [
        ColumnRef(("input", "numeric", i), c, "numeric", True)
        for i, c in enumerate(recipe.input.numeric)
    ]
    if recipe.risk is not None:
        if recipe.risk.household:
            out.append(ColumnRef(("risk", "household"), recipe.risk.household, "household"))
        for target in ("l_diversity", "t_closeness"):
            spec = getattr(recipe.risk, target)
            if spec is not None:
                out.append(ColumnRef(("risk", target, "column"), spec.column, "sensitive"))
    out += [
        ColumnRef(("utility", "numeric", i), c, "utility", True)
        for i, c in enumerate(recipe.utility.numeric or [])
    ]
    out += [
        ColumnRef(("utility", "tables", i, j), c, "utility")
        for i, table in enumerate(recipe.utility.tables)
        for j, c in enumerate(table)
    ]
    analysis = recipe.utility.analysis
    if analysis is not None:  # the formula's response is a number (parsed as the input is read)
        response = analysis.formula_columns()[:1]
        out += [
            ColumnRef(("utility", "analysis"), c, "utility", c in response)
            for c in analysis.columns()
        ]
    if recipe.series is not None:
        out.append(ColumnRef(("series", "person"), recipe.series.person, "person"))
    if recipe.release is not None:
        out += [ColumnRef(("release", "columns", c), c, "label") for c in recipe.release.columns]
    for call in calls:
        numeric = call.params.declare(cols).numeric
        for field, column in call.params.columns_used().items():
            path = ("steps", call.index, call.spec.name, *parse_path(field))
            out.append(ColumnRef(path, column, "step", column in numeric))
    return out


def first_mentions(refs: Sequence[ColumnRef]) -> dict[str, str]:
    """Each column with the key path of its first mention (for "not in the input" errors)."""
    out: dict[str, str] = {}
    for ref in refs:
        out.setdefault(ref.column, ref.where)
    return out


def numeric_columns(refs: Sequence[ColumnRef]) -> list[str]:
    """The columns read as numbers, each once, in key order."""
    return list(dict.fromkeys(ref.column for ref in refs if ref.numeric))
