"""What ``anonymize run``, ``tabulate`` and ``validate`` do once typer has parsed their options.

Both are thin layers over ``pipeline.jobs`` (what ``pipeline.api.run`` and
``pipeline.api.tabulate`` call too); errors are raised, and ``pipeline.cli.app`` turns them into a
message and an exit code.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from pipeline.core.errors import Problem, RecipeError

if TYPE_CHECKING:
    from pipeline.engine.progress import Reporter


def usage(*problems: str) -> RecipeError:
    """A usage error (exit 2) listing ``problems``."""
    return RecipeError([Problem(p, code="usage") for p in problems], title="usage error")


def non_empty(**options: str | None) -> None:
    """Refuse options given as empty text (``--output ""`` would silently mean the default)."""
    empty = [name for name, value in options.items() if value is not None and not value.strip()]
    if empty:
        raise usage(*(f"--{name.replace('_', '-')} is empty" for name in empty))


def start_early(recipe: Path) -> None:
    """Start GX's worker now if the recipe names a data contract (a hint: it is loaded later).

    Its 4 s of imports then overlap the run's own imports and the loading of the recipe
    instead of starting after them.
    """
    from pipeline.recipe.peek import declares_contracts

    if declares_contracts(recipe):
        from pipeline.gate.gx_worker import warm_up

        warm_up()


def run(
    recipe: Path,
    *,
    input: str | None,  # noqa: A002 - the command's option name
    output: str | None,
    scheduler: str,
    partitions: int | None,
    wait: float,
    gate_only: str | None,
    gate_report: str | None,
    package: str | None,
    previous: str | None,
    reporter: Reporter,
) -> None:
    """``anonymize run``: publish (and package), or re-validate with ``--gate-only``."""
    from pipeline.engine.prepare import RunOptions
    from pipeline.jobs import run_source

    non_empty(
        input=input,
        output=output,
        gate_report=gate_report,
        package=package,
        previous=previous,
        gate_only=gate_only,
    )
    if gate_only is not None:
        if package is not None:
            raise usage("--package writes a run's recipient package: --gate-only runs nothing")
        if previous is not None:
            raise usage(
                "--previous runs a release of a series: --gate-only checks one (its "
                "series state is in it)"
            )
        _gate_only(recipe, scheduler, gate_only, gate_report, output, reporter)
        return
    options = RunOptions(input, output, scheduler, partitions, gate_report, wait, previous)
    run_source(recipe, options, reporter, package)


def _gate_only(
    recipe_path: Path,
    scheduler: str,
    audited: str,
    report_path: str | None,
    output: str | None,
    reporter: Reporter,
) -> None:
    from pipeline.core.errors import EXIT_GATE
    from pipeline.engine.audit import gate_only
    from pipeline.engine.prepare import RunOptions, effective_recipe
    from pipeline.engine.publish import check_paths
    from pipeline.engine.schedulers import check_scheduler
    from pipeline.gate.judge import write_gate_report
    from pipeline.gate.stages import summary_lines
    from pipeline.io import remote
    from pipeline.io.urls import shown_url
    from pipeline.jobs import check_paths_given
    from pipeline.recipe.loader import load_recipe

    check_paths_given(gate_only=audited, output=output, gate_report=report_path)
    check_scheduler(scheduler)
    loaded = load_recipe(recipe_path)
    with contextlib.ExitStack() as stack:
        out_dir, shown = Path(audited), audited
        if remote.is_remote(audited):  # a private copy of every object under the prefix
            out_dir, shown = stack.enter_context(remote.fetched(audited)), shown_url(audited)
        if report_path:  # before anything runs; never into the audited output
            check_paths(out_dir, [], Path(report_path))
        recipe = effective_recipe(loaded, RunOptions(output_dir=output or str(out_dir)))
        report = gate_only(loaded, recipe, out_dir)
    verdict = "valid" if report.passed else "INVALID"
    lines = [f"{shown}: {verdict} against {loaded.path}", *summary_lines(report)]
    if reporter.json:  # the verdict is the command's answer: printed also when quiet
        reporter.run_id = report.run_id
        reporter.record("verdict", "\n".join(lines), passed=report.passed, output=shown)
    else:
        typer.echo("\n".join(lines))
    if report_path:
        write_gate_report(Path(report_path), report)
    if not report.passed:
        raise typer.Exit(EXIT_GATE)


def tabulate(
    recipe: Path,
    *,
    input: str | None,  # noqa: A002 - the command's option name
    output: str | None,
    scheduler: str,
    gate_report: str | None,
    wait: float,
    package: str | None,
    reporter: Reporter,
) -> None:
    """``anonymize tabulate``: publish the protected tables (and package them)."""
    from pipeline.engine.prepare import RunOptions
    from pipeline.jobs import tabulate_source

    non_empty(input=input, output=output, gate_report=gate_report, package=package)
    options = RunOptions(input, output, scheduler, None, gate_report, wait)
    tabulate_source(recipe, options, reporter, package)


def validate(recipe: Path, input: str | None, no_input: bool) -> str:  # noqa: A002
    """``anonymize validate``: check a recipe (and the input's columns); return the verdict."""
    from pipeline.engine.inputs import input_columns
    from pipeline.engine.prepare import RunOptions, check_columns, effective_recipe
    from pipeline.jobs import check_paths_given
    from pipeline.recipe.loader import load_recipe
    from pipeline.recipe.source import read_yaml
    from pipeline.report.notice import missing_release

    non_empty(input=input)
    check_paths_given(input=input)
    _, data, _, _ = read_yaml(recipe)
    if isinstance(data, dict) and data.get("kind") == "tabulation":
        from pipeline.tabulate.inputs import check_input
        from pipeline.tabulate.load import load_tabulation

        tabulation = load_tabulation(recipe)
        if not no_input:
            check_input(tabulation, input_columns(tabulation.recipe.input))
        return f"{recipe}: valid tabulation ({len(tabulation.recipe.tables)} tables)"
    loaded = load_recipe(recipe)
    verdict = f"{recipe}: valid ({len(loaded.steps)} steps)"
    published: list[str] = []
    if not no_input:
        effective = effective_recipe(loaded, RunOptions(input_path=input))
        kept = check_columns(loaded, effective, input_columns(effective.input))
        published = [c for c in kept if c not in set(loaded.recipe.columns.removed())]
    if missing := missing_release(loaded.recipe, published):
        verdict += f"\nthe public notice will lack (recipe release:): {missing}"
    return verdict
