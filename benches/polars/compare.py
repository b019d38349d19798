#!/usr/bin/env python3
"""membench's Polars strategies against Polars itself, same file, same queries, same answers.

Usage (from the repository root, after `cargo xtask run` built the release runners):

    python3 -m venv .venv && .venv/bin/pip install polars==2.1.0
    .venv/bin/python benches/polars/compare.py datasets/sales-1m-s42.csv > benches/polars/RESULTS.md

For each workload (top-n, group-by) it times, best and median of --repeat runs after a warm-up,
the contenders taking turns (one run of each per round, so a noisy minute of the machine falls
on all of them alike):
- Polars-Python, in this process, warm (each timed run right after an untimed run of the same
  query, so its thread pool and allocator are as a session of back-to-back queries has them):
  `scan_csv(schema=…)` → `select` → `filter` → `sort` → `head` (lazy, `collect()`), and
  eager `read_csv(schema=…)` followed by the same query — the query's own wall time, file
  reading included, `POLARS_MAX_THREADS` threads;
- the same two queries each as the first query of a fresh Python process (this script, `--one`;
  interpreter start and `import polars` not counted), the way membench runs every cell, so the
  two can be compared cold against cold as well as against Polars-Python at its warmest;
- Polars-Python running the query with membench's value rules written into the plan (seven
  columns parsed, every rule an expression, statistics and answer from one scan): what the
  checks cost an engine that does them itself (membench's Polars strategies once did this;
  now the kernel checks a plain CSV file's rows first, and Polars runs the bare query);
- membench `lazy` and `load-all-polars`, each in a fresh runner process (`--job`, the strategy's
  own wall time `wall_ns`, same threads), under every runner allocator given with `--runner`
  (default: the system allocator and the one Polars recommends, mimalloc). membench's
  validation (every row through the kernel's parser and rules, on the same threads) is timed
  inside `wall_ns`; the record's `phases` show it apart (`validate`, `compute`: Polars alone),
  and the table prints both.
Every contender's answer is turned into membench's canonical answer JSON and its sha256
compared, so every row of a workload computed the same thing. The ratio columns are the
contender's best against Polars-Python's best of the same kind (lazy against lazy, eager
against eager): warm, in a fresh process, and the `compute` phase alone against warm.
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

THREADS = int(os.environ.setdefault("POLARS_MAX_THREADS", "2"))

import polars as pl  # noqa: E402  (after POLARS_MAX_THREADS: read once, at import)

SCHEMA = {
    "order_id": pl.Int64,
    "order_date": pl.String,
    "customer_id": pl.Int64,
    "region": pl.String,
    "category": pl.String,
    "product_id": pl.Int64,
    "quantity": pl.Int64,
    "price": pl.Float64,
    "discount": pl.Float64,
    "note": pl.String,
}

# Money in integer cents, exactly as membench computes it (round half away from zero; the
# prices are positive, where Polars' half-to-even rounding of `x.5` cannot occur: two decimals).
TOTAL = pl.col("quantity") * (pl.col("price") * 100).round(0).cast(pl.Int64)


def query(workload, lf):
    if workload == "top-n":
        return (
            lf.select("order_id", TOTAL.alias("total"))
            .filter(pl.col("total") > 100000)
            .sort(["total", "order_id"], descending=[True, False])
            .head(100)
        )
    return (
        lf.select("category", "quantity", TOTAL.alias("total"))
        .group_by("category")
        .agg(pl.len(), pl.col("quantity").sum(), pl.col("total").sum())
    )


# membench's value rules (`membench_kernel::rules`) written as the `lazy` strategy's plan writes
# them (`crates/strategies/src/polars/plan.rs`: `invalid`, `value_rules`, `not_cents`), so Polars-
# Python can be timed doing the same work as membench's `lazy`: seven columns parsed, every row
# checked, the statistics and the answer from one scan (`collect_all`).
NEEDED = ["order_id", "customer_id", "product_id", "category", "quantity", "price", "discount"]
REQUIRED = ["order_id", "customer_id", "product_id", "category", "quantity", "price"]
MAX_FLOAT_CENTS, TOLERANCE, SPLIT = 9_007_199_254_740_992.0, 1e-9, 1 << 32


def cents(e):
    return (e * 100.0).round(0, mode="half_away_from_zero").cast(pl.Int64)


def not_cents(e):
    scaled = e * 100.0
    rounded = scaled.round(0, mode="half_away_from_zero")
    off = scaled - rounded
    return (
        scaled.is_finite().not_()
        | (scaled > MAX_FLOAT_CENTS)
        | (scaled < -MAX_FLOAT_CENTS)
        | (((off > TOLERANCE) | (off < -TOLERANCE)) & ((rounded / 100.0) != e))
    )


def invalid():
    missing = pl.any_horizontal([pl.col(c).is_null() for c in REQUIRED])
    q, price = pl.col("quantity"), pl.col("price")
    values = (
        (q < 1).fill_null(True)
        | (cents(price) < 0).fill_null(True)
        | not_cents(price).fill_null(False)
        | (q > pl.lit(2**63 - 1, pl.Int64).floordiv(cents(price))).fill_null(False)
    )
    discount = pl.col("discount")
    return (
        missing
        | values
        | not_cents(discount).fill_null(False)
        | (cents(discount) < 0).fill_null(False)
    )


def checked(workload, lf):
    base = (
        lf.select(NEEDED)
        .with_columns(cents(pl.col("price")).alias("price_cents"), invalid().alias("invalid"))
        .with_columns((pl.col("quantity") * pl.col("price_cents")).alias("total"))
    )
    stats = base.select(pl.len().cast(pl.Int64).alias("rows"), pl.col("invalid").sum())
    if workload == "top-n":
        answer = (
            base.filter(pl.col("total") > 100000)
            .sort(["total", "order_id"], descending=[True, False])
            .head(100)
            .select("order_id", "total")
        )
    else:
        q, t = pl.col("quantity"), pl.col("total")
        answer = base.group_by("category").agg(
            pl.len().cast(pl.Int64).alias("rows"),
            q.floordiv(SPLIT).sum().alias("q_hi"), (q % SPLIT).sum().alias("q_lo"),
            t.floordiv(SPLIT).sum().alias("t_hi"), (t % SPLIT).sum().alias("t_lo"),
        )
    return stats, answer


def canonical(workload, rows):
    """membench's canonical answer JSON (field order fixed, groups sorted by category)."""
    if workload == "top-n":
        answer = {"workload": "top-n", "rows": [{"order_id": r[0], "total_cents": r[1]} for r in rows]}
    else:
        groups = sorted(rows, key=lambda r: r[0].encode())
        answer = {
            "workload": "group-by",
            "groups": [
                {"category": c, "rows": n, "sum_quantity": int(q), "sum_total_cents": int(t)}
                for c, n, q, t in groups
            ],
        }
    return json.dumps(answer, separators=(",", ":"), ensure_ascii=False)


