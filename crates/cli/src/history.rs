//! `history`: every run's measurements kept in one SQLite file (`--history`, by default
//! `reports/history.sqlite`), so memory and time can be followed across commits: `history add
//! RUN_DIR` adds a run (its repetitions, per cell: heap, anonymous and file-backed RSS, time),
//! `history import PATH…` adds every run folder found under the paths, `history show` prints a
//! cell's figures commit by commit.
//!
//! Runs of different machines are never mixed: each run is stored with its machine's identity
//! (CPU, cores, memory, OS; hashed), and `show` prints one series per machine. Adding a run
//! twice adds nothing (a run is identified by its run id).
//!
//! Must not: measure anything, or change a run folder.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use membench_report::format::{bytes, duration_ns, rows};
use membench_report::record::{Record, read_records};
use rusqlite::{Connection, params};
use sha2::{Digest, Sha256};

/// Keep runs' measurements across commits and show them.
#[derive(Args, Debug)]
pub struct HistoryArgs {
    /// The history file (SQLite; created when missing).
    #[arg(long, global = true, default_value = "reports/history.sqlite")]
    pub history: PathBuf,
    #[command(subcommand)]
    pub command: HistoryCommand,
}

#[derive(Subcommand, Debug)]
pub enum HistoryCommand {
    /// Add a run folder's records (`results.jsonl`).
    Add {
        run: PathBuf,
        /// The commit measured [default: the records' git revision].
        #[arg(long)]
        commit: Option<String>,
        /// The branch measured.
        #[arg(long)]
        branch: Option<String>,
    },
    /// Add every run folder (a folder holding `results.jsonl`) found under the paths.
    Import { paths: Vec<PathBuf> },
    /// Print each cell's median figures commit by commit, one series per machine.
    Show {
        /// Only this strategy.
        #[arg(long)]
        strategy: Option<String>,
        /// Only this workload.
        #[arg(long)]
        workload: Option<String>,
        /// heap, rss or time.
        #[arg(long, default_value = "heap")]
        metric: Metric,
    },
    /// Compare each cell's newest commit with the one before (per machine) and exit 1 on a
    /// regression: heap (nearly deterministic) beyond `--heap-tolerance`; RSS and time when a
    /// Mann–Whitney U test on their repetitions says so and the step is at least
    /// `--min-effect`.
    Check {
        /// The heap growth allowed (0.02: 2 %).
        #[arg(long, default_value_t = 0.02)]
        heap_tolerance: f64,
        /// RSS and time: the significance level.
        #[arg(long, default_value_t = 0.01)]
        alpha: f64,
        /// RSS and time: the smallest step called a regression (0.10: 10 %).
        #[arg(long, default_value_t = 0.10)]
        min_effect: f64,
    },
}

/// A figure `show` follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Metric {
    /// Peak heap (counting-allocator repetitions).
    Heap,
    /// Peak RSS (system-allocator repetitions, else every one).
    Rss,
    /// Wall time (system-allocator repetitions, else every one).
    Time,
}

pub fn run(a: HistoryArgs) -> Result<()> {
    let db = open(&a.history)?;
    match a.command {
        HistoryCommand::Add {
            run,
            commit,
            branch,
        } => {
            let added = add(&db, &run, commit.as_deref(), branch.as_deref())?;
            report_added(&run, added);
        }
        HistoryCommand::Import { paths } => {
            let mut found = Vec::new();
            for p in &paths {
                run_folders(p, &mut found)?;
            }
            if found.is_empty() {
                bail!("no run folder (a folder holding results.jsonl) under the paths given");
            }
            found.sort();
            for run in found {
                let added = add(&db, &run, None, None)?;
                report_added(&run, added);
            }
        }
        HistoryCommand::Show {
            strategy,
            workload,
            metric,
        } => print!(
            "{}",
            show(&db, strategy.as_deref(), workload.as_deref(), metric)?
        ),
        HistoryCommand::Check {
            heap_tolerance,
            alpha,
            min_effect,
        } => {
            let found = check(&db, heap_tolerance, alpha, min_effect)?;
            if found.is_empty() {
                println!("no regression between each cell's two newest commits");
            } else {
                for f in &found {
                    println!("REGRESSION {f}");
                }
                std::process::exit(1);
            }
        }
    }
    Ok(())
}

