"""A recipe (a file or a mapping) run or tabulated, then its recipient package written.

What ``anonymize run`` / ``anonymize tabulate`` and ``pipeline.api.run`` /
``pipeline.api.tabulate`` share. A package folder is checked before anything runs (a folder
this tool may not replace stops the run at once, exit 2) and written only after a publication
whose gate passed (``pipeline.engine.package``).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.core.errors import Problem, RecipeError
from pipeline.engine.prepare import RunOptions, effective_recipe
from pipeline.engine.progress import Reporter
from pipeline.engine.schedulers import check_scheduler
from pipeline.io.owned import tool_json
from pipeline.io.remote import is_remote
from pipeline.recipe.loader import load_recipe
from pipeline.recipe.source import home_path_problem

if TYPE_CHECKING:  # a microdata run never imports the tabulation code
    import pandas as pd

    from pipeline.engine.phases import RunResult
    from pipeline.tabulate.load import LoadedTabulation
    from pipeline.tabulate.phases import TabulationManifest

Source = str | Path | Mapping[str, Any]


@dataclass(frozen=True)
class TabulationResult:
    """A published tabulation.

    Attributes:
        out_dir: The published folder.
        manifest: Its manifest (a pydantic model: tables, cells hidden, gate verdict).
        tables: The protected tables as published, keyed by table name in the recipe's order:
            one row per cell and margin (``Total``), ``value`` and ``status`` (``X``: hidden,
            no value).
        package: The recipient package folder, when one was written.
    """

    out_dir: Path
    manifest: TabulationManifest
    tables: dict[str, pd.DataFrame]
    package: Path | None = None


def _package_path(package: str | Path | None) -> Path | None:
    if package is not None and not str(package).strip():
        raise RecipeError([Problem("--package is empty", code="usage")], title="usage error")
    return None if package is None else Path(package)


def check_paths_given(**paths: Any) -> None:
    """Paths given as options (``input=``, ``--output``...): file paths, none starting with ``~``.

    Raises:
        RecipeError: every such option that is not text or a path (a DataFrame, say: a run
            reads files), or that starts with ``~`` (never expanded; see
            ``pipeline.recipe.source.home_path_problem``).
    """
    problems = []
    for name, value in paths.items():
        flag = f"{name} (--{name.replace('_', '-')})"
        if value is None:
            continue
        if not isinstance(value, (str, os.PathLike)):
            hint = ": a run reads files (write the data to Parquet first)" * (name == "input")
            problems.append(
                Problem(
                    f"{flag} must be a file path, got {type(value).__name__}{hint}", code="usage"
                )
            )
        elif problem := home_path_problem(os.fspath(value)):
            problems.append(Problem(f"{flag}: {problem}", code="usage"))
    if problems:
        raise RecipeError(problems, title="usage error")


def run_source(
    source: Source, options: RunOptions, reporter: Reporter, package: str | Path | None = None
) -> RunResult:
    """Load and run a microdata recipe; with ``package``, write the recipient package after.

    Raises:
        RecipeError: the recipe, an option or the package folder is wrong (exit 2).
        InputDataError, GateError, OutputBusyError: as ``run_recipe`` (nothing packaged).
    """
    check_paths_given(
        input=options.input_path,
        output=options.output_dir,
        gate_report=options.gate_report,
        package=package,
        previous=options.previous,
    )
    from pipeline.engine.package import check_package_path, write_package  # a run's only

    target = _package_path(package)
    check_scheduler(options.scheduler)
    loaded = load_recipe(source)
    recipe = effective_recipe(loaded, options)
    if target is not None:
        if is_remote(recipe.output.dir):
            raise RecipeError(
                [Problem("--package: an output in object storage is not packaged yet", "usage")],
                title="usage error",
            )
        local = [Path(p) for p in [recipe.input.path] if p is not None and not is_remote(p)]
        check_package_path(target, Path(recipe.output.dir), local)
    from pipeline.engine.phases import run_recipe  # here: checking a recipe needs no engine

    result = run_recipe(loaded, options, reporter)
    if target is None:
        return result
    write_package(result.out_dir, target, result.manifest.run_id, options.wait)
    reporter.line(f"recipient package (data, notice, contents.json) written to {target}")
    return dataclasses.replace(result, package=target)


def tabulate_source(
    source: Source,
    options: RunOptions,
    reporter: Reporter,
    package: str | Path | None = None,
) -> TabulationResult:
    """Load and run a tabulation recipe; with ``package``, write the recipient package after.

    ``options`` gives the input and output overrides, the scheduler, the gate report's path
    and the lock wait (``partitions`` is not used).

    Raises:
        RecipeError, InputDataError, GateError, OutputBusyError: as ``anonymize tabulate``.
    """
    from pipeline.engine.package import check_package_path, write_package
    from pipeline.tabulate.load import load_tabulation
    from pipeline.tabulate.phases import run_tabulation

    check_paths_given(
        input=options.input_path,
        output=options.output_dir,
        gate_report=options.gate_report,
        package=package,
    )
    target = _package_path(package)
    check_scheduler(options.scheduler)
    loaded = _with_input(load_tabulation(source), options.input_path)
    recipe = loaded.recipe
    out_dir = Path(options.output_dir or recipe.output.dir)
    if target is not None:
        check_package_path(target, out_dir, [Path(recipe.input.path)])
    manifest = run_tabulation(
        loaded, options.output_dir, options.scheduler, reporter, options.gate_report, options.wait
    )
    tables = _published_tables(out_dir, manifest, options.wait)
    if target is not None:
        write_package(out_dir, target, manifest.run_id, options.wait)
        reporter.line(f"recipient package (tables, contents.json) written to {target}")
    return TabulationResult(out_dir, manifest, tables, target)


def _with_input(loaded: LoadedTabulation, input_path: str | None) -> LoadedTabulation:
    """The tabulation with ``--input`` applied (format from the extension; a folder: Parquet)."""
    if not input_path:
        return loaded
    kind = "parquet" if Path(input_path).is_dir() else None
    spec = loaded.recipe.input.model_copy(update={"path": input_path, "format": kind})
    return dataclasses.replace(loaded, recipe=loaded.recipe.model_copy(update={"input": spec}))


def _published_tables(
    out_dir: Path, manifest: TabulationManifest, wait: float
) -> dict[str, pd.DataFrame]:
    """The tables as published, read back under the output's lock (this run's, or an error)."""
    import pandas as pd

    from pipeline.engine.publish import MANIFEST, OutputLock

    with OutputLock(out_dir.absolute(), wait):
        if (tool_json(out_dir / MANIFEST) or {}).get("run_id") != manifest.run_id:
            replaced = f"output {out_dir} was replaced by another run before its tables were read"
            raise RecipeError([Problem(replaced, code="output_replaced")])
        tables = {}
        for record in manifest.tables:
            parquet = [f for f in record.files if f.endswith(".parquet")]
            if parquet:
                tables[record.name] = pd.read_parquet(out_dir / parquet[0])
            else:  # text as written (codes keep their leading zeros), values as numbers
                csv = next(f for f in record.files if f.endswith(".csv"))
                frame = pd.read_csv(
                    out_dir / csv, dtype="string", keep_default_na=False, na_values=[""]
                )
                tables[record.name] = frame.assign(value=pd.to_numeric(frame["value"]))
    return tables
