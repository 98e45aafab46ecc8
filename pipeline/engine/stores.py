"""A run whose input or output is elsewhere: local stand-ins, then the database or store.

The engine reads and writes local folders (its guarantees - staging, the gate, the rename, the
lock - are made there). A database input is streamed into a private folder of Parquet files
(``pipeline.io.sql``); an ``s3://``-like input is copied into a private folder and an
``s3://``-like output is published into a private folder, then written to the store with the
manifest last (``pipeline.io.remote``); a database output is loaded from the staged release
(``pipeline.io.sql_out``). Every private folder is removed when the run ends.
"""

from __future__ import annotations

import contextlib
import dataclasses
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.core.errors import InputDataError, Problem, RecipeError
from pipeline.engine.prepare import RunOptions
from pipeline.gate.stages import GATE_REPORT
from pipeline.io import remote
from pipeline.io.urls import shown_url
from pipeline.recipe.models import InputSpec, Recipe
from pipeline.series.context import SeriesContext

if TYPE_CHECKING:
    from pipeline.io.sql_out import SqlTarget


@contextlib.contextmanager
def database_input(
    recipe: Recipe, keep: list[str], header: list[str]
) -> Iterator[tuple[Recipe, str]]:
    """The recipe reading its input from files, and the input's name for the manifest.

    See :func:`spooled`; other inputs pass.
    """
    with spooled(recipe.input, keep, header) as (files_input, source):
        yield recipe.model_copy(update={"input": files_input}), source


@contextlib.contextmanager
def spooled(spec: InputSpec, keep: list[str], header: list[str]) -> Iterator[tuple[InputSpec, str]]:
    """The input as files, and its name for the manifest (a run's or a tabulation's).

    A ``format: sql`` input has its ``keep`` columns streamed into Parquet files in a private
    folder (owner only) that is removed when the block ends, whatever happens: the run then
    reads them as a Parquet input (row numbers are the query's order). Other inputs pass.
    """
    if spec.resolved_format() != "sql":
        yield spec, spec.path or ""
        return
    from pipeline.io.sql import SqlSource

    absent = [
        Problem(f"input.order_by[{i}]: column {c!r} is not in the input", code="missing_column")
        for i, c in enumerate(spec.order_by)
        if c not in header
    ]
    if absent:
        raise InputDataError(absent)
    source = SqlSource.of(spec.url, spec.url_env, spec.table, spec.query, tuple(spec.order_by))
    folder = Path(tempfile.mkdtemp(prefix="anonymize-sql-"))
    try:
        source.spool(keep, folder / "records")
        files_input = spec.model_copy(  # its other settings (non_finite, numeric) kept
            update={"path": str(folder / "records"), "format": "parquet", "url": None}
            | {"url_env": None, "table": None, "query": None, "order_by": []}
            | {"identity": spec.resolved_identity()}
        )
        yield files_input, source.name
    finally:
        shutil.rmtree(folder, ignore_errors=True)  # made by this run alone, above


@contextlib.contextmanager
def local_input(recipe: Recipe) -> Iterator[tuple[Recipe, str]]:
    """The recipe reading a local copy of a remote input, and the input's name ("": local)."""
    url = recipe.input.path
    if not remote.is_remote(url):
        yield recipe, ""
        return
    assert url is not None
    fmt = recipe.input.resolved_format()  # from the URL: a folder of objects is Parquet
    with remote.fetched(url) as local:
        fmt = "parquet" if local.is_dir() else fmt
        spec = recipe.input.model_copy(update={"path": str(local), "format": fmt})
        yield recipe.model_copy(update={"input": spec}), shown_url(url)


@dataclasses.dataclass
class Output:
    """Where a run publishes: ``shown`` names it; ``finish`` writes a remote one to its store."""

    shown: str
    url: str | None = None
    local: Path | None = None

    def finish(self) -> None:
        """Write the locally published release to the store (nothing for a local output)."""
        if self.url is not None and self.local is not None:
            remote.publish(self.local, self.url)


@dataclasses.dataclass(frozen=True)
class Where:
    """What a run reads and where it publishes, once its input is local files.

    Attributes:
        header: The input's columns.
        keep: The columns read.
        source: The input as the manifest names it (a database or store: no secrets).
        series: The release series (None: judged alone).
        output: Where the release goes (a store: written there once published locally).
        table: The database table that also receives the records (``output.database``).
    """

    header: list[str]
    keep: list[str]
    source: str
    series: SeriesContext | None
    output: Output
    table: SqlTarget | None = None


@contextlib.contextmanager
def local_output(
    recipe: Recipe, options: RunOptions
) -> Iterator[tuple[Recipe, RunOptions, Output]]:
    """The recipe publishing into a private folder when its output is in a store.

    The store's prefix is checked first (empty, or a release of this tool). A blocked run's
    gate report goes to ``--gate-report`` or, by default, ``<name>.gate_report.json`` in the
    working folder (a store has no "beside the output" the tool owns).
    """
    url = recipe.output.dir
    if not remote.is_remote(url):
        yield recipe, options, Output(url)
        return
    remote.check_output(url)
    folder = Path(tempfile.mkdtemp(prefix="anonymize-publish-"))
    try:
        local = folder / "release"
        report = options.gate_report or f"{url.rstrip('/').rsplit('/', 1)[-1]}.{GATE_REPORT}"
        recipe = recipe.model_copy(
            update={"output": recipe.output.model_copy(update={"dir": str(local)})}
        )
        options = dataclasses.replace(options, output_dir=str(local), gate_report=report)
        yield recipe, options, Output(shown_url(url), url, local)
    finally:
        shutil.rmtree(folder, ignore_errors=True)  # made by this run alone, above


def database_target(recipe: Recipe) -> SqlTarget | None:
    """The table a run also loads its release into (checked: absent or this tool's)."""
    spec = recipe.output.database
    if spec is None:
        return None
    from pipeline.io.sql import SqlSource
    from pipeline.io.sql_out import SqlTarget

    target = SqlTarget(SqlSource.of(spec.url, spec.url_env, spec.table), spec.table)
    target.check()
    return target


def refuse_remote(**paths: str | None) -> None:
    """Options that cannot name object storage yet (``--package``, ``--previous``)."""
    problems = [
        Problem(f"--{name}: object storage is not supported here yet (a local folder)", "usage")
        for name, value in paths.items()
        if remote.is_remote(value)
    ]
    if problems:
        raise RecipeError(problems, title="usage error")
