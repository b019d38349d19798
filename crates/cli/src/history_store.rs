//! Where `history` keeps its runs: an SQLite file (`--history`, the default) or a PostgreSQL
//! database a team shares (`--history-url`). The same two tables in both — `runs` (commit,
//! branch, run id, machine identity, start) and `measurements` (one row per repetition) — and
//! three operations: does a run exist, add a run with its measurements in one transaction, load
//! every measurement with its run for the analyses (`show`, `check`, `report`), which do their
//! filtering and ordering in memory, identically for both stores.
//!
//! Must not: measure, analyse, or change a run folder.

use std::path::Path;

use anyhow::{Context, Result};

/// A run as stored.
#[derive(Clone, Debug)]
pub struct NewRun {
    pub commit: String,
    pub branch: Option<String>,
    pub run_id: String,
    pub machine: String,
    pub machine_desc: String,
    pub started_at: String,
    pub folder: String,
}

/// One repetition of a cell as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct Measurement {
    pub strategy: String,
    pub workload: String,
    pub format: String,
    pub rows: i64,
    pub shape: String,
    pub allocator: String,
    pub repetition: i64,
    pub status: String,
    pub peak_heap_bytes: Option<i64>,
    pub peak_rss_bytes: i64,
    pub peak_rss_anon_bytes: i64,
    pub peak_rss_file_bytes: i64,
    pub wall_ns: Option<i64>,
}

/// A measurement with its run, as the analyses read it.
#[derive(Clone, Debug)]
pub struct Row {
    pub machine: String,
    pub machine_desc: String,
    pub commit: String,
    pub started_at: String,
    /// The run's order of insertion (ties of `started_at`).
    pub run: i64,
    pub m: Measurement,
}

/// An open history.
pub enum Store {
    Sqlite(rusqlite::Connection),
    Postgres(Box<postgres::Client>),
}

const SCHEMA_SQLITE: &str = "CREATE TABLE IF NOT EXISTS runs (id INTEGER PRIMARY KEY, \
    commit_rev TEXT NOT NULL, branch TEXT, run_id TEXT NOT NULL, machine TEXT NOT NULL, \
    machine_desc TEXT NOT NULL, started_at TEXT NOT NULL, folder TEXT NOT NULL, UNIQUE (run_id));
    CREATE TABLE IF NOT EXISTS measurements (run INTEGER NOT NULL REFERENCES runs(id), \
    strategy TEXT NOT NULL, workload TEXT NOT NULL, format TEXT NOT NULL, rows INTEGER NOT NULL, \
    shape TEXT NOT NULL, allocator TEXT NOT NULL, repetition INTEGER NOT NULL, \
    status TEXT NOT NULL, peak_heap_bytes INTEGER, peak_rss_bytes INTEGER, \
    peak_rss_anon_bytes INTEGER, peak_rss_file_bytes INTEGER, wall_ns INTEGER);";

const SCHEMA_POSTGRES: &str = "CREATE TABLE IF NOT EXISTS runs (id BIGINT GENERATED ALWAYS AS \
    IDENTITY PRIMARY KEY, commit_rev TEXT NOT NULL, branch TEXT, run_id TEXT NOT NULL UNIQUE, \
    machine TEXT NOT NULL, machine_desc TEXT NOT NULL, started_at TEXT NOT NULL, \
    folder TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS measurements (run BIGINT NOT NULL REFERENCES runs(id), \
    strategy TEXT NOT NULL, workload TEXT NOT NULL, format TEXT NOT NULL, rows BIGINT NOT NULL, \
    shape TEXT NOT NULL, allocator TEXT NOT NULL, repetition BIGINT NOT NULL, \
    status TEXT NOT NULL, peak_heap_bytes BIGINT, peak_rss_bytes BIGINT, \
    peak_rss_anon_bytes BIGINT, peak_rss_file_bytes BIGINT, wall_ns BIGINT);";

const LOAD: &str = "SELECT r.machine, r.machine_desc, r.commit_rev, r.started_at, r.id, \
    m.strategy, m.workload, m.format, m.rows, m.shape, m.allocator, m.repetition, m.status, \
    m.peak_heap_bytes, m.peak_rss_bytes, m.peak_rss_anon_bytes, m.peak_rss_file_bytes, m.wall_ns \
    FROM measurements m JOIN runs r ON m.run = r.id";

impl Store {
    /// The PostgreSQL database at `url` when given, else the SQLite file (created, with its
    /// folder, when missing). The tables are made when missing.
    pub fn open(file: &Path, url: Option<&str>) -> Result<Store> {
        if let Some(url) = url {
            let mut client =
                postgres::Client::connect(url, postgres::NoTls).with_context(|| {
                    format!(
                        "connecting to the history database {}",
                        membench_protocol::redact(url)
                    )
                })?;
            client
                .batch_execute(SCHEMA_POSTGRES)
                .context("creating the history tables in PostgreSQL")?;
            return Ok(Store::Postgres(Box::new(client)));
        }
        if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let db = rusqlite::Connection::open(file)
            .with_context(|| format!("{}: cannot open", file.display()))?;
        db.execute_batch(SCHEMA_SQLITE)
            .with_context(|| format!("{}: not a membench history", file.display()))?;
        Ok(Store::Sqlite(db))
    }

