"""Linked tables: the joint suppression pattern beside the one taken table by table.

    python bench/bench_linked.py [--sizes 5000 50000]

Data: the demo census generator's N records. Tables: the demo tabulation recipe's count tables
of the same people (population by regional block x age group, by prefecture x sex, and by
regional block x sex x age group in three dimensions; threshold 10, intervals of 10 units).
Printed per size: the cells hidden (primary + secondary) when each table is protected alone and
when all are protected as one system, the narrowest primary cell's interval as an attacker
derives it from all the published tables (alone: what the patterns leak; together: at least
10), and the seconds of each protection. The protection has no floor of an engine: duckdb and
pyarrow compute tables but do not protect them.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import dask.dataframe as dd
import yaml

from pipeline.demo.census import generate_census
from pipeline.engine.apply import PendingChecks
from pipeline.tabulate import linked
from pipeline.tabulate.compute import assemble_cells, plan_cells, prepare
from pipeline.tabulate.model import Rules, TableSpec
from pipeline.tabulate.protect import suppress

REPO = Path(__file__).resolve().parents[1]


def _specs():  # noqa: ANN202
    raw = yaml.safe_load((REPO / "recipes" / "census_tables.yaml").read_text(encoding="utf-8"))
    counts = [t for t in raw["tables"] if t.get("statistic") == "count"]
    return [TableSpec.model_validate(t) for t in counts], Rules.model_validate(raw["rules"])


def _narrowest(specs, rules, cells, checked, finest) -> float:  # noqa: ANN001
    widths = linked.system_widths(cells, specs, rules, checked, finest)
    return min(widths, default=float("inf"))


def bench(rows: int) -> None:
    specs, rules = _specs()
    frame = generate_census(rows, seed=20261122)
    frame["municipality"] = frame["municipality"].astype(str).str.zfill(5)
    ddf = dd.from_pandas(frame[["municipality", "age", "sex"]], npartitions=4)
    with PendingChecks() as checks:
        prepared = {s.name: prepare(ddf, s, REPO / "recipes", checks) for s in specs}
        plans = {s.name: plan_cells(prepared[s.name], s) for s in specs}
        found, finest = checks.settle((plans, linked.finest_plan(prepared, specs)))[0]
    cells = {s.name: assemble_cells(found[s.name], s) for s in specs}
    started = time.perf_counter()
    alone = {s.name: suppress(cells[s.name], s, rules) for s in specs}
    alone_s = time.perf_counter() - started
    started = time.perf_counter()
    together = linked.suppress_family(cells, specs, rules, finest)
    together_s = time.perf_counter() - started

    def hidden(checked: dict) -> str:
        kinds = [k for c in checked.values() for k in c["suppression"]]
        return f"{kinds.count('primary')} + {kinds.count('secondary')}"

    print(
        f"| {rows:,} | {len(finest):,} | {hidden(alone)} | {hidden(together)} | "
        f"{_narrowest(specs, rules, cells, alone, finest):g} | "
        f"{_narrowest(specs, rules, cells, together, finest):g} | {alone_s:.2f} s | "
        f"{together_s:.2f} s |",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[5_000, 50_000])
    args = parser.parse_args()
    print(
        "| records | finest cells | hidden alone (primary + secondary) | hidden together | "
        "narrowest interval over both, alone | together | seconds alone | together |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for rows in args.sizes:
        bench(rows)


if __name__ == "__main__":
    main()
