"""Load a YAML recipe into validated models, reporting every problem at once with file:line.

Messages look like ``recipes/x.yaml:14 steps[2].top_code.above: expected a number``. A recipe
given as a mapping (``pipeline.api.run({...})``) is validated the same way, located by key path.
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from pipeline.contracts.odcs import Contract, load_contract
from pipeline.core.errors import Problem, RecipeError
from pipeline.core.yamlpos import Path_, parse_path
from pipeline.recipe.models import INTERNAL_PREFIX, Recipe
from pipeline.recipe.refs import column_refs
from pipeline.recipe.source import Lines, home_paths, locate, read_source, reporter
from pipeline.risk.modrisk import parse_terms
from pipeline.risk.suda2 import MAX_KEYS as SUDA2_MAX_KEYS
from pipeline.steps import STEPS, StepParams, StepSpec
from pipeline.steps.declaration import undescribed

_MESSAGES = {
    "missing": "required key is missing",
    "float_parsing": "expected a number",
    "float_type": "expected a number",
    "int_parsing": "expected an integer",
    "int_type": "expected an integer",
    "int_from_float": "expected an integer",
    "bool_parsing": "expected true or false",
    "bool_type": "expected true or false",
    "string_type": "expected a text value",
    "list_type": "expected a list",
    "dict_type": "expected a mapping (key: value)",
    "model_type": "expected a mapping (key: value)",
    "model_attributes_type": "expected a mapping (key: value)",
}


@dataclass(frozen=True)
class StepCall:
    """One validated entry of ``steps:``."""

    index: int
    spec: StepSpec
    params: StepParams
    location: str


@dataclass(frozen=True)
class LoadedRecipe:
    """A validated recipe with where it came from."""

    path: Path
    sha256: str
    recipe: Recipe
    steps: list[StepCall]
    input_contract: Contract | None = None
    output_contract: Contract | None = None

    @property
    def base_dir(self) -> Path:
        """Directory that hierarchy files are resolved against."""
        return self.path.parent


def load_recipe(source: str | Path | Mapping[str, Any]) -> LoadedRecipe:
    """Read, parse and validate a recipe file, or a recipe given as a mapping (a dict).

    A mapping is validated exactly as the same YAML file would be; its problems are located by
    key path (``<dict> steps[0].top_code.above:``) and its relative paths, hierarchy files
    included, are resolved against the current directory (see ``pipeline.recipe.source``).

    Raises:
        RecipeError: with every problem found (file:line key.path: message).

    """
    read = read_source(source)
    path, data, lines, problems = read.path, read.data, read.lines, read.problems
    at = reporter(path, lines, problems)
    if not isinstance(data, dict):
        at((), "a recipe is a mapping with version, name, input, output, seed, columns, steps")
        raise RecipeError(problems)
    if data.get("kind") == "tabulation":
        at(
            ("kind",),
            "this is a tabulation recipe: run it with `anonymize tabulate` "
            "(in Python: pipeline.api.tabulate)",
            "kind",
        )
        raise RecipeError(problems)
    recipe: Recipe | None = None
    try:
        recipe = Recipe.model_validate(data, context={"base_dir": str(path.parent)})
    except ValidationError as exc:
        collect_errors(exc, (), Recipe, at)
    raw_steps = data.get("steps")
    calls = _validate_steps(raw_steps if isinstance(raw_steps, list) else [], path, lines, at)
    contracts: dict[str, Contract] = {}
    if recipe is not None:
        _semantic_checks(recipe, calls, at)
        home_paths(
            {("input", "path"): recipe.input.path or "", ("output", "dir"): recipe.output.dir}, at
        )
        contracts = _load_contracts(recipe, path.parent, at, problems)
    if problems:
        raise RecipeError(problems)
    assert recipe is not None
    return LoadedRecipe(
        path,
        read.sha256,
        recipe,
        calls,
        contracts.get("input"),
        contracts.get("output"),
    )


def _load_contracts(
    recipe: Recipe, base: Path, at: Any, problems: list[Problem]
) -> dict[str, Contract]:
    """Load the recipe's data contracts; identifiers may only be required to exist."""
    out: dict[str, Contract] = {}
    removed = set(recipe.columns.removed())
    for stage in ("input", "output"):
        relative = getattr(recipe.contracts, stage)
        if relative is None:
            continue
        where = base / relative
        if not where.is_file():
            at(("contracts", stage), f"data contract {where} not found", "contract_missing")
            continue
        try:
            contract = load_contract(where)
        except RecipeError as exc:
            problems.extend(exc.problems)
            continue
        for prop in contract.table.properties:
            if prop.name not in removed:
                continue
            if stage == "output":
                at(
                    ("contracts", stage),
                    f"{where}: property {prop.name!r} is a declared identifier column; "
                    "identifiers are never published",
                    "contract_identifier",
                )
            elif _value_rules(prop):
                at(
                    ("contracts", stage),
                    f"{where}: property {prop.name!r} is an identifier column, which is never "
                    f"read: a contract may only require that it exists (remove "
                    f"{', '.join(_value_rules(prop))})",
                    "contract_identifier",
                )
        out[stage] = contract
    return out


