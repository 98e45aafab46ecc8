"""Error reporting: a named error and its exit code, never a library's message (it quotes data)."""

from __future__ import annotations

import errno

import pandas as pd

from pipeline.core.errors import (
    EXIT_INPUT,
    EXIT_UNEXPECTED,
    InputDataError,
    Problem,
    report_failure,
    safe_traceback,
)

SECRET = "Taro PLANTEDQX7"


def _library_error() -> Exception:
    try:
        pd.to_numeric(pd.Series([SECRET]))
    except ValueError as exc:
        return exc
    raise AssertionError("pandas accepted a name as a number")


def _capture(exc: BaseException, debug: bool) -> tuple[int, str]:
    lines: list[str] = []
    return report_failure(exc, debug, lines.append), "\n".join(lines)


def test_unexpected_error_names_type_and_place_but_never_the_message() -> None:
    exc = _library_error()
    assert SECRET in str(exc)  # the library quotes the value...
    code, text = _capture(exc, debug=False)
    assert code == EXIT_UNEXPECTED
    assert "ValueError" in text and "withheld" in text
    assert "PLANTEDQX7" not in text and "Taro" not in text


def test_debug_traceback_has_frames_but_no_message() -> None:
    exc = _library_error()
    code, text = _capture(exc, debug=True)
    assert "Traceback (exception text withheld)" in text and "to_numeric" in text
    assert "PLANTEDQX7" not in text
    assert "PLANTEDQX7" not in safe_traceback(exc)


def test_chained_exceptions_are_all_withheld() -> None:
    try:
        try:
            raise KeyError(SECRET)
        except KeyError as inner:
            raise RuntimeError(f"wrapped {inner}") from inner
    except RuntimeError as exc:
        text = safe_traceback(exc)
    assert text.count("Traceback") == 2 and "KeyError" in text and "PLANTEDQX7" not in text


def test_named_errors_keep_their_message_and_code() -> None:
    code, text = _capture(InputDataError([Problem("column 'age': 2 value(s)")]), debug=True)
    assert code == EXIT_INPUT and "column 'age'" in text and "Traceback" not in text


def test_file_system_errors_are_input_problems_not_bugs() -> None:
    full = OSError(errno.ENOSPC, "No space left on device", "/data/out")
    code, text = _capture(full, debug=False)
    assert code == EXIT_INPUT and "/data/out: no space left" in text
    denied = PermissionError(errno.EACCES, "Permission denied", "/data/in.csv")
    assert _capture(denied, debug=False)[0] == EXIT_INPUT
