"""CSV text: a file's header, its encoding, and the line that makes a reader fail.

A CSV header (a UTF-8 byte-order mark stripped), hints when the columns a recipe names are not
in it (another delimiter? values where names should be?), and, when a reader fails, the line
and the reason. Messages name files, lines, columns and counts, never a value.

Only the standard library and pyarrow are imported, so the fast commands stay fast.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import sys
import unicodedata
from pathlib import Path

from pipeline.core.errors import InputDataError, Problem
from pipeline.io.files import parquet_columns

SNIFF_BYTES = 1 << 20
LARGE_RECORD = 1 << 21  # records longer than this may exceed the CSV reader's blocks
CSV_BLOCK_BYTES = 64 << 20  # a run reads a CSV file in blocks of this size (split at newlines)
_OTHER_DELIMITERS = (";", "\t", "|", ",")


def bad_byte_line(raw: bytes, exc: UnicodeDecodeError) -> int:
    """The 1-based line of the byte a decoder stopped at (for an error message)."""
    return raw[: exc.start].count(b"\n") + 1


def column_name_problems(header: list[str], reserved: str) -> list[Problem]:
    """Header names the pipeline cannot carry: empty, or starting with its reserved prefix."""
    out = []
    for position, name in enumerate(header, start=1):
        if not name.strip():
            out.append(
                Problem(
                    f"column {position} of the header has no name: name it", code="unnamed_column"
                )
            )
        elif name.startswith(reserved):
            out.append(
                Problem(
                    f"column {name!r}: names starting with {reserved!r} are reserved "
                    "for the engine: rename it",
                    code="reserved_column",
                )
            )
    return out


def columns_of(path: Path, csv_format: bool, encoding: str, delimiter: str) -> list[str]:
    """The column names of an input: its CSV header or its Parquet schema (files checked).

    Raises:
        InputDataError: missing, unreadable, not ``encoding``, or Parquet files that differ.
    """
    if csv_format:
        return csv_header(path, encoding, delimiter)
    if not path.exists():
        raise InputDataError([Problem(f"input {path} not found", code="input_missing")])
    return parquet_columns(path)


def text_encoding(encoding: str) -> str:
    """The codec to read with: UTF-8 tolerates a byte-order mark (Excel writes one)."""
    name = codecs.lookup(encoding).name
    return "utf-8-sig" if name == "utf-8" else name


def encoding_problem(path: Path, encoding: str, where: str) -> Problem:
    """The input is not text in ``encoding``."""
    hint = "cp932" if codecs.lookup(encoding).name == "utf-8" else "utf-8"
    return Problem(
        f"input {path} is not valid {encoding} text ({where}); set input.encoding (e.g. {hint})",
        code="encoding",
    )


def csv_header(path: Path, encoding: str, delimiter: str) -> list[str]:
    """The header row of a CSV file (a byte-order mark stripped).

    Raises:
        InputDataError: missing, a folder, not text in ``encoding``, or empty.

    """
    if not path.exists():
        raise InputDataError([Problem(f"input {path} not found", code="input_missing")])
    if path.is_dir():
        raise InputDataError(
            [Problem(f"input {path} is a directory, expected a CSV file", code="input_is_dir")]
        )
    with path.open("rb") as handle:
        head = handle.read(SNIFF_BYTES)
    try:
        text = head.decode(text_encoding(encoding))
    except UnicodeDecodeError as exc:
        if len(head) == SNIFF_BYTES and exc.start >= len(head) - 4:  # a character cut short
            text = head[: exc.start].decode(text_encoding(encoding))
        else:
            where = f"line {bad_byte_line(head, exc)}"
            raise InputDataError([encoding_problem(path, encoding, where)]) from None
    first = next(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), None)
    if not first:
        raise InputDataError([Problem(f"input {path} is empty (no header row)", code="empty")])
    return list(first)


def delimiter_hint(header: list[str], delimiter: str) -> str:
    """Why every column looks absent: a one-column header holding another separator."""
    if len(header) == 1:
        for other in _OTHER_DELIMITERS:
            if other != delimiter and other in header[0]:
                shown = "\\t" if other == "\t" else other
                return f"the header looks {shown!r}-separated: set input.delimiter: {shown!r}"
    return ""


_VALUE_LIKE = re.compile(r"^[+-]?[\d.,]+$|@|\d{4,}|^\+?[\d\-() ]{7,}$")


def header_looks_like_values(header: list[str]) -> bool:
    """True when a header cell looks like a value, so the line must never be printed.

    A number, an e-mail, a phone, a run of four or more digits, or very long text: the file
    may have no header row and its first line be a record.
    """
    return any(_VALUE_LIKE.search(name.strip()) or len(name) > 64 for name in header)


def shows_header(header: list[str], named: list[str]) -> bool:
    """Whether the header's names may be quoted in a message (see ``header_looks_like_values``).

    Also not when fewer than half of the columns a recipe names are in it: the first line is
    then likely a record, or split with the wrong delimiter.
    """
    if header_looks_like_values(header):
        return False
    present = set(header)
    return len(named) < 2 or 2 * sum(n in present for n in named) >= len(named)


def header_hints(missing: str, header: list[str], delimiter: str, shown: bool = True) -> str:
    """Why a column the recipe names may look absent: a close name, Unicode form, delimiter.

    With ``shown`` false (see ``shows_header``) no header name is quoted.
    """
    nfc = unicodedata.normalize("NFC", missing)
    for name in header:
        if name != missing and unicodedata.normalize("NFC", name) == nfc:
            return (
                f"; the input has a column that looks the same but is written in another "
                f"Unicode form ({_form(name)}, the recipe's is {_form(missing)}): save the "
                "file's header as NFC"
            )
    other = delimiter_hint(header, delimiter)
    if other:
        return f"; {other}"
    if not shown:
        return ""
    import difflib

    close = difflib.get_close_matches(missing, header, n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def _form(name: str) -> str:
    return "NFC" if unicodedata.is_normalized("NFC", name) else "NFD"


def missing_columns(
    header: list[str], named: dict[str, str], delimiter: str
) -> tuple[list[Problem], bool]:
    """A problem for each column ``named`` (column -> where it is named) not in ``header``.

    Returns:
        The problems (with a "did you mean" hint each) and whether the header may be shown
        (see ``shows_header``) in the title that lists the columns found.
    """
    shown = shows_header(header, list(named))
    present = set(header)
    problems = [
        Problem(
            f"column {column!r} ({where}) is not in the input"
            f"{header_hints(column, header, delimiter, shown)}",
            code="missing_column",
        )
        for column, where in named.items()
        if column not in present
    ]
    return problems, shown


def columns_found(header: list[str], shown: bool = True, limit: int = 30) -> str:
    """The header's columns for an error message, or only their count when not ``shown``."""
    if not shown:
        return (
            f"{len(header)} columns, not listed: the first line does not look like a "
            "header row (does the file have one?)"
        )
    listed = ", ".join(repr(c) for c in header[:limit])
    return listed + (f", ... ({len(header)} columns)" if len(header) > limit else "")


