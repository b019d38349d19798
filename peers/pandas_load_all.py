"""Seed 000's starting point: pandas reads the whole file into memory, then computes.

    python peers/pandas_load_all.py INPUT.csv|INPUT.parquet top-n|group-by
"""

import sys

import numpy as np
import pandas as pd

from membench_answer import TOP_N, TOP_N_THRESHOLD_CENTS, print_answer

COLUMNS = ["order_id", "category", "quantity", "price"]


def with_totals(df):
    """Adds total_cents = quantity × price in integer cents (prices have two decimals)."""
    cents = np.round(df["price"].to_numpy(dtype="float64") * 100).astype("int64")
    df = df.assign(total_cents=df["quantity"].to_numpy(dtype="int64") * cents)
    return df


def top_n(df):
    kept = df[df["total_cents"] > TOP_N_THRESHOLD_CENTS]
    best = kept.sort_values(["total_cents", "order_id"], ascending=[False, True]).head(TOP_N)
    return [{"order_id": int(o), "total_cents": int(t)}
            for o, t in zip(best["order_id"], best["total_cents"])]


def group_by(df):
    g = df.groupby("category", sort=True).agg(
        rows=("quantity", "size"), sum_quantity=("quantity", "sum"),
        sum_total_cents=("total_cents", "sum"))
    return [{"category": str(c), "rows": int(r.rows), "sum_quantity": int(r.sum_quantity),
             "sum_total_cents": int(r.sum_total_cents)} for c, r in g.iterrows()]


def read(path):
    if path.endswith(".parquet"):
        return pd.read_parquet(path)
    return pd.read_csv(path)


def main(path, workload):
    df = with_totals(read(path))
    if workload == "top-n":
        print_answer(workload, top_n(df))
    elif workload == "group-by":
        print_answer(workload, group_by(df))
    else:
        sys.exit(f"pandas_load_all: workload {workload!r} not supported (top-n, group-by)")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
