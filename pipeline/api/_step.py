"""``apply_step``: one step on a DataFrame, as a run applies it."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.api._guard import guarded
from pipeline.core.errors import Problem, RecipeError

if TYPE_CHECKING:
    import pandas as pd

    from pipeline.engine.single import StepResult


@guarded
def apply_step(
    frame: pd.DataFrame,
    step: str,
    params: Mapping[str, Any] | None = None,
    *,
    columns: Mapping[str, Any] | None = None,
    seed: int = 0,
    partitions: int = 1,
    base_dir: str | Path = ".",
    keep_engine_columns: bool = False,
) -> StepResult:
    """Apply one step to a DataFrame as a run applies it (for notebooks); nothing is written.

    Args:
        frame: The records (pandas). Columns a step reads as numbers are parsed as a run does.
        step: A step's name (``anonymize steps`` lists them), e.g. ``"local_suppression"``.
        params: Its parameters, as in a recipe (checked the same way).
        columns: The recipe's ``columns:`` (key variables, weight...), as a mapping.
        seed: The recipe's seed.
        partitions: How many dask partitions the frame is cut into (the result is the same).
        base_dir: Where hierarchy files named in ``params`` are looked for.
        keep_engine_columns: Keep the engine's own columns (``__anon_*``) in the result.

    Returns:
        The frame after the step (``.frame``) and its facts (``.facts``, as in the manifest).

    Raises:
        RecipeError: an unknown or automatic step, wrong parameters or ``columns``.
        InputDataError: a check the step leaves failed (e.g. a value outside a hierarchy).
    """
    import pandas as pd

    from pipeline.core.columns import ColumnsSpec
    from pipeline.engine.single import apply_step as apply_one
    from pipeline.steps import STEPS

    if not isinstance(frame, pd.DataFrame) or partitions < 1:
        raise RecipeError(
            [Problem("frame must be a pandas DataFrame and partitions >= 1")], title="usage error"
        )
    if step in STEPS and STEPS[step].automatic:
        raise RecipeError(
            [Problem(f"{step} runs automatically from columns: in a run")], title="usage error"
        )
    spec = ColumnsSpec.model_validate(dict(columns or {}))
    return apply_one(
        frame, step, params or {}, spec, seed, partitions, Path(base_dir), keep_engine_columns
    )
