"""The ``anonymize`` command line."""

from __future__ import annotations

import signal
import sys
import warnings
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from pipeline.core.errors import EXIT_RECIPE, did_you_mean, quiet_library_logs, report_failure
from pipeline.engine.memory import configure

if TYPE_CHECKING:
    from pipeline.engine.progress import Reporter

EXIT_CODES = """Exit codes: 0 published; 1 unexpected error (a bug); 2 recipe or usage error
(including refusing to overwrite what this tool did not write); 3 input problem (missing file,
missing column, unreadable encoding, bad or non-finite values); 4 blocked by the data-quality
gate; 5 identifiers found (scan --fail-on-findings); 6 the output is locked by another run."""
MAX_PARTITIONS = 100_000
MAX_WAIT = 7 * 24 * 3600

# Plain click help (rich_markup_mode=None): typer's rich panels print a type such as <bool>
# beside every flag and keep the docstrings' line breaks; click re-wraps paragraphs to the
# terminal, up to 100 columns.
app = typer.Typer(
    help="Turn personal microdata into anonymized microdata files with YAML recipes.\n\n"
    + EXIT_CODES,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"max_content_width": 100},
)

Recipe = Annotated[Path, typer.Argument(metavar="RECIPE", help="The YAML recipe.")]
Input = Annotated[str | None, typer.Option("--input", metavar="PATH", help="Override input.path.")]
Output = Annotated[str | None, typer.Option("--output", metavar="DIR", help="Override output.dir.")]
Scheduler = Annotated[
    str, typer.Option(metavar="NAME", help="threads | processes | local | tcp://HOST:PORT")
]
Wait = Annotated[
    float,
    typer.Option(
        min=0,
        max=MAX_WAIT,
        metavar="SECONDS",
        help="If another run holds the output's lock, wait up to SECONDS (default: exit 6 at "
        "once).",
    ),
]
Package = Annotated[
    str | None,
    typer.Option(
        "--package",
        metavar="DIR",
        help="After publishing, write the recipient package to DIR: a copy of the published "
        "files, public_notice.md and contents.json (never the manifest, recipe or reports). "
        "DIR must be absent, empty or a package this tool wrote.",
    ),
]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="Only print errors.")]


class LogFormat(StrEnum):
    """How progress and errors are written to standard error."""

    text = "text"
    json = "json"


Logs = Annotated[
    LogFormat,
    typer.Option(
        "--log-format",
        metavar="FORMAT",
        help="text (default): lines for people; json: one JSON object per line (time, run_id, "
        "level, event, step, counts, seconds, message; never a data value), errors included.",
    ),
]
LineageTarget = Annotated[
    str | None,
    typer.Option(
        "--lineage",
        metavar="TARGET",
        help="Send OpenLineage run events (START, then COMPLETE or FAIL; paths, column names "
        "and counts, never a value) to TARGET: an http(s) URL (POSTed) or an existing folder "
        "(one new file per event).",
    ),
]
Debug = Annotated[
    bool, typer.Option("--debug", help="Show the frames of an unexpected error (no data).")
]


def _fail(exc: BaseException, debug: bool, reporter: Reporter | None = None) -> None:
    """Print the error (never a data value) and exit with its code.

    With ``--log-format json`` the error is one ``failed`` event holding its exit code; a run
    that started sends its lineage FAIL event (``--lineage``).
    """
    texts: list[str] = []
    code = report_failure(exc, debug, texts.append)
    if reporter is not None:
        reporter.failed("\n".join(texts), code)
    if reporter is None or not reporter.json:
        for text in texts:
            typer.echo(text, err=True)
    raise typer.Exit(code)


def _reporter(quiet: bool, logs: LogFormat) -> Reporter:
    """The run's reporter, writing ``logs`` lines."""
    from pipeline.engine.progress import Reporter

    return Reporter(quiet=quiet, log_format=logs.value)


def _tell(reporter: Reporter, lineage: str | None) -> None:
    """Have ``reporter`` send the run's lineage events to ``lineage`` (checked first)."""
    if lineage is not None:
        from pipeline.engine.lineage import Lineage, check_target

        check_target(lineage)
        reporter.lineage = Lineage(lineage, lambda text: reporter.line(text, "warning"))


def _on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)  # unwinds through the staging cleanup