    /// Whether a run with this id is stored.
    pub fn has_run(&mut self, run_id: &str) -> Result<bool> {
        Ok(match self {
            Store::Sqlite(db) => db.query_row(
                "SELECT count(*) > 0 FROM runs WHERE run_id = ?1",
                [run_id],
                |r| r.get(0),
            )?,
            Store::Postgres(c) => {
                let row = c.query_one(
                    "SELECT count(*) > 0 FROM runs WHERE run_id = $1",
                    &[&run_id],
                )?;
                row.get(0)
            }
        })
    }

    /// Adds a run and its measurements, all or nothing.
    pub fn add_run(&mut self, run: &NewRun, ms: &[Measurement]) -> Result<()> {
        match self {
            Store::Sqlite(db) => {
                let tx = db.transaction()?;
                tx.execute(
                    "INSERT INTO runs (commit_rev, branch, run_id, machine, machine_desc, \
                     started_at, folder) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    rusqlite::params![
                        run.commit,
                        run.branch,
                        run.run_id,
                        run.machine,
                        run.machine_desc,
                        run.started_at,
                        run.folder
                    ],
                )?;
                let id = tx.last_insert_rowid();
                {
                    let mut st = tx.prepare(
                        "INSERT INTO measurements VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, \
                         ?10, ?11, ?12, ?13, ?14)",
                    )?;
                    for m in ms {
                        st.execute(rusqlite::params![
                            id,
                            m.strategy,
                            m.workload,
                            m.format,
                            m.rows,
                            m.shape,
                            m.allocator,
                            m.repetition,
                            m.status,
                            m.peak_heap_bytes,
                            m.peak_rss_bytes,
                            m.peak_rss_anon_bytes,
                            m.peak_rss_file_bytes,
                            m.wall_ns
                        ])?;
                    }
                }
                tx.commit()?;
            }
            Store::Postgres(c) => {
                let mut tx = c.transaction()?;
                let id: i64 = tx
                    .query_one(
                        "INSERT INTO runs (commit_rev, branch, run_id, machine, machine_desc, \
                         started_at, folder) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                        &[
                            &run.commit,
                            &run.branch,
                            &run.run_id,
                            &run.machine,
                            &run.machine_desc,
                            &run.started_at,
                            &run.folder,
                        ],
                    )?
                    .get(0);
                let st = tx.prepare(
                    "INSERT INTO measurements VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, \
                     $11, $12, $13, $14)",
                )?;
                for m in ms {
                    tx.execute(
                        &st,
                        &[
                            &id,
                            &m.strategy,
                            &m.workload,
                            &m.format,
                            &m.rows,
                            &m.shape,
                            &m.allocator,
                            &m.repetition,
                            &m.status,
                            &m.peak_heap_bytes,
                            &m.peak_rss_bytes,
                            &m.peak_rss_anon_bytes,
                            &m.peak_rss_file_bytes,
                            &m.wall_ns,
                        ],
                    )?;
                }
                tx.commit()?;
            }
        }
        Ok(())
    }

    /// Every measurement with its run, ordered by machine, cell, the run's start and insertion.
    pub fn load(&mut self) -> Result<Vec<Row>> {
        let mut rows: Vec<Row> = match self {
            Store::Sqlite(db) => {
                let mut st = db.prepare(LOAD)?;
                st.query_map([], |r| {
                    Ok(Row {
                        machine: r.get(0)?,
                        machine_desc: r.get(1)?,
                        commit: r.get(2)?,
                        started_at: r.get(3)?,
                        run: r.get(4)?,
                        m: Measurement {
                            strategy: r.get(5)?,
                            workload: r.get(6)?,
                            format: r.get(7)?,
                            rows: r.get(8)?,
                            shape: r.get(9)?,
                            allocator: r.get(10)?,
                            repetition: r.get(11)?,
                            status: r.get(12)?,
                            peak_heap_bytes: r.get(13)?,
                            peak_rss_bytes: r.get(14)?,
                            peak_rss_anon_bytes: r.get(15)?,
                            peak_rss_file_bytes: r.get(16)?,
                            wall_ns: r.get(17)?,
                        },
                    })
                })?
                .collect::<Result<_, _>>()?
            }
            Store::Postgres(c) => c
                .query(LOAD, &[])?
                .into_iter()
                .map(|r| Row {
                    machine: r.get(0),
                    machine_desc: r.get(1),
                    commit: r.get(2),
                    started_at: r.get(3),
                    run: r.get(4),
                    m: Measurement {
                        strategy: r.get(5),
                        workload: r.get(6),
                        format: r.get(7),
                        rows: r.get(8),
                        shape: r.get(9),
                        allocator: r.get(10),
                        repetition: r.get(11),
                        status: r.get(12),
                        peak_heap_bytes: r.get(13),
                        peak_rss_bytes: r.get(14),
                        peak_rss_anon_bytes: r.get(15),
                        peak_rss_file_bytes: r.get(16),
                        wall_ns: r.get(17),
                    },
                })
                .collect(),
        };
        rows.sort_by(|a, b| {
            (&a.machine, a.m.cell(), &a.started_at, a.run).cmp(&(
                &b.machine,
                b.m.cell(),
                &b.started_at,
                b.run,
            ))
        });
        Ok(rows)
    }
}

impl Measurement {
    /// The cell: strategy, workload, format, rows, shape.
    pub fn cell(&self) -> (&str, &str, &str, i64, &str) {
        (
            &self.strategy,
            &self.workload,
            &self.format,
            self.rows,
            &self.shape,
        )
    }
}
