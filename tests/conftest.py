"""Shared fixtures: generated census data and recipe files in a temporary directory; the lanes.

Two lanes: plain ``python -m pytest -q`` runs the fast lane (unit and contract tests, a few whole
runs; under 90 s on 2 cores), ``python -m pytest -q --all`` runs every test (the README's test
command and CI). A test is in the slow lane when it is marked ``slow`` (a module of whole runs
says so once: ``pytestmark = pytest.mark.slow``). Hypothesis runs the ``ci`` profile with
``--all`` and the ``dev`` profile otherwise; a test asks for ``examples(n)``: n examples in the
full suite, a tenth (at least 5, at most n) in the fast lane.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import textwrap
import traceback
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from pipeline.demo.census import generate_census, write_occupation_hierarchy

REPO = Path(__file__).resolve().parent.parent
LANE = {"all": True}  # set by pytest_configure: --all runs the slow lane too

settings.register_profile(
    "ci", deadline=None, print_blob=True, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "dev", deadline=None, max_examples=10, suppress_health_check=[HealthCheck.too_slow]
)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--all",
        action="store_true",
        default=False,
        help="run every test: the fast lane and the slow one (the README's test command, CI)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: a test of the slow lane (runs with --all)")
    LANE["all"] = bool(config.getoption("--all"))
    settings.load_profile("ci" if LANE["all"] else "dev")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if LANE["all"]:
        return
    slow = [item for item in items if item.get_closest_marker("slow")]
    if slow:
        config.hook.pytest_deselected(items=slow)
        items[:] = [item for item in items if not item.get_closest_marker("slow")]


def pytest_report_header(config: pytest.Config) -> str:
    lane = "every test (--all)" if LANE["all"] else "the fast lane (--all: every test)"
    return f"lane: {lane}"


def examples(n: int) -> int:
    """Hypothesis examples: ``n`` with --all, else a tenth (at least 5, at most n)."""
    return n if LANE["all"] else max(min(n, 5), n // 10)


DEMO_COLUMNS = """\
columns:
  direct_identifiers: [name, address, phone, email]
  identification_codes: [my_number, drivers_licence]
  linking_ids: {member_id: drop, household_id: surrogate}
  key_variables: [age, sex, municipality, occupation, household_size]
  sensitive: [income]
  weight: weight
"""


@pytest.fixture(scope="session")
def census_frame():
    """2,000 synthetic census records (pandas), generated once per test session."""
    return generate_census(2000, seed=7)


@pytest.fixture
def workdir(tmp_path: Path, census_frame, monkeypatch) -> Path:
    """A working directory with data/census.csv, recipes/hierarchies/occupation.csv; cwd set."""
    (tmp_path / "data").mkdir()
    (tmp_path / "recipes" / "hierarchies").mkdir(parents=True)
    census_frame.to_csv(tmp_path / "data" / "census.csv", index=False)
    write_occupation_hierarchy(tmp_path / "recipes" / "hierarchies" / "occupation.csv")
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture(scope="session")
def published_demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The census demo published once per session: the root holding its recipes, sample and
    ``out/census_demo``. Read only: a test that changes it works on a copy."""
    from pipeline import api

    root = tmp_path_factory.mktemp("published_demo")
    recipe = copy_demo(root)
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        api.run(recipe, quiet=True)
    return root


def write_recipe(workdir: Path, body: str, name: str = "test.yaml") -> Path:
    """Write a recipe file (dedented) into workdir/recipes and return its path."""
    path = workdir / "recipes" / name
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return path


def demo_recipe(
    workdir: Path,
    steps: str,
    output: str = "out/run",
    input_path: str = "data/census.csv",
    extra: str = "",
    fmt: str = "parquet",
    input_options: str = "",
) -> Path:
    """A recipe over the generated census with the demo's column roles and the given steps."""
    body = (
        f"version: 1\nname: test\n"
        f"input: {{path: {input_path}{input_options}}}\n"
        f"output: {{dir: {output}, format: {fmt}}}\n"
        f"seed: 42\n{DEMO_COLUMNS}{extra}steps:\n{textwrap.dedent(steps)}"
    )
    return write_recipe(workdir, body)


def imported_by_a_run(workdir: Path, recipe: Path, module: str) -> bool:
    """Whether a run of ``recipe`` (``api.run``, in a process of its own) imports ``module``."""
    import subprocess

    code = (
        "import sys\nfrom pipeline.api import run\n"
        f"run({str(recipe)!r}, quiet=True)\n"
        f"print({module!r} in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=workdir
    )
    assert done.stdout.strip() in ("True", "False"), done.stderr[-2000:]
    return done.stdout.strip() == "True"


def copy_demo(workdir: Path) -> Path:
    """Copy the bundled demo recipe, hierarchy and sample into workdir; return the recipe path."""
    shutil.copytree(REPO / "recipes", workdir / "recipes", dirs_exist_ok=True)
    shutil.copytree(REPO / "data_contracts", workdir / "data_contracts", dirs_exist_ok=True)
    (workdir / "examples").mkdir(exist_ok=True)
    shutil.copy(REPO / "examples" / "census_sample.csv", workdir / "examples")
    return workdir / "recipes" / "census_demo.yaml"


