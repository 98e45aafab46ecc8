"""The HTML page of a Markdown document the tool writes (the public notice, the codebook).

The Markdown is the document's one source; its page is the same text rendered by mistune
(raw HTML in it is escaped, so a label can never become markup) inside the pages' common layout
(``document.html.j2``): a data holder can post it as it is, and the browser layout check reads
it like every other page.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from markupsafe import Markup

from pipeline.report.render import render


@cache
def _markdown() -> Any:
    import mistune

    return mistune.create_markdown(escape=True, plugins=["table"])


def markdown_page(text: str, title: str, kind: str, run_id: str) -> str:
    """``text`` (Markdown) as a self-contained page titled ``title``.

    Args:
        text: The document.
        title: The page's title (the browser's tab).
        kind: What the page is (``public notice``, ``codebook``): the page's marker.
        run_id: The run it belongs to (the page's data attribute).
    """
    body = Markup(_markdown()(text))  # noqa: S704 - mistune escaped every raw HTML text
    return render(
        "document.html.j2",
        title=title,
        body=body,
        lang="ja",
        page_kind=kind,
        data={"run_id": run_id},
    )
