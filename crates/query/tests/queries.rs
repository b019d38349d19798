//! The query suite: SQL over the real public datasets (`datasets/public`) and the generated
//! `sales` and `orders` tables, each query planned once and run by both readings of the generic
//! operators (streaming and load-all, which must agree bit for bit), and every answer
//! cross-checked against DuckDB's Python package (installed by `.ci/run`; outside CI a missing
//! DuckDB is said on stderr, under `CI` it fails the test).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use membench_protocol::TableSchema;
use membench_query::exec::QueryAnswer;
use membench_query::scan::{Reading, run};
use membench_query::sql::plan;
use membench_query::{CsvOptions, Table, open_table};

mod common;

fn public(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../datasets/public")
        .join(name)
}

/// Where an engine cannot give membench's answer, and why: (strategy, query, reason).
const KNOWN: &[(&str, &str, &str)] = &[(
    "sqlite",
    "SELECT body_mass_g / 0 AS inf, (body_mass_g - body_mass_g) / 0 AS nan, body_mass_g % 0 AS m FROM penguins WHERE year = 2009 ORDER BY body_mass_g LIMIT 3",
    "SQLite holds no NaN: 0 / 0 is NULL there",
)];

/// The suite's queries, by the tables they read.
const QUERIES: &[&str] = &[
    // penguins: NA nulls, decimals, integers, strings
    "SELECT count(*) FROM penguins",
    "SELECT species, count(*) AS n FROM penguins GROUP BY species ORDER BY species",
    "SELECT species, avg(body_mass_g) AS mass FROM penguins GROUP BY species ORDER BY mass DESC",
    "SELECT island, sex, count(*) FROM penguins GROUP BY island, sex ORDER BY island, sex NULLS FIRST",
    "SELECT count(sex), count(*), count(DISTINCT sex), count(DISTINCT island) FROM penguins",
    "SELECT sum(bill_length_mm), min(bill_length_mm), max(bill_depth_mm) FROM penguins",
    "SELECT species, sum(body_mass_g) FROM penguins WHERE sex IS NULL GROUP BY species ORDER BY 1",
    "SELECT * FROM penguins WHERE bill_length_mm > 55 ORDER BY bill_length_mm DESC, body_mass_g",
    "SELECT species, island, flipper_length_mm FROM penguins WHERE flipper_length_mm BETWEEN 200 AND 210 AND island IN ('Biscoe', 'Dream')",
    "SELECT upper(species) AS s, count(*) FROM penguins GROUP BY upper(species) ORDER BY s",
    "SELECT CASE WHEN body_mass_g >= 4500 THEN 'heavy' WHEN body_mass_g IS NULL THEN 'unknown' ELSE 'light' END AS w, count(*) FROM penguins GROUP BY 1 ORDER BY 1",
    "SELECT year, round(avg(flipper_length_mm), 2) AS f FROM penguins GROUP BY year ORDER BY year",
    "SELECT species, max(body_mass_g) - min(body_mass_g) AS spread FROM penguins GROUP BY species HAVING count(*) > 100 ORDER BY spread",
    "SELECT coalesce(sex, 'unknown') AS sex, count(*) FROM penguins GROUP BY coalesce(sex, 'unknown') ORDER BY 1",
    "SELECT species, bill_length_mm / bill_depth_mm AS ratio FROM penguins WHERE bill_length_mm IS NOT NULL ORDER BY ratio DESC LIMIT 5",
    "SELECT bill_length_mm * 2 + 1 AS x FROM penguins WHERE species LIKE 'Chin%' ORDER BY x LIMIT 10",
    "SELECT count(*) FROM penguins WHERE NOT (island = 'Biscoe' OR sex = 'male')",
    "SELECT CAST(body_mass_g AS DOUBLE) / 1000 AS kg FROM penguins ORDER BY kg DESC NULLS LAST LIMIT 3",
    "SELECT substr(species, 1, 3) AS s3, sum(flipper_length_mm) FROM penguins GROUP BY s3 ORDER BY s3",
    "SELECT abs(bill_depth_mm - 17.5) AS d FROM penguins ORDER BY d LIMIT 5",
    "SELECT body_mass_g % 7 AS m, count(*) FROM penguins GROUP BY m ORDER BY m",
    "SELECT sum(body_mass_g) / count(body_mass_g) AS mean FROM penguins",
    "SELECT count(*) FROM penguins WHERE body_mass_g / 0 IS NULL",
    "SELECT body_mass_g / 0 AS inf, (body_mass_g - body_mass_g) / 0 AS nan, body_mass_g % 0 AS m FROM penguins WHERE year = 2009 ORDER BY body_mass_g LIMIT 3",
    "SELECT sex, length(sex) AS len, count(*) FROM penguins GROUP BY sex ORDER BY sex",
    // seattle-weather: YYYY/MM/DD dates, one-digit decimals
    "SELECT weather, count(*) FROM weather GROUP BY weather ORDER BY count(*) DESC",
    "SELECT extract(year FROM date) AS y, sum(precipitation) FROM weather GROUP BY y ORDER BY y",
    "SELECT extract(month FROM date) AS m, avg(temp_max), max(temp_max) FROM weather GROUP BY m ORDER BY m",
    "SELECT date, temp_max FROM weather WHERE date BETWEEN '2014-07-01' AND '2014-07-10' ORDER BY date",
    "SELECT count(*) FROM weather WHERE date >= DATE '2015-01-01'",
    "SELECT weather, min(date), max(date) FROM weather GROUP BY weather ORDER BY weather",
    "SELECT date, temp_max - temp_min AS span FROM weather ORDER BY span DESC, date LIMIT 5",
    "SELECT weather, sum(CASE WHEN precipitation > 0 THEN 1 ELSE 0 END) AS wet FROM weather GROUP BY weather ORDER BY weather",
    "SELECT extract(year FROM date) AS y, extract(month FROM date) AS m, round(avg(wind), 3) FROM weather GROUP BY y, m HAVING avg(wind) > 4 ORDER BY y, m",
    "SELECT count(DISTINCT temp_max), sum(DISTINCT temp_max) FROM weather",
    "SELECT weather || '-' || CAST(extract(year FROM date) AS VARCHAR) AS k, count(*) FROM weather GROUP BY k ORDER BY k",
    // seattle-temps: timestamps
    "SELECT extract(hour FROM date) AS h, avg(temp) FROM temps GROUP BY h ORDER BY h",
    "SELECT CAST(date AS DATE) AS d, max(temp) AS t FROM temps GROUP BY d ORDER BY t DESC, d LIMIT 3",
    // airports: floats, quoted names, empty fields
    "SELECT state, count(*) AS n FROM airports GROUP BY state ORDER BY n DESC, state LIMIT 10",
    "SELECT country, count(*), min(latitude), max(longitude) FROM airports GROUP BY country ORDER BY country",
    "SELECT iata, name FROM airports WHERE name ILIKE '%international%' AND state = 'CA' ORDER BY iata",
    "SELECT count(*) FROM airports WHERE city IS NULL OR state IS NULL",
    "SELECT state, avg(latitude) FROM airports WHERE country = 'USA' GROUP BY state HAVING count(*) >= 50 ORDER BY state",
    "SELECT sum(latitude), sum(longitude), avg(longitude) FROM airports",
    "SELECT trim(upper(substr(city, 1, 4))) AS c4, count(*) FROM airports GROUP BY c4 ORDER BY count(*) DESC, c4 LIMIT 5",
    // stocks: dates as text, two-digit decimals
    "SELECT symbol, min(price), max(price), avg(price) FROM stocks GROUP BY symbol ORDER BY symbol",
    "SELECT symbol, count(*) FROM stocks WHERE date LIKE '%2008' GROUP BY symbol ORDER BY symbol",
    "SELECT symbol, price FROM stocks WHERE price > 500 ORDER BY price DESC LIMIT 3",
    // the generated tables: the built-in workloads as SQL, and joins
    "SELECT category, count(*), sum(quantity), sum(quantity * price) FROM sales GROUP BY category ORDER BY category",
    "SELECT order_id, quantity * price AS total FROM sales WHERE quantity * price > 1000 ORDER BY total DESC, order_id LIMIT 100",
    "SELECT region, count(DISTINCT customer_id) FROM sales GROUP BY region ORDER BY region",
    "SELECT i.category, count(*), sum(i.quantity), sum(i.quantity * i.price) FROM orders o JOIN order_items i ON o.order_id = i.order_id WHERE o.order_date BETWEEN '2023-01-01' AND '2023-12-31' GROUP BY i.category ORDER BY i.category",
    "SELECT o.status, count(i.order_id), count(*) FROM orders o LEFT JOIN order_items i ON o.order_id = i.order_id GROUP BY o.status ORDER BY o.status",
    "SELECT o.region, max(i.price) FROM order_items i JOIN orders o ON i.order_id = o.order_id GROUP BY o.region ORDER BY o.region",
];

