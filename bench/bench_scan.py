"""Benchmark: identifier scanner precision, recall and speed.

    python bench/bench_scan.py [--rows 1000000] [--seeds 5]

Quality: generated identifier columns (every kind, several spellings) and look-alike decoys
(random 12/13/8-digit numbers with wrong or random check digits, money amounts, dates,
municipality codes, labels), all under neutral column names so only values count, at several
sizes and seeds. Prints recall (identifier columns reported with the right kind) and false
positives (decoy columns reported at all).

Speed: ``anonymize scan`` as a whole process on a Parquet file of ``--rows`` census rows x 10
columns (5 identifier columns, 5 others), beside a floor in the same run: a bare pyarrow read of
the file plus one value count per column.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

COLUMNS = [
    "name",
    "phone",
    "email",
    "my_number",
    "drivers_licence",
    "age",
    "sex",
    "municipality",
    "income",
    "weight",
]


def quality(sizes: list[int], seeds: int) -> None:
    """Print recall and false positives over generated columns."""
    from pipeline.scan.scanner import scan_table
    from tests.scan.synthetic import EXPECTED_KIND, decoys, identifiers

    print(f"{'rows':>7} {'identifier cols':>16} {'recall':>7} {'decoy cols':>11} {'false pos':>10}")
    for n in sizes:
        hits = total = fps = dec_total = 0
        for seed in range(seeds):
            ids, dec = identifiers(n, seed), decoys(n, seed)
            frame = pd.DataFrame(
                {
                    **{f"c{i}": s for i, s in enumerate(ids.values())},
                    **{f"d{i}": s for i, s in enumerate(dec.values())},
                }
            )
            found, _ = scan_table(pa.Table.from_pandas(frame, preserve_index=False))
            best = {}
            for f in found:
                best.setdefault(f.column, f.kind)
            for i, kind in enumerate(ids):
                total += 1
                hits += best.get(f"c{i}") == EXPECTED_KIND.get(kind, kind)
            dec_total += len(dec)
            fps += sum(f"d{i}" in best for i in range(len(dec)))
        print(f"{n:>7} {total:>16} {hits / total:>7.1%} {dec_total:>11} {fps:>10}")


def speed(rows: int) -> None:
    """Whole-process scan of a census Parquet file vs a pyarrow read + value counts."""
    from bench.bench_spine import make_data

    source = make_data(rows, "parquet")
    target = HERE / "data" / f"scan_{rows}.parquet"
    if not target.exists():
        pq.write_table(pq.read_table(source, columns=COLUMNS), target)
    start = time.perf_counter()
    table = pq.read_table(target)
    for name in table.column_names:
        pc.value_counts(table.column(name))
    floor_s = time.perf_counter() - start
    cmd = [sys.executable, "-m", "pipeline.cli.entry", "scan", str(target), "--format", "json"]
    start = time.perf_counter()
    subprocess.run(cmd, cwd=REPO, check=True, capture_output=True)
    run_s = time.perf_counter() - start
    duck_s = _duckdb_floor(target)
    print(f"\nscan of {rows:,} rows x {len(COLUMNS)} columns (Parquet), whole process")
    print(
        f"{'floor (read + value counts) s':>30} {'anonymize scan s':>17} {'ratio':>6} "
        f"{'duckdb s':>9} {'ratio':>6}"
    )
    ducks = f"{duck_s:>9.2f} {run_s / duck_s:>6.1f}" if duck_s else f"{'-':>9} {'-':>6}"
    print(f"{floor_s:>30.2f} {run_s:>17.2f} {run_s / floor_s:>6.1f} {ducks}")


def _duckdb_floor(target: Path) -> float | None:
    """The same value counts in duckdb, one query per column (None without duckdb)."""
    try:
        import duckdb
    except ImportError:
        return None
    start = time.perf_counter()
    con = duckdb.connect()
    for name in COLUMNS:
        con.execute(
            f"SELECT \"{name}\", count(*) FROM read_parquet('{target}') GROUP BY ALL"
        ).to_arrow_table()
    con.close()
    return time.perf_counter() - start


def main() -> None:
    """Print both tables."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args()
    quality([30, 300, 3000, 30000], args.seeds)
    speed(args.rows)


if __name__ == "__main__":
    main()
