"""Polars' SQL front end (`pl.SQLContext`) on a user's query: each table a lazy CSV scan with
membench's types and null tokens, the SQL planned by Polars and collected with its streaming
engine.

    python peers/sql_polars.py QUERY_SPEC.json
"""

import sys

import polars as pl

from membench_answer import print_query_answer, query_spec


def polars_type(t):
    # Decimals as floats, as Polars users read them: Polars 1.17's Decimal type is unstable
    # (its SQL avg() over a Decimal column returns null). membench compares the answers within
    # a relative 1e-9, so the float sums agree with membench's exact ones.
    if t.startswith("decimal("):
        return pl.Float64
    return {"int64": pl.Int64, "float64": pl.Float64, "bool": pl.Boolean, "date": pl.Date,
            "timestamp": pl.Datetime("us"), "timestamptz": pl.Datetime("us", "UTC"),
            "string": pl.String}[t]


def scan(t):
    if t.get("format") == "parquet":
        decimals = [c for c, ty in t["columns"] if ty.startswith("decimal(")]
        lf = pl.scan_parquet(t["files"])
        return lf.with_columns(pl.col(decimals).cast(pl.Float64)) if decimals else lf
    # Dates and timestamps are read as text and parsed (membench accepts '/' between the
    # parts too); everything else by the reader itself.
    timed = {c: ty for c, ty in t["columns"] if ty in ("date", "timestamp", "timestamptz")}
    schema = {c: (pl.String if c in timed else polars_type(ty)) for c, ty in t["columns"]}
    lf = pl.scan_csv(t["files"], separator=t["delimiter"], schema=schema,
                     null_values=t["nulls"], quote_char='"')
    fixes = []
    for c, ty in timed.items():
        s = pl.col(c).str.replace_all("/", "-")
        fixes.append((s.str.to_date() if ty == "date"
                      else s.str.to_datetime(time_unit="us", time_zone="UTC" if ty == "timestamptz" else None)).alias(c))
    return lf.with_columns(fixes) if fixes else lf


def main(spec_path):
    spec = query_spec(spec_path)
    ctx = pl.SQLContext({name: scan(t) for name, t in spec["tables"].items()})
    df = ctx.execute(spec["sql"]).collect(streaming=True)
    print_query_answer(df.columns, df.rows())


if __name__ == "__main__":
    main(sys.argv[1])
