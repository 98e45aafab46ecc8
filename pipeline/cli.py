"""The ``anonymize`` command line."""

from __future__ import annotations

import signal
import sys
import warnings
from pathlib import Path
from typing import Annotated

import typer

from pipeline.engine.memory import configure
from pipeline.errors import (
    EXIT_RECIPE,
    Problem,
    RecipeError,
    did_you_mean,
    quiet_library_logs,
    report_failure,
)

EXIT_CODES = """Exit codes: 0 published; 1 unexpected error (a bug); 2 recipe or usage error
(including refusing to overwrite what this tool did not write); 3 input problem (missing file,
missing column, unreadable encoding, bad or non-finite values); 4 blocked by the data-quality
gate; 5 identifiers found (scan --fail-on-findings); 6 the output is locked by another run."""
MAX_PARTITIONS = 100_000
MAX_WAIT = 7 * 24 * 3600

app = typer.Typer(
    help="Turn personal microdata into anonymized microdata files with YAML recipes.\n\n"
    + EXIT_CODES,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _fail(exc: BaseException, debug: bool) -> None:
    """Print the error (never a data value) and exit with its code."""
    code = report_failure(exc, debug, lambda text: typer.echo(text, err=True))
    raise typer.Exit(code)


def _usage(*problems: str) -> RecipeError:
    return RecipeError([Problem(p, code="usage") for p in problems], title="usage error")


def _non_empty(**options: str | None) -> None:
    """Refuse options given as empty text (``--output ""`` would silently mean the default)."""
    empty = [name for name, value in options.items() if value is not None and not value.strip()]
    if empty:
        raise _usage(*(f"--{name.replace('_', '-')} is empty" for name in empty))


def _on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)  # unwinds through the staging cleanup


