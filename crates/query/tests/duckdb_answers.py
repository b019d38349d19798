"""Answers membench's query suite with DuckDB, the cross-check's oracle.

Reads a JSON spec on stdin: {"tables": {name: {"files": [...], "delimiter": ",", "nulls": [...],
"columns": [[name, type], ...]}}, "queries": [sql, ...]} where the types are membench's
(int64, float64, decimal(S), bool, date, timestamp, timestamptz, string). Each table is read
as text and cast to those types, with the same null tokens and the same date spellings
(YYYY-MM-DD or YYYY/MM/DD), so DuckDB answers over the very values membench reads. Prints
{"answers": [{"columns": [...], "rows": [[...]]} | {"error": "..."}]} as JSON.
"""
import datetime
import decimal
import json
import math
import sys

import duckdb


def duck_type(t):
    if t.startswith("decimal("):
        return f"DECIMAL(18,{t[8:-1]})"
    return {
        "int64": "BIGINT",
        "float64": "DOUBLE",
        "bool": "BOOLEAN",
        "date": "DATE",
        "timestamp": "TIMESTAMP",
        "timestamptz": "TIMESTAMPTZ",
        "string": "VARCHAR",
    }[t]


def column_expr(name, t, nulls):
    q = '"' + name.replace('"', '""') + '"'
    tokens = ", ".join("'" + n.replace("'", "''") + "'" for n in nulls)
    v = f"CASE WHEN {q} IN ({tokens}) THEN NULL ELSE {q} END" if tokens else q
    if t == "date":
        v = f"CAST(replace({v}, '/', '-') AS DATE)"
    elif t in ("timestamp", "timestamptz"):
        v = f"CAST(replace({v}, '/', '-') AS {duck_type(t)})"
    elif t != "string":
        v = f"CAST({v} AS {duck_type(t)})"
    return f"{v} AS {q}"


def value(v):
    if isinstance(v, float) and not math.isfinite(v):
        return str(v)
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    if isinstance(v, decimal.Decimal):
        return str(v)
    if isinstance(v, datetime.datetime):
        return v.isoformat(sep=" ")
    if isinstance(v, datetime.date):
        return v.isoformat()
    return str(v)


def main():
    spec = json.load(sys.stdin)
    con = duckdb.connect()
    con.execute("SET threads TO 1")
    for name, t in spec["tables"].items():
        files = ", ".join("'" + f.replace("'", "''") + "'" for f in t["files"])
        delim = t["delimiter"].replace("'", "''")
        cols = ", ".join(column_expr(n, ty, t["nulls"]) for n, ty in t["columns"])
        con.execute(
            f'CREATE VIEW "{name}" AS SELECT {cols} FROM read_csv([{files}], '
            f"header = true, all_varchar = true, delim = '{delim}', quote = '\"', "
            f"escape = '\"', nullstr = '\x01')"
        )
    answers = []
    for sql in spec["queries"]:
        try:
            cur = con.execute(sql)
            cols = [d[0] for d in cur.description]
            rows = [[value(v) for v in r] for r in cur.fetchall()]
            answers.append({"columns": cols, "rows": rows})
        except Exception as e:  # noqa: BLE001 - the error is the answer
            answers.append({"error": str(e).splitlines()[0]})
    json.dump({"answers": answers}, sys.stdout)


main()
