"""The HTML pages' templates (Jinja2, autoescaped) and their number formatting for people.

Every page the tool writes (``risk_report.html``, ``tables/tables.html``, the review page) is a
template in ``pipeline/report/templates`` rendered here. Autoescaping is on for every template,
so a column name or a label can never become markup; charts come in as SVG marked safe by
:mod:`pipeline.report.charts`.
"""

from __future__ import annotations

import math
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

_MAX_DECIMALS = 6


def number(value: Any, digits: int = 4) -> str:
    """A number as people read it: ``17,072,895``, ``0.0153``, ``1.25``; ``–`` for none.

    Whole numbers get thousands separators and no decimals; other numbers keep ``digits``
    significant digits in plain notation (no ``e+07``), at most six decimals. Booleans are
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
    decimals = min(max(digits - 1 - size, 0), _MAX_DECIMALS)
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


@cache
def environment() -> Environment:
    """The templates' environment (cached): autoescaped, undefined names are errors."""
    env = Environment(
        loader=PackageLoader("pipeline", "report/templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(number=number, share=share, described=described)
    return env


def render(template: str, **context: Any) -> str:
    """Render one template of ``pipeline/report/templates`` with ``context``."""
    return environment().get_template(template).render(**context)