@app.command()
def run(
    recipe: Recipe,
    input: Input = None,
    output: Output = None,
    scheduler: Scheduler = "threads",
    partitions: Annotated[
        int | None,
        typer.Option(
            min=1, max=MAX_PARTITIONS, metavar="N", help="Split the input into N partitions."
        ),
    ] = None,
    wait: Wait = 0.0,
    gate_only: Annotated[
        str | None,
        typer.Option(
            "--gate-only",
            metavar="OUT",
            help="Re-validate an already published output directory (or s3:// prefix): its "
            "files against the "
            "manifest (SHA-256, nothing unlisted, no symlink, the signature), the manifest's "
            "facts recomputed, and the recipe's gate; runs no step, writes nothing (exit 0 "
            "valid; 4 invalid, no or a damaged manifest included; 3 no such folder).",
        ),
    ] = None,
    gate_report: Annotated[
        str | None,
        typer.Option(
            metavar="FILE",
            help="Where to write the gate report JSON (default when blocked: "
            "OUT.gate_report.json beside the output; with --gate-only: not written).",
        ),
    ] = None,
    package: Package = None,
    previous: Annotated[
        str | None,
        typer.Option(
            "--previous",
            metavar="DIR",
            help="The last published release of this recipe's release series (series: in the "
            "recipe): this release is judged with every earlier one and keeps what they hid.",
        ),
    ] = None,
    quiet: Quiet = False,
    log_format: Logs = LogFormat.text,
    lineage: LineageTarget = None,
    debug: Debug = False,
) -> None:
    """Run a recipe and publish the anonymized files (all or nothing).

    Before publishing, the data-quality gate checks the recipe's privacy expectations (no
    identifier column, caps, recode levels, k-anonymity, global risk, row counts) and the data
    contracts; any failure blocks publication (and no package is written).

    Exit codes: 0 published; 1 unexpected error (a bug); 2 recipe or usage error (also a
    --package DIR this tool did not write); 3 input problem (including a broken input
    contract); 4 blocked by the data-quality gate; 6 the output is locked by another run (see
    --wait).
    """
    signal.signal(signal.SIGTERM, _on_sigterm)
    reporter = None
    try:
        from pipeline.cli import run as cli_run

        if gate_only is None:
            cli_run.start_early(recipe)
        reporter = _reporter(quiet, log_format)
        _tell(reporter, lineage)
        cli_run.run(
            recipe,
            input=input,
            output=output,
            scheduler=scheduler,
            partitions=partitions,
            wait=wait,
            gate_only=gate_only,
            gate_report=gate_report,
            package=package,
            previous=previous,
            reporter=reporter,
        )
    except typer.Exit:
        raise
    except Exception as exc:  # noqa: BLE001 - every error becomes a message and an exit code
        _fail(exc, debug, reporter)


@app.command(short_help="Check a recipe and the input's columns; run nothing.")
def validate(
    recipe: Recipe,
    input: Input = None,
    no_input: Annotated[
        bool, typer.Option("--no-input", help="Do not look at the input file's header.")
    ] = False,
) -> None:
    """Check a recipe (and the input's columns) without running anything.

    Exit codes: 0 valid; 2 recipe error; 3 input problem.
    """
    try:
        from pipeline.cli.run import validate as check

        typer.echo(check(recipe, input, no_input))
    except Exception as exc:  # noqa: BLE001 - every error becomes a message and an exit code
        _fail(exc, debug=False)


@app.command()
def steps(
    name: Annotated[str | None, typer.Argument(help="Show one step in full.")] = None,
) -> None:
    """List every step with its parameters and documentation."""
    from pipeline.steps import STEPS
    from pipeline.steps.describe import describe_step

    if name is not None and name not in STEPS:
        hint = did_you_mean(name, sorted(STEPS))
        typer.echo(
            f"unknown step {name!r}{hint}; valid steps: {', '.join(sorted(STEPS))}", err=True
        )
        raise typer.Exit(EXIT_RECIPE)
    chosen = [STEPS[name]] if name else sorted(STEPS.values(), key=lambda s: (s.automatic, s.name))
    typer.echo("\n\n".join(describe_step(spec) for spec in chosen))


@app.command()
def checks() -> None:
    """List every kind of gate check: what it verifies, its reason codes, how it is measured."""
    import pipeline.engine.audit  # noqa: F401 - registers the audit's kinds
    import pipeline.tabulate.checks  # noqa: F401 - registers the tabulation's kind
    from pipeline.gate.catalog import describe

    how = {"rows": "every row (Great Expectations)", "stream": "the pass", "table": "whole file"}
    blocks = []
    for kind in describe():
        where = "a tabulation" if kind["scope"] == "tables" else "/".join(kind["stages"])
        where += ", --gate-only only" if kind["audit"] else ""
        blocks.append(
            f"{kind['name']} ({where}; measured on: "
            f"{', '.join(how[m] for m in kind['measured'])})\n"
            f"  {kind['summary']}\n  reason codes: {', '.join(kind['reasons'])}"
        )
    typer.echo("\n\n".join(blocks))


@app.command(
    "risk",
    short_help="Disclosure risk of any file, for auditors (risk --help).",
    add_help_option=False,
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
)
def risk_command(ctx: typer.Context) -> None:
    """Measure disclosure risk of any file (for auditors); see anonymize risk --help.

    anonymize risk FILE --key-vars A,B,C [--weight W] [--k 3] [--household H]
    [--missing any|category] [--format json|text]. Exit codes: 0 measured; 2 usage error;
    3 input problem.
    """
    from pipeline.cli.risk import main as risk_main

    code = risk_main(list(ctx.args))
    if code:
        raise typer.Exit(code)