/// The regressions between each cell's two newest commits, per machine, one line each.
pub fn check(
    db: &Connection,
    heap_tolerance: f64,
    alpha: f64,
    min_effect: f64,
) -> Result<Vec<String>> {
    let mut st = db.prepare(
        "SELECT r.machine, m.strategy, m.workload, m.format, m.rows, m.shape, r.commit_rev, \
         m.allocator, m.peak_heap_bytes, m.peak_rss_bytes, m.wall_ns FROM measurements m \
         JOIN runs r ON m.run = r.id WHERE m.status = 'ok' \
         ORDER BY r.machine, m.strategy, m.workload, m.format, m.rows, m.shape, r.started_at, r.id",
    )?;
    type Row = (
        String,
        String,
        String,
        String,
        i64,
        String,
        String,
        String,
        Option<i64>,
        i64,
        Option<i64>,
    );
    let all: Vec<Row> = st
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
                r.get(7)?,
                r.get(8)?,
                r.get(9)?,
                r.get(10)?,
            ))
        })?
        .collect::<Result<_, _>>()?;
    let mut found = Vec::new();
    for cell in all
        .chunk_by(|a, b| (&a.0, &a.1, &a.2, &a.3, a.4, &a.5) == (&b.0, &b.1, &b.2, &b.3, b.4, &b.5))
    {
        let mut commits: Vec<&str> = Vec::new();
        for r in cell {
            if commits.last() != Some(&r.6.as_str()) {
                commits.retain(|c| *c != r.6);
                commits.push(&r.6);
            }
        }
        let [.., before, now] = commits[..] else {
            continue;
        };
        let of = |commit: &str, alloc: Option<&str>, f: fn(&Row) -> Option<i64>| -> Vec<f64> {
            cell.iter()
                .filter(|r| r.6 == commit && alloc.is_none_or(|a| r.7 == a))
                .filter_map(|r| f(r).map(|v| v as f64))
                .collect()
        };
        let c = &cell[0];
        let name = format!("{} · {} · {} · {} rows", c.1, c.2, c.3, rows(c.4 as u64));
        let median = |v: &[f64]| membench_report::stats::spread(v).map(|s| s.median);
        let (h0, h1) = (
            median(&of(before, Some("counting"), |r| r.8)),
            median(&of(now, Some("counting"), |r| r.8)),
        );
        if let (Some(a), Some(b)) = (h0, h1)
            && a > 0.0
            && b / a - 1.0 > heap_tolerance
        {
            found.push(format!(
                "{name}: peak heap {} → {} ({:+.1} %) from {before} to {now}",
                bytes(a),
                bytes(b),
                (b / a - 1.0) * 100.0
            ));
        }
        // RSS and time from system-allocator repetitions (else every one), tested.
        let sys = cell.iter().any(|r| r.7 == "system").then_some("system");
        for (metric, f, fmt) in [
            (
                "peak RSS",
                (|r: &Row| Some(r.9)) as fn(&Row) -> Option<i64>,
                bytes as fn(f64) -> String,
            ),
            ("time", |r: &Row| r.10, duration_ns),
        ] {
            let (a, b) = (of(before, sys, f), of(now, sys, f));
            if a.len() < 3 || b.len() < 3 {
                continue;
            }
            let v = crate::compare::judge(metric, &a, &b, alpha, min_effect);
            if v.differs && v.effect > 0.0 {
                found.push(format!(
                    "{name}: {metric} {} → {} ({:+.1} %, p = {:.2e}) from {before} to {now}",
                    fmt(v.median_a),
                    fmt(v.median_b),
                    v.effect * 100.0,
                    v.p
                ));
            }
        }
    }
    Ok(found)
}

fn report_added(run: &Path, added: Option<usize>) {
    match added {
        Some(n) => eprintln!("added {} ({n} records)", run.display()),
        None => eprintln!("{}: already in the history", run.display()),
    }
}

