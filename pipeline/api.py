"""The Python API: what the commands do, for notebooks and scripts.

Every function here is what an ``anonymize`` command does, with Python values in and out:
``run`` is ``anonymize run``, ``tabulate`` is ``anonymize tabulate``, ``risk`` is
``anonymize risk``, ``scan`` is ``anonymize scan``, ``utility`` is ``anonymize utility``;
``apply_step`` applies one step to a DataFrame, as a run would (to try a step in a notebook).
A recipe may be a file or a mapping (a dict). Data may be a file path (CSV or Parquet), a
pandas DataFrame or a pyarrow Table. Errors are the commands' own, raised as typed exceptions
carrying their problems (``RecipeError``: exit 2, ``InputDataError``: exit 3, ``GateError``: exit 4,
``OutputBusyError``: exit 6), and an unexpected error is raised as :class:`UnexpectedError` naming
its type and place only: a library's message may quote data values and is never passed on.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from pipeline.core.errors import AnonymizeError, Problem, RecipeError, where_raised

if TYPE_CHECKING:
    import pandas as pd

    from pipeline.engine.phases import RunResult
    from pipeline.engine.single import StepResult
    from pipeline.jobs import TabulationResult
    from pipeline.scan.scanner import Finding
    from pipeline.utility.model import Utility

Data = Any  # a path (str or Path), a pandas DataFrame or a pyarrow Table
T = TypeVar("T")


class UnexpectedError(AnonymizeError):
    """A bug: its type and place in the code, never the library's message (exit 1)."""

    default_title = "unexpected error"


def _guarded(func: Callable[..., T]) -> Callable[..., T]:
    """Let the tool's errors through; replace any other by :class:`UnexpectedError`."""

    @functools.wraps(func)
    def call(*args: Any, **kwargs: Any) -> T:
        try:
            return func(*args, **kwargs)
        except AnonymizeError:
            raise
        except Exception as exc:  # noqa: BLE001 - library messages may quote data values
            what = f"{type(exc).__name__} at {where_raised(exc)} (the message is withheld)"
            raise UnexpectedError([Problem(what, code="unexpected")]) from None

    return call


@dataclass(frozen=True)
class RiskResult:
    """Disclosure risk of a file over its key variables.

    Attributes:
        summary: The figures of ``anonymize risk --format json`` (a JSON-ready dict).
        records: One row per record, in input order: ``fk`` (sample frequency of its key
            combination), ``Fk`` (weighted frequency), ``rk`` (individual risk).
    """

    summary: dict
    records: pd.DataFrame


@_guarded
def run(
    recipe: str | Path | Mapping[str, Any],
    *,
    input: str | None = None,  # noqa: A002 - the command's option name
    output: str | None = None,
    scheduler: str = "threads",
    partitions: int | None = None,
    wait: float = 0.0,
    quiet: bool = True,
    gate_report: str | None = None,
    package: str | Path | None = None,
    previous: str | None = None,
) -> RunResult:
    """Run a recipe as ``anonymize run`` does: publish its output or raise.

    Args:
        recipe: The recipe file, or the recipe as a mapping (a dict, e.g. ``yaml.safe_load``
            of a file, edited). A mapping is validated exactly as the same YAML file would be,
            every problem at once, located by key path (``<dict> steps[0].top_code.above:``);
            its relative paths (input, output, hierarchy and contract files) are resolved
            against the current directory. In a file, hierarchy and contract files are relative
            to the file's folder, input and output to the current directory.
        input: Another input file (``--input``).
        output: Another output folder (``--output``).
        scheduler: ``threads``, ``processes``, ``local`` or ``tcp://HOST:PORT``.
        partitions: Split the input into this many partitions (tuning only).
        wait: Seconds to wait for another run's lock on the output.
        quiet: No progress lines on standard error.
        gate_report: Where to write the gate report when the gate blocks (``--gate-report``).
        package: Also write the recipient package there (``--package``): the published data,
            ``public_notice.md`` and ``contents.json``; never the manifest or reports.
        previous: The last release of the recipe's release series (``--previous``).

    Returns:
        The published folder, its manifest (``result.manifest``, a pydantic model) and the
        package folder (``result.package``, or None).

    Raises:
        RecipeError: the recipe is wrong (every problem, with file:line), or the package folder
            is not this tool's to replace (checked before the run).
        InputDataError: the input is missing, unreadable or breaks its contract.
        GateError: the data-quality gate blocked publication (nothing published or packaged).
        OutputBusyError: another run holds the output's lock.
    """
    from pipeline.engine.prepare import RunOptions
    from pipeline.engine.progress import Reporter
    from pipeline.jobs import run_source

    options = RunOptions(input, output, scheduler, partitions, gate_report, wait, previous)
    return run_source(recipe, options, Reporter(quiet=quiet), package)