def digest(workload, df):
    return hashlib.sha256(canonical(workload, df.rows()).encode()).hexdigest()


def python_lazy(path, workload):
    start = time.perf_counter()
    df = query(workload, pl.scan_csv(path, schema=SCHEMA)).collect()
    return time.perf_counter() - start, digest(workload, df), None


def python_lazy_checked(path, workload):
    start = time.perf_counter()
    stats, answer = pl.collect_all(list(checked(workload, pl.scan_csv(path, schema=SCHEMA))),
                                   engine="streaming")
    elapsed = time.perf_counter() - start
    assert stats["invalid"][0] == 0, "the file holds rows membench's rules reject"
    if workload == "top-n":
        rows = answer.rows()
    else:
        rows = [(c, n, qh * SPLIT + ql, th * SPLIT + tl)
                for c, n, qh, ql, th, tl in answer.rows()]
    return elapsed, hashlib.sha256(canonical(workload, rows).encode()).hexdigest(), None


def python_eager(path, workload):
    start = time.perf_counter()
    df = query(workload, pl.read_csv(path, schema=SCHEMA).lazy()).collect()
    return time.perf_counter() - start, digest(workload, df), None


PYTHON = {"lazy": python_lazy, "eager": python_eager}


def warm(fn):
    """`fn` timed right after a run of its own in this process: Polars-Python at its warmest,
    as in a session that runs queries back to back (between two turns, the allocator may have
    handed its memory back to the system while the other contenders ran)."""
    def run(path, workload):
        fn(path, workload)
        return fn(path, workload)
    return run


def python_fresh(kind, path, workload):
    """One query as the first of a fresh Python process (`--one`), timed inside it."""
    out = subprocess.run(
        [sys.executable, os.path.abspath(__file__), path, "--one", kind, workload],
        check=True, capture_output=True, text=True,
    ).stdout
    elapsed, answer = json.loads(out.strip().splitlines()[-1])
    return elapsed, answer, None


def membench_run(runner, path, workload, strategy):
    # One cell, as membench's driver asks for it (membench_protocol::CellJob).
    job = {"strategy": strategy, "workload": workload, "input": path, "threads": THREADS}
    out = subprocess.run(
        [runner, "--job", json.dumps(job)], check=True, capture_output=True, text=True
    ).stdout
    record = json.loads(out.strip().splitlines()[-1])
    phases = {p["name"]: p["wall_ns"] / 1e9 for p in record.get("phases", [])}
    return record["wall_ns"] / 1e9, record["answer_digest"], phases


def measure(fns, repeat):
    """Each of `fns` once as a warm-up (the page cache holds the file for everyone), then
    `repeat` rounds of one run each, in turn. Per contender: best, median, digest, the best
    run's phases."""
    for fn in fns:
        fn()
    runs = [[] for _ in fns]
    for _ in range(repeat):
        for i, fn in enumerate(fns):
            runs[i].append(fn())
    results = []
    for r in runs:
        digests = {d for _, d, _ in r}
        assert len(digests) == 1, f"answers differ between runs: {digests}"
        times = [t for t, _, _ in r]
        best = min(range(len(r)), key=lambda i: times[i])
        results.append((times[best], statistics.median(times), digests.pop(), r[best][2]))
    return results