struct Tables {
    _dir: tempfile::TempDir,
    tables: Vec<(String, Table)>,
}

fn tables() -> Tables {
    let dir = tempfile::tempdir().unwrap();
    let open = |name: &str, path: &Path| {
        let t = open_table(path, &CsvOptions::default()).unwrap_or_else(|e| panic!("{e}"));
        (name.to_string(), t)
    };
    let tables = vec![
        open("penguins", &public("penguins.csv")),
        open("weather", &public("seattle-weather.csv")),
        open("temps", &public("seattle-temps.csv")),
        open("airports", &public("airports.csv")),
        open("stocks", &public("stocks.csv")),
    ];
    let mut tables = tables;
    tables.extend(common::generated(dir.path(), 20_000, 5_000));
    Tables { _dir: dir, tables }
}

impl Tables {
    /// The same tables written as Parquet (by `common::write_parquet`, in row groups of 1000
    /// rows) and opened by their own schema.
    fn as_parquet(&self) -> Tables {
        let dir = tempfile::tempdir().unwrap();
        let tables = self
            .tables
            .iter()
            .map(|(n, t)| {
                let out = dir.path().join(format!("{n}.parquet"));
                common::write_parquet(t, &out, 1000);
                let p = open_table(&out, &CsvOptions::default()).unwrap_or_else(|e| panic!("{e}"));
                let types = |t: &Table| {
                    t.schema
                        .columns
                        .iter()
                        .map(|c| (c.name.clone(), c.ty))
                        .collect::<Vec<_>>()
                };
                assert_eq!(types(&p), types(t), "{n}: Parquet's schema is the CSV's");
                (n.clone(), p)
            })
            .collect();
        Tables { _dir: dir, tables }
    }

