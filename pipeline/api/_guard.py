"""The API's guard: only the tool's own errors leave it, never a library's message."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from pipeline.core.errors import AnonymizeError, Problem, RecipeError, where_raised

Data = Any  # a path (str or Path), a pandas DataFrame or a pyarrow Table
T = TypeVar("T")


class UnexpectedError(AnonymizeError):
    """A bug: its type and place in the code, never the library's message (exit 1)."""

    default_title = "unexpected error"


def guarded(func: Callable[..., T]) -> Callable[..., T]:
    """Let the tool's errors through; replace any other by :class:`UnexpectedError`."""

    @functools.wraps(func)
    def call(*args: Any, **kwargs: Any) -> T:
        try:
            return func(*args, **kwargs)
        except AnonymizeError:
            raise
        except Exception as exc:  # noqa: BLE001 - library messages may quote data values
            what = f"{type(exc).__name__} at {where_raised(exc)} (the message is withheld)"
            raise UnexpectedError([Problem(what, code="unexpected")]) from None

    return call


def column_names(value: Sequence[str] | str, what: str) -> list[str]:
    """Column names from a list (or a comma-separated string)."""
    items = value.split(",") if isinstance(value, str) else list(value)
    names = [str(c).strip() for c in items if str(c).strip()]
    if not names:
        raise RecipeError([Problem(f"{what} names no column")], title="usage error")
    return names
