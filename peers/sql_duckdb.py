"""DuckDB on a user's query: the tables read by DuckDB's own CSV reader with membench's types
and null tokens (Parquet by its reader), the SQL run as written.

    python peers/sql_duckdb.py QUERY_SPEC.json [THREADS]
"""

import sys

import duckdb

from membench_answer import print_query_answer, query_spec


def duck_type(t):
    if t.startswith("decimal("):
        return f"DECIMAL(18,{t[8:-1]})"
    return {"int64": "BIGINT", "float64": "DOUBLE", "bool": "BOOLEAN", "date": "DATE",
            "timestamp": "TIMESTAMP", "timestamptz": "TIMESTAMPTZ", "string": "VARCHAR"}[t]


def text(s):
    return "'" + s.replace("'", "''") + "'"


def main(spec_path, threads=2):
    spec = query_spec(spec_path)
    con = duckdb.connect()
    con.execute(f"SET threads = {int(threads)}")
    con.execute("SET TimeZone = 'UTC'")
    for name, t in spec["tables"].items():
        files = ", ".join(text(f) for f in t["files"])
        if t.get("format") == "parquet":
            con.execute(f'CREATE VIEW "{name}" AS SELECT * FROM read_parquet([{files}])')
            continue
        nulls = ", ".join(text(n) for n in t["nulls"])
        columns = ", ".join(f"{text(c)}: {text(duck_type(ty))}" for c, ty in t["columns"])
        con.execute(
            f'CREATE VIEW "{name}" AS SELECT * FROM read_csv([{files}], header = true, '
            f"delim = {text(t['delimiter'])}, quote = '\"', escape = '\"', "
            f"nullstr = [{nulls}], columns = {{{columns}}})")
    cur = con.execute(spec["sql"])
    print_query_answer([d[0] for d in cur.description], cur.fetchall())


if __name__ == "__main__":
    main(sys.argv[1], *sys.argv[2:3])
