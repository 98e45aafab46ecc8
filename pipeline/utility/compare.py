"""Information loss between two aligned tables (``anonymize utility``, tests, notebooks).

The same aggregates as a run (``pipeline.utility.aggregate``), over a frame that holds each
record's values before (``original``) and after (``released``), row by row.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import dask
import dask.dataframe as dd
import pandas as pd

from pipeline.core.errors import InputDataError, Problem, RecipeError
from pipeline.utility.aggregate import UtilityPlan, before, collect, lazy_aggregates
from pipeline.utility.measures import utility, warnings
from pipeline.utility.model import Utility


def compare(
    original: pd.DataFrame,
    released: pd.DataFrame,
    plan: UtilityPlan,
    levels: Mapping[str, tuple[int, int]] | None = None,
    k: int = 1,
    rows_in: int | None = None,
    partitions: int = 1,
    warn_share: float = 0.25,
) -> Utility:
    """The figures of ``released`` against ``original`` (same records, in the same order).

    ``rows_in``: records of the original file when some were not released (default: as many
    as released). ``levels``: (level, height) of the generalized columns.
    """
    if len(original) != len(released):
        raise ValueError("the two tables must hold the same records in the same order")
    frame = released[plan.columns].reset_index(drop=True)
    for column in plan.columns:
        frame[before(column)] = original[column].reset_index(drop=True)
    lazy = lazy_aggregates(dd.from_pandas(frame, npartitions=max(1, partitions)), plan)
    found = utility(plan, collect(plan, dask.compute(*lazy)), levels or {}, k, rows_in)
    return found.model_copy(update={"warnings": warnings(found, warn_share)})


def nullable(arrow_type: object) -> object:
    """The pandas string dtype for Arrow strings (so missing text stays missing)."""
    import pandas as pd
    import pyarrow as pa

    if arrow_type == pa.string() or arrow_type == pa.large_string():
        return pd.StringDtype()
    return None


def align(original, released, by: str | None):  # noqa: ANN001, ANN201 - pandas frames
    """The original records in the released file's order (counts only in errors).

    By position when ``by`` is None (both must hold as many records), else through ``by``, a
    column identifying the records in both.

    Raises:
        InputDataError: the files differ in records, or ``by`` cannot identify them.
    """
    if by is None:
        if len(original) != len(released):
            raise InputDataError(
                [
                    Problem(
                        f"the files hold {len(original)} and {len(released)} records: name a "
                        "column identifying the records in both with --by",
                        code="records_differ",
                    )
                ]
            )
        return original, released
    for name, frame in (("original", original), ("released", released)):
        if frame[by].isna().any() or frame[by].duplicated().any():
            raise InputDataError(
                [
                    Problem(
                        f"column {by!r} of the {name} file is missing or repeated in some records: "
                        "it cannot identify them",
                        code="by_not_unique",
                    )
                ]
            )
    position = original.reset_index(drop=True).reset_index().set_index(by)["index"]
    found = released[by].map(position)
    if found.isna().any():
        raise InputDataError(
            [
                Problem(
                    f"{int(found.isna().sum())} released record(s) are not in the original file",
                    code="records_differ",
                )
            ]
        )
    return original.iloc[found.to_numpy(dtype="int64")].reset_index(drop=True), released


def checked_levels(
    levels: Mapping[str, tuple[int, int]], categorical: Sequence[str]
) -> dict[str, tuple[int, int]]:
    """``levels`` when each is ``0 <= level <= height`` (height >= 1) of a categorical column.

    Raises:
        RecipeError: (a usage error, exit 2) naming the option and the column.
    """
    problems = []
    for column, (level, height) in levels.items():
        if column not in categorical:
            problems.append(
                f"--levels: {column!r} is not a key variable (--key-vars), a table "
                "column (--tables) or a randomised one (--randomized)"
            )
        elif not (height >= 1 and 0 <= level <= height):
            problems.append(
                f"--levels {column}={level}/{height}: a generalization level runs "
                "from 0 (as collected) to its height, which is at least 1"
            )
    if problems:
        raise RecipeError([Problem(p, code="bad_option") for p in problems], title="usage error")
    return dict(levels)


def numbers_only(tables: Mapping[str, Any], options: Mapping[str, Sequence[str]]) -> None:
    """Refuse a column given as numeric whose values are not all numbers in a file.

    ``tables`` are the files' Arrow tables by name (original, released); ``options`` the
    numeric columns by option (``--numeric``, ``--perturbed``).

    Raises:
        InputDataError: (exit 3) naming the option, the column, the file and its type.
    """
    problems = []
    for option, names in options.items():
        for name in dict.fromkeys(names):
            for which, table in tables.items():
                kind = _not_numbers(table.column(name))
                if kind is not None:
                    problems.append(
                        Problem(
                            f"{option}: column {name!r} of the {which} file holds {kind}, not "
                            "numbers",
                            code="not_numeric",
                        )
                    )
                    break
    if problems:
        raise InputDataError(problems)


def _not_numbers(column: Any) -> str | None:
    """What an Arrow column holds when it is not numbers (None: numbers or nothing)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    kind = column.type
    if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        return None
    if pa.types.is_null(kind):
        return None
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        try:  # a column also read as categories is text: its values must all be numbers
            pc.cast(column, pa.float64())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return "text"
        return None
    return f"{kind} values"
