"""Benchmark: ``--gate-only`` (an auditor re-validating a published output) beside a floor.

    python bench/bench_audit.py --sizes 1000000 10000000

For each size, the demo recipe is published once from bench_scale's census-like data (generated
once under bench/data/), then, in the same run:

* floor (duckdb): what any audit must do at least - the SHA-256 of every published file
  (hashlib, reading every byte once) plus, in duckdb, the rows and the class sizes over the key
  columns of the published files (one group-by); pyarrow's group-by as the second column;
* anonymize: ``anonymize run recipes/census_demo.yaml --gate-only OUT`` as a whole process
  (listing, SHA-256 of every file, the output stage: contract, privacy checks, scan, risk
  measured again, the manifest's facts recomputed, the risk report rebuilt, the notice written
  again).

Prints seconds and the ratio to each floor.
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.dataset as ds

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
from bench_scale import KEYS, make_data  # noqa: E402


def sha_all(out: Path) -> None:
    for path in sorted(p for p in out.rglob("*") if p.is_file()):
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            while block := handle.read(1 << 20):
                digest.update(block)


def duckdb_floor(out: Path) -> float | None:
    try:
        import duckdb
    except ImportError:
        return None
    started = time.perf_counter()
    sha_all(out)
    keys = ", ".join(KEYS)
    duckdb.sql(
        f"SELECT count(*) AS n FROM (SELECT {keys}, count(*) AS fk FROM "
        f"read_parquet('{out}/data/*.parquet') GROUP BY ALL)"
    ).fetchall()
    return time.perf_counter() - started


def arrow_floor(out: Path) -> float:
    started = time.perf_counter()
    sha_all(out)
    table = ds.dataset(out / "data", format="parquet").to_table(columns=KEYS)
    table.group_by(KEYS).aggregate([([], "count_all")])
    return time.perf_counter() - started


def timed(cmd: list[str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} -> {done.returncode}\n{done.stdout}\n{done.stderr}")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    anonymize = str(Path(sys.executable).with_name("anonymize"))
    recipe = "recipes/census_demo.yaml"
    print(
        f"{'rows':>11} {'duckdb floor':>13} {'arrow floor':>12} {'gate-only':>10} "
        f"{'x duckdb':>9} {'x arrow':>8}"
    )
    for rows in args.sizes:
        data = make_data(rows, args.workers)
        out = HERE / "out" / f"audit_{rows}"
        timed([anonymize, "run", recipe, "--input", str(data), "--output", str(out), "-q"])
        audit = timed([anonymize, "run", recipe, "--gate-only", str(out)])
        duck, arrow = duckdb_floor(out), arrow_floor(out)
        duck_s = f"{duck:13.2f}" if duck is not None else f"{'-':>13}"
        ratio = f"{audit / duck:9.1f}" if duck else f"{'-':>9}"
        print(f"{rows:>11,} {duck_s} {arrow:12.2f} {audit:10.2f} {ratio} {audit / arrow:8.1f}")


if __name__ == "__main__":
    main()
