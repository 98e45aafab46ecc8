"""Errors the user can act on, each bound to a process exit code.

Exit codes (also in README and ``anonymize --help``):

* 0 published
* 1 unexpected error
* 2 recipe or usage error
* 3 input problem (missing file, missing column, unreadable encoding, bad values)
* 4 blocked by the data-quality gate
* 5 identifiers found (``anonymize scan --fail-on-findings``)
* 6 the output is locked by another run (``--wait`` to wait for it)

No message of this tool holds a data value. A library's exception text often quotes one (a CSV
row, a cell that is not a number), so it is never shown: an unexpected error is reported by
its type and the place in the code where it was raised, and ``--debug`` prints the frames of
the traceback without the exception texts.
"""

from __future__ import annotations

import errno
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

EXIT_OK = 0
EXIT_UNEXPECTED = 1
EXIT_RECIPE = 2
EXIT_INPUT = 3
EXIT_GATE = 4
EXIT_FINDINGS = 5
EXIT_BUSY = 6


@dataclass
class Problem:
    """One finding: where it is, what was expected, and a machine-readable reason code."""

    message: str
    location: str = ""
    code: str = "invalid"

    def __str__(self) -> str:
        return f"{self.location} {self.message}".strip() if self.location else self.message


class AnonymizeError(Exception):
    """Base class: a list of problems reported together, with an exit code."""

    exit_code: int = EXIT_UNEXPECTED
    default_title: str = "error"

    def __init__(self, problems: list[Problem], title: str | None = None) -> None:
        self.problems = list(problems)
        self.title = title or self.default_title
        super().__init__(self.render())

    def __reduce__(self) -> tuple:
        return (self.__class__, (self.problems, self.title))

    def render(self) -> str:
        """Return the title and one line per problem."""
        n = len(self.problems)
        lines = [f"{self.title} ({n} problem{'s' * (n != 1)}):"]
        lines += [f"  {p}" for p in self.problems]
        return "\n".join(lines)


class RecipeError(AnonymizeError):
    """The recipe (or a command-line option) is wrong; exit 2."""

    exit_code = EXIT_RECIPE
    default_title = "recipe error"


class InputDataError(AnonymizeError):
    """The input file is missing, unreadable or does not fit the recipe; exit 3."""

    exit_code = EXIT_INPUT
    default_title = "input error"


class GateError(AnonymizeError):
    """The data-quality gate blocked publication; exit 4."""

    exit_code = EXIT_GATE
    default_title = "blocked by the gate"


class OutputBusyError(AnonymizeError):
    """Another run holds the output's lock; exit 6."""

    exit_code = EXIT_BUSY
    default_title = "output locked by another run"


_OS_REASONS = {
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.ENOSPC: "no space left on the device",
    errno.EROFS: "read-only file system",
    errno.EDQUOT: "disk quota exceeded",
    errno.ENAMETOOLONG: "file name too long",
    errno.EMFILE: "too many open files",
    errno.EIO: "input/output error",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
    errno.EISDIR: "is a folder, not a file",
}


def _os_problem(exc: OSError) -> AnonymizeError | None:
    """A file-system error the user can act on (permissions, a full disk), as exit 3."""
    reason = _OS_REASONS.get(exc.errno or -1)
    if reason is None:
        return None
    where = f" {exc.filename}" if isinstance(exc.filename, (str, Path)) else ""
    return InputDataError(
        [Problem(f"cannot use{where}: {reason}", code="file_system")], title="file error"
    )


def did_you_mean(word: str, options: list[str]) -> str:
    """`` did you mean 'x'?`` for the closest of ``options`` (option names, never data), or ""."""
    import difflib

    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def where_raised(exc: BaseException) -> str:
    """``pipeline/module.py:LINE in function``: the innermost frame inside this package."""
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if "/pipeline/" in f.filename.replace("\\", "/")]
    if not frames:
        return "an unknown place"
    frame = (ours or frames)[-1]
    name = "pipeline/" + frame.filename.replace("\\", "/").split("/pipeline/")[-1]
    return f"{name if ours else Path(frame.filename).name}:{frame.lineno} in {frame.name}"


def safe_traceback(exc: BaseException) -> str:
    """The traceback's frames and exception types, without any exception text.

    Source lines are code, never data; exception messages are left out because library errors
    quote data values.
    """
    chain: list[BaseException] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        chain.append(current)
        current = current.__cause__ or current.__context__
    parts = []
    for item in reversed(chain):
        frames = "".join(traceback.format_list(traceback.extract_tb(item.__traceback__)))
        parts.append(f"Traceback (exception text withheld):\n{frames}{type(item).__qualname__}\n")
    return "\n".join(parts)


def report_failure(exc: BaseException, debug: bool, write: Callable[[str], None]) -> int:
    """Print what went wrong through ``write`` (never a data value); return the exit code."""
    if isinstance(exc, OSError) and not isinstance(exc, AnonymizeError):
        exc = _os_problem(exc) or exc
    if isinstance(exc, AnonymizeError):
        write(exc.render())
        return exc.exit_code
    if isinstance(exc, MemoryError):
        write("out of memory: the machine could not hold what this run needed (MemoryError)")
        return EXIT_UNEXPECTED
    write(
        f"unexpected error: {type(exc).__name__} at {where_raised(exc)} (the message is "
        "withheld: it may quote data values); please report it"
    )
    if debug:
        write(safe_traceback(exc))
    else:
        write("(run with --debug for the traceback; it never shows data values)")
    return EXIT_UNEXPECTED


def quiet_library_logs() -> None:
    """Drop the log records of libraries (dask, distributed, GX): they may quote data values.

    The tool reports through its own messages; without a handler, Python would print a
    library's warnings and errors (with their arguments) to standard error.
    """
    import logging

    root = logging.getLogger()
    if not any(isinstance(h, logging.NullHandler) for h in root.handlers):
        root.addHandler(logging.NullHandler())


def print_failure(exc: BaseException, debug: bool) -> int:
    """``report_failure`` on standard error."""
    return report_failure(exc, debug, lambda text: print(text, file=sys.stderr, flush=True))