@app.command()
def run(
    recipe: Annotated[Path, typer.Argument(help="The YAML recipe.")],
    input: Annotated[str | None, typer.Option("--input", help="Override input.path.")] = None,
    output: Annotated[str | None, typer.Option("--output", help="Override output.dir.")] = None,
    scheduler: Annotated[
        str, typer.Option(help="threads | processes | local | tcp://HOST:PORT")
    ] = "threads",
    partitions: Annotated[
        int | None,
        typer.Option(min=1, max=MAX_PARTITIONS, help="Split the input into N partitions (tuning)."),
    ] = None,
    wait: Annotated[
        float,
        typer.Option(
            min=0,
            max=MAX_WAIT,
            help="If another run holds the output's lock, wait up to SECONDS (default: exit 6 "
            "at once).",
        ),
    ] = 0.0,
    gate_only: Annotated[
        Path | None,
        typer.Option(
            "--gate-only",
            help="Re-validate an already published output directory with the recipe's gate; "
            "runs no step, writes nothing (exit 0 valid, 4 invalid).",
        ),
    ] = None,
    gate_report: Annotated[
        str | None,
        typer.Option(
            help="Where to write the gate report JSON (default when blocked: "
            "OUT.gate_report.json beside the output; with --gate-only: not written)."
        ),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only print errors.")] = False,
    debug: Annotated[bool, typer.Option(help="Show tracebacks of unexpected errors.")] = False,
) -> None:
    """Run a recipe and publish the anonymized files (all or nothing).

    Before publishing, the data-quality gate checks the recipe's privacy expectations (no
    identifier column, caps, recode levels, k-anonymity, global risk, row counts) and the data
    contracts; any failure blocks publication.

    Exit codes: 0 published; 1 unexpected error (a bug); 2 recipe or usage error; 3 input
    problem (including a broken input contract); 4 blocked by the data-quality gate; 6 the
    output is locked by another run (see --wait).
    """
    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        from pipeline.engine.prepare import RunOptions
        from pipeline.engine.progress import Reporter
        from pipeline.engine.runner import run_recipe
        from pipeline.engine.schedulers import check_scheduler
        from pipeline.recipe.loader import load_recipe

        _non_empty(input=input, output=output, gate_report=gate_report)
        check_scheduler(scheduler)
        loaded = load_recipe(recipe)
        if gate_only is not None:
            _gate_only(loaded, gate_only, gate_report, output)
            return
        options = RunOptions(input, output, scheduler, partitions, gate_report, wait)
        run_recipe(loaded, options, Reporter(quiet=quiet))
    except typer.Exit:
        raise
    except Exception as exc:  # noqa: BLE001 - every error becomes a message and an exit code
        _fail(exc, debug)


def _gate_only(loaded: object, out_dir: Path, report_path: str | None, output: str | None) -> None:
    from pipeline.engine.audit import gate_only
    from pipeline.engine.prepare import RunOptions, effective_recipe
    from pipeline.engine.publish import check_paths
    from pipeline.errors import EXIT_GATE
    from pipeline.gate.run import write_gate_report
    from pipeline.gate.stages import summary_lines

    if report_path:  # before anything runs; never into the audited output
        check_paths(out_dir, [], Path(report_path))
    recipe = effective_recipe(loaded, RunOptions(output_dir=output or str(out_dir)))
    report = gate_only(loaded, recipe, out_dir)
    verdict = "valid" if report.passed else "INVALID"
    typer.echo(f"{out_dir}: {verdict} against {loaded.path}")
    typer.echo("\n".join(summary_lines(report)))
    if report_path:
        write_gate_report(Path(report_path), report)
    if not report.passed:
        raise typer.Exit(EXIT_GATE)


@app.command()
def validate(
    recipe: Annotated[Path, typer.Argument(help="The YAML recipe.")],
    input: Annotated[str | None, typer.Option("--input", help="Override input.path.")] = None,
    no_input: Annotated[
        bool, typer.Option("--no-input", help="Do not look at the input file's header.")
    ] = False,
) -> None:
    """Check a recipe (and the input's columns) without running anything.

    Exit codes: 0 valid; 2 recipe error; 3 input problem.
    """
    try:
        from pipeline.engine.inputs import input_columns
        from pipeline.engine.prepare import RunOptions, check_columns, effective_recipe
        from pipeline.recipe.loader import load_recipe, read_yaml

        _non_empty(input=input)
        _, data, _, _ = read_yaml(recipe)
        if isinstance(data, dict) and data.get("kind") == "tabulation":
            from pipeline.tabulate.load import load_tabulation
            from pipeline.tabulate.run import check_input

            tabulation = load_tabulation(recipe)
            if not no_input:
                check_input(tabulation, input_columns(tabulation.recipe.input))
            typer.echo(f"{recipe}: valid tabulation ({len(tabulation.recipe.tables)} tables)")
            return
        loaded = load_recipe(recipe)
        if not no_input:
            effective = effective_recipe(loaded, RunOptions(input_path=input))
            check_columns(loaded, effective, input_columns(effective.input))
    except Exception as exc:  # noqa: BLE001
        _fail(exc, debug=False)
    typer.echo(f"{recipe}: valid ({len(loaded.steps)} steps)")


@app.command()
def steps(
    name: Annotated[str | None, typer.Argument(help="Show one step in full.")] = None,
) -> None:
    """List every step with its parameters and documentation."""
    from pipeline.steps import STEPS
    from pipeline.steps.describe import describe_step

    if name is not None and name not in STEPS:
        hint = did_you_mean(name, sorted(STEPS))
        typer.echo(f"unknown step {name!r}{hint}; valid steps: {', '.join(sorted(STEPS))}",
                   err=True)  # fmt: skip
        raise typer.Exit(EXIT_RECIPE)
    chosen = [STEPS[name]] if name else sorted(STEPS.values(), key=lambda s: (s.automatic, s.name))
    typer.echo("\n\n".join(describe_step(spec) for spec in chosen))


@app.command(
    "risk",
    add_help_option=False,
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
)
def risk_command(ctx: typer.Context) -> None:
    """Measure disclosure risk of any file (for auditors); see anonymize risk --help.

    anonymize risk FILE --key-vars A,B,C [--weight W] [--k 3] [--household H]
    [--missing any|category] [--format json|text]. Exit codes: 0 measured; 2 usage error;
    3 input problem.
    """
    from pipeline.cli_risk import main as risk_main

    code = risk_main(list(ctx.args))
    if code:
        raise typer.Exit(code)


@app.command(
    "utility",
    add_help_option=False,
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
)
def utility_command(ctx: typer.Context) -> None:
    """What the protection cost between two files; see anonymize utility --help.

    anonymize utility ORIGINAL RELEASED --key-vars A,B [--numeric X,Y] [--tables A:B]
    [--by ID] [--levels A=1/4] [--k 3] [--format json|text]. Exit codes: 0 measured;
    2 usage error; 3 input problem.
    """
    from pipeline.cli_utility import main as utility_main

    code = utility_main(list(ctx.args))
    if code:
        raise typer.Exit(code)


@app.command()
def tabulate(
    recipe: Annotated[Path, typer.Argument(help="The tabulation recipe (kind: tabulation).")],
    output: Annotated[str | None, typer.Option("--output", help="Override output.dir.")] = None,
    scheduler: Annotated[
        str, typer.Option(help="threads | processes | local | tcp://HOST:PORT")
    ] = "threads",
    gate_report: Annotated[
        str | None, typer.Option(help="Where to write the gate report JSON when blocked.")
    ] = None,
    wait: Annotated[
        float,
        typer.Option(min=0, max=MAX_WAIT, help="Wait up to SECONDS for another run's lock."),
    ] = 0.0,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only print errors.")] = False,
    debug: Annotated[bool, typer.Option(help="Show tracebacks of unexpected errors.")] = False,
) -> None:
    """Compute tables from the records, apply output checking, publish them (all or nothing).

    Threshold, (n, k) dominance and concentration rules mark primary cells; secondary
    suppression (a mixed-integer program) hides the cheapest further cells so no hidden value
    can be recomputed from the margins within the required interval. Exit codes: 0 published;
    1 unexpected error (a bug); 2 recipe or usage error; 3 input problem; 4 blocked by the
    gate; 6 the output is locked by another run.
    """
    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        from pipeline.engine.progress import Reporter
        from pipeline.engine.schedulers import check_scheduler
        from pipeline.tabulate.load import load_tabulation
        from pipeline.tabulate.run import run_tabulation

        _non_empty(output=output, gate_report=gate_report)
        check_scheduler(scheduler)
        loaded = load_tabulation(recipe)
        run_tabulation(loaded, output, scheduler, Reporter(quiet=quiet), gate_report, wait)
    except Exception as exc:  # noqa: BLE001 - every error becomes a message and an exit code
        _fail(exc, debug)


@app.command(
    "scan",
    add_help_option=False,
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
)
def scan_command(ctx: typer.Context) -> None:
    """Find identifiers in any file (names, phones, My Number, ...); see anonymize scan --help.

    anonymize scan FILE [--format json|text] [--fail-on-findings] [--sample N]
    [--columns A,B] [--min-confidence 0.5] [--encoding cp932]. Exit codes: 0 scanned;
    2 usage error; 3 input problem; 5 findings with --fail-on-findings.
    """
    from pipeline.cli_scan import main as scan_main

    code = scan_main(list(ctx.args))
    if code:
        raise typer.Exit(code)


@app.command("demo-data")
def demo_data(
    path: Annotated[Path, typer.Argument(help="CSV file to write (must not exist).")],
    rows: Annotated[int, typer.Option(min=1, max=2_000_000, help="Number of records.")] = 5000,
    seed: Annotated[int, typer.Option(min=0, max=2**32 - 1, help="Generator seed.")] = 20261122,
    encoding: Annotated[str, typer.Option(help="utf-8 or cp932.")] = "utf-8",
    kind: Annotated[
        str, typer.Option(help="census (people in households) or survey (household budgets).")
    ] = "census",
    force: Annotated[
        bool, typer.Option("--force", help="Replace an existing regular file at PATH.")
    ] = False,
    debug: Annotated[bool, typer.Option(help="Show tracebacks of unexpected errors.")] = False,
) -> None:
    """Write a synthetic Japanese census-like sample or household survey (fake, real codes).

    ``--kind census``: people in households (the demo recipe's input); ``--kind survey``: one
    record per household with income, expenditure and savings (``recipes/survey_demo.yaml``).

    Exit codes: 0 written; 2 usage error (an unknown encoding or kind, PATH exists or is a
    folder).
    """
    try:
        from pipeline.owned import write_new_file
        from pipeline.synth import write_census_csv
        from pipeline.synth_survey import write_survey_csv

        if encoding.lower().replace("_", "-") not in ("utf-8", "utf8", "cp932"):
            raise _usage(f"--encoding {encoding!r}: expected utf-8 or cp932")
        writers = {"census": write_census_csv, "survey": write_survey_csv}
        if kind not in writers:
            raise _usage(f"--kind {kind!r}: expected census or survey")
        write = writers[kind]
        write_new_file(path, encoding, lambda fh: write(fh, rows, seed), force)
    except Exception as exc:  # noqa: BLE001 - every error becomes a message and an exit code
        _fail(exc, debug)
    typer.echo(f"wrote {rows} synthetic records to {path}")


def main() -> None:
    """Console entry point."""
    # dask's own calls trip pandas deprecation warnings that mean nothing to a user.
    warnings.filterwarnings("ignore", module=r"dask\..*")
    configure()  # glibc allocator settings, before any thread starts
    quiet_library_logs()
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