    fn schemas(&self) -> Vec<(&str, &TableSchema)> {
        self.tables
            .iter()
            .map(|(n, t)| (n.as_str(), &t.schema))
            .collect()
    }

    fn answer(&self, sql: &str, reading: Reading) -> QueryAnswer {
        let p = plan(sql, &self.schemas()).unwrap_or_else(|e| panic!("{sql}: {e}"));
        let inputs: Vec<&Table> = p
            .inputs
            .iter()
            .map(|n| &self.tables.iter().find(|(t, _)| t == n).unwrap().1)
            .collect();
        run(&p, &inputs, reading)
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
            .answer
    }

    /// The query run by a strategy of the registry, as a runner runs it (`postgres` on the
    /// server at `postgres_url`).
    fn by_strategy(
        &self,
        sql: &str,
        strategy: &str,
        postgres_url: Option<&str>,
    ) -> serde_json::Value {
        self.by_strategy_within(sql, strategy, postgres_url, None)
            .unwrap_or_else(|e| panic!("{strategy}: {sql}: {e}"))
    }

    /// [`Tables::by_strategy`] under a heap budget (a spilling join sizes its spill from it).
    fn by_strategy_within(
        &self,
        sql: &str,
        strategy: &str,
        postgres_url: Option<&str>,
        budget: Option<u64>,
    ) -> Result<serde_json::Value, String> {
        let p = plan(sql, &self.schemas()).unwrap();
        let tables: Vec<Table> = p
            .inputs
            .iter()
            .map(|n| self.tables.iter().find(|(t, _)| t == n).unwrap().1.clone())
            .collect();
        let spec = membench_protocol::QuerySpec {
            name: "q".into(),
            sql: sql.into(),
            tables: p.inputs.clone(),
            schemas: Vec::new(),
            groups: p.groups_by_keys(),
        };
        let mut params = membench_strategies::Params::new(
            membench_protocol::Workload::Query(Box::new(spec)),
            &tables[0].path,
        );
        params.query = Some(membench_strategies::QueryParams {
            tables,
            plan: p,
            output: None,
        });
        params.db.postgres_url = postgres_url.map(str::to_string);
        params.memory_budget_bytes = budget;
        let out = membench_strategies::find(strategy)
            .unwrap()
            .run(&params)
            .map_err(|e| e.to_string())?;
        Ok(serde_json::to_value(&out.answer).unwrap())
    }
}