@_guarded
def tabulate(
    recipe: str | Path | Mapping[str, Any],
    *,
    input: str | None = None,  # noqa: A002 - the command's option name
    output: str | None = None,
    scheduler: str = "threads",
    wait: float = 0.0,
    quiet: bool = True,
    gate_report: str | None = None,
    package: str | Path | None = None,
) -> TabulationResult:
    """Compute, protect and publish a tabulation recipe's tables, as ``anonymize tabulate``.

    Args:
        recipe: A ``kind: tabulation`` recipe file or mapping (validated and resolved as in
            :func:`run`).
        input: Another input file.
        output: Another output folder.
        scheduler: ``threads``, ``processes``, ``local`` or ``tcp://HOST:PORT``.
        wait: Seconds to wait for another run's lock on the output.
        quiet: No progress lines on standard error.
        gate_report: Where to write the gate report when the gate blocks.
        package: Also write the recipient package there: ``tables/`` and ``contents.json``.

    Returns:
        The published folder, its manifest and ``tables``: each protected table as published
        (a pandas DataFrame keyed by table name; hidden cells have status ``X`` and no value).

    Raises:
        RecipeError: the recipe is wrong, or the package folder is not this tool's.
        InputDataError: the input is missing or lacks a column, values are not numbers.
        GateError: a table cannot be protected or the check failed (nothing published).
        OutputBusyError: another run holds the output's lock.
    """
    from pipeline.engine.prepare import RunOptions
    from pipeline.engine.progress import Reporter
    from pipeline.jobs import tabulate_source

    options = RunOptions(input, output, scheduler, None, gate_report, wait)
    return tabulate_source(recipe, options, Reporter(quiet=quiet), package)


@_guarded
def risk(
    data: Data,
    key_vars: Sequence[str],
    *,
    weight: str | None = None,
    k: int = 3,
    household: str | None = None,
    missing: Literal["any", "category"] = "any",
    encoding: str = "utf-8",
    delimiter: str = ",",
    model: str | bool | None = None,
    bound: float | None = None,
    sampling_fraction: float | None = None,
) -> RiskResult:
    """Disclosure risk over ``key_vars``, as ``anonymize risk`` (sdcMicro's ``measure_risk``).

    Args:
        data: A CSV or Parquet path, a pandas DataFrame or a pyarrow Table.
        key_vars: The key variables (read as categories).
        weight: The sampling weight column (numbers), if any.
        k: The k of k-anonymity.
        household: A household id column (adds household risk).
        missing: ``any``: a missing key value matches any value (sdcMicro); ``category``: it is
            a category of its own.
        encoding: Of a CSV file.
        delimiter: Of a CSV file.
        model: The model-based risk too (sdcMicro's modRisk; needs ``weight``): ``True`` for
            a log-linear model of main effects, or its interactions (``"a:b + c:d"``);
            ``summary["model_risk"]``.
        bound: The model risk leaves out combinations of more records.
        sampling_fraction: Estimate the population uniques too (ARX's Zayatz, Pitman, SNB and
            Dankar's rule; ``summary["population"]``), for a sample of this share.

    Raises:
        RecipeError: no key variable, k out of range, an unknown ``missing``, a model
            without weights or a bound that is not positive.
        InputDataError: a missing file or column, weights that are not numbers.
    """
    import pandas as pd

    from pipeline.risk import K_MAX
    from pipeline.risk.table import numeric_weights, risk_of_table, table_of

    keys = _names(key_vars, "key_vars")
    if not 1 <= k <= K_MAX or missing not in ("any", "category"):
        raise RecipeError(
            [Problem(f"k must be 1..{K_MAX} and missing any or category")], title="usage error"
        )
    text = [*keys, *([household] if household else [])]
    wanted = list(dict.fromkeys([*text, *([weight] if weight else [])]))
    extras = _risk_extras(weight, model, bound, sampling_fraction)
    table = table_of(data, wanted, text, encoding, delimiter)
    if weight:
        table = numeric_weights(table, weight)
    result, summary = risk_of_table(table, keys, k, weight, household, missing, extras)
    records = pd.DataFrame({"fk": result.fk, "Fk": result.Fk, "rk": result.rk})
    return RiskResult(summary, records)


