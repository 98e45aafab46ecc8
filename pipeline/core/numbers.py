"""Numbers as people read them, in pages, notices, logs and messages: one home for all.

No scientific notation anywhere (``17,072,895``, never ``1.70729e+07``), and a value that is
not zero is never shown as ``0``.
"""

from __future__ import annotations

import math
from typing import Any

_MAX_DECIMALS = 6


def number(value: Any, digits: int = 4) -> str:
    """A number as people read it: ``17,072,895``, ``0.0153``, ``1.25``; ``–`` for none.

    Whole numbers get thousands separators and no decimals; other numbers keep ``digits``
    significant digits in plain notation (no ``e+07``), at most six decimals unless a smaller
    value needs more to show its first digit (``0.0000003``, never ``0``). Booleans are
    ``yes``/``no``; anything else is its text.
    """
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if not isinstance(value, float):
        return str(value)
    if math.isnan(value):
        return "–"
    if math.isinf(value):
        return "∞" if value > 0 else "−∞"
    if value.is_integer() and abs(value) < 1e15:
        return f"{int(value):,}"
    size = math.floor(math.log10(abs(value)))
    # at most six decimals, unless the value needs more to show a digit: never "0" for 3e-07
    decimals = min(max(digits - 1 - size, 0), max(_MAX_DECIMALS, 1 - size))
    text = f"{value:,.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def cell(value: float) -> str:
    """A published table cell: whole (or >= 100) without decimals, else two (``1,234``, ``4.50``).

    Fixed decimals keep a table's column aligned, unlike :func:`number`'s significant digits.
    """
    if float(value).is_integer() or abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:,.2f}"


def share(value: Any, digits: int = 3) -> str:
    """A share (0-1) as a percentage: ``0.1534`` -> ``15.3%``; ``–`` for none."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{number(100 * float(value), digits)}%"


def described(value: Any) -> str:
    """A fact's value in words: numbers formatted, lists and mappings spelled out."""
    if isinstance(value, dict):
        return ", ".join(f"{k}: {described(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(described(v) for v in value)
    return number(value)
