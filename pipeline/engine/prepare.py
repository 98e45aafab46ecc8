"""What a run will do, checked before anything runs: the effective recipe, the input's columns.

``check_columns`` lists every column the recipe names that the input lacks (with hints),
``numeric_columns`` the columns read as numbers, ``automatic_calls`` the identifier steps.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from pipeline.core.errors import InputDataError, Problem
from pipeline.io import csvtext, files
from pipeline.recipe.loader import LoadedRecipe, StepCall
from pipeline.recipe.models import INTERNAL_PREFIX, Recipe
from pipeline.recipe.refs import column_refs, first_mentions
from pipeline.recipe.refs import numeric_columns as refs_numeric
from pipeline.risk.frames import unflat
from pipeline.steps import STEPS
from pipeline.steps.identifiers import DropIdentifiersParams, LinkingIdsParams


@dataclass(frozen=True)
class RunOptions:
    """Command-line choices that are not part of the recipe."""

    input_path: str | None = None
    output_dir: str | None = None
    scheduler: str = "threads"
    partitions: int | None = None
    gate_report: str | None = None
    wait: float = 0.0
    previous: str | None = None  # the last release of the series (--previous)


def effective_recipe(loaded: LoadedRecipe, options: RunOptions) -> Recipe:
    """The recipe with ``--input`` / ``--output`` applied."""
    recipe = loaded.recipe
    if options.input_path:
        recipe = recipe.model_copy(
            update={
                "input": recipe.input.model_copy(
                    update={"path": options.input_path, "format": _format_of(options.input_path)}
                )
            }
        )
    if options.output_dir:
        recipe = recipe.model_copy(
            update={"output": recipe.output.model_copy(update={"dir": options.output_dir})}
        )
    return recipe


def _format_of(path: str) -> str | None:
    """The format an ``--input`` override implies: its extension (a folder: Parquet)."""
    return "parquet" if Path(path).is_dir() else None


def automatic_calls(loaded: LoadedRecipe) -> list[StepCall]:
    """The identifier steps derived from ``columns:`` (they run before the recipe's steps)."""
    cols = loaded.recipe.columns
    replaced = {c: s for c, s in cols.linking_ids.items() if s.method != "drop"}
    units = [c.params.by for c in loaded.steps if c.spec.name == "subsample"]
    units = sorted({c for c in units if c in replaced})
    where = f"{loaded.path} columns"
    return [
        StepCall(
            -1, STEPS["drop_identifiers"], DropIdentifiersParams(columns=cols.removed()), where
        ),
        StepCall(-1, STEPS["linking_ids"], LinkingIdsParams(ids=replaced, units=units), where),
    ]


def check_columns(loaded: LoadedRecipe, recipe: Recipe, header: list[str]) -> list[str]:
    """Check every column the recipe names is in the input; return the columns to read.

    Raises:
        InputDataError: listing every missing column and where the recipe names it.

    """
    present = set(header)
    split = csvtext.delimiter_hint(header, recipe.input.delimiter)
    if split:
        raise InputDataError([Problem(f"input {recipe.input.label}: {split}", code="delimiter")])
    named = first_mentions(column_refs(recipe, loaded.steps))
    problems, shown = csvtext.missing_columns(header, named, recipe.input.delimiter)
    if len(present) != len(header):
        problems.append(Problem("the input has duplicate column names", code="duplicate_column"))
    problems += csvtext.column_name_problems(header, INTERNAL_PREFIX)
    removed = set(recipe.columns.removed())
    if recipe.input.resolved_format() == "parquet":
        import pyarrow.parquet as pq

        kept = [c for c in header if c not in removed]
        schema = pq.read_schema(files.parquet_files(Path(recipe.input.path or ""))[0])
        for column, what in unflat(schema, kept):
            problems.append(
                Problem(
                    f"column {column!r} holds {what}: only columns of text, numbers, "
                    "true/false or dates can be anonymized",
                    code="nested_column",
                )
            )
    if problems:
        raise InputDataError(
            problems,
            title=f"input {recipe.input.label} does not fit the recipe "
            f"(columns found: {csvtext.columns_found(header, shown)})",
        )
    return [c for c in header if c not in removed]


def numeric_columns(loaded: LoadedRecipe, recipe: Recipe) -> list[str]:
    """Columns that must hold numbers: the recipe's numeric mentions and the contracts'.

    The recipe reads a column as numbers as a step's numeric column, the weight,
    ``input.numeric`` or ``utility.numeric`` (``column_refs``).
    """
    refs = refs_numeric(column_refs(recipe, loaded.steps))
    return list(dict.fromkeys([*refs, *contract_numeric(loaded)]))


def read_secrets(recipe: Recipe) -> dict[str, bytes]:
    """The keyed_hash keys from the environment (never written anywhere)."""
    return {
        column: os.environ[spec.key_env].encode()
        for column, spec in recipe.columns.linking_ids.items()
        if spec.method == "keyed_hash" and spec.key_env
    }


def contract_numeric(loaded: LoadedRecipe) -> list[str]:
    """Input-contract columns declared integer or number (read from CSV as numbers)."""
    contract = loaded.input_contract
    if contract is None:
        return []
    removed = set(loaded.recipe.columns.removed())
    return [
        p.name
        for p in contract.table.properties
        if p.logicalType in ("integer", "number") and p.name not in removed
    ]