/// Opens (creating) the history file.
pub fn open(path: &Path) -> Result<Connection> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let db = Connection::open(path).with_context(|| format!("{}: cannot open", path.display()))?;
    db.execute_batch(
        "CREATE TABLE IF NOT EXISTS runs (id INTEGER PRIMARY KEY, commit_rev TEXT NOT NULL, \
         branch TEXT, run_id TEXT NOT NULL, machine TEXT NOT NULL, machine_desc TEXT NOT NULL, \
         started_at TEXT NOT NULL, folder TEXT NOT NULL, UNIQUE (run_id));
         CREATE TABLE IF NOT EXISTS measurements (run INTEGER NOT NULL REFERENCES runs(id), \
         strategy TEXT NOT NULL, workload TEXT NOT NULL, format TEXT NOT NULL, rows INTEGER NOT \
         NULL, shape TEXT NOT NULL, allocator TEXT NOT NULL, repetition INTEGER NOT NULL, \
         status TEXT NOT NULL, peak_heap_bytes INTEGER, peak_rss_bytes INTEGER, \
         peak_rss_anon_bytes INTEGER, peak_rss_file_bytes INTEGER, wall_ns INTEGER);",
    )
    .with_context(|| format!("{}: not a membench history", path.display()))?;
    Ok(db)
}

/// A machine's identity (hashed) and its description.
fn machine(r: &Record) -> (String, String) {
    let c = &r.context;
    let desc = format!(
        "{} · {} cores · {} · {}",
        c.cpu,
        c.cores,
        bytes(c.memory_bytes as f64),
        c.os
    );
    let id = hex::encode(&Sha256::digest(desc.as_bytes())[..8]);
    (id, desc)
}

/// Adds one run folder; `None` when it is already there (a run is known by its run id, unique
/// per run, whatever commit it was added as).
pub fn add(
    db: &Connection,
    folder: &Path,
    commit: Option<&str>,
    branch: Option<&str>,
) -> Result<Option<usize>> {
    let mut records = read_records(&folder.join("results.jsonl"))?;
    // An incremental run's steps are not cells of the matrix.
    records.retain(|r| r.incremental.is_none());
    let Some(first) = records.first() else {
        bail!("{}: no records", folder.join("results.jsonl").display());
    };
    let commit = commit.unwrap_or(&first.context.git_rev).to_string();
    let (machine, desc) = machine(first);
    let exists: bool = db.query_row(
        "SELECT count(*) > 0 FROM runs WHERE run_id = ?1",
        params![first.run_id],
        |r| r.get(0),
    )?;
    if exists {
        return Ok(None);
    }
    let tx = db.unchecked_transaction()?;
    tx.execute(
        "INSERT INTO runs (commit_rev, branch, run_id, machine, machine_desc, started_at, folder) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            commit,
            branch,
            first.run_id,
            machine,
            desc,
            first.context.started_at,
            folder.display().to_string()
        ],
    )?;
    let run = tx.last_insert_rowid();
    {
        let mut st = tx.prepare(
            "INSERT INTO measurements VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, \
             ?13, ?14)",
        )?;
        for r in &records {
            let opt = |v: Option<u64>| v.map(|x| x as i64);
            st.execute(params![
                run,
                r.strategy,
                r.workload.name(),
                r.format.name(),
                r.rows as i64,
                r.shape.label(),
                r.allocator.name(),
                r.repetition,
                r.status.name(),
                opt(r.measure.peak_heap_bytes),
                r.process.peak_rss_bytes as i64,
                r.process.peak_rss_anon_bytes as i64,
                r.process.peak_rss_file_bytes as i64,
                opt(r.measure.wall_ns.or(Some(r.process.process_wall_ns))),
            ])?;
        }
    }
    tx.commit()?;
    Ok(Some(records.len()))
}

/// Every folder under `p` (or `p` itself) that holds a `results.jsonl`.
fn run_folders(p: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    if p.is_file() && p.file_name().is_some_and(|n| n == "results.jsonl") {
        out.push(p.parent().unwrap_or(Path::new(".")).to_path_buf());
        return Ok(());
    }
    if p.join("results.jsonl").is_file() {
        out.push(p.to_path_buf());
        return Ok(());
    }
    if p.is_dir() {
        for e in std::fs::read_dir(p).with_context(|| format!("listing {}", p.display()))? {
            let e = e?;
            if e.file_type()?.is_dir() {
                run_folders(&e.path(), out)?;
            }
        }
    }
    Ok(())
}