def _value_rules(prop: Any) -> list[str]:
    options = prop.logicalTypeOptions.model_dump(exclude_none=True)
    rules = {
        "logicalType": prop.logicalType is not None,
        "required": prop.required,
        "unique": prop.unique,
        "logicalTypeOptions": bool(options),
        "quality": bool(prop.quality),
    }
    return [name for name, used in rules.items() if used]


def _validate_steps(raw: list, path: Path, lines: Lines, at: Any) -> list[StepCall]:
    calls: list[StepCall] = []
    public = sorted(n for n, s in STEPS.items() if not s.automatic)
    for i, entry in enumerate(raw):
        loc: Path_ = ("steps", i)
        if not isinstance(entry, dict) or len(entry) != 1:
            at(loc, "each step is a one-key mapping like `- top_code: {column: age, above: 90}`")
            continue
        ((name, params),) = entry.items()
        name = str(name)
        spec = STEPS.get(name)
        if spec is None or spec.automatic:
            if spec is not None:
                at((*loc, name), f"{name} runs automatically from columns: and cannot be listed")
                continue
            hint = difflib.get_close_matches(name, public, n=1)
            guess = f"did you mean {hint[0]!r}? " if hint else ""
            at(
                (*loc, name),
                f"unknown step {name!r}; {guess}valid steps: {', '.join(public)}",
                code="unknown_step",
            )
            continue
        try:
            model = spec.params.model_validate(params or {}, context={"base_dir": str(path.parent)})
        except ValidationError as exc:
            collect_errors(exc, (*loc, name), spec.params, at)
            continue
        location = locate(path, lines, (*loc, name))
        calls.append(StepCall(index=i, spec=spec, params=model, location=location))
    return calls


def collect_errors(exc: ValidationError, prefix: Path_, model: type[BaseModel], at: Any) -> None:
    """Report every pydantic error under ``prefix`` through ``at(loc, message)``, with hints."""
    grouped: dict[Path_, list[str]] = {}
    for err in exc.errors(include_url=False):
        loc = _clean_loc(err["loc"])
        kind = err["type"]
        if kind == "extra_forbidden":
            allowed = _allowed_keys(model, loc[:-1])
            hint = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
            msg = f"unknown key; did you mean {hint[0]!r}?" if hint else "unknown key"
            msg += f" (valid keys: {', '.join(allowed)})" if allowed else ""
        elif kind == "literal_error":
            msg = f"expected one of {err['ctx']['expected']}"
        elif kind == "value_error":
            msg = str(err["ctx"]["error"])
        else:
            msg = _MESSAGES.get(kind, err["msg"][0].lower() + err["msg"][1:])
            if kind.endswith("_type") and err.get("input", "") is None:
                msg += " (got null: in YAML, ~ or nothing after the colon is null)"
        grouped.setdefault((*prefix, *loc), [])
        if msg not in grouped[(*prefix, *loc)]:
            grouped[(*prefix, *loc)].append(msg)
    for loc, msgs in grouped.items():
        at(loc, " or ".join(msgs))


