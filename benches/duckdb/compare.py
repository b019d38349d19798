#!/usr/bin/env python3
"""membench's strategies against DuckDB's own CSV reader, same file, same queries, same answers.

Usage (from the repository root, after `cargo xtask run` built the release runners):

    python3 -m venv .venv && .venv/bin/pip install duckdb
    .venv/bin/python benches/duckdb/compare.py datasets/sales-1m-s42.csv > benches/duckdb/RESULTS.md

For each workload (top-n, group-by) it times, best and median of --repeat runs:
- membench `streaming`, `parallel` (2 threads) in a fresh `membench-runner-sys` process (system
  allocator) and `lazy` (Polars, 2 threads) in a fresh `membench-runner-mi` process (mimalloc,
  as the driver times the Polars strategies); the strategy's own wall time, `wall_ns`;
- Polars-Python's lazy `scan_csv` with the same query (2 threads, the query of
  `benches/polars/compare.py`), in this process;
- DuckDB with 1 and 2 threads: `read_csv` with the schema given, the workload as SQL, in a fresh
  connection per run (the query's wall time, file reading included).
DuckDB's answer is turned into membench's canonical answer JSON and its sha256 compared with
membench's digest, so every row of the table computed the same thing. DuckDB is used through its
Python package, never as a dependency of the workspace.
"""

import argparse
import hashlib
import json
import os
import platform
import statistics
import subprocess
import sys
import time

import duckdb

# The Polars-Python contender: the query and answer of the Polars comparison, not a copy.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "polars"))
import compare as polars_compare  # noqa: E402  (sets POLARS_MAX_THREADS=2 before Polars loads)

COLUMNS = {
    "order_id": "BIGINT",
    "order_date": "VARCHAR",
    "customer_id": "BIGINT",
    "region": "VARCHAR",
    "category": "VARCHAR",
    "product_id": "BIGINT",
    "quantity": "BIGINT",
    "price": "DECIMAL(18,2)",
    "discount": "DECIMAL(18,2)",
    "note": "VARCHAR",
}

# Money in integer cents, exactly as membench computes it.
TOTAL = "CAST(quantity * price * 100 AS BIGINT)"
SQL = {
    "top-n": f"SELECT order_id, {TOTAL} AS total FROM src WHERE {TOTAL} > 100000 "
    f"ORDER BY total DESC, order_id ASC LIMIT 100",
    "group-by": f"SELECT category, COUNT(*), SUM(quantity), SUM({TOTAL}) FROM src GROUP BY category",
}


def duckdb_run(path, workload, threads):
    con = duckdb.connect()
    con.execute(f"SET threads = {threads}")
    cols = "{" + ", ".join(f"'{k}': '{v}'" for k, v in COLUMNS.items()) + "}"
    src = f"read_csv('{path}', header = true, columns = {cols})"
    start = time.perf_counter()
    rows = con.execute(f"WITH src AS (SELECT * FROM {src}) {SQL[workload]}").fetchall()
    elapsed = time.perf_counter() - start
    con.close()
    return elapsed, hashlib.sha256(polars_compare.canonical(workload, rows).encode()).hexdigest()


def polars_version_in_workspace():
    """The Polars crate version the workspace pins (Cargo.toml)."""
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
    with open(os.path.join(root, "Cargo.toml")) as f:
        for line in f:
            if line.startswith("polars = "):
                return line.split('version = "')[1].split('"')[0]
    return "?"


def membench_run(runner, path, workload, strategy, threads):
    # One cell, as membench's driver asks for it (membench_protocol::CellJob).
    job = {"strategy": strategy, "workload": workload, "input": path, "threads": threads}
    out = subprocess.run(
        [runner, "--job", json.dumps(job)],
        check=True, capture_output=True, text=True,
    ).stdout
    record = json.loads(out.strip().splitlines()[-1])
    return record["wall_ns"] / 1e9, record["answer_digest"]


def measure(fn, repeat):
    fn()  # warm-up: the page cache holds the file for everyone
    runs = [fn() for _ in range(repeat)]
    digests = {d for _, d in runs}
    assert len(digests) == 1, f"answers differ between runs: {digests}"
    times = [t for t, _ in runs]
    return min(times), statistics.median(times), digests.pop()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("csv")
    ap.add_argument("--repeat", type=int, default=5)
    release = os.path.join(os.environ.get("CARGO_TARGET_DIR", "target"), "release")
    ap.add_argument("--runner", default=os.path.join(release, "membench-runner-sys"))
    ap.add_argument("--polars-runner", default=os.path.join(release, "membench-runner-mi"))
    a = ap.parse_args()
    size = os.path.getsize(a.csv)
    contenders = [
        ("membench streaming (1 thread, system allocator)",
         lambda w: membench_run(a.runner, a.csv, w, "streaming", 1)),
        ("membench parallel (2 threads, system allocator)",
         lambda w: membench_run(a.runner, a.csv, w, "parallel", 2)),
        ("membench lazy, Polars crate (2 threads, mimalloc)",
         lambda w: membench_run(a.polars_runner, a.csv, w, "lazy", 2)),
        ("Polars-Python lazy (2 threads, its jemalloc)",
         lambda w: polars_compare.python_lazy(a.csv, w)[:2]),
        ("DuckDB read_csv (1 thread)", lambda w: duckdb_run(a.csv, w, 1)),
        ("DuckDB read_csv (2 threads)", lambda w: duckdb_run(a.csv, w, 2)),
    ]
    print(f"# membench against DuckDB: `{os.path.basename(a.csv)}` ({size / 1e6:.0f} MB)\n")
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, DuckDB "
          f"{duckdb.__version__}, Polars-Python {polars_compare.pl.__version__}, membench's Polars "
          f"crate {polars_version_in_workspace()} (nightly `simd` build), Python "
          f"{platform.python_version()}; threads and allocator in each row; best and median of "
          f"{a.repeat} runs after a warm-up, file in the page cache. Same answer digest on every "
          f"row of a workload (checked).\n")
    for workload in SQL:
        print(f"## {workload}\n")
        print("| contender | best | median | MB/s (best) |")
        print("|---|---|---|---|")
        digests = set()
        for name, fn in contenders:
            best, median, digest = measure(lambda: fn(workload), a.repeat)
            digests.add(digest)
            print(f"| {name} | {best * 1e3:.0f} ms | {median * 1e3:.0f} ms | {size / 1e6 / best:.0f} |")
            sys.stdout.flush()
        assert len(digests) == 1, f"{workload}: answers differ: {digests}"
        print(f"\nanswer sha256 `{digests.pop()[:16]}…` for every contender\n")


if __name__ == "__main__":
    main()
