"""Load a tabulation recipe with every problem reported at once, each with file:line."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from pipeline.errors import RecipeError
from pipeline.recipe.loader import collect_errors, read_yaml, reporter
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


def load_tabulation(path: str | Path) -> LoadedTabulation:
    """Read and validate a tabulation recipe.

    Raises:
        RecipeError: with every problem found (file:line key.path: message).

    """
    path = Path(path)
    raw, data, lines, problems = read_yaml(path)
    at = reporter(path, lines, problems)
    recipe = None
    if not isinstance(data, dict):
        at((), "a tabulation recipe is a mapping with version, kind, name, input, output, tables")
    elif "kind" not in data and ("steps" in data or "columns" in data):
        at((), "this is a microdata recipe (no kind: tabulation): run it with `anonymize run`")
    else:
        try:
            recipe = TabulationRecipe.model_validate(data, context={"base_dir": str(path.parent)})
        except ValidationError as exc:
            collect_errors(exc, (), TabulationRecipe, at)
    if problems or recipe is None:
        raise RecipeError(problems)
    return LoadedTabulation(path, hashlib.sha256(raw).hexdigest(), recipe)
