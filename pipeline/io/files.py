"""Input files by name: which files a path names, and whether they can be read together.

The one home for: the CSV suffixes, the tool's own files of a folder, the Parquet files of a
folder (checked: none empty or unreadable, one schema, nothing else in the folder) and their
columns. A CSV file's text (header, encoding, the line a reader fails on) is
``pipeline.io.csvtext``'s. Messages name files, columns and counts, never a value.

Only the standard library and pyarrow are imported, so the fast commands stay fast.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

from pipeline.core.errors import InputDataError, Problem

CSV_SUFFIXES = (".csv", ".txt", ".tsv")
PARQUET_SUFFIX = ".parquet"


def is_csv_name(path: str | Path) -> bool:
    """True when the file name says CSV (``.csv``, ``.txt``, ``.tsv``)."""
    return str(path).lower().endswith(CSV_SUFFIXES)


def _hidden(relative: Path) -> bool:
    """Spark/Hive convention: names starting with ``.`` or ``_`` are not data."""
    return any(part.startswith((".", "_")) for part in relative.parts)


def _walk(folder: Path) -> tuple[list[Path], list[Path]]:
    """(Parquet files, other files) under ``folder``, hidden ones left out.

    Symlinked folders are not followed (their files are not read).
    """
    parquet, other = [], []
    for root, dirs, names in os.walk(folder, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not d.startswith((".", "_")))
        for name in names:
            path = Path(root) / name
            if _hidden(path.relative_to(folder)):
                continue
            (parquet if name.lower().endswith(PARQUET_SUFFIX) else other).append(path)
    return sorted(parquet), sorted(other)


def own_files(folder: Path, suffix: str) -> list[Path]:
    """The files directly in a folder this tool wrote (an output, a checkpoint, a spill), sorted.

    Names starting with ``.`` or ``_`` are skipped, as in inputs; nothing is checked (the
    files are the tool's own; ``--gate-only`` compares them with the manifest).
    """
    found = (p for p in folder.glob(f"*{suffix}") if p.is_file())
    return sorted(p for p in found if not p.name.startswith((".", "_")))


def parquet_files(path: Path) -> list[Path]:
    """The Parquet files ``path`` names: the file itself, or every ``.parquet`` file under it.

    Files and folders whose names start with ``.`` or ``_`` are skipped (Spark's ``_SUCCESS``,
    checksums). Every file is checked: not empty, readable, and of one schema.

    Raises:
        InputDataError: no Parquet file, other files in the folder, an empty or unreadable
            file, or files whose columns differ (each named).

    """
    if path.is_file():
        files = [path]
    else:
        files, other = _walk(path)
        if other:
            shown = ", ".join(str(p.relative_to(path)) for p in other[:5])
            more = f" and {len(other) - 5} more" if len(other) > 5 else ""
            raise InputDataError(
                [
                    Problem(
                        f"input directory {path} holds files that are not Parquet ({shown}"
                        f"{more}): move them away or point input.path at the data",
                        code="not_parquet",
                    )
                ]
            )
        if not files:
            raise InputDataError(
                [Problem(f"input directory {path} holds no .parquet files", code="input_empty")]
            )
    _check_schemas(files)
    return files


def _check_schemas(files: list[Path]) -> int:
    """Check the files once per state of theirs (size, modification time); their records.

    A run lists its input several times (columns, reader, checksum); the footers are read
    again only when a file changed.
    """
    return _check_files(tuple((str(f), *_state(f)) for f in files))


def parquet_rows(path: Path) -> int:
    """The records of a Parquet file or folder, from the footers (see ``parquet_files``)."""
    return _check_schemas(parquet_files(path))


def _state(file: Path) -> tuple[int, int]:
    info = file.stat()
    return info.st_size, info.st_mtime_ns


@functools.lru_cache(maxsize=8)
def _check_files(states: tuple[tuple[str, int, int], ...]) -> int:
    import pyarrow.parquet as pq

    problems, first, rows = [], None, 0
    for name, size, _ in states:
        file = Path(name)
        if size == 0:
            problems.append(Problem(f"input file {file} is empty (0 bytes)", code="input_empty"))
            continue
        try:
            meta = pq.read_metadata(file)
            schema = meta.schema.to_arrow_schema()
        except (OSError, ValueError) as exc:
            problems.append(
                Problem(
                    f"input file {file} is not a readable Parquet file ({type(exc).__name__})",
                    code="unreadable",
                )
            )
            continue
        if first is None:
            first = (file, schema)
        elif _shape(schema) != _shape(first[1]):
            problems.append(Problem(_schema_difference(file, schema, *first), code="schema"))
        rows += meta.num_rows
    if problems:
        raise InputDataError(problems, title="the input's Parquet files cannot be read together")
    return rows


def _shape(schema: object) -> list[tuple[str, object]]:
    """Column names and types (nullability and metadata do not matter for reading)."""
    return [(f.name, f.type) for f in schema]  # type: ignore[attr-defined]


def _schema_difference(file: Path, schema: object, base_file: Path, base: object) -> str:
    theirs = {f.name: str(f.type) for f in schema}  # type: ignore[attr-defined]
    ours = {f.name: str(f.type) for f in base}  # type: ignore[attr-defined]
    differ = sorted(
        [n for n in ours if n not in theirs]
        + [n for n in theirs if n not in ours]
        + [n for n in ours if n in theirs and ours[n] != theirs[n]]
    )
    what = ", ".join(differ[:8]) if differ else "column order"
    return f"input file {file} has other columns or types than {base_file.name} ({what})"


def parquet_columns(path: Path) -> list[str]:
    """Column names of a Parquet file or folder (all files checked, see ``parquet_files``)."""
    import pyarrow.parquet as pq

    return list(pq.read_schema(parquet_files(path)[0]).names)
