"""DuckDB: the query pushed down to an embedded analytical engine reading the file itself.

    python peers/duckdb_peer.py INPUT.csv|INPUT.parquet top-n|group-by [THREADS]
"""

import sys

import duckdb

from membench_answer import TOP_N, TOP_N_THRESHOLD_CENTS, print_answer


def main(path, workload, threads=2):
    con = duckdb.connect()
    con.execute(f"SET threads = {int(threads)}")
    source = ("read_parquet(?)" if path.endswith(".parquet")
              else "read_csv(?, header = true, types = {'price': 'DECIMAL(18,2)'})")
    totals = (f"SELECT order_id, category, quantity, "
              f"CAST(quantity AS BIGINT) * CAST(round(price * 100) AS BIGINT) AS total_cents "
              f"FROM {source}")
    if workload == "top-n":
        rows = con.execute(
            f"SELECT order_id, total_cents FROM ({totals}) WHERE total_cents > {TOP_N_THRESHOLD_CENTS} "
            f"ORDER BY total_cents DESC, order_id ASC LIMIT {TOP_N}", [path]).fetchall()
        print_answer(workload, [{"order_id": o, "total_cents": t} for o, t in rows])
    elif workload == "group-by":
        rows = con.execute(
            f"SELECT category, count(*), sum(quantity), sum(total_cents) FROM ({totals}) "
            f"GROUP BY category ORDER BY category", [path]).fetchall()
        print_answer(workload, [{"category": c, "rows": n, "sum_quantity": int(q),
                                 "sum_total_cents": int(t)} for c, n, q, t in rows])
    else:
        sys.exit(f"duckdb_peer: workload {workload!r} not supported (top-n, group-by)")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], *sys.argv[3:4])