def runner_allocator(runner):
    name = os.path.basename(runner)
    return {"membench-runner-sys": "system", "membench-runner-mi": "mimalloc"}.get(name, name)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("csv")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--one", nargs=2, metavar=("KIND", "WORKLOAD"),
                    help=argparse.SUPPRESS)  # one Python query, for `python_fresh`
    target = os.path.join(os.environ.get("CARGO_TARGET_DIR", "target"), "release")
    ap.add_argument(
        "--runner",
        action="append",
        help="a runner binary (repeatable; default: membench-runner-sys and membench-runner-mi)",
    )
    a = ap.parse_args()
    if a.one:
        elapsed, answer, _ = PYTHON[a.one[0]](a.csv, a.one[1])
        print(json.dumps([elapsed, answer]))
        return
    runners = a.runner or [
        os.path.join(target, "membench-runner-sys"),
        os.path.join(target, "membench-runner-mi"),
    ]
    size = os.path.getsize(a.csv)
    contenders = [
        ("Polars-Python lazy", "lazy", warm(python_lazy)),
        ("Polars-Python eager", "eager", warm(python_eager)),
        ("Polars-Python lazy, fresh process", "lazy-fresh",
         lambda p, w: python_fresh("lazy", p, w)),
        ("Polars-Python eager, fresh process", "eager-fresh",
         lambda p, w: python_fresh("eager", p, w)),
        ("Polars-Python lazy, membench's checks in the plan", "checked",
         warm(python_lazy_checked)),
    ]
    for r in runners:
        alloc = runner_allocator(r)
        for strategy, kind in [("lazy", "lazy"), ("load-all-polars", "eager")]:
            contenders.append(
                (f"membench `{strategy}` ({alloc})", kind,
                 lambda p, w, r=r, s=strategy: membench_run(r, p, w, s))
            )
    print(f"# membench's Polars strategies against Polars-Python: `{os.path.basename(a.csv)}` "
          f"({size / 1e6:.0f} MB)\n")
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"{THREADS} threads everywhere (`POLARS_MAX_THREADS`). Polars-Python {pl.__version__} "
          f"(wheel: jemalloc, nightly SIMD build), Python {platform.python_version()}; membench "
          f"`lazy`/`load-all-polars` on the workspace's Polars crate (version in `Cargo.toml`), "
          f"each in a fresh runner process, allocator in the name. Best and median of {a.repeat} "
          f"rounds after a warm-up, the contenders taking turns, file in the page cache. "
          f"`validate`: membench's checks before the engine (every row of the mapped file through "
          f"the kernel's parser and rules, in parts on the same threads; `lazy` then scans that "
          f"mapping), `compute`: Polars running the bare query. Ratios against Polars-Python's "
          f"best of the same kind (lazy, eager): warm (in this process, right after the same "
          f"query), fresh (the first query of a fresh process, as membench runs a cell), and `compute` alone "
          f"against warm. Same answer digest on every row of a workload (checked).\n")
    for workload in ["top-n", "group-by"]:
        print(f"## {workload}\n")
        print("| contender | best | median | MB/s (best) | validate | compute "
              "| × Polars-Python | × Polars-Python, fresh process | compute × Polars-Python |")
        print("|---|---|---|---|---|---|---|---|---|")
        results = measure([lambda fn=fn: fn(a.csv, workload) for _, _, fn in contenders],
                          a.repeat)
        best_of = {}
        for (_, kind, _), (best, *_rest) in zip(contenders, results):
            best_of.setdefault(kind, best)
        digests = set()
        for (name, kind, _), (best, median, d, phases) in zip(contenders, results):
            digests.add(d)
            # The checks-in-the-plan row against the bare lazy query: what the checks cost.
            base = "lazy" if kind == "checked" else kind.removesuffix("-fresh")
            warm_ratio = f"{best / best_of[base]:.2f}"
            fresh = f"{best / best_of[base + '-fresh']:.2f}" if kind != "checked" else ""
            v = f"{phases['validate'] * 1e3:.0f} ms" if phases and "validate" in phases else ""
            c = f"{phases['compute'] * 1e3:.0f} ms" if phases and "compute" in phases else ""
            c_ratio = (f"{phases['compute'] / best_of[base]:.2f}"
                       if phases and "compute" in phases else "")
            print(f"| {name} | {best * 1e3:.0f} ms | {median * 1e3:.0f} ms | "
                  f"{size / 1e6 / best:.0f} | {v} | {c} | {warm_ratio} | {fresh} | {c_ratio} |")
        assert len(digests) == 1, f"{workload}: answers differ: {digests}"
        print(f"\nanswer sha256 `{digests.pop()[:16]}…` for every contender\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