def _clean_loc(loc: tuple) -> Path_:
    """Drop the type names pydantic adds inside unions (``literal['a']``, ``list[str]``)."""
    out: list[str | int] = []
    for part in loc:
        if isinstance(part, str) and ("[" in part or part.startswith("function-")):
            break
        out.append(part)
    return tuple(out)


def _allowed_keys(model: Any, loc: Path_) -> list[str]:
    """Field names of the model found by following ``loc`` from ``model``."""
    current: Any = model
    for part in loc:
        current = _unwrap(current, part)
        if current is None:
            return []
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def _unwrap(tp: Any, part: str | int) -> Any:
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        field = tp.model_fields.get(str(part))
        return field.annotation if field else None
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        for arg in args:
            found = _unwrap(arg, part)
            if found is not None:
                return found
        return None
    if origin is list and isinstance(part, int):
        return args[0]
    if origin is dict:
        return args[1]
    return None


def _semantic_checks(recipe: Recipe, calls: list[StepCall], at: Any) -> None:
    cols = recipe.columns
    for column, roles in cols.roles().items():
        if len(roles) > 1:
            at(
                ("columns", roles[1]),
                f"column {column!r} is declared as both {roles[0]} and "
                f"{roles[1]}; give each column one role",
            )
        if column.startswith(INTERNAL_PREFIX):
            at(("columns",), f"column {column!r}: names may not start with {INTERNAL_PREFIX}")
    for call in calls:
        for field, message in call.params.recipe_problems(cols):
            where = parse_path(field) if field else ()
            at(("steps", call.index, call.spec.name, *where), message)
        changes = call.params.declare(cols).published()
        if changes and call.params.wording is None:
            at(
                ("steps", call.index, call.spec.name),
                undescribed(call.spec.name, changes),
                code="undescribed_step",
            )
    if recipe.risk is not None and not cols.key_variables:
        at(("risk",), "risk targets need columns.key_variables")
    _model_checks(recipe, at)
    suda2 = recipe.risk is not None and recipe.risk.suda2_fraction() is not None
    if suda2 and len(cols.key_variables) > SUDA2_MAX_KEYS:
        at(
            ("risk",),
            f"SUDA2 targets serve at most {SUDA2_MAX_KEYS} key variables "
            f"({len(cols.key_variables)} declared)",
            code="suda2_limit",
        )
    _reference_checks(recipe, calls, at)
    for where, message in recipe.series.problems(recipe) if recipe.series else []:
        at(where, message)


def _model_checks(recipe: Recipe, at: Any) -> None:
    """A model-based risk needs the weights and key variables in its terms.

    Population uniques need a sampling fraction or the weights.
    """
    people = recipe.risk.population if recipe.risk is not None else None
    if people is not None and people.sampling_fraction is None and not recipe.columns.weight:
        at(("risk", "population"), "needs sampling_fraction, or the weights (columns.weight)")
    model = recipe.risk.model if recipe.risk is not None else None
    if model is None:
        return
    if recipe.columns.weight is None:
        at(("risk", "model"), "model-based risk needs the sampling weights (columns.weight)")
    try:
        parse_terms(model.terms, list(recipe.columns.key_variables))
    except RecipeError as exc:
        for problem in exc.problems:
            at(("risk", "model", "terms"), problem.message)


def _reference_checks(recipe: Recipe, calls: list[StepCall], at: Any) -> None:
    """Checks over every mention of a column (``column_refs``).

    A deleted column is named only in ``columns:`` (two roles are reported there) and as the
    series' person; a sensitive column or a numeric utility column is not a key variable.
    """
    refs = column_refs(recipe, calls)
    deleted = set(recipe.columns.removed())
    removed = {r.column: r.role for r in refs if r.deletes and r.column in deleted}
    keys = set(recipe.columns.key_variables)
    for ref in refs:
        if ref.path[0] not in ("columns", "series") and ref.column in removed:
            at(
                ref.path,
                f"column {ref.column!r} is deleted before the steps run "
                f"(columns.{removed[ref.column]})",
                code="uses_identifier",
            )
        elif ref.column in keys and ref.role == "sensitive":
            at(ref.path, f"{ref.column!r} is a key variable")
        elif ref.column in keys and ref.role == "utility" and ref.numeric:
            at(ref.path, f"{ref.column!r} is a key variable (measured as categories)")
