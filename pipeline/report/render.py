"""The HTML pages' templates (Jinja2, autoescaped), with the numbers of ``core.numbers``.

Every page the tool writes (``risk_report.html``, ``tables/tables.html``, the review page) is a
template in ``pipeline/report/templates`` rendered here. Autoescaping is on for every template,
so a column name or a label can never become markup; charts come in as SVG marked safe by
:mod:`pipeline.report.charts`.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from pipeline.core.numbers import described, number, share

if TYPE_CHECKING:
    # imported where used: checking a recipe (``anonymize validate``) loads none of them
    from jinja2 import Environment


@cache
def environment() -> Environment:
    """The templates' environment (cached): autoescaped, undefined names are errors."""
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

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
