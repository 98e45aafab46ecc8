"""Check digits and validators for Japanese identification and region codes.

Every ``is_valid_*`` function accepts free text: it applies Unicode NFKC normalisation (so
full-width digits and hyphens become ASCII), removes hyphen-like characters and whitespace, then
requires an exact number of ASCII digits and a matching check digit. Non-string input is never
valid. The ``*_check_digit`` functions take the digits without the check digit and raise
``ValueError`` unless given exactly the expected number of ASCII digits.

Each formula is written once, vectorised over a matrix of digit rows (``*_digits``: bodies in,
check digits out); the scalar functions and the scanner (``pipeline.scan.kinds``) both use it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

import numpy as np

MY_NUMBER_WEIGHTS = (6, 5, 4, 3, 2, 7, 6, 5, 4, 3, 2)
LICENCE_WEIGHTS = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)
_JIS_WEIGHTS = (6, 5, 4, 3, 2)
# Removed after NFKC: ASCII hyphen, Unicode hyphens and dashes, minus sign, any whitespace.
_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015\u2212]")
_ASCII_DIGITS = re.compile(r"[0-9]+")
Formula = Callable[[np.ndarray], np.ndarray]


def normalize_digits(s: str) -> str:
    """Normalise a code written in free text.

    Args:
        s: Raw text such as ``"１２３４－５６７８－９０１８"``.

    Returns:
        The NFKC form without hyphen-like characters and whitespace (not necessarily digits).

    """
    return _SEPARATORS.sub("", unicodedata.normalize("NFKC", s))


def _digits(body: str, length: int | None, name: str) -> list[int]:
    """Convert an ASCII digit string to ints, checking its length (None: any non-zero)."""
    if not isinstance(body, str) or not _ASCII_DIGITS.fullmatch(body):
        raise ValueError(f"{name}: expected ASCII digits, got {body!r}")
    if length is not None and len(body) != length:
        raise ValueError(f"{name}: expected {length} digits, got {len(body)}")
    return [int(ch) for ch in body]


def _one(body: str, length: int | None, name: str, formula: Formula) -> int:
    """The check digit of one body through the vectorised ``formula``."""
    return int(formula(np.array([_digits(body, length, name)], dtype=np.int64))[0])


def my_number_digits(bodies: np.ndarray) -> np.ndarray:
    """My Number check digits of rows of 11 digits: r = sum mod 11 -> 0 if r <= 1 else 11 - r."""
    r = (bodies @ np.asarray(MY_NUMBER_WEIGHTS)) % 11
    return np.where(r <= 1, 0, 11 - r)


def corporate_digits(bodies: np.ndarray) -> np.ndarray:
    """Corporate-number check digits of rows of 12 digits (weights 1,2,1,2.. from the right)."""
    weights = 1 + (np.arange(bodies.shape[1])[::-1] % 2)
    return 9 - (bodies @ weights) % 9


def licence_digits(bodies: np.ndarray) -> np.ndarray:
    """The (unofficial) driver's-licence check digits of rows of 10 digits."""
    return (11 - (bodies @ np.asarray(LICENCE_WEIGHTS)) % 11) % 10


def jis_digits(bodies: np.ndarray) -> np.ndarray:
    """JIS X 0402 check digits of rows of 5 digits."""
    return (11 - (bodies @ np.asarray(_JIS_WEIGHTS)) % 11) % 10


