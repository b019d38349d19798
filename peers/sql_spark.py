"""Spark SQL on a user's query, on a local standalone cluster: a master and one worker started
by this script (pyspark's own `spark-class`, a JRE on PATH or JAVA_HOME), the driver connected
to them, the tables read by Spark's readers with membench's types and null tokens, the SQL run
as written. The cluster is stopped when the answer is printed (or on any failure): membench
measures the whole process tree, JVMs included.

    python peers/sql_spark.py QUERY_SPEC.json [CORES]

Nothing is reachable by another local user: master, worker and driver bind to 127.0.0.1 and
authenticate with a fresh random secret, passed in a properties file only this user can read
(never on a command line); the web UIs are off or bound to loopback with kill disabled.
"""

import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time

from membench_answer import print_query_answer, query_spec


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def spark_type(t):
    # Decimals as doubles, as the Polars SQL peer reads them: Spark's avg() over a decimal is a
    # decimal rounded to 4 more digits, where membench (like DuckDB) gives a double. membench
    # compares the answers within a relative 1e-9, so float sums agree with its exact ones.
    if t.startswith("decimal("):
        return "double"
    return {"int64": "bigint", "float64": "double", "bool": "boolean", "date": "date",
            "timestamp": "timestamp_ntz", "timestamptz": "timestamp", "string": "string"}[t]


def wait_for(port, proc, what, seconds=60):
    end = time.time() + seconds
    while time.time() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"the Spark {what} exited ({proc.returncode})")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise RuntimeError(f"the Spark {what} did not listen on 127.0.0.1:{port}")


def read_table(spark, t):
    from pyspark.sql import functions as F

    if t.get("format") == "parquet":
        df = spark.read.parquet(*t["files"])
        return df.select(*[(F.col(c).cast("double") if ty.startswith("decimal(") else F.col(c)).alias(c)
                           for c, ty in t["columns"]])
    # Every column as text first: membench's null tokens are several, Spark's reader takes one.
    names = [c for c, _ in t["columns"]]
    schema = ", ".join(f"`{c}` string" for c in names)
    df = (spark.read.option("header", True).option("sep", t["delimiter"])
          .option("quote", '"').option("escape", '"').option("multiLine", True)
          .option("nullValue", "\u0000membench-no-null\u0000").option("emptyValue", "")
          .schema(schema).csv(t["files"]))
    cols = []
    for c, ty in t["columns"]:
        v = F.when(F.col(c).isin(t["nulls"]), F.lit(None)).otherwise(F.col(c))
        if ty in ("date", "timestamp", "timestamptz"):
            v = F.regexp_replace(v, "/", "-")
            v = F.to_date(v) if ty == "date" else v.cast(spark_type(ty))
        else:
            v = v.cast(spark_type(ty))
        cols.append(v.alias(c))
    return df.select(*cols)


def main(spec_path, cores=2):
    spec = query_spec(spec_path)
    home = os.path.dirname(__import__("pyspark").__file__)
    spark_class = os.path.join(home, "bin", "spark-class")
    work = tempfile.mkdtemp(prefix="membench-spark-")  # 0700
    secret = secrets.token_hex(32)
    props = os.path.join(work, "spark.properties")
    fd = os.open(props, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(f"spark.authenticate true\nspark.authenticate.secret {secret}\n"
                "spark.ui.killEnabled false\nspark.master.rest.enabled false\n")
    env = dict(os.environ, SPARK_HOME=home, SPARK_LOCAL_IP="127.0.0.1",
               SPARK_LOG_DIR=work, SPARK_WORKER_DIR=work, SPARK_LOCAL_DIRS=work)
    master_port, worker_port = free_port(), free_port()
    url = f"spark://127.0.0.1:{master_port}"
    procs = []
    try:
        def start(*args):
            p = subprocess.Popen([spark_class, *args], env=env, stdout=subprocess.DEVNULL,
                                 stderr=open(os.path.join(work, f"{args[0].split('.')[-1]}.log"), "w"))
            procs.append(p)
            return p

        m = start("org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port",
                  str(master_port), "--webui-port", str(free_port()), "--properties-file", props)
        wait_for(master_port, m, "master")
        w = start("org.apache.spark.deploy.worker.Worker", "--host", "127.0.0.1", "--port",
                  str(worker_port), "--webui-port", str(free_port()), "--cores", str(cores),
                  "--memory", "2g", "--work-dir", work, "--properties-file", props, url)
        # The driver starts while the worker does (two JVMs starting at once, as a cluster's
        # do): the application registers with the master and gets its executor when the worker
        # has registered; the worker is checked to be up before the query runs.

        from pyspark import SparkConf
        from pyspark.sql import SparkSession

        os.environ["SPARK_LOCAL_IP"] = "127.0.0.1"
        conf = (SparkConf().setMaster(url).setAppName("membench")
                .set("spark.authenticate", "true").set("spark.authenticate.secret", secret)
                .set("spark.driver.host", "127.0.0.1").set("spark.driver.bindAddress", "127.0.0.1")
                .set("spark.ui.enabled", "false").set("spark.ui.showConsoleProgress", "false").set("spark.sql.session.timeZone", "UTC")
                .set("spark.sql.ansi.enabled", "false").set("spark.executor.memory", "1g")
                .set("spark.sql.shuffle.partitions", str(int(cores) * 2))
                .set("spark.local.dir", work))
        spark = SparkSession.builder.config(conf=conf).getOrCreate()
        spark.sparkContext.setLogLevel("ERROR")
        wait_for(worker_port, w, "worker")
        for name, t in spec["tables"].items():
            read_table(spark, t).createOrReplaceTempView(name)
        df = spark.sql(spec["sql"])
        rows = df.collect()
        print_query_answer(df.columns, [tuple(r) for r in rows])
        spark.stop()
    finally:
        # spark-class execs the JVM: each process is the master's or the worker's JVM itself
        # (the worker stops its executors on SIGTERM).
        for p in reversed(procs):
            p.terminate()
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        subprocess.run(["rm", "-rf", work], check=False)


if __name__ == "__main__":
    main(sys.argv[1], *sys.argv[2:3])
