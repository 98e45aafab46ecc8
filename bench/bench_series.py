"""Benchmark: a second night of a release series beside the same night judged alone.

    python bench/bench_series.py --sizes 1000000 10000000
    python bench/bench_series.py --demo      # the demo's file, and what an attacker learns

Night 1 is bench_scale's census-like data (generated once under bench/data/); night 2 is the
same people with 15% of the households gone (a seeded hash of the household id). For each size,
in the same run, the demo recipe:

* night 1 with the series key (ANON_SERIES_KEY): the first release of the series;
* night 2 alone (no key): what it costs today, and what an attacker then learns;
* night 2 with ``--previous`` night 1: the series (sticky hidden values, the merged view's
  suppression and withholding, the state written);
* the floor (duckdb): night 2's published columns read, one group-by over the five keys, one
  Parquet write, plus one hash join of its person ids with night 1's (what the series adds).

Prints seconds and peak RSS of each run, and the values hidden on night 2 alone and in the
series (local suppression, values kept hidden, suppressed and records withheld for the series).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench_scale import KEYS, OUTPUT, make_data, measured  # noqa: E402

KEY = "a benchmark series key of 32 bytes"


def night_two(folder: Path) -> Path:
    """Night 1 without 15% of its households (generated once, duckdb)."""
    import duckdb

    target = folder.parent / f"{folder.name}_night2"
    if (target / "_SUCCESS").exists():
        return target
    target.mkdir(exist_ok=True)
    duckdb.sql(
        f"COPY (SELECT * FROM read_parquet('{folder}/*.parquet') WHERE "
        f"hash(household_id) % 100 >= 15) TO '{target}' (FORMAT parquet, "
        "PER_THREAD_OUTPUT true)"
    )
    (target / "_SUCCESS").write_text("")
    return target


def floor(night1: Path, night2: Path, out: Path) -> float:
    import duckdb

    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    con = duckdb.connect()
    con.execute(
        f"COPY (SELECT {', '.join(OUTPUT)} FROM read_parquet('{night2}/*.parquet')) TO "
        f"'{out / 'floor.parquet'}' (FORMAT parquet)"
    )
    con.execute(
        f"SELECT count(*) FROM (SELECT {', '.join(KEYS)}, count(*) FROM "
        f"read_parquet('{night2}/*.parquet') GROUP BY ALL)"
    ).fetchone()
    con.execute(
        f"SELECT count(*) FROM read_parquet('{night2}/*.parquet') a JOIN "
        f"read_parquet('{night1}/*.parquet') b USING (member_id)"
    ).fetchone()
    con.close()
    return time.perf_counter() - started


def hidden(out: Path) -> dict[str, int]:
    """What a release hid: local suppression, and the series' own figures."""
    report = json.loads((out / "risk_report.json").read_text())
    local = sum(sum((s["facts"].get("suppressions") or {}).values()) for s in report["steps"])
    series = report.get("series") or {}
    return {
        "local": local,
        "kept hidden": series.get("values_kept_hidden") or 0,
        "series suppressed": series.get("values_suppressed") or 0,
        "withheld records": series.get("records_withheld") or 0,
    }


def run(args: list[str], key: bool) -> tuple[float, float]:
    env = {k: v for k, v in os.environ.items() if k != "ANON_SERIES_KEY"}
    if key:
        env["ANON_SERIES_KEY"] = KEY
    os.environ.clear()
    os.environ.update(env)
    seconds, peak, code = measured(
        [sys.executable, "-m", "pipeline", "run", "recipes/census_demo.yaml", "-q", *args]
    )
    if code:
        raise SystemExit(f"exit {code}: {' '.join(args)}")
    return seconds, peak


def demo() -> None:
    """The demo's sample (night 1) and the same without 15% of its households (night 2),
    released alone and as a series; what the attacker of ``tests.series.attack`` learns."""
    import numpy as np
    import pandas as pd

    sys.path.insert(0, str(HERE.parent))
    from tests.series.attack import attack, load

    frame = pd.read_csv(HERE.parent / "examples" / "census_sample.csv", dtype=str)
    households = frame["household_id"].unique()
    gone = set(
        np.random.default_rng(3).choice(households, int(0.15 * len(households)), replace=False)
    )
    out = HERE / "out" / "series_demo"
    out.mkdir(parents=True, exist_ok=True)
    frame[~frame["household_id"].isin(gone)].to_csv(out / "night2.csv", index=False)
    night1 = str(HERE.parent / "examples" / "census_sample.csv")
    runs = {
        "alone": [
            (night1, "alone1", None, False),
            (str(out / "night2.csv"), "alone2", None, False),
        ],
        "series": [
            (night1, "series1", None, True),
            (str(out / "night2.csv"), "series2", str(out / "series1"), True),
        ],
    }
    for name, nights in runs.items():
        for source, target, previous, key in nights:
            extra = ["--previous", previous] if previous else []
            run(["--input", source, "--output", str(out / target), *extra], key=key)
        releases = [load(out / target) for _, target, _, _ in nights]
        found = attack(releases, KEYS, 3, ["income", "sex"], tokens="household_id")
        print(f"demo, two nights {name}: {found}; night 2 hid {hidden(out / nights[1][1])}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--demo", action="store_true", help="the demo's file and the attack")
    args = parser.parse_args()
    if args.demo:
        demo()
        return
    for rows in args.sizes:
        night1 = make_data(rows, args.workers)
        night2 = night_two(night1)
        out = HERE / "out" / f"series_{rows}"
        first = run(["--input", str(night1), "--output", str(out / "night1")], key=True)
        alone = run(["--input", str(night2), "--output", str(out / "alone")], key=False)
        series = run(
            [
                "--input",
                str(night2),
                "--output",
                str(out / "night2"),
                "--previous",
                str(out / "night1"),
            ],
            key=True,
        )
        floor_s = floor(night1, night2, out / "floor")
        print(
            f"{rows:,} persons: night 1 {first[0]:.1f} s ({first[1]:.0f} MB); night 2 alone "
            f"{alone[0]:.1f} s ({alone[1]:.0f} MB); night 2 in the series {series[0]:.1f} s "
            f"({series[1]:.0f} MB); duckdb floor {floor_s:.2f} s",
            flush=True,
        )
        print(f"  hidden on night 2 alone: {hidden(out / 'alone')}")
        print(f"  hidden on night 2 in the series: {hidden(out / 'night2')}", flush=True)


if __name__ == "__main__":
    main()