/// The text of `history show`: per machine, per cell, the metric's median at each commit (in
/// the order the runs started), with its change from the commit before.
pub fn show(
    db: &Connection,
    strategy: Option<&str>,
    workload: Option<&str>,
    metric: Metric,
) -> Result<String> {
    let (column, allocator) = match metric {
        Metric::Heap => ("peak_heap_bytes", Some("counting")),
        Metric::Rss => ("peak_rss_bytes", None),
        Metric::Time => ("wall_ns", None),
    };
    let sql = format!(
        "SELECT r.machine_desc, m.strategy, m.workload, m.format, m.rows, m.shape, \
         r.commit_rev, m.allocator, m.{column} FROM measurements m JOIN runs r ON m.run = r.id \
         WHERE m.status = 'ok' AND m.{column} IS NOT NULL \
         AND (?1 IS NULL OR m.strategy = ?1) AND (?2 IS NULL OR m.workload = ?2) \
         ORDER BY r.machine_desc, m.strategy, m.workload, m.format, m.rows, m.shape, \
         r.started_at, r.id"
    );
    let mut st = db.prepare(&sql)?;
    type Row = (
        String,
        String,
        String,
        String,
        i64,
        String,
        String,
        String,
        i64,
    );
    let all: Vec<Row> = st
        .query_map(params![strategy, workload], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
                r.get(7)?,
                r.get(8)?,
            ))
        })?
        .collect::<Result<_, _>>()?;
    let fmt: fn(f64) -> String = match metric {
        Metric::Time => duration_ns,
        _ => bytes,
    };
    let mut out = String::new();
    let mut machine = String::new();
    let mut i = 0;
    while i < all.len() {
        let same_cell = |a: &Row, b: &Row| {
            (&a.0, &a.1, &a.2, &a.3, a.4, &a.5) == (&b.0, &b.1, &b.2, &b.3, b.4, &b.5)
        };
        let mut j = i;
        while j < all.len() && same_cell(&all[i], &all[j]) {
            j += 1;
        }
        let cell = &all[i..j];
        if cell[0].0 != machine {
            machine = cell[0].0.clone();
            out.push_str(&format!("machine: {machine}\n"));
        }
        // Time and RSS from system-allocator repetitions when the commit has them.
        let mut series: Vec<(String, f64)> = Vec::new();
        let mut k = 0;
        while k < cell.len() {
            let mut l = k;
            while l < cell.len() && cell[l].6 == cell[k].6 {
                l += 1;
            }
            let reps = &cell[k..l];
            let wanted = allocator.or(reps.iter().any(|r| r.7 == "system").then_some("system"));
            let v: Vec<f64> = reps
                .iter()
                .filter(|r| wanted.is_none_or(|a| r.7 == a))
                .map(|r| r.8 as f64)
                .collect();
            if let Some(s) = membench_report::stats::spread(&v) {
                series.push((cell[k].6.clone(), s.median));
            }
            k = l;
        }
        if !series.is_empty() {
            let c = &cell[0];
            let shape = if c.5.is_empty() {
                String::new()
            } else {
                format!(" · {}", c.5)
            };
            out.push_str(&format!(
                "  {} · {} · {} · {} rows{shape}\n",
                c.1,
                c.2,
                c.3,
                rows(c.4 as u64)
            ));
            let mut before: Option<f64> = None;
            for (commit, v) in series {
                let change = before
                    .filter(|b| *b > 0.0)
                    .map(|b| format!(" ({:+.1} %)", (v / b - 1.0) * 100.0))
                    .unwrap_or_default();
                out.push_str(&format!("    {commit:<20} {}{change}\n", fmt(v)));
                before = Some(v);
            }
        }
        i = j;
    }
    if out.is_empty() {
        out.push_str("no measurements in the history (for this selection)\n");
    }
    Ok(out)
}
