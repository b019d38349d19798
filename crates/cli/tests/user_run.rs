//! `membench run --input NAME=PATH --query SQL` as a user runs it, on real public files: every
//! strategy that runs a user's query gives the same answer (a group-by, a top-n and a left join
//! with a table of the user's), the others get one `skipped` record with the reason, the report
//! shows the query; a value that breaks its column's type later in the file is the same located
//! error from every strategy; an unknown column or an unsupported construct is refused before
//! any cell runs.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn public(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../datasets/public")
        .join(name)
}

fn membench(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_membench"))
        .args(args)
        .output()
        .unwrap()
}

/// `membench run ARGS --repeat 1 --out OUT`, which must succeed; its records.
fn run_ok(out: &Path, args: &[&str]) -> Vec<serde_json::Value> {
    let mut all: Vec<&str> = vec!["run"];
    all.extend(args);
    all.extend(["--repeat", "1", "--out", out.to_str().unwrap()]);
    let res = membench(&all);
    assert!(
        res.status.success(),
        "{}",
        String::from_utf8_lossy(&res.stderr)
    );
    records(out)
}

fn records(dir: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(dir.join("results.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Why the registry says strategy `name` does not run a query (`joins`: whether it joins two
/// inputs; `groups`: whether it groups by keys), or `None` when it runs it.
fn refusal(name: &str, joins: bool, groups: bool) -> Option<String> {
    membench_protocol::strategy(name)
        .unwrap()
        .queries
        .refusal(name, joins, groups)
}

/// The strategies (on by default) that run a query of one table (`groups`: one with `GROUP
/// BY` keys), and those that say why not.
fn query_strategies(groups: bool) -> (BTreeSet<String>, BTreeSet<String>) {
    let (mut yes, mut no) = (BTreeSet::new(), BTreeSet::new());
    for s in membench_protocol::STRATEGIES
        .iter()
        .filter(|s| s.on_by_default)
    {
        match refusal(s.name, false, groups) {
            None => yes.insert(s.name.to_string()),
            Some(_) => no.insert(s.name.to_string()),
        };
    }
    (yes, no)
}

#[test]
fn every_strategy_that_runs_queries_agrees_on_public_data_and_the_others_say_why_not() {
    let dir = tempfile::tempdir().unwrap();
    let names = dir.path().join("names.csv");
    std::fs::write(
        &names,
        "symbol,company\nMSFT,Microsoft\nAAPL,Apple\nIBM,IBM\n",
    )
    .unwrap();
    let out = dir.path().join("run");
    let arg = |name: &str, p: &Path| format!("{name}={}", p.display());
    let recs = run_ok(
        &out,
        &[
            "--input",
            &arg("p", &public("penguins.csv")),
            "--input",
            &arg("s", &public("stocks.csv")),
            "--input",
            &arg("n", &names),
            "--query",
            "by-species=SELECT species, sex, count(*) AS n, avg(body_mass_g) AS mass, \
         count(DISTINCT island) AS islands FROM p GROUP BY species, sex ORDER BY species, sex",
            "--query",
            "heaviest=SELECT species, island, body_mass_g FROM p WHERE body_mass_g IS NOT NULL \
         ORDER BY body_mass_g DESC, species, island LIMIT 5",
            "--query",
            "by-company=SELECT s.symbol, n.company, count(*) AS months, max(s.price) AS top \
         FROM s LEFT JOIN n ON s.symbol = n.symbol GROUP BY s.symbol, n.company ORDER BY 1",
        ],
    );
    let (mut ran, mut skipped) = (BTreeSet::new(), BTreeSet::new());
    let mut digests: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for r in &recs {
        let query = r["workload"]["name"].as_str().unwrap().to_string();
        let strategy = r["strategy"].as_str().unwrap();
        let status = r["status"].as_str().unwrap();
        match refusal(strategy, query == "by-company", query != "heaviest") {
            None => {
                assert_eq!(status, "ok", "{strategy} on {query}: {r}");
                ran.insert(strategy.to_string());
                digests
                    .entry(query)
                    .or_default()
                    .insert(r["answer_digest"].as_str().unwrap().to_string());
            }
            Some(why) => {
                assert_eq!(status, "skipped", "{strategy} on {query}");
                skipped.insert(strategy.to_string());
                assert_eq!(
                    r["error"]["message"].as_str().unwrap(),
                    format!("skipped: {why}"),
                    "{strategy}"
                );
            }
        }
    }
    // The join strategies ran the join and said why not for the others; spill-agg ran the
    // two GROUP BY queries and said why not for the top-n.
    assert!(
        ran.contains("grace") && ran.contains("merge-join") && ran.contains("spill-agg"),
        "{ran:?}"
    );
    assert!(skipped.contains("spill-agg"), "{skipped:?}");
    assert!(
        skipped.contains("grace") && ran.len() >= 9,
        "{ran:?} {skipped:?}"
    );
    assert_eq!(digests.len(), 3, "{digests:?}");
    for (q, d) in &digests {
        assert_eq!(d.len(), 1, "{q}: the strategies disagree: {d:?}");
    }
    let rows = |q: &str| {
        recs.iter()
            .find(|r| r["workload"]["name"] == q && r["status"] == "ok")
            .map(|r| r["rows_read"].as_u64().unwrap())
            .unwrap()
    };
    assert_eq!(rows("by-species"), 344);
    // The join reads both tables: 560 stock rows and 3 names.
    assert_eq!(rows("by-company"), 563);
    let report = std::fs::read_to_string(out.join("REPORT.md")).unwrap();
    assert!(report.contains("## by-company · csv"), "{report}");
    assert!(
        report.contains("FROM s LEFT JOIN n ON s.symbol = n.symbol"),
        "{report}"
    );
    assert!(
        report.contains("- `n`: symbol:string,company:string"),
        "{report}"
    );
}

#[test]
fn a_type_break_late_in_the_file_is_the_same_located_error_from_every_strategy() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("late.csv");
    let mut text = String::from("k,v\n");
    for i in 0..20_010 {
        match i {
            20_003 => text.push_str("1,oops\n"),
            _ => text.push_str(&format!("{},{i}\n", i % 7)),
        }
    }
    std::fs::write(&file, text).unwrap();
    let out = dir.path().join("run");
    let recs = run_ok(
        &out,
        &[
            "--input",
            &format!("t={}", file.display()),
            "--query",
            "SELECT k, sum(v) FROM t GROUP BY k",
            "--no-report",
        ],
    );
    let expected = format!(
        "{}:20005: column 2 (v): value \"oops\" is not int64; the type was inferred from the \
         first 20000 rows: pass --schema 'v:string'",
        file.display()
    );
    let (yes, _) = query_strategies(true);
    let mut seen = BTreeSet::new();
    for r in recs {
        let strategy = r["strategy"].as_str().unwrap().to_string();
        if yes.contains(&strategy) {
            assert_eq!(r["status"], "error", "{strategy}: {r}");
            assert_eq!(r["error"]["message"], expected.as_str(), "{strategy}");
            assert_eq!(r["error"]["kind"], "input", "{strategy}");
            seen.insert(strategy);
        }
    }
    assert_eq!(seen, yes);
}

#[test]
fn an_unknown_column_or_an_unsupported_construct_is_refused_before_any_cell_runs() {
    let dir = tempfile::tempdir().unwrap();
    let penguins = format!("p={}", public("penguins.csv").display());
    for (sql, says) in [
        (
            "SELECT species, wingspan FROM p",
            "unknown column \"wingspan\"",
        ),
        (
            "SELECT species, row_number() OVER (ORDER BY body_mass_g) FROM p",
            "unsupported in a query: the function row_number()",
        ),
    ] {
        let out = dir.path().join("run");
        let res = membench(&[
            "run",
            "--input",
            &penguins,
            "--query",
            sql,
            "--out",
            out.to_str().unwrap(),
        ]);
        let stderr = String::from_utf8_lossy(&res.stderr);
        assert!(!res.status.success(), "{sql}");
        assert!(stderr.contains("query q1: "), "{sql}: {stderr}");
        assert!(stderr.contains(says), "{sql}: {stderr}");
        assert!(!out.join("results.jsonl").exists(), "{sql}: a cell ran");
    }
}

/// The Python with DuckDB and Polars that `.ci/run` installs, or why there is none.
fn peer_python() -> Result<PathBuf, String> {
    let python = std::env::var("MEMBENCH_DUCKDB_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(std::env::var("HOME").unwrap_or_default())
                .join(".cache/membench-duckdb/bin/python")
        });
    let ok = Command::new(&python)
        .args(["-c", "import duckdb, polars"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    match ok {
        true => Ok(python),
        false => Err(format!(
            "{} cannot import duckdb and polars (.ci/run installs them)",
            python.display()
        )),
    }
}

/// Processes whose command line holds `needle` (a peer's leftovers).
fn processes_with(needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        if let Ok(cmd) = std::fs::read(e.path().join("cmdline"))
            && String::from_utf8_lossy(&cmd).contains(needle)
        {
            found.push(String::from_utf8_lossy(&cmd).replace('\0', " "));
        }
    }
    found
}

#[test]
fn spark_sql_on_a_local_cluster_takes_the_query_and_agrees_or_says_it_skipped() {
    let python = peer_python().and_then(|p| {
        let spark = Command::new(&p).args(["-c", "import pyspark"]).status();
        let java = Command::new("java").arg("-version").output();
        match (spark.map(|s| s.success()), java.map(|o| o.status.success())) {
            (Ok(true), Ok(true)) => Ok(p),
            _ => Err(format!(
                "{} cannot import pyspark, or no java (.ci/run installs both)",
                p.display()
            )),
        }
    });
    let python = match python {
        Ok(p) => p,
        Err(why) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "the Spark peer must run under CI: {why}"
            );
            eprintln!("SKIPPED the Spark SQL peer's cell: {why}");
            return;
        }
    };
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../peers/sql_spark.py");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let recs = run_ok(
        &out,
        &[
            "--strategy",
            "streaming",
            "--command",
            &format!(
                "spark-sql={} {} {{query}} {{threads}}",
                python.display(),
                script.display()
            ),
            "--input",
            &format!("w={}", public("seattle-weather.csv").display()),
            "--input",
            &format!("p={}", public("penguins.csv").display()),
            "--query",
            "wet=SELECT weather, count(*) AS days, avg(precipitation) AS rain, \
             sum(precipitation) AS total, max(temp_max) AS hottest, min(date) AS first FROM w \
             WHERE date >= DATE '2013-01-01' GROUP BY weather ORDER BY days DESC",
            "--no-report",
            // One cluster start, not two (a warm-up and the repetition: 46 s of the suite):
            // what is tested is the answer and the process tree, not Spark's speed.
            "--no-warmup",
        ],
    );
    let spark: Vec<&serde_json::Value> = recs
        .iter()
        .filter(|r| r["strategy"] == "spark-sql")
        .collect();
    assert_eq!(spark.len(), 1);
    // `ok` only when its answer agreed with streaming's (a mismatch is `wrong`).
    assert_eq!(spark[0]["status"], "ok", "{}", spark[0]);
    // The cluster's JVMs were measured as the peer's process tree, and are gone.
    assert!(
        spark[0]["peak_rss_bytes"].as_u64().unwrap() > 200 << 20,
        "{}",
        spark[0]
    );
    let left = processes_with("membench-spark-");
    assert!(
        left.is_empty(),
        "the Spark cluster outlived its cell: {left:?}"
    );
}

