"""Screenshot check of every HTML page the tool writes, in a real headless browser (Chromium).

    python bench/screenshot_reports.py [--out DIR]

Runs the census demo, the survey demo, the census tables and the census demo blocked by its
gate (``risk.k: 5``) in a scratch folder, then for each page (``risk_report.html``,
``public_notice.html``, ``codebook.html``, ``tables/tables.html``, ``review/check_report.html``
and the blocked run's ``census_demo.gate_report.html``): the layout check of
``tests/report/layout_check.js`` (folded content opened; labels clipped inside a chart, y axes
with fewer than 3 ticks, numbers in scientific notation, a page wider than the window) and a
PNG screenshot in DIR (default ``bench/out/screenshots``) to look at. It also times rendering
each page from what it is made of (the risk report from its JSON, template + charts; the
notice and the codebook from their Markdown), the first time (templates compiled) and again,
beside the floor of writing the risk report's JSON (``model_dump_json``). Needs ``chromium``
(Debian: ``apt-get install chromium``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))
from pipeline import api  # noqa: E402
from pipeline.core.errors import GateError  # noqa: E402
from pipeline.report.codebook import codebook_page  # noqa: E402
from pipeline.report.html import render_html  # noqa: E402
from pipeline.report.model import RiskReport  # noqa: E402
from pipeline.report.notice import notice_page  # noqa: E402
from tests.report import browser  # noqa: E402

PAGES = (
    "risk_report.html",
    "public_notice.html",
    "codebook.html",
    "tables/tables.html",
    "review/check_report.html",
)


def _published(work: Path) -> list[Path]:
    """Run the three demos in ``work``; their published folders."""
    for folder in ("recipes", "data_contracts", "examples"):
        shutil.copytree(REPO / folder, work / folder)
    out = []
    for recipe in ("census_demo", "survey_demo"):
        out.append(api.run(work / "recipes" / f"{recipe}.yaml", quiet=True).out_dir)
    tables = api.tabulate(work / "recipes" / "census_tables.yaml", quiet=True)
    out.append(tables.out_dir)
    blocked = work / "recipes" / "census_blocked.yaml"
    text = (work / "recipes" / "census_demo.yaml").read_text(encoding="utf-8")
    blocked.write_text(text.replace("risk: {k: 3,", "risk: {k: 5,"), encoding="utf-8")
    try:
        api.run(blocked, quiet=True)
    except GateError:  # the page of a blocked run: census_demo.gate_report.html
        return [work / p for p in out]
    raise SystemExit("the census demo with risk.k: 5 was published, not blocked")


def _times(folder: Path) -> list[tuple[str, float, float]]:
    """(page, first render, second render) in seconds, from what each page is made of."""
    out = []
    if (folder / "risk_report.json").exists():
        report = RiskReport.model_validate_json((folder / "risk_report.json").read_text())
        out.append(("risk_report.html", *_twice(lambda: render_html(report))))
    for page, source, render in (
        ("public_notice.html", "public_notice.md", notice_page),
        ("codebook.html", "codebook.md", codebook_page),
    ):
        if (folder / source).exists():
            text = (folder / source).read_text(encoding="utf-8")
            out.append((page, *_twice(lambda t=text, r=render: r(t, "run"))))
    return out


def _twice(render: Callable[[], object]) -> tuple[float, float]:
    seconds = []
    for _ in range(2):
        start = time.perf_counter()
        render()
        seconds.append(time.perf_counter() - start)
    return seconds[0], seconds[1]


def _json_floor(folder: Path) -> float:
    """Seconds to write the risk report's JSON (the floor of a page made from it)."""
    report = RiskReport.model_validate_json((folder / "risk_report.json").read_text())
    start = time.perf_counter()
    report.model_dump_json(indent=2)
    return time.perf_counter() - start


def _check(pages: list[tuple[Path, Path]], shots: Path) -> int:
    """Layout-check and screenshot each (folder, page); the number of pages with problems."""
    failed = 0
    for folder, page in pages:
        if not page.exists():
            continue
        found = browser.layout(page)
        png = shots / f"{folder.name}-{page.stem}.png"
        browser.screenshot(page, png)
        failed += bool(found["problems"])
        print(
            f"{folder.name}/{page.relative_to(folder).as_posix()}: {found['charts']} charts, "
            f"{found['tables']} tables, {len(found['problems'])} problems -> {png}"
        )
        for problem in found["problems"]:
            print(f"    {problem}")
    return failed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE / "out" / "screenshots")
    args = parser.parse_args()
    if browser.browser() is None:
        print("no Chromium installed: apt-get install chromium")
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        os.chdir(work)
        folders = _published(work)
        pages = [(f, f / name) for f in folders for name in PAGES]
        pages.append((work / "out", work / "out" / "census_demo.gate_report.html"))
        failed = _check(pages, args.out)
        for folder in folders:
            for name, first, again in _times(folder):
                print(
                    f"render {folder.name}/{name}: {first * 1000:.1f} ms first, "
                    f"{again * 1000:.1f} ms again"
                )
            if (folder / "risk_report.json").exists():
                print(f"  floor, the risk report's JSON: {_json_floor(folder) * 1000:.1f} ms")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
