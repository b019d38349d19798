"""The canonical answer membench compares, in one call: `print_answer(workload, result)`.

A program measured with `membench run --command 'name=python3 my.py {input} {workload}'` prints
its answer as the LAST line of its standard output, as JSON (field order and whitespace do not
matter; row order does):

  top-n     {"workload": "top-n", "rows": [{"order_id": 17, "total_cents": 12345600}, ...]}
            the 100 rows with the largest quantity × price (in integer cents) strictly above
            1000.00, best first; ties by order_id ascending
  group-by  {"workload": "group-by", "groups": [{"category": "books", "rows": 3,
            "sum_quantity": 7, "sum_total_cents": 4200}, ...]}   sorted by category

Money is integer cents (price "415.69" is 41569), so every engine agrees to the cent.
A program that prints no answer is recorded as "unchecked"; one whose answer differs from the
reference as "wrong-answer".

Out of memory is an exit code, not a message: membench records a cell as "oom" only from exit
code 97 (OOM_EXIT_CODE) or a kernel event, never from text on stderr (which can quote the
input). Importing this module makes an uncaught out-of-memory exception — Python's MemoryError
and its subclasses (numpy, pyarrow), or a runtime's exception type named *MemoryError or
OutOfMemoryException (duckdb), or a Java OutOfMemoryError behind py4j (Spark) — print its traceback and exit with 97.
"""

import json
import os
import sys
import traceback
from decimal import Decimal

OOM_EXIT_CODE = 97


def is_out_of_memory(exc):
    """Whether an exception is a runtime's out-of-memory error, by its type (never its text)."""
    if isinstance(exc, MemoryError):
        return True
    names = [t.__name__ for t in type(exc).__mro__]
    if any(n.endswith("MemoryError") or n == "OutOfMemoryException" for n in names):
        return True
    # py4j (Spark): the Java exception's class, asked of the JVM.
    try:
        java = exc.java_exception.getClass().getName()
    except Exception:
        return False
    return java == "java.lang.OutOfMemoryError"


def _exit_97_on_out_of_memory(kind, exc, tb):
    if is_out_of_memory(exc):
        try:
            traceback.print_exception(kind, exc, tb)
            sys.stderr.flush()
        finally:
            os._exit(OOM_EXIT_CODE)
    _previous_hook(kind, exc, tb)


_previous_hook = sys.excepthook
sys.excepthook = _exit_97_on_out_of_memory

TOP_N = 100
TOP_N_THRESHOLD_CENTS = 100_000


def cents(text):
    """'415.69' -> 41569, exactly."""
    return int(Decimal(str(text)).scaleb(2).to_integral_value())


def top_n(pairs):
    """pairs: (order_id, total_cents) of every row -> the canonical top-n rows."""
    kept = [(t, o) for o, t in pairs if t > TOP_N_THRESHOLD_CENTS]
    kept.sort(key=lambda p: (-p[0], p[1]))
    return [{"order_id": int(o), "total_cents": int(t)} for t, o in kept[:TOP_N]]


def group_by(groups):
    """groups: {category: (rows, sum_quantity, sum_total_cents)} -> the canonical groups."""
    return [
        {"category": c, "rows": int(r), "sum_quantity": int(q), "sum_total_cents": int(t)}
        for c, (r, q, t) in sorted(groups.items())
    ]


def print_answer(workload, result):
    """Prints the answer line: result is top_n(...) rows or group_by(...) groups."""
    key = "rows" if workload == "top-n" else "groups"
    print(json.dumps({"workload": workload, key: result}), flush=True)


# A user's query (`membench run --input NAME=PATH --query SQL`): the program is given
# `{query}`, the path of a JSON spec, and prints the answer table as its last line:
#
#   {"workload": "query", "columns": ["species", "n"], "rows": [["Adelie", 152], ...]}
#
# in the query's ORDER BY order. Values as membench writes them: integers and floats as JSON
# numbers (inf/nan as "inf"/"nan"), exact decimals as text with their scale ("39.10"), dates
# as "YYYY-MM-DD", timestamps as "YYYY-MM-DD HH:MM:SS[.ffffff]", null as null. Floats may
# differ from membench's in the last bits (engines sum in different orders): membench compares
# them within a relative 1e-9, and rows whose order the query leaves open in any order.
#
# The spec: {"sql": "...", "tables": {NAME: {"files": [...], "format": "csv" | "parquet", "delimiter": ",",
# "nulls": ["", "NA", ...], "columns": [[COLUMN, TYPE], ...]}}}, TYPE one of int64, float64,
# decimal(S), bool, date, timestamp, timestamptz, string: the types membench inferred (or
# `--schema` gave), so every engine reads the same values. A Parquet table's types are its
# file's own (delimiter and nulls then mean nothing).


def query_spec(path):
    """The spec of a user's query, from the `{query}` file."""
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def query_value(v):
    """One value as membench writes it."""
    import datetime
    import math

    if isinstance(v, float) and not math.isfinite(v):
        return str(v)
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    if isinstance(v, Decimal):
        return str(v)
    if isinstance(v, datetime.datetime):
        return v.replace(tzinfo=None).isoformat(sep=" ")
    if isinstance(v, datetime.date):
        return v.isoformat()
    return str(v)


def print_query_answer(columns, rows):
    """Prints a user's query's answer line."""
    print(json.dumps({"workload": "query", "columns": list(columns),
                      "rows": [[query_value(v) for v in r] for r in rows]}), flush=True)