#[test]
fn duckdb_and_polars_sql_take_the_same_query_and_agree_or_say_they_skipped() {
    let python = match peer_python() {
        Ok(p) => p,
        Err(why) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "the SQL peers must run under CI: {why}"
            );
            eprintln!("SKIPPED the SQL peers' cells: {why}");
            return;
        }
    };
    let peers = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../peers");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    // A Parquet input written by another engine (DuckDB): its own schema, read by each.
    let pq = dir.path().join("penguins.parquet");
    let made = std::process::Command::new(&python)
        .arg("-c")
        .arg(format!(
            "import duckdb; duckdb.sql(\"COPY (SELECT * FROM read_csv('{}', nullstr = 'NA')) TO '{}' (FORMAT parquet, ROW_GROUP_SIZE 100)\")",
            public("penguins.csv").display(),
            pq.display()
        ))
        .status()
        .unwrap();
    assert!(made.success(), "DuckDB writes the Parquet input");
    let peer = |name: &str, script: &str, args: &str| {
        format!(
            "{name}={} {} {{query}} {args}",
            python.display(),
            peers.join(script).display()
        )
    };
    let recs = run_ok(
        &out,
        &[
            "--strategy",
            "streaming",
            "--command",
            &peer("duckdb-sql", "sql_duckdb.py", "{threads}"),
            "--command",
            &peer("polars-py-sql", "sql_polars.py", ""),
            "--input",
            &format!("w={}", public("seattle-weather.csv").display()),
            "--input",
            &format!("p={}", public("penguins.csv").display()),
            "--query",
            "wet=SELECT weather, count(*) AS days, avg(precipitation) AS rain, \
         max(temp_max) AS hottest FROM w WHERE date >= DATE '2013-01-01' \
         GROUP BY weather ORDER BY days DESC",
            "--query",
            "mass=SELECT island, sum(body_mass_g) AS mass, min(bill_length_mm) AS bill \
         FROM p WHERE sex IS NOT NULL GROUP BY island ORDER BY island",
            "--input",
            &format!("pq={}", pq.display()),
            "--query",
            "parquet=SELECT species, count(*) AS n, avg(flipper_length_mm) AS flipper, \
         count(DISTINCT island) AS islands FROM pq WHERE body_mass_g > 3000 GROUP BY species \
         ORDER BY species",
            "--no-report",
        ],
    );
    for peer in ["duckdb-sql", "polars-py-sql"] {
        let mine: Vec<&serde_json::Value> = recs.iter().filter(|r| r["strategy"] == peer).collect();
        assert_eq!(mine.len(), 3, "{peer}: one record per query");
        for r in mine {
            assert_eq!(r["status"], "ok", "{peer}: {r}");
            assert!(r["answer"]["rows"].is_array(), "{peer}: its answer is kept");
        }
    }
}