def run_entry(argv: list[str], capfd: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """Run ``anonymize *argv`` in-process through the console entry point.

    Returns the exit code and everything printed (captured at the file-descriptor level, so
    C libraries' prints count); an uncaught exception counts as exit 1 with its traceback.
    """
    from pipeline.cli import entry

    capfd.readouterr()  # drop anything printed before
    saved = sys.argv
    sys.argv = ["anonymize", *argv]
    code, crash = 0, ""
    try:
        entry.main()
    except SystemExit as exc:
        if isinstance(exc.code, int) or exc.code is None:
            code = exc.code or 0
        else:  # sys.exit("text") prints the text and exits 1
            code, crash = 1, str(exc.code)
    except BaseException:  # noqa: BLE001 - what the interpreter would print, then exit 1
        code, crash = 1, traceback.format_exc()
    finally:
        sys.argv = saved
    captured = capfd.readouterr()
    return code, captured.out + captured.err + crash


def write_file(path: Path, content: str | bytes) -> Path:
    """Write text (UTF-8) or bytes to ``path``, creating its folders."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def run_step(func, frame, params, ctx):  # noqa: ANN001, ANN201 - any step
    """Run a step as the engine does (``pipeline.engine.single.settled``): its needs computed
    first, then the step, then the checks it leaves (counts added to the effect's facts)."""
    from pipeline.engine.single import settled

    return settled(func, frame, params, ctx)


def invoke(*args: str):  # noqa: ANN201 - typer's Result
    """Run ``anonymize *args`` through typer's test runner (exit code and output)."""
    from typer.testing import CliRunner

    from pipeline.cli.app import app

    return CliRunner().invoke(app, list(args))


def log_messages(output: str) -> list[str]:
    """The messages of a run's plain log lines (a long one's continuation lines joined)."""
    out: list[str] = []
    for line in output.splitlines():
        message = line.split(" anonymize: ", 1)[1] if " anonymize: " in line else line
        if message.startswith("  ") and out:
            out[-1] += " " + message.strip()
        else:
            out.append(message)
    return out


def reasons(result) -> set[str]:
    """The reason codes a blocked run printed (``[reason] ...`` lines)."""
    return {
        line.split("]")[0].strip(" [")
        for line in result.output.splitlines()
        if line.strip().startswith("[")
    }


def gate_report(workdir: Path, name: str = "run") -> dict:
    """The gate report a run left beside its output folder ``out/NAME``."""
    return json.loads((workdir / "out" / f"{name}.gate_report.json").read_text())


def assert_blocked(workdir: Path, result, reason: str, previous: bytes | None = None) -> dict:
    """The run was blocked for ``reason``: nothing (or the previous output) published, no
    staging left, and the gate report says so; return the report."""
    assert result.exit_code == 4, result.output
    assert reason in reasons(result), result.output
    out = workdir / "out" / "run"
    if previous is None:
        assert not out.exists()
    else:
        assert (out / "manifest.json").read_bytes() == previous
    assert not list((workdir / "out").glob(".run.staging-*"))
    report = gate_report(workdir)
    assert report["outcome"] == "blocked" and not report["passed"]
    assert reason in {c["reason"] for c in report["output"]["checks"] if not c["passed"]}
    assert_blocked_page(workdir / "out" / "run.gate_report.html", report)
    return report


def assert_blocked_page(page: Path, report: dict) -> str:
    """A blocked run left its page beside its gate report: marked as this tool's, saying it
    was not published, its failed checks first (each by id and reason); return its text."""
    text = page.read_text(encoding="utf-8")
    assert '<meta name="anonymize-page" content="anonymize-pipeline blocked-run">' in text
    assert "NOT PUBLISHED" in text and report["run_id"] in text
    failed = [c for stage in ("input", "output") for c in (report[stage] or {}).get("checks", [])]
    failed = [c for c in failed if not c["passed"]]
    head = text.split('id="failed-checks"', 1)[1].split("</table>", 1)[0]
    assert all(c["id"] in head and c["reason"] in head for c in failed)
    return text


def tree(root: Path) -> dict[str, str]:
    """Every entry under root: files by content hash, symlinks by target (never followed)."""
    out = {}
    for path in sorted(root.rglob("*")):
        key = str(path.relative_to(root))
        if path.is_symlink():
            out[key] = "-> " + os.readlink(path)
        elif path.is_file():
            out[key] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def data_digests(out: Path) -> dict[str, str]:
    """The SHA-256 of each published data file, by name."""
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted((out / "data").iterdir())
    }


def tables_demo(workdir: Path) -> Path:
    """The demo's files and the census_tables recipe in workdir; the recipe's path."""
    copy_demo(workdir)
    shutil.copy(REPO / "recipes" / "census_tables.yaml", workdir / "recipes")
    return workdir / "recipes" / "census_tables.yaml"


@pytest.fixture(scope="session")
def pg_url():
    """A PostgreSQL server's URL (password in it): ANON_TEST_PG_URL (``.ci/run`` starts one),
    else a throwaway cluster started with ``.ci/postgres``; skipped with the reason without."""
    url = os.environ.get("ANON_TEST_PG_URL")
    if url:
        yield url
        return
    import subprocess
    import tempfile

    base = Path(tempfile.mkdtemp(prefix="anon-pg-"))  # in /tmp: the server's user can reach it
    base.chmod(0o755)
    folder = base / "cluster"
    script = REPO / ".ci" / "postgres"
    started = subprocess.run(
        ["bash", str(script), "start", str(folder)], capture_output=True, text=True, check=False
    )
    if started.returncode != 0:
        pytest.skip(f"no PostgreSQL server could be started: {started.stderr.strip()[:200]}")
    try:
        yield started.stdout.strip().split("=", 1)[1]
    finally:
        subprocess.run(["bash", str(script), "stop", str(folder)], check=False)
        shutil.rmtree(base, ignore_errors=True)
