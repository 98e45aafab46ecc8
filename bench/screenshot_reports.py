"""Screenshot check of every HTML page the tool writes, in a real headless browser (Chromium).

    python bench/screenshot_reports.py [--out DIR]

Runs the census demo, the survey demo and the census tables in a scratch folder, then for each
page (``risk_report.html``, ``tables/tables.html``, ``review/check_report.html``): the layout
check of ``tests/report/layout_check.js`` (labels clipped inside a chart, y axes with fewer
than 3 ticks, numbers in scientific notation, a page wider than the window) and a PNG
screenshot in DIR (default ``bench/out/screenshots``) to look at. It also times rendering the
risk report from its JSON (template + charts) beside the floor of writing the same JSON
(``model_dump_json``). Needs ``chromium`` (Debian: ``apt-get install chromium``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))
from pipeline import api  # noqa: E402
from pipeline.report.html import render_html  # noqa: E402
from pipeline.report.model import RiskReport  # noqa: E402
from tests.report import browser  # noqa: E402

PAGES = ("risk_report.html", "tables/tables.html", "review/check_report.html")


def _published(work: Path) -> list[Path]:
    """Run the three demos in ``work``; their published folders."""
    for folder in ("recipes", "data_contracts", "examples"):
        shutil.copytree(REPO / folder, work / folder)
    out = []
    for recipe in ("census_demo", "survey_demo"):
        out.append(api.run(work / "recipes" / f"{recipe}.yaml", quiet=True).out_dir)
    tables = api.tabulate(work / "recipes" / "census_tables.yaml", quiet=True)
    out.append(tables.out_dir)
    return [work / p for p in out]


def _render_time(folder: Path) -> tuple[float, float]:
    report = RiskReport.model_validate_json((folder / "risk_report.json").read_text())
    start = time.perf_counter()
    render_html(report)
    page = time.perf_counter() - start
    start = time.perf_counter()
    report.model_dump_json(indent=2)
    return page, time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE / "out" / "screenshots")
    args = parser.parse_args()
    if browser.browser() is None:
        print("no Chromium installed: apt-get install chromium")
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        os.chdir(work)
        for folder in _published(work):
            for name in PAGES:
                page = folder / name
                if not page.exists():
                    continue
                found = browser.layout(page)
                png = args.out / f"{folder.name}-{page.stem}.png"
                browser.screenshot(page, png)
                failed += bool(found["problems"])
                print(
                    f"{folder.name}/{name}: {found['charts']} charts, {found['tables']} tables, "
                    f"{len(found['problems'])} problems -> {png}"
                )
                for problem in found["problems"]:
                    print(f"    {problem}")
            if (folder / "risk_report.json").exists():
                page, floor = _render_time(folder)
                print(
                    f"  render risk_report.html {page * 1000:.0f} ms "
                    f"(floor, its JSON: {floor * 1000:.1f} ms)"
                )
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
