"""Render a page in a real headless browser (Chromium) and run the layout check on it."""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

CHECK = Path(__file__).with_name("layout_check.js")
_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
]


def browser() -> str | None:
    """The path of an installed Chromium or Chrome, or None."""
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def _run(page: Path, extra: list[str], width: int, height: int) -> str:
    exe = browser()
    assert exe is not None, "no browser installed"
    with tempfile.TemporaryDirectory() as profile:
        done = subprocess.run(
            [
                exe,
                *_FLAGS,
                f"--user-data-dir={profile}",
                f"--window-size={width},{height}",
                *extra,
                page.resolve().as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
    return done.stdout


def layout(page: Path, width: int = 1100) -> dict[str, Any]:
    """The layout check's findings on ``page`` (a copy with the check injected is rendered)."""
    with tempfile.TemporaryDirectory() as tmp:
        probe = Path(tmp) / page.name
        text = page.read_text(encoding="utf-8")
        script = f"<script>{CHECK.read_text(encoding='utf-8')}</script>"
        probe.write_text(text.replace("</body>", script + "</body>", 1), encoding="utf-8")
        dom = _run(probe, ["--dump-dom", "--virtual-time-budget=5000"], width, 900)
    found = re.findall(r'<pre id="layout-check">(.*?)</pre>', dom, re.DOTALL)
    assert found, "the layout check did not run"
    return json.loads(html.unescape(found[-1]))


def screenshot(page: Path, png: Path, width: int = 1100, height: int = 6000) -> Path:
    """A PNG of ``page`` as the browser draws it."""
    _run(page, [f"--screenshot={png.resolve()}"], width, height)
    return png