@app.command(
    "utility",
    short_help="Information lost between two files (utility --help).",
    add_help_option=False,
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
)
def utility_command(ctx: typer.Context) -> None:
    """What the protection cost between two files; see anonymize utility --help.

    anonymize utility ORIGINAL RELEASED --key-vars A,B [--numeric X,Y] [--tables A:B]
    [--by ID] [--levels A=1/4] [--k 3] [--format json|text]. Exit codes: 0 measured;
    2 usage error; 3 input problem.
    """
    from pipeline.cli.utility import main as utility_main

    code = utility_main(list(ctx.args))
    if code:
        raise typer.Exit(code)


@app.command(short_help="Publish protected tables (kind: tabulation recipes).")
def tabulate(
    recipe: Annotated[
        Path, typer.Argument(metavar="RECIPE", help="The tabulation recipe (kind: tabulation).")
    ],
    input: Input = None,
    output: Output = None,
    scheduler: Scheduler = "threads",
    gate_report: Annotated[
        str | None,
        typer.Option(metavar="FILE", help="Where to write the gate report JSON when blocked."),
    ] = None,
    wait: Wait = 0.0,
    package: Package = None,
    quiet: Quiet = False,
    log_format: Logs = LogFormat.text,
    lineage: LineageTarget = None,
    debug: Debug = False,
) -> None:
    """Compute tables from the records, apply output checking, publish them (all or nothing).

    Threshold, (n, k) dominance and concentration rules mark primary cells; secondary
    suppression (a mixed-integer program) hides the cheapest further cells so no hidden value
    can be recomputed from the margins within the required interval. With --package DIR, the
    recipient package holds tables/ and contents.json.

    Exit codes: 0 published; 1 unexpected error (a bug); 2 recipe or usage error; 3 input
    problem; 4 blocked by the gate; 6 the output is locked by another run.
    """
    signal.signal(signal.SIGTERM, _on_sigterm)
    reporter = None
    try:
        from pipeline.cli import run as cli_run

        reporter = _reporter(quiet, log_format)
        _tell(reporter, lineage)
        cli_run.tabulate(
            recipe,
            input=input,
            output=output,
            scheduler=scheduler,
            gate_report=gate_report,
            wait=wait,
            package=package,
            reporter=reporter,
        )
    except Exception as exc:  # noqa: BLE001 - every error becomes a message and an exit code
        _fail(exc, debug, reporter)


@app.command(
    "scan",
    short_help="Find identifiers in any file (scan --help).",
    add_help_option=False,
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
)
def scan_command(ctx: typer.Context) -> None:
    """Find identifiers in any file (names, phones, My Number, ...); see anonymize scan --help.

    anonymize scan FILE [--format json|text] [--fail-on-findings] [--sample N]
    [--columns A,B] [--min-confidence 0.5] [--encoding cp932]. Exit codes: 0 scanned;
    2 usage error; 3 input problem; 5 findings with --fail-on-findings.
    """
    from pipeline.cli.scan import main as scan_main

    code = scan_main(list(ctx.args))
    if code:
        raise typer.Exit(code)


@app.command("demo-data", short_help="Write a synthetic census sample or household survey.")
def demo_data(
    path: Annotated[
        Path, typer.Argument(metavar="FILE", help="CSV file to write (must not exist).")
    ],
    rows: Annotated[
        int, typer.Option(min=1, max=2_000_000, metavar="N", help="Number of records.")
    ] = 5000,
    seed: Annotated[
        int, typer.Option(min=0, max=2**32 - 1, metavar="S", help="Generator seed.")
    ] = 20261122,
    encoding: Annotated[str, typer.Option(metavar="NAME", help="utf-8 or cp932.")] = "utf-8",
    kind: Annotated[
        str,
        typer.Option(
            metavar="KIND", help="census (people in households) or survey (household budgets)."
        ),
    ] = "census",
    force: Annotated[
        bool, typer.Option("--force", help="Replace an existing regular file at FILE.")
    ] = False,
    debug: Debug = False,
) -> None:
    """Write a synthetic Japanese census-like sample or household survey (fake, real codes).

    --kind census: people in households (the demo recipe's input); --kind survey: one record
    per household with income, expenditure and savings (recipes/survey_demo.yaml).

    Exit codes: 0 written; 2 usage error (an unknown encoding or kind, PATH exists or is a
    folder).
    """
    try:
        from pipeline.cli.run import usage
        from pipeline.demo.census import write_census_csv
        from pipeline.demo.survey import write_survey_csv
        from pipeline.io.owned import write_new_file

        if encoding.lower().replace("_", "-") not in ("utf-8", "utf8", "cp932"):
            raise usage(f"--encoding {encoding!r}: expected utf-8 or cp932")
        writers = {"census": write_census_csv, "survey": write_survey_csv}
        if kind not in writers:
            raise usage(f"--kind {kind!r}: expected census or survey")
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
