"""Polars (Python), lazy with the streaming engine: scan, project, aggregate, collect.

    python peers/polars_lazy.py INPUT.csv|INPUT.parquet top-n|group-by
"""

import sys

import polars as pl

from membench_answer import TOP_N, TOP_N_THRESHOLD_CENTS, print_answer


def scan(path):
    lf = pl.scan_parquet(path) if path.endswith(".parquet") else pl.scan_csv(path)
    cents = (pl.col("price") * 100).round(0).cast(pl.Int64)
    return lf.select("order_id", "category", "quantity",
                     (pl.col("quantity").cast(pl.Int64) * cents).alias("total_cents"))


def main(path, workload):
    lf = scan(path)
    if workload == "top-n":
        q = (lf.filter(pl.col("total_cents") > TOP_N_THRESHOLD_CENTS)
             .sort(["total_cents", "order_id"], descending=[True, False])
             .select("order_id", "total_cents"))
        # head() after sort inside the streaming engine returned every row (Polars 1.17): cut
        # the sorted result after collecting.
        print_answer(workload, q.collect(streaming=True).head(TOP_N).to_dicts())
    elif workload == "group-by":
        q = (lf.group_by("category").agg(
            pl.len().alias("rows"), pl.col("quantity").sum().alias("sum_quantity"),
            pl.col("total_cents").sum().alias("sum_total_cents")).sort("category"))
        print_answer(workload, q.collect(streaming=True).to_dicts())
    else:
        sys.exit(f"polars_lazy: workload {workload!r} not supported (top-n, group-by)")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
