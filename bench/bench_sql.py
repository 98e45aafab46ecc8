"""Benchmark: the demo recipe read from PostgreSQL, beside COPY into Parquet and the same files.

    ANON_TEST_PG_URL=postgresql://... python bench/bench_sql.py --sizes 1000000 10000000

Without ``ANON_TEST_PG_URL`` a throwaway cluster is started with ``.ci/postgres`` (and stopped).
Data: the census-like Parquet files of ``bench_scale.py`` (generated there first if missing),
loaded once per size into a table ``bench_census_N`` (typed: integers, a float weight, text).

For each size, in the same run:

* floor: ``COPY (SELECT <the columns the run reads>) TO STDOUT`` in PostgreSQL's binary format
  into Parquet files (ADBC's driver: the least work that reads those columns out of the
  database and lands them as columnar files), and the bare COPY into ``/dev/null`` (psql);
* anonymize from PostgreSQL: ``anonymize run`` of the demo recipe with ``input: {format: sql,
  url_env: ..., table: ...}`` as a whole process, with the peak RSS of its process tree;
* anonymize from Parquet: the same recipe on the Parquet files the table was loaded from.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.dataset as ds
import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))
from bench.bench_scale import make_data, measured  # noqa: E402

READ = ["household_id", "age", "sex", "municipality", "occupation", "household_size"]
READ += ["income", "weight"]  # what the demo recipe reads (identifiers never)


def server() -> tuple[str, Path | None]:
    """A server's URL, and the folder of a cluster started here (None: given)."""
    if url := os.environ.get("ANON_TEST_PG_URL"):
        return url, None
    import tempfile

    base = Path(tempfile.mkdtemp(prefix="anon-pg-bench-"))
    base.chmod(0o755)
    out = subprocess.run(
        ["bash", str(REPO / ".ci" / "postgres"), "start", str(base / "cluster")],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip().split("=", 1)[1], base


def load(url: str, folder: Path, table: str) -> None:
    """The Parquet files into ``table`` (once: kept between runs of the benchmark)."""
    import adbc_driver_postgresql.dbapi as pg

    with pg.connect(url, autocommit=True) as con, con.cursor() as cur:
        cur.execute(f"SELECT count(*) FROM pg_tables WHERE tablename = '{table}'")
        if cur.fetchone()[0]:
            return
        reader = ds.dataset(folder, format="parquet").scanner(batch_size=200_000).to_reader()
        cur.adbc_ingest(table, reader, mode="create")


def copy_floor(url: str, table: str, out: Path) -> tuple[float, float]:
    """COPY of the read columns into Parquet files (ADBC), and into /dev/null (psql)."""
    import adbc_driver_postgresql.dbapi as pg

    out.mkdir(parents=True, exist_ok=True)
    cols = ", ".join(f'"{c}"' for c in READ)
    start = time.perf_counter()
    with pg.connect(url) as con, con.cursor() as cur:
        cur.execute(f"SELECT {cols} FROM {table}")  # noqa: S608 - the benchmark's own names
        reader = cur.fetch_record_batch()
        with pq.ParquetWriter(out / "floor.parquet", reader.schema, compression="lz4") as writer:
            for batch in reader:
                writer.write_batch(batch)
    parquet_s = time.perf_counter() - start
    start = time.perf_counter()
    with open(os.devnull, "wb") as sink:
        subprocess.run(
            ["psql", url, "-c", f"\\copy (SELECT {cols} FROM {table}) TO STDOUT (FORMAT binary)"],
            stdout=sink,
            check=True,
        )
    return parquet_s, time.perf_counter() - start


def recipe(table: str) -> Path:
    """The demo recipe reading ``table`` (the URL from ANON_BENCH_PG)."""
    text = (REPO / "recipes" / "census_demo.yaml").read_text(encoding="utf-8")
    source = f"input:  {{format: sql, url_env: ANON_BENCH_PG, table: {table}}}"
    path = REPO / "recipes" / f".bench_sql_{table}.yaml"  # hierarchies resolve beside it
    path.write_text(re.sub(r"(?m)^input:.*$", source, text), encoding="utf-8")
    return path


def main() -> None:
    """Print the table."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000])
    args = parser.parse_args()
    url, started = server()
    os.environ["ANON_BENCH_PG"] = url
    print(
        f"{'rows':>11} {'COPY->parquet s':>16} {'COPY s':>7} {'from PG s':>10} {'x floor':>8} "
        f"{'peak MB':>8} {'from parquet s':>15} {'peak MB':>8}"
    )
    try:
        for rows in args.sizes:
            folder, table = make_data(rows, 2), f"bench_census_{rows}"
            load(url, folder, table)
            out = HERE / "data" / "out" / f"sql_{rows}"
            floor_s, copy_s = copy_floor(url, table, out / "floor")
            path = recipe(table)
            try:
                cmd = [sys.executable, "-m", "pipeline", "run", str(path), "-q"]
                pg_s, pg_peak, code = measured([*cmd, "--output", str(out / "pg")])
                assert code == 0, f"the run from PostgreSQL exited {code}"
                files = ["--input", str(folder), "--output", str(out / "files")]
                base = [sys.executable, "-m", "pipeline", "run", "recipes/census_demo.yaml", "-q"]
                pq_s, pq_peak, code = measured([*base, *files])
                assert code == 0, f"the run from Parquet exited {code}"
            finally:
                path.unlink()
            print(
                f"{rows:>11,} {floor_s:>16.2f} {copy_s:>7.2f} {pg_s:>10.2f} "
                f"{pg_s / floor_s:>8.1f} {pg_peak:>8.0f} {pq_s:>15.2f} {pq_peak:>8.0f}",
                flush=True,
            )
    finally:
        if started is not None:
            script = str(REPO / ".ci" / "postgres")
            subprocess.run(["bash", script, "stop", str(started / "cluster")], check=False)


if __name__ == "__main__":
    main()
