"""``run`` and ``tabulate``: a recipe run as the commands run it."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.api._guard import guarded

if TYPE_CHECKING:
    from pipeline.engine.phases import RunResult
    from pipeline.jobs import TabulationResult


@guarded
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


@guarded
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