def _risk_extras(
    weight: str | None, model: str | bool | None, bound: float | None, fraction: float | None
) -> Any:
    """The measures ``risk`` adds (model risk, population uniques); None: neither.

    Raises:
        RecipeError: a model without weights, a bound or a fraction out of range.
    """
    import math

    from pipeline.risk.extras import Extras

    wanted = model is not None and model is not False
    if (wanted and not weight) or (bound is not None and not bound > 0):
        raise RecipeError(
            [Problem("a model-based risk needs weight, and bound > 0")], title="usage error"
        )
    if fraction is not None and not 0 < fraction <= 1:
        raise RecipeError([Problem("sampling_fraction must be in (0, 1]")], title="usage error")
    if not wanted and fraction is None:
        return None
    terms = model if isinstance(model, str) else None
    return Extras(
        model=wanted,
        terms=terms,
        bound=bound or math.inf,
        population=fraction is not None,
        fraction=fraction,
    )


@_guarded
def suda2(
    data: Data,
    key_vars: Sequence[str],
    *,
    dis_fraction: float = 0.01,
    missing: Literal["any", "category", "unmatched"] = "any",
    encoding: str = "utf-8",
    delimiter: str = ",",
) -> pd.DataFrame:
    """SUDA2 special uniques over ``key_vars``, as ``anonymize risk --suda2`` (sdcMicro's suda2).

    Args:
        data: A CSV or Parquet path, a pandas DataFrame or a pyarrow Table.
        key_vars: The key variables (read as categories; at most 20).
        dis_fraction: The sampling fraction the DIS-SUDA score assumes, in (0, 1].
        missing: ``any``: a missing key value matches any value; ``category``: a value of its
            own; ``unmatched``: it matches nothing (sdcMicro's ``missing = -999``). Under
            ``any`` and ``unmatched`` a record's missing value is in none of its MSUs.
        encoding: Of a CSV file.
        delimiter: Of a CSV file.

    Returns:
        One row per record, in input order: ``score`` (SUDA), ``dis_score`` (DIS-SUDA) and,
        per key variable ``V``, ``V_contribution`` (the share of the record's score from the
        MSUs holding ``V``, as sdcMicro's ``contributionPercent``). ``attrs["summary"]`` holds
        the file's figures (``anonymize risk --suda2``'s ``suda2`` section).

    Raises:
        RecipeError: no key variable, a fraction outside (0, 1], an unknown ``missing``.
        InputDataError: a missing file or column; past SUDA2's limits (named, before any work).
    """
    from pipeline.risk.suda2 import MISSING, check_fraction, records_of_table

    keys = _names(key_vars, "key_vars")
    problems = check_fraction(dis_fraction)
    if missing not in MISSING:
        problems.append(f"missing must be one of {', '.join(MISSING)}")
    if problems:
        raise RecipeError([Problem(p) for p in problems], title="usage error")
    from pipeline.risk.table import table_of

    table = table_of(data, keys, keys, encoding, delimiter)
    return records_of_table(table, keys, float(dis_fraction), missing)


@_guarded
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

    keys = _names(key_vars, "key_vars")
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


@_guarded
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
    names = _names(columns, "columns") if columns is not None else None
    if isinstance(data, (str, Path)):
        table = read_table(Path(data), encoding, delimiter, names)
    else:
        every = list(data.columns) if hasattr(data, "columns") else data.column_names
        wanted = names or [str(c) for c in every]
        table = table_of(data, wanted, wanted, encoding, delimiter)
    findings, _ = scan_table(table, None, sample, seed, min_confidence)
    return findings


@_guarded
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


def _names(value: Sequence[str] | str, what: str) -> list[str]:
    """Column names from a list (or a comma-separated string)."""
    items = value.split(",") if isinstance(value, str) else list(value)
    names = [str(c).strip() for c in items if str(c).strip()]
    if not names:
        raise RecipeError([Problem(f"{what} names no column")], title="usage error")
    return names