#[test]
fn a_spilling_join_reports_an_expression_error_as_streaming_does() {
    let t = tables();
    let sql = "SELECT i.quantity / (o.customer_id - o.customer_id) AS x, CAST(o.status AS BIGINT) AS s \
               FROM order_items i JOIN orders o ON i.order_id = o.order_id";
    let want = t
        .by_strategy_within(sql, "streaming", None, None)
        .unwrap_err();
    assert!(want.contains(":2: cannot CAST"), "{want}");
    for s in ["grace", "merge-join"] {
        for budget in [None, Some(1 << 20)] {
            let e = t.by_strategy_within(sql, s, None, budget).unwrap_err();
            assert_eq!(e, want, "{s} under {budget:?}");
        }
    }
    // A query of one table is not theirs: refused with why.
    let e = t
        .by_strategy_within("SELECT count(*) FROM sales", "grace", None, None)
        .unwrap_err();
    assert_eq!(
        e,
        "grace does not run this query: grace joins two inputs; this query reads one table"
    );
}

/// DuckDB's answers to the suite, or why there are none.
fn duckdb_answers(t: &Tables) -> Result<Vec<serde_json::Value>, String> {
    let python = std::env::var("MEMBENCH_DUCKDB_PYTHON").unwrap_or_else(|_| {
        format!(
            "{}/.cache/membench-duckdb/bin/python",
            std::env::var("HOME").unwrap_or_default()
        )
    });
    if !Path::new(&python).is_file() {
        return Err(format!(
            "no DuckDB Python at {python} (.ci/run installs it)"
        ));
    }
    let tables: serde_json::Map<String, serde_json::Value> = t
        .tables
        .iter()
        .map(|(n, t)| {
            let cols: Vec<(String, String)> = t
                .schema
                .columns
                .iter()
                .map(|c| (c.name.clone(), c.ty.to_string()))
                .collect();
            (
                n.clone(),
                serde_json::json!({
                    "files": t.files,
                    "delimiter": (t.delimiter as char).to_string(),
                    "nulls": t.nulls.0,
                    "columns": cols,
                }),
            )
        })
        .collect();
    let spec = serde_json::json!({ "tables": tables, "queries": QUERIES });
    let mut child = Command::new(&python)
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/duckdb_answers.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("{python}: {e}"))?;
    serde_json::to_writer(child.stdin.take().unwrap(), &spec).unwrap();
    let out = child.wait_with_output().unwrap();
    if !out.status.success() {
        return Err(format!(
            "DuckDB failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    Ok(v["answers"].as_array().unwrap().clone())
}

/// The rows as a sorted list of text keys (engines order ties differently).
fn sorted_rows(rows: &[serde_json::Value]) -> Vec<Vec<serde_json::Value>> {
    let mut r: Vec<Vec<serde_json::Value>> =
        rows.iter().map(|r| r.as_array().unwrap().clone()).collect();
    r.sort_by_key(|row| membench_query::compare::sort_key(row));
    r
}

#[test]
fn every_query_agrees_across_readings_and_with_duckdb_or_says_it_skipped() {
    assert!(QUERIES.len() >= 50, "the suite keeps at least 50 queries");
    let t = tables();
    let (mut cells, mut known) = (0, 0);
    // The postgres strategy needs a server: a throw-away one (as `run` starts), or it says so.
    let server = match membench_harness::postgres::find_bin_dir() {
        Some(bin) => Some(
            membench_harness::postgres::Cluster::start(&bin, &Default::default())
                .expect("a throw-away PostgreSQL server starts"),
        ),
        None => {
            assert!(
                std::env::var_os("CI").is_none(),
                "the postgres cells of the query suite must run under CI: no PostgreSQL found"
            );
            eprintln!("SKIPPED the postgres cells: no PostgreSQL server binaries found");
            None
        }
    };
    let url = server.as_ref().map(|s| s.url().to_string());
    let ours: Vec<QueryAnswer> = QUERIES
        .iter()
        .map(|q| {
            let s = t.answer(q, Reading::Streaming);
            for r in &Reading::EVERY[1..] {
                assert_eq!(s, t.answer(q, *r), "{q}: streaming and {r:?} differ");
            }
            // Every strategy that runs a user's query, as a runner runs it: the kernel's agree
            // bit for bit, a database's value by value (its floats sum in another order).
            let mine = t.by_strategy(q, "streaming", None);
            for info in membench_protocol::STRATEGIES {
                let planned = plan(q, &t.schemas()).unwrap();
                let (joins, groups) = (planned.join.is_some(), planned.groups_by_keys());
                if info.queries.refusal(info.name, joins, groups).is_some()
                    || info.name == "streaming"
                    || (info.name == "postgres" && url.is_none())
                {
                    continue;
                }
                let theirs = t.by_strategy(q, info.name, url.as_deref());
                if matches!(
                    info.queries,
                    membench_protocol::Queries::Joins | membench_protocol::Queries::Groups
                ) {
                    // A budget small enough that the join (or the aggregation) spills:
                    // several grace partitions, several sorted runs merged, the groups
                    // partitioned and re-partitioned.
                    let spilled = t
                        .by_strategy_within(q, info.name, None, Some(1 << 20))
                        .unwrap();
                    assert_eq!(
                        mine, spilled,
                        "{q}: streaming and spilling {} differ",
                        info.name
                    );
                    cells += 1;
                }
                match info.engine {
                    membench_protocol::Engine::Kernel => {
                        assert_eq!(mine, theirs, "{q}: streaming and {} differ", info.name)
                    }
                    _ => match membench_query::compare::agree(&mine, &theirs) {
                        Ok(()) => {}
                        Err(why) if KNOWN.iter().any(|k| k.0 == info.name && k.1 == *q) => {
                            eprintln!("known: {} on {q}: {why}", info.name);
                            known += 1;
                        }
                        Err(why) => panic!("{q}: streaming and {} disagree: {why}", info.name),
                    },
                }
                cells += 1;
            }
            s
        })
        .collect();
    // The same tables as Parquet: every reading gives the CSV's answer, and so does each
    // Polars strategy (the engine reads the Parquet files itself).
    let pq = t.as_parquet();
    for (q, csv) in QUERIES.iter().zip(&ours) {
        for r in Reading::EVERY {
            assert_eq!(
                *csv,
                pq.answer(q, r),
                "{q}: Parquet by {r:?} differs from CSV"
            );
        }
        let csv = t.by_strategy(q, "streaming", None);
        for s in ["lazy", "load-all-polars"] {
            let theirs = pq.by_strategy(q, s, None);
            if let Err(why) = membench_query::compare::agree(&csv, &theirs) {
                panic!("{q}: {s} on Parquet disagrees with the CSV answer: {why}");
            }
            cells += 1;
        }
    }
    eprintln!(
        "{} queries: {cells} query × strategy cells run, all agreeing with streaming's answer \
         but {known} known engine limits",
        QUERIES.len()
    );
    assert_eq!(known, KNOWN.len(), "every known limit still shows");
    if let Some(s) = server {
        s.stop().unwrap();
    }
    let duck = match duckdb_answers(&t) {
        Ok(d) => d,
        Err(why) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "the DuckDB cross-check must run under CI: {why}"
            );
            eprintln!(
                "SKIPPED the DuckDB cross-check of {} queries: {why}",
                QUERIES.len()
            );
            return;
        }
    };
    let mut disagreements = Vec::new();
    for ((q, mine), theirs) in QUERIES.iter().zip(&ours).zip(&duck) {
        if let Some(e) = theirs.get("error") {
            disagreements.push(format!("{q}\n  DuckDB refused it: {e}"));
            continue;
        }
        let mine = mine.to_json();
        let (a, b) = (
            sorted_rows(mine["rows"].as_array().unwrap()),
            sorted_rows(theirs["rows"].as_array().unwrap()),
        );
        let same = membench_query::compare::agree(&mine, theirs).is_ok();
        if !same {
            disagreements.push(format!(
                "{q}\n  membench: {}\n  DuckDB:   {}",
                serde_json::to_string(&a)
                    .unwrap()
                    .chars()
                    .take(600)
                    .collect::<String>(),
                serde_json::to_string(&b)
                    .unwrap()
                    .chars()
                    .take(600)
                    .collect::<String>()
            ));
        }
    }
    eprintln!(
        "{} queries cross-checked against DuckDB, {} disagreements",
        QUERIES.len(),
        disagreements.len()
    );
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
}
