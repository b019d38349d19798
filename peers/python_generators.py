"""Seed 000's Python generators: one row at a time through csv.reader (Parquet: pyarrow's
record batches, one row at a time), constant memory. CSV needs nothing beyond Python.

    python3 peers/python_generators.py INPUT.csv|INPUT.parquet top-n|group-by
"""

import csv
import heapq
import sys

from membench_answer import TOP_N, TOP_N_THRESHOLD_CENTS, cents, group_by, print_answer


def parquet_rows(path):
    import pyarrow.parquet as pq
    for batch in pq.ParquetFile(path).iter_batches(
            columns=["order_id", "category", "quantity", "price"]):
        for o, c, q, p in zip(*(col.to_pylist() for col in batch.columns)):
            yield o, c, q, round(p * 100)


def rows(path):
    if path.endswith(".parquet"):
        yield from parquet_rows(path)
        return
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader)
        at = {name: i for i, name in enumerate(header)}
        for line, fields in enumerate(reader, start=2):
            try:
                yield (int(fields[at["order_id"]]), fields[at["category"]],
                       int(fields[at["quantity"]]), cents(fields[at["price"]]))
            except Exception as e:
                sys.exit(f"{path}:{line}: {e}")


def main(path, workload):
    if workload == "top-n":
        best = []  # a min-heap of the best TOP_N (total, -order_id)
        for order_id, _, quantity, price in rows(path):
            total = quantity * price
            if total > TOP_N_THRESHOLD_CENTS:
                item = (total, -order_id)
                if len(best) < TOP_N:
                    heapq.heappush(best, item)
                elif item > best[0]:
                    heapq.heapreplace(best, item)
        result = [{"order_id": -o, "total_cents": t} for t, o in sorted(best, reverse=True)]
    elif workload == "group-by":
        acc = {}
        for _, category, quantity, price in rows(path):
            r, q, t = acc.get(category, (0, 0, 0))
            acc[category] = (r + 1, q + quantity, t + quantity * price)
        result = group_by(acc)
    else:
        sys.exit(f"python_generators: workload {workload!r} not supported (top-n, group-by)")
    print_answer(workload, result)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
