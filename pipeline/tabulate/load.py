"""Load a tabulation recipe with every problem reported at once, each with file:line."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from pipeline.core.errors import RecipeError
from pipeline.recipe.loader import collect_errors
from pipeline.recipe.source import home_paths, read_source, reporter
from pipeline.tabulate.model import TabulationRecipe


@dataclass(frozen=True)
class LoadedTabulation:
    """A validated tabulation recipe and where it came from."""

    path: Path
    sha256: str
    recipe: TabulationRecipe

    @property
    def base_dir(self) -> Path:
        """Hierarchy files are resolved against the recipe's folder."""
        return self.path.parent


def load_tabulation(source: str | Path | Mapping[str, Any]) -> LoadedTabulation:
    """Read and validate a tabulation recipe file, or one given as a mapping (a dict).

    A mapping is validated as the same YAML file would be, its relative paths resolved
    against the current directory (see ``pipeline.recipe.source``).

    Raises:
        RecipeError: with every problem found (file:line key.path: message).

    """
    read = read_source(source)
    path, data, problems = read.path, read.data, read.problems
    at = reporter(path, read.lines, problems)
    recipe = None
    if not isinstance(data, dict):
        at((), "a tabulation recipe is a mapping with version, kind, name, input, output, tables")
    elif "kind" not in data and ("steps" in data or "columns" in data):
        at(
            (),
            "this is a microdata recipe (no kind: tabulation): run it with `anonymize run` "
            "(in Python: pipeline.api.run)",
        )
    else:
        try:
            recipe = TabulationRecipe.model_validate(data, context={"base_dir": str(path.parent)})
        except ValidationError as exc:
            collect_errors(exc, (), TabulationRecipe, at)
        if recipe is not None:
            paths = {("input", "path"): recipe.input.path, ("output", "dir"): recipe.output.dir}
            home_paths(paths, at)
    if problems or recipe is None:
        raise RecipeError(problems)
    return LoadedTabulation(path, read.sha256, recipe)
