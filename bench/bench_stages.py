"""Where a run spends its time and memory: the demo recipe's stages with seconds and peak RSS.

    python bench/bench_stages.py --rows 10000000 [--scheduler threads]

Runs ``anonymize run recipes/census_demo.yaml`` on the data of ``bench_scale.py`` (generated
there first if missing) and prints, for each progress line of the run, the stage, its seconds
(as the run reports them), the CPU seconds the process tree used since the previous line (the
run, its threads and GX's worker: psutil) and the peak RSS of the tree while it ran (psutil,
every 50 ms). Stages that are lazy (most steps) take no time of their own: their work happens
in the next stage that reads the data. The last lines give the CPU seconds of the whole tree
(less moved by the machine's load than the seconds) and what they imply: on this machine's
cores the run cannot take less than its CPU divided by the cores, so a ratio to the floor is
reached only with that much less work; then the passes over the data (as the run reports them:
ingest, gates, risk, each computation a step asked for, write, cut), and the duckdb floor of
``bench_scale.py`` on the same files with the run's ratio to it.
"""

from __future__ import annotations

import argparse
import re
import resource
import subprocess
import sys
import threading
import time

import psutil
from bench_scale import REPO, compiled, duckdb_floor, make_data

LINE = re.compile(r"anonymize: (?P<label>.*?)(?:: (?P<facts>\w+=.*))? \((?P<secs>[0-9.]+) s\)$")


def main() -> None:
    """Print the table."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--scheduler", default="threads")
    args = parser.parse_args()
    folder = make_data(args.rows, 2)
    out = folder.parent / "out" / f"stages_{args.rows}"
    cmd = [
        sys.executable,
        "-m",
        "pipeline",
        "run",
        "recipes/census_demo.yaml",
        "--input",
        str(folder),
        "--output",
        str(out),
        "--scheduler",
        args.scheduler,
    ]
    compiled()
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    samples: list[tuple[float, int]] = []
    passes = "(not reported)"

    def poll() -> None:
        root = psutil.Process(proc.pid)
        while proc.poll() is None:
            try:
                rss = sum(p.memory_info().rss for p in [root, *root.children(recursive=True)])
            except psutil.Error:
                rss = 0
            samples.append((time.perf_counter(), rss))
            time.sleep(0.05)

    threading.Thread(target=poll, daemon=True).start()
    print(f"{'stage':<58} {'seconds':>8} {'CPU s':>6} {'peak RSS MB':>12}")
    since, message, used_before = start, "", 0.0
    for raw in proc.stdout or []:
        now = time.perf_counter()
        part = raw.rstrip().split(" anonymize: ", 1)[-1]
        # a long message goes on indented continuation lines: match the message, joined
        message = f"{message} {part.strip()}" if part.startswith("  ") else part
        match = LINE.search(f"anonymize: {message}")
        if since == start:  # the first line: imports, the recipe, GX's worker started
            used_before = _tree_cpu(proc.pid, 0.0)
            peak = max((r for _, r in samples), default=0)
            print(
                f"{'start-up (to the first line)':<58} {now - start:>8.2f} {used_before:>6.2f} "
                f"{peak / 2**20:>12.0f}"
            )
            since = now
        if match:
            peak = max((r for t, r in samples if since <= t <= now), default=0)
            used_now = _tree_cpu(proc.pid, used_before)
            print(
                f"{match['label'][:58]:<58} {float(match['secs']):>8.2f} "
                f"{used_now - used_before:>6.2f} {peak / 2**20:>12.0f}"
            )
            since, used_before = now, used_now
        elif "passes over the data:" in raw:
            passes = raw.split("passes over the data:", 1)[1].strip()
    proc.wait()
    total = time.perf_counter() - start
    peak = max((r for _, r in samples), default=0)
    used = resource.getrusage(resource.RUSAGE_CHILDREN)  # the run and the GX worker it waited for
    print(
        f"{'whole process (exit ' + str(proc.returncode) + ')':<58} {total:>8.2f} "
        f"{peak / 2**20:>12.0f}"
    )
    cpu, cores = used.ru_utime + used.ru_stime, psutil.cpu_count() or 1
    print(
        f"CPU of the process tree: {cpu:.1f} s "
        f"(user {used.ru_utime:.1f} s, system {used.ru_stime:.1f} s; less moved by the machine's "
        f"load than the seconds): {cpu / total:.2f} of {cores} cores on average, so at least "
        f"{cpu / cores:.1f} s on them"
    )
    print(f"passes over the data: {passes}")
    floor_dir = folder.parent / "out" / f"stages_floor_{args.rows}"
    floor_dir.mkdir(parents=True, exist_ok=True)
    duck = duckdb_floor(folder, floor_dir)
    if duck:  # the whole run's floor: read the published columns, group by the keys, write
        print(
            f"duckdb floor (read, group-by over the keys, write): {duck:.2f} s; the run: "
            f"{total / duck:.1f}x; its CPU alone allows no less than {cpu / cores / duck:.1f}x"
        )


def _tree_cpu(pid: int, last: float) -> float:
    """CPU seconds (user + system) of process ``pid`` and its children (``last`` if gone).

    Children that ended count too (the root's ``children_*`` times, once it waited for them).
    """
    try:
        root = psutil.Process(pid)
        times = [p.cpu_times() for p in [root, *root.children(recursive=True)]]
    except psutil.Error:
        return last
    ended = times[0].children_user + times[0].children_system
    return max(last, ended + sum(t.user + t.system for t in times))


if __name__ == "__main__":
    main()