#[test]
fn a_distinct_count_over_a_budget_is_oom_from_every_strategy_not_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ids.csv");
    let mut text = String::from("id,k\n");
    for i in 0..300_000 {
        text.push_str(&format!("visitor-{i:09},{}\n", i % 5));
    }
    std::fs::write(&file, text).unwrap();
    let out = dir.path().join("run");
    let recs = run_ok(
        &out,
        &[
            "--input",
            &format!("t={}", file.display()),
            "--query",
            "SELECT k, count(DISTINCT id) FROM t GROUP BY k",
            "--memory-limit",
            "4MiB",
            "--no-report",
        ],
    );
    let (yes, _) = query_strategies(true);
    let mut seen = BTreeSet::new();
    for r in recs {
        let strategy = r["strategy"].as_str().unwrap().to_string();
        if yes.contains(&strategy) {
            assert_eq!(r["status"], "oom", "{strategy}: {r}");
            seen.insert(strategy);
        }
    }
    assert_eq!(seen, yes);
}

#[test]
fn the_runner_takes_tables_and_a_query_by_hand() {
    let runner = Path::new(env!("CARGO_BIN_EXE_membench")).with_file_name("membench-runner");
    let run = |strategy: &str| -> serde_json::Value {
        let out = Command::new(&runner)
            .args(["--strategy", strategy, "--input"])
            .arg(format!("p={}", public("penguins.csv").display()))
            .args([
                "--query",
                "by-island=SELECT island, count(*) AS n FROM p GROUP BY island ORDER BY island",
                "--emit-answer",
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let (s, p) = (run("streaming"), run("parallel"));
    assert_eq!(s["workload"]["name"], "by-island");
    assert_eq!(s["rows_read"], 344);
    assert_eq!(
        s["answer"]["rows"],
        serde_json::json!([["Biscoe", 168], ["Dream", 124], ["Torgersen", 52]])
    );
    assert_eq!(s["answer_digest"], p["answer_digest"]);
}

#[test]
fn output_writes_the_result_to_a_file_and_every_strategy_is_compared_by_its_digest() {
    let dir = tempfile::tempdir().unwrap();
    let p = format!("p={}", public("penguins.csv").display());
    let sql = "heavy=SELECT species, island, body_mass_g, bill_length_mm * 2 AS b2 FROM p \
               WHERE body_mass_g > 4000";
    // The same query kept as the answer: the rows the file must hold.
    let kept = run_ok(
        &dir.path().join("kept"),
        &[
            "--input",
            &p,
            "--query",
            sql,
            "--strategy",
            "streaming",
            "--no-report",
        ],
    );
    let want = kept[0]["answer"]["rows"].as_array().unwrap().len();
    assert!(want > 100, "{want}");
    for file in ["heavy.csv", "heavy.parquet"] {
        let target = dir.path().join(file);
        let out = dir.path().join(format!("run-{file}"));
        let recs = run_ok(
            &out,
            &[
                "--input",
                &p,
                "--query",
                sql,
                "--output",
                target.to_str().unwrap(),
                "--no-report",
            ],
        );
        let (yes, _) = query_strategies(false);
        let mut digests = BTreeSet::new();
        for r in &recs {
            let s = r["strategy"].as_str().unwrap();
            if yes.contains(s) {
                assert_eq!(r["status"], "ok", "{s}: {r}");
                assert_eq!(
                    r["answer"]["rows"],
                    serde_json::json!([]),
                    "{s}: rows not kept"
                );
                assert_eq!(r["answer"]["written"]["rows"], want as u64, "{s}");
                digests.insert(r["answer"]["written"]["digest"].to_string());
            }
        }
        assert_eq!(digests.len(), 1, "{file}: {digests:?}");
        assert!(target.is_file(), "{file} is left at --output");
        if file.ends_with(".csv") {
            let text = std::fs::read_to_string(&target).unwrap();
            assert_eq!(text.lines().count(), want + 1, "a header and the rows");
            assert!(text.starts_with("species,island,body_mass_g,b2\n"));
        } else {
            // Read back by membench's own Parquet reader.
            let t = membench_query::open_table(&target, &Default::default()).unwrap();
            assert_eq!(t.count().unwrap().0, want as u64);
        }
        // An existing file is refused before anything runs.
        let again = membench(&[
            "run",
            "--input",
            &p,
            "--query",
            sql,
            "--output",
            target.to_str().unwrap(),
            "--out",
            dir.path().join("again").to_str().unwrap(),
        ]);
        assert!(!again.status.success());
        assert!(
            String::from_utf8_lossy(&again.stderr).contains("the file exists"),
            "{}",
            String::from_utf8_lossy(&again.stderr)
        );
    }
    // Several queries need {query} in the name.
    let res = membench(&[
        "run",
        "--input",
        &p,
        "--query",
        sql,
        "--query",
        "SELECT count(*) FROM p",
        "--output",
        dir.path().join("one.csv").to_str().unwrap(),
        "--out",
        dir.path().join("many").to_str().unwrap(),
    ]);
    assert!(!res.status.success());
    assert!(String::from_utf8_lossy(&res.stderr).contains("put {query} in the name"));
}

#[test]
fn a_group_by_larger_than_the_budget_spills_in_spill_agg_and_sort_agg_where_streaming_is_oom() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("visits.csv");
    // 200 000 rows, 100 000 distinct visitors: the groups alone outgrow 8 MiB.
    let mut text = String::from("visitor,site,pages\n");
    for i in 0..200_000u64 {
        text.push_str(&format!(
            "v{:08},s{},{}\n",
            (i * 7919) % 100_000,
            i % 3,
            i % 13
        ));
    }
    std::fs::write(&file, text).unwrap();
    let input = format!("t={}", file.display());
    // One key, then two (the sort orders on both; a group is both values), then a computed one.
    for sql in [
        "SELECT visitor, count(*) AS n, sum(pages) AS p FROM t GROUP BY visitor \
         ORDER BY p DESC, visitor LIMIT 20",
        "SELECT visitor, site, max(pages) AS m, count(*) AS n FROM t WHERE pages > 0 \
         GROUP BY visitor, site ORDER BY n DESC, visitor, site LIMIT 20",
        // A computed key: carried after the row to be sorted on.
        "SELECT visitor, pages % 2 AS odd, count(*) AS n FROM t GROUP BY visitor, pages % 2 \
         ORDER BY n DESC, visitor, odd LIMIT 20",
    ] {
        let run = |name: &str, limit: Option<&str>| {
            let mut args = vec!["--input", &input, "--query", sql, "--no-report"];
            for s in ["streaming", "spill-agg", "sort-agg"] {
                args.extend(["--strategy", s]);
            }
            if let Some(l) = limit {
                args.extend(["--memory-limit", l]);
            }
            let out = dir.path().join(format!("{name}-{}", sql.len()));
            run_ok(&out, &args)
        };
        let free = run("free", None);
        let tight = run("tight", Some("8MiB"));
        let find = |recs: &[serde_json::Value], s: &str| {
            recs.iter()
                .find(|r| r["strategy"] == s && r["allocator"] == "counting")
                .unwrap_or_else(|| panic!("no counting record of {s}"))
                .clone()
        };
        let want = find(&free, "streaming");
        assert_eq!(want["status"], "ok", "{want}");
        let heap = |r: &serde_json::Value| r["peak_heap_bytes"].as_u64().unwrap();
        assert!(heap(&want) > 8 << 20, "{want}");
        // Under 8 MiB: streaming is oom.
        assert_eq!(find(&tight, "streaming")["status"], "oom");
        for s in ["spill-agg", "sort-agg"] {
            // Unlimited, a spilling strategy holds every group and spills nothing.
            let roomy = find(&free, s);
            assert_eq!(roomy["status"], "ok", "{roomy}");
            assert_eq!(roomy["answer_digest"], want["answer_digest"], "{s}");
            assert!(roomy["spill_bytes"].as_u64().unwrap_or(0) == 0, "{roomy}");
            // Under 8 MiB it spills and gives the same answer.
            let spilled = find(&tight, s);
            assert_eq!(spilled["status"], "ok", "{spilled}");
            assert_eq!(spilled["answer_digest"], want["answer_digest"], "{s}");
            assert!(
                spilled["spill_bytes"].as_u64().unwrap() > 1 << 20,
                "{spilled}"
            );
            assert!(heap(&spilled) < 8 << 20, "{spilled}");
        }
    }
    // A query without GROUP BY keys is not theirs: skipped, saying so.
    assert_eq!(
        refusal("spill-agg", false, false).unwrap(),
        "spill-agg aggregates groups; this query has no GROUP BY keys"
    );
    assert_eq!(
        refusal("sort-agg", false, false).unwrap(),
        "sort-agg aggregates groups; this query has no GROUP BY keys"
    );
}

#[test]
fn scale_runs_the_query_on_the_input_and_its_twins_with_a_pinned_dimension_table() {
    let dir = tempfile::tempdir().unwrap();
    let names = dir.path().join("names.csv");
    std::fs::write(
        &names,
        "symbol,company\nMSFT,Microsoft\nAAPL,Apple\nIBM,IBM\nAMZN,Amazon\nGOOG,Google\n",
    )
    .unwrap();
    let out = dir.path().join("run");
    let datasets = dir.path().join("twins");
    let arg = |name: &str, p: &Path| format!("{name}={}", p.display());
    let recs = run_ok(
        &out,
        &[
            "--input",
            &arg("s", &public("stocks.csv")),
            "--input",
            &arg("n", &names),
            "--scale",
            "1x,4x,n=1x",
            "--datasets",
            datasets.to_str().unwrap(),
            "--strategy",
            "streaming,parallel,grace",
            "--query",
            "by-company=SELECT n.company, count(*) AS months, max(s.price) AS top \
             FROM s JOIN n ON s.symbol = n.symbol GROUP BY n.company ORDER BY 1",
        ],
    );
    // The input at 560 rows and its twin at 2240; the names (pinned) at 5 rows in both.
    let mut rows: BTreeMap<u64, BTreeSet<String>> = BTreeMap::new();
    let mut digests: BTreeMap<u64, BTreeSet<String>> = BTreeMap::new();
    for r in recs.iter().filter(|r| r["status"] == "ok") {
        let read = r["rows_read"].as_u64().unwrap();
        rows.entry(read)
            .or_default()
            .insert(r["strategy"].as_str().unwrap().to_string());
        digests
            .entry(read)
            .or_default()
            .insert(r["answer_digest"].as_str().unwrap().to_string());
    }
    assert_eq!(
        rows.keys().copied().collect::<Vec<_>>(),
        vec![565, 2245],
        "{rows:?}"
    );
    for (n, s) in &rows {
        assert_eq!(s.len(), 3, "at {n} rows read: {s:?}");
        assert_eq!(digests[n].len(), 1, "at {n} rows the strategies disagree");
    }
    assert!(
        recs.iter().all(|r| r["status"] == "ok"),
        "every cell ok: {recs:?}"
    );
    let twin = datasets.join("stocks-twin-2240-s42.csv");
    assert!(twin.is_file(), "the twin is kept in --datasets");
    assert!(
        !datasets.join("names-twin-5-s42.csv").exists(),
        "n was pinned"
    );
    let report = std::fs::read_to_string(out.join("REPORT.md")).unwrap();
    assert!(
        report.contains("2240"),
        "the report has the 4x size: {report}"
    );
}
