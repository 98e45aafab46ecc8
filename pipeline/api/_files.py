"""``utility`` and ``scan``: what ``anonymize utility`` and ``anonymize scan`` measure."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.api._guard import Data, column_names, guarded
from pipeline.core.errors import Problem, RecipeError

if TYPE_CHECKING:
    from pipeline.scan.scanner import Finding
    from pipeline.utility.model import Utility


@guarded
def utility(
    original: Data,
    released: Data,
    key_vars: Sequence[str],
    *,
    numeric: Sequence[str] = (),
    tables: Sequence[tuple[str, str]] = (),
    perturbed: Sequence[str] = (),
    randomized: Sequence[str] = (),
    by: str | None = None,
    levels: dict[str, tuple[int, int]] | None = None,
    k: int = 3,
    encoding: str = "utf-8",
    delimiter: str = ",",
    model: str | None = None,
    features: Sequence[str] | None = None,
    formula: str | None = None,
    seed: int = 0,
) -> Utility:
    """What the protection cost between two files, as ``anonymize utility``.

    Records are matched by position, or through ``by``, a column identifying them in both.
    ``levels`` gives generalized columns' (level, height); ``perturbed`` numeric and
    ``randomized`` categorical variables get the perturbation figures. The result is the
    pydantic model of a manifest's ``utility`` (``.model_dump()`` for a dict). ``model`` (a
    target column; ``features`` default to the key and numeric variables) and ``formula``
    (``"y ~ a + b"``) add what the protection cost an analyst (``analysis``: classifiers'
    accuracy and regression intervals' overlap, seeded by ``seed``).

    Raises:
        RecipeError: no key variable, a table that is not two columns, a bad level.
        InputDataError: missing files or columns, records that do not match, a ``numeric``
            or ``perturbed`` column that does not hold numbers.
    """
    from pipeline.risk.table import table_of
    from pipeline.utility.aggregate import UtilityPlan
    from pipeline.utility.analysis import analyse, analysis_columns
    from pipeline.utility.compare import align, checked_levels, compare, nullable, numbers_only

    keys = column_names(key_vars, "key_vars")
    pairs = [tuple(t) for t in tables]
    if any(len(t) != 2 for t in pairs):
        raise RecipeError([Problem("each table names two columns")], title="usage error")
    categorical = list(dict.fromkeys([*keys, *(c for t in pairs for c in t), *randomized]))
    levels = checked_levels(levels or {}, categorical)
    numbers = list(dict.fromkeys([*numeric, *perturbed]))
    plan = UtilityPlan(
        tuple(keys),
        tuple(categorical),
        tuple(numbers),
        tuple(pairs),  # type: ignore[arg-type]
        tuple(perturbed),
        tuple(randomized),
    )
    extra = analysis_columns(keys, numbers, model, features, formula)
    wanted = list(dict.fromkeys([*plan.columns, *extra.columns, *([by] if by else [])]))
    text = [*categorical, *extra.text, *([by] if by else [])]
    read = [table_of(d, wanted, text, encoding, delimiter) for d in (original, released)]
    numbers_only(
        dict(zip(("original", "released"), read, strict=True)),
        {"--numeric": numeric, "--perturbed": perturbed, "the formula's response": extra.numbers},
    )
    frames = [t.to_pandas(types_mapper=nullable) for t in read]
    before, after = align(*frames, by)
    found = compare(before, after, plan, levels, k, len(frames[0]))
    if model is None and formula is None:
        return found
    figures = analyse(before, after, model, extra.features, formula, seed)
    return found.model_copy(update={"analysis": figures})


@guarded
def scan(
    data: Data,
    *,
    columns: Sequence[str] | None = None,
    sample: int | None = None,
    seed: int = 0,
    min_confidence: float = 0.5,
    encoding: str = "utf-8",
    delimiter: str = ",",
) -> list[Finding]:
    """Identifiers in a file's columns, as ``anonymize scan`` (findings, never a value).

    Args:
        data: A CSV or Parquet path, a pandas DataFrame or a pyarrow Table.
        columns: The columns to scan (default: every column).
        sample: Scan a seeded random sample of this many rows (default: every row).
        seed: The sample's seed.
        min_confidence: Report findings at or above this confidence.
        encoding: Of a CSV file.
        delimiter: Of a CSV file.

    Returns:
        One finding per column and kind of identifier (pydantic models: column, kind,
        category, matches, rows checked, confidence, evidence without values).
    """
    from pipeline.risk.table import read_table, table_of
    from pipeline.scan.scanner import scan_table

    if not 0 <= min_confidence <= 1 or (sample is not None and sample < 1):
        raise RecipeError(
            [Problem("min_confidence must be in [0, 1] and sample >= 1")], title="usage error"
        )
    names = column_names(columns, "columns") if columns is not None else None
    if isinstance(data, (str, Path)):
        table = read_table(Path(data), encoding, delimiter, names)
    else:
        every = list(data.columns) if hasattr(data, "columns") else data.column_names
        wanted = names or [str(c) for c in every]
        table = table_of(data, wanted, wanted, encoding, delimiter)
    findings, _ = scan_table(table, None, sample, seed, min_confidence)
    return findings