def locate_csv_problem(path: Path, encoding: str, delimiter: str) -> Problem:
    """Why a CSV reader failed: ``find_csv_problem``, or that the file is not valid CSV."""
    found = find_csv_problem(path, encoding, delimiter)
    return found or Problem(f"input {path} cannot be parsed as CSV", code="csv_syntax")


def find_csv_problem(path: Path, encoding: str, delimiter: str) -> Problem | None:
    """Find why a CSV reader failed, as a problem with the line number (None: nothing found).

    In order: text that is not ``encoding`` (the exact line), the first record whose field
    count differs from the header's, a record too large for the reader, line breaks inside
    quoted fields of a file too large to read in one block, then quoting the reader rejects.
    Streams the file with the standard ``csv`` module; reports line numbers and counts.
    """
    limit = csv.field_size_limit()
    csv.field_size_limit(sys.maxsize)
    try:
        return _scan_records(path, encoding, delimiter, strict=False) or _scan_records(
            path, encoding, delimiter, strict=True
        )
    finally:
        csv.field_size_limit(limit)


def _scan_records(path: Path, encoding: str, delimiter: str, strict: bool) -> Problem | None:
    width, longest, start, multiline = 0, (0, 0), 1, 0
    try:
        with path.open(encoding=text_encoding(encoding), newline="") as handle:
            reader = csv.reader(handle, delimiter=delimiter, strict=strict)
            for fields in reader:
                longest = max(longest, (sum(len(f) for f in fields), start))
                multiline = multiline or (start if reader.line_num > start else 0)
                if not width:
                    width = len(fields)
                elif fields and len(fields) != width:
                    return Problem(
                        f"input {path} line {start}: {len(fields)} fields, the header has "
                        f"{width}; a field holding the separator {delimiter!r} must be quoted",
                        code="csv_fields",
                    )
                start = reader.line_num + 1
    except UnicodeDecodeError:
        return encoding_problem(path, encoding, f"line {_undecodable_line(path, encoding)}")
    except csv.Error as exc:
        return Problem(
            f"input {path} line {start}: not valid CSV ({_csv_reason(exc)})", code="csv_syntax"
        )
    if longest[0] > LARGE_RECORD:
        return Problem(
            f"input {path} line {longest[1]}: a record of {longest[0] / 1e6:.1f} million "
            "characters, too large for the CSV reader (records over a few MB cannot be read): "
            "keep long free text out of the input",
            code="csv_record_too_large",
        )
    if multiline and path.stat().st_size > CSV_BLOCK_BYTES and not strict:
        return Problem(
            f"input {path} line {multiline}: a quoted field holds a line break; a CSV file "
            f"over {CSV_BLOCK_BYTES >> 20} MB is read in blocks split at line breaks, so such "
            "fields cannot be read: remove the line breaks or convert the file to Parquet",
            code="csv_multiline",
        )
    return None


def _undecodable_line(path: Path, encoding: str) -> int:
    """The line of the first byte that is not ``encoding`` (read in binary, block by block)."""
    decoder = codecs.getincrementaldecoder(text_encoding(encoding))()
    lines = 0
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            try:
                decoder.decode(block)
            except UnicodeDecodeError as exc:
                return lines + bad_byte_line(exc.object, exc)
            lines += block.count(b"\n")
    return lines + 1


def _csv_reason(exc: csv.Error) -> str:
    text = str(exc)
    if "unexpected end of data" in text:
        return "a quoted field that starts in this record is never closed"
    for known in ("new-line character seen in unquoted field", "line contains NUL"):
        if known in text:
            return known
    return "a quote inside a field that is not itself quoted, or text after a closing quote"
