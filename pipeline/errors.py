"""Errors the user can act on, each bound to a process exit code.

Exit codes (also in README and ``anonymize --help``):

* 0 published
* 1 unexpected error
* 2 recipe or usage error
* 3 input problem (missing file, missing column, unreadable encoding, bad values)
* 4 blocked by the data-quality gate
* 5 identifiers found (``anonymize scan --fail-on-findings``)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

EXIT_OK = 0
EXIT_UNEXPECTED = 1
EXIT_RECIPE = 2
EXIT_INPUT = 3
EXIT_GATE = 4
EXIT_FINDINGS = 5


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


_QUOTED = re.compile(r"""(['"])(?:(?!\1).){0,2000}\1""")
_DIGITS = re.compile(r"\d{4,}")


def redact(message: str) -> str:
    """Strip anything that may be a data value from a third-party exception message.

    Library errors often quote the offending cell (``could not convert 'Taro'``); quoted
    strings and digit runs of four or more are replaced so no identifier reaches a log.
    """
    return _DIGITS.sub("<n>", _QUOTED.sub("'<redacted>'", message))
