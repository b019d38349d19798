"""Dask's distributed scheduler: the file split into partitions, computed by worker processes.

    python peers/dask_peer.py INPUT.csv|INPUT.parquet top-n|group-by [--scheduler ADDRESS]
        [--workers 2] [--memory-limit 2GiB]

Without --scheduler it starts a local cluster as its own child processes, on the loopback
interface only: `dask scheduler --host 127.0.0.1` and `dask worker --nworkers N`, and stops it
at the end, so the whole cluster (scheduler, nanny and worker processes) is inside the process
tree membench measures. With --scheduler tcp://host:8786 it uses an existing (multi-machine)
cluster instead; then only this client's memory is local, and membench measures that alone.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time

from membench_answer import TOP_N, TOP_N_THRESHOLD_CENTS, group_by, print_answer

COLUMNS = ["order_id", "category", "quantity", "price"]


def local_cluster(workers, memory_limit, folder):
    """Starts a scheduler and workers bound to 127.0.0.1; returns (processes, scheduler file)."""
    bin_dir = os.path.dirname(sys.executable)
    dask = os.path.join(bin_dir, "dask")
    sched_file = os.path.join(folder, "scheduler.json")
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    procs = [subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", "0",
                               "--no-dashboard", "--scheduler-file", sched_file], **quiet)]
    deadline = time.monotonic() + 60
    while not os.path.exists(sched_file):
        if time.monotonic() > deadline or procs[0].poll() is not None:
            raise SystemExit("dask_peer: the local scheduler did not start")
        time.sleep(0.05)
    procs.append(subprocess.Popen(
        [dask, "worker", "--scheduler-file", sched_file, "--host", "127.0.0.1",
         "--nworkers", str(workers), "--nthreads", "1", "--memory-limit", memory_limit,
         "--no-dashboard", "--local-directory", folder], **quiet))
    return procs, sched_file


def compute(path, workload):
    import dask.dataframe as dd
    if path.endswith(".parquet"):
        df = dd.read_parquet(path, columns=COLUMNS)
    else:
        df = dd.read_csv(path, usecols=COLUMNS, blocksize="16MB")
    cents = (df["price"] * 100).round().astype("int64")
    df = df.assign(total_cents=df["quantity"].astype("int64") * cents)
    if workload == "top-n":
        kept = df[df["total_cents"] > TOP_N_THRESHOLD_CENTS][["order_id", "total_cents"]]
        # Each partition's best rows, then the best of those: ties by order_id, as everywhere.
        best = kept.map_partitions(
            lambda p: p.sort_values(["total_cents", "order_id"],
                                    ascending=[False, True]).head(TOP_N)).compute()
        best = best.sort_values(["total_cents", "order_id"], ascending=[False, True]).head(TOP_N)
        return [{"order_id": int(o), "total_cents": int(t)}
                for o, t in zip(best["order_id"], best["total_cents"])]
    if workload == "group-by":
        g = df.groupby("category")
        size, sums = dd.compute(g.size(), g[["quantity", "total_cents"]].sum())
        return group_by({c: (size[c], sums.loc[c, "quantity"], sums.loc[c, "total_cents"])
                         for c in size.index})
    raise SystemExit(f"dask_peer: workload {workload!r} not supported (top-n, group-by)")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("input")
    ap.add_argument("workload")
    ap.add_argument("--scheduler", help="an existing cluster's address (tcp://host:8786)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--memory-limit", default="2GiB", help="per worker")
    a = ap.parse_args()
    from dask.distributed import Client
    procs = []
    with tempfile.TemporaryDirectory(prefix="membench-dask-") as folder:
        try:
            if a.scheduler:
                client = Client(a.scheduler)
            else:
                procs, sched_file = local_cluster(a.workers, a.memory_limit, folder)
                client = Client(scheduler_file=sched_file)
                client.wait_for_workers(a.workers, timeout=120)
            result = compute(a.input, a.workload)
            client.close()
        finally:
            for p in reversed(procs):
                p.terminate()
            for p in procs:
                try:
                    p.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    p.kill()
    print_answer(a.workload, result)


if __name__ == "__main__":
    main()