def insurer_digits(bodies: np.ndarray) -> np.ndarray:
    """Luhn-style insurer check digits of rows of 5 or 7 digits (2,1,2,.. from the right)."""
    products = bodies * (2 - (np.arange(bodies.shape[1])[::-1] % 2))
    return (10 - (products // 10 + products % 10).sum(axis=1) % 10) % 10


def _clean(s: object, lengths: tuple[int, ...]) -> str | None:
    """Return the normalised digit string if it has one of ``lengths`` digits, else None."""
    if not isinstance(s, str):
        return None
    t = normalize_digits(s)
    return t if len(t) in lengths and _ASCII_DIGITS.fullmatch(t) else None


def my_number_check_digit(first11: str) -> int:
    """Compute the 12th (check) digit of an individual number (My Number, 個人番号).

    Args:
        first11: The first 11 digits.

    Returns:
        With weights 6,5,4,3,2,7,6,5,4,3,2 left to right and ``r = sum mod 11``: 0 if
        ``r <= 1``, else ``11 - r``.

    """
    return _one(first11, 11, "my_number", my_number_digits)


def is_valid_my_number(s: str) -> bool:
    """Tell whether text is a My Number with a valid check digit.

    Args:
        s: Text; full-width digits, hyphens and spaces are accepted (``"1234-5678-9018"``).

    Returns:
        True if it normalises to exactly 12 ASCII digits ending in the right check digit.

    """
    t = _clean(s, (12,))
    return t is not None and my_number_check_digit(t[:11]) == int(t[11])


def corporate_number_check_digit(body12: str) -> int:
    """Compute the check digit of a corporate number (法人番号), which is its FIRST digit.

    Args:
        body12: The 12 digits that follow the check digit.

    Returns:
        ``9 - (sum mod 9)``, the sum weighting the body 1,2,1,2,... from the right.

    """
    return _one(body12, 12, "corporate_number", corporate_digits)


def is_valid_corporate_number(s: str) -> bool:
    """Tell whether text is a 13-digit corporate number with a valid leading check digit.

    Args:
        s: Text, normalised like in :func:`is_valid_my_number`.

    Returns:
        True if valid.

    """
    t = _clean(s, (13,))
    return t is not None and corporate_number_check_digit(t[1:]) == int(t[0])


def licence_check_digit(first10: str) -> int:
    """Compute the (unofficial) 11th digit of a driver's licence number (運転免許証番号).

    Args:
        first10: Digits 1-10.

    Returns:
        ``(11 - sum mod 11) mod 10`` with weights 5,4,3,2,7,6,5,4,3,2 left to right.

    """
    return _one(first10, 10, "licence", licence_digits)


def is_valid_licence(s: str) -> bool:
    """Tell whether text is a 12-digit driver's licence number whose 11th digit matches.

    The formula is not official, so a match is only a soft signal. The 12th digit (reissue
    count) is not checked.

    Args:
        s: Text, normalised like in :func:`is_valid_my_number`.

    Returns:
        True if valid.

    """
    t = _clean(s, (12,))
    return t is not None and licence_check_digit(t[:10]) == int(t[10])


def jis_check_digit(code5: str) -> int:
    """Compute the 6th (check) digit of a JIS X 0402 local government code.

    Args:
        code5: The 5-digit code (prefecture + municipality), e.g. ``"13101"`` -> 6.

    Returns:
        ``(11 - sum mod 11) mod 10`` with weights 6,5,4,3,2.

    """
    return _one(code5, 5, "jis", jis_digits)


def is_valid_jis6(s: str) -> bool:
    """Tell whether text is a 6-digit local government code with a valid check digit.

    Args:
        s: Text, e.g. ``"131016"`` (Chiyoda, Tokyo).

    Returns:
        True if the prefecture part is 01-47 and the 6th digit matches.

    """
    t = _clean(s, (6,))
    return t is not None and 1 <= int(t[:2]) <= 47 and jis_check_digit(t[:5]) == int(t[5])


def insurer_check_digit(body: str) -> int:
    """Compute the check digit of a health insurer number (保険者番号).

    Args:
        body: The digits before the check digit (7 digits, or 5 for national health insurance).

    Returns:
        Luhn-style: weights 2,1,2,1,... from the right of the body, the digit sums of the
        products added up, then ``(10 - sum mod 10) mod 10``.

    """
    return _one(body, None, "insurer", insurer_digits)


def is_valid_insurer_number(s: str) -> bool:
    """Tell whether text is an insurer number (8 digits, or 6 for national health insurance).

    Args:
        s: Text, normalised like in :func:`is_valid_my_number`.

    Returns:
        True if the last digit is the check digit of the others.

    """
    t = _clean(s, (6, 8))
    return t is not None and insurer_check_digit(t[:-1]) == int(t[-1])
