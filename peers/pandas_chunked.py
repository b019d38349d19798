"""Seed 000's chunked pandas: read_csv(chunksize=…) (Parquet: one row-group batch at a time),
partial results merged, so memory holds one chunk.

    python peers/pandas_chunked.py INPUT.csv|INPUT.parquet top-n|group-by [CHUNK_ROWS]
"""

import sys

import pandas as pd

from membench_answer import group_by as canonical_groups
from membench_answer import print_answer
from pandas_load_all import top_n, with_totals

COLUMNS = ["order_id", "category", "quantity", "price"]


def chunks(path, rows):
    if path.endswith(".parquet"):
        import pyarrow.parquet as pq
        for batch in pq.ParquetFile(path).iter_batches(batch_size=rows, columns=COLUMNS):
            yield batch.to_pandas()
    else:
        yield from pd.read_csv(path, usecols=COLUMNS, chunksize=rows)


def main(path, workload, rows=100_000):
    if workload == "top-n":
        best = []
        for chunk in chunks(path, rows):
            best.extend(top_n(with_totals(chunk)))
        merged = pd.DataFrame(best, columns=["order_id", "total_cents"])
        print_answer(workload, top_n(merged) if best else [])
    elif workload == "group-by":
        acc = {}
        for chunk in chunks(path, rows):
            g = with_totals(chunk).groupby("category").agg(
                rows=("quantity", "size"), q=("quantity", "sum"), t=("total_cents", "sum"))
            for c, r in g.iterrows():
                n, q, t = acc.get(c, (0, 0, 0))
                acc[c] = (n + int(r.rows), q + int(r.q), t + int(r.t))
        print_answer(workload, canonical_groups(acc))
    else:
        sys.exit(f"pandas_chunked: workload {workload!r} not supported (top-n, group-by)")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], *(int(a) for a in sys.argv[3:4]))
