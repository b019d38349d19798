//! `history`: every run's measurements kept in one SQLite file (`--history`, by default
//! `reports/history.sqlite`), so memory and time can be followed across commits: `history add
//! RUN_DIR` adds a run (its repetitions, per cell: heap, anonymous and file-backed RSS, time),
//! `history import PATH…` adds every run folder found under the paths, `history show` prints a
//! cell's figures commit by commit, `history check` finds each series' change points
//! ([`membench_report::changepoint`]) and exits 1 on a new regression, `history report` writes
//! the history page ([`membench_report::history`]).
//!
//! Runs of different machines are never mixed: each run is stored with its machine's identity
//! (CPU, cores, memory, OS; hashed), and `show` prints one series per machine. Adding a run
//! twice adds nothing (a run is identified by its run id).
//!
//! Must not: measure anything, or change a run folder.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::history_store::{Measurement, NewRun, Row, Store};
use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use membench_report::changepoint::{
    Detector, Step, machine_speed, machine_wide, new_steps, relative_to, steps,
};
use membench_report::format::{bytes, duration_ns, rows};
use membench_report::history::{HistoryMetric, Series};
use membench_report::record::{Record, read_records};
use sha2::{Digest, Sha256};

/// Keep runs' measurements across commits and show them.
#[derive(Args, Debug)]
pub struct HistoryArgs {
    /// The history file (SQLite; created when missing).
    #[arg(long, global = true, default_value = "reports/history.sqlite")]
    pub history: PathBuf,
    /// A PostgreSQL database instead of the file, for a team's shared history (a libpq URL or
    /// `key=value` string; the tables are made when missing).
    #[arg(long, global = true, env = "MEMBENCH_HISTORY_URL", value_name = "URL")]
    pub history_url: Option<String>,
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
    /// Find the steps of each cell's series across commits (per machine; a penalised
    /// piecewise-constant fit — of the median for memory, of the floor under each commit's
    /// fastest repetition for time — each memory step confirmed by a Mann–Whitney U test at
    /// `--alpha` where the figures jitter) and exit 1 on a new regression — one not to be seen
    /// `--last` commits ago: peak heap beyond `--heap-tolerance`, peak RSS beyond
    /// `--min-effect`; time (a step seen once 12 commits sit at its level) warns unless
    /// `--fail-on-time`.
    Check {
        #[command(flatten)]
        detect: DetectArgs,
        /// A regression is new (and fails the check) when it was not to be seen N commits ago:
        /// a memory step while its first commit is one of the newest N (one that needs a commit
        /// or two more to stand out of jitter still fails it), a time step for N commits from
        /// when enough commits sit at its level.
        #[arg(long, default_value_t = 3)]
        last: usize,
        /// Also print every earlier step (regressions and improvements) with its first commit.
        #[arg(long)]
        all: bool,
        /// Fail on a time regression too (by default it warns: on a shared machine, time has
        /// bursts as large as the steps looked for; `compare` is the strict time gate).
        #[arg(long)]
        fail_on_time: bool,
        /// A strategy or command name whose cells run a program the commits do not change (a
        /// pinned tool: `run --command ref=…`): whatever moves its time is the machine, so every
        /// other cell's time is read relative to the machine's speed it shows (its floor around
        /// each commit over its floor throughout; the median over its cells), and its own time
        /// is not checked. Memory is not touched.
        #[arg(long, value_name = "STRATEGY")]
        reference: Option<String>,
    },
    /// Write the history page: `index.html` (a chart per cell and metric across commits, change
    /// points marked, the table of changes, a filter by strategy and workload), `CHANGES.md` and
    /// `charts/*.svg`.
    Report {
        #[command(flatten)]
        detect: DetectArgs,
        /// The folder written.
        #[arg(long, default_value = "reports/history")]
        out: PathBuf,
    },
}

/// How steps are told from noise (`check`, `report`).
#[derive(Args, Debug, Clone, Copy)]
pub struct DetectArgs {
    /// The heap growth allowed (0.02: 2 %).
    #[arg(long, default_value_t = 0.02)]
    heap_tolerance: f64,
    /// RSS and time: the significance level.
    #[arg(long, default_value_t = 0.01)]
    alpha: f64,
    /// RSS and time: the smallest step called a change (0.10: 10 %).
    #[arg(long, default_value_t = 0.10)]
    min_effect: f64,
    /// The penalty per change point, in robust standard deviations × ln n [default: 1 for
    /// memory, 2 for time, the settings the README's detection figures were measured with].
    #[arg(long)]
    penalty: Option<f64>,
}

impl DetectArgs {
    fn with_penalty(self, d: Detector) -> Detector {
        Detector {
            penalty_sigmas: self.penalty.unwrap_or(d.penalty_sigmas),
            ..d
        }
    }

    fn settings(self, last: usize) -> CheckSettings {
        CheckSettings {
            heap: self.with_penalty(Detector::heap(self.heap_tolerance, self.alpha)),
            rss: self.with_penalty(Detector::rss(self.alpha, self.min_effect)),
            time: self.with_penalty(Detector::time(self.alpha, self.min_effect)),
            last,
            reference: None,
        }
    }
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
    let mut db = Store::open(&a.history, a.history_url.as_deref())?;
    match a.command {
        HistoryCommand::Add {
            run,
            commit,
            branch,
        } => {
            let added = add(&mut db, &run, commit.as_deref(), branch.as_deref())?;
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
                let added = add(&mut db, &run, None, None)?;
                report_added(&run, added);
            }
        }
        HistoryCommand::Show {
            strategy,
            workload,
            metric,
        } => print!(
            "{}",
            show(
                &db.load()?,
                strategy.as_deref(),
                workload.as_deref(),
                metric
            )
        ),
        HistoryCommand::Report { detect, out } => {
            let all = series(&db.load()?, &detect.settings(1));
            if all.is_empty() {
                bail!("{}: no measurements to chart", a.history.display());
            }
            let written = membench_report::history::write_page(&out, &all)?;
            let changes: usize = all.iter().map(|s| s.steps.len()).sum();
            println!(
                "{} ({} series, {changes} change points; {} files)",
                out.join("index.html").display(),
                all.len(),
                written.len()
            );
        }
        HistoryCommand::Check {
            detect,
            last,
            all,
            fail_on_time,
            reference,
        } => {
            let rows = db.load()?;
            if let Some(r) = &reference
                && !rows
                    .iter()
                    .any(|row| row.m.strategy == *r && row.m.wall_ns.is_some())
            {
                bail!(
                    "--reference {r}: no cell of that strategy or command has a time in {}",
                    a.history.display()
                );
            }
            let settings = CheckSettings {
                reference,
                ..detect.settings(last)
            };
            let found = check(&rows, &settings);
            if all {
                for f in found.iter().filter(|f| !f.new) {
                    let kind = if f.is_regression() {
                        "regression"
                    } else {
                        "improvement"
                    };
                    println!("earlier {kind}: {f}");
                }
            }
            let (new, warned): (Vec<&Finding>, Vec<&Finding>) = found
                .iter()
                .filter(|f| f.new && f.is_regression())
                .partition(|f| fail_on_time || f.metric != HistoryMetric::Time);
            for f in found.iter().filter(|f| f.new && !f.is_regression()) {
                println!("improvement {f}");
            }
            for f in &warned {
                println!("WARNING {f} (time warns; --fail-on-time to fail)");
            }
            if new.is_empty() {
                println!("no new regression (the newest {last} commit(s) of each cell)");
            } else {
                for f in &new {
                    println!("REGRESSION {f}");
                }
                std::process::exit(1);
            }
        }
    }
    Ok(())
}

/// What `check` looks for.
#[derive(Clone, Debug)]
pub struct CheckSettings {
    pub heap: Detector,
    pub rss: Detector,
    pub time: Detector,
    /// A regression is new when it was not to be seen `last` commits ago
    /// ([`new_steps`]).
    pub last: usize,
    /// The strategy whose cells show the machine's speed: other cells' time is read relative
    /// to it ([`machine_speed`]), its own is not checked.
    pub reference: Option<String>,
}

impl CheckSettings {
    /// The detector of `metric`.
    pub fn detector(&self, metric: HistoryMetric) -> &Detector {
        match metric {
            HistoryMetric::PeakHeap => &self.heap,
            HistoryMetric::PeakRss => &self.rss,
            HistoryMetric::Time => &self.time,
        }
    }
}

/// A step found in one cell's series.
#[derive(Clone, Debug)]
pub struct Finding {
    /// `strategy · workload · format · rows`.
    pub cell: String,
    pub metric: HistoryMetric,
    pub step: Step,
    /// The commit before the step and its first commit.
    pub from: String,
    pub to: String,
    /// Not to be seen `last` commits ago.
    pub new: bool,
    /// When most other cells of the machine moved with it ([`machine_wide`]): how many, of
    /// how many.
    pub together: Option<(usize, usize)>,
}

impl Finding {
    pub fn is_regression(&self) -> bool {
        self.step.effect > 0.0
    }
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let p = self
            .step
            .p
            .map(|p| format!(", p = {p:.2e}"))
            .unwrap_or_default();
        write!(
            f,
            "{}: {} {} → {} ({:+.1} %{p}) from {} to {}",
            self.cell,
            self.metric.label(),
            self.metric.format(self.step.before),
            self.metric.format(self.step.after),
            self.step.effect * 100.0,
            self.from,
            self.to
        )?;
        if let Some((moved, of)) = self.together {
            write!(
                f,
                " — {moved} of the {of} other cells moved with it: a change of the machine \
                 looks like this (so does code every cell runs); `membench compare` of the two \
                 builds tells"
            )?;
        }
        Ok(())
    }
}

/// The steps of every series ([`series`]), each marked new when it was not to be seen `last`
/// commits ago ([`new_steps`]).
pub fn check(rows: &[Row], s: &CheckSettings) -> Vec<Finding> {
    let mut found = Vec::new();
    let all = series(rows, s);
    for series in &all {
        // New: not to be seen `last` commits ago (a time step is seen once enough commits sit
        // at its level, see `Detector::settle`).
        let new: Vec<usize> = new_steps(&series.reps, s.detector(series.metric), s.last)
            .iter()
            .map(|n| n.at)
            .collect();
        for step in &series.steps {
            let to = &series.commits[step.at];
            // The machine's other cells, each with the step's commit in its own order.
            let others: Vec<(&[Vec<f64>], usize)> = all
                .iter()
                .filter(|o| {
                    o.machine == series.machine
                        && o.metric == series.metric
                        && o.cell != series.cell
                })
                .filter_map(|o| Some((&o.reps[..], o.commits.iter().position(|c| c == to)?)))
                .collect();
            let detector = s.detector(series.metric);
            found.push(Finding {
                cell: series.cell.clone(),
                metric: series.metric,
                from: series.commits[step.at - 1].clone(),
                to: to.clone(),
                new: new.contains(&step.at),
                together: machine_wide(step.effect, &others, detector).map(|m| (m, others.len())),
                step: step.clone(),
            });
        }
    }
    found
}

/// Every cell's series per machine and metric (commits in the order their first run started),
/// with its steps: peak heap from counting-allocator repetitions, peak RSS and time from
/// system-allocator ones (else every one).
pub fn series(all: &[Row], s: &CheckSettings) -> Vec<Series> {
    let all: Vec<&Row> = all.iter().filter(|r| r.m.status == "ok").collect();
    let mut out = Vec::new();
    for cell in all.chunk_by(|a, b| (&a.machine, a.m.cell()) == (&b.machine, b.m.cell())) {
        // Commits in the order their first run started.
        let mut commits: Vec<&str> = Vec::new();
        for r in cell {
            if !commits.contains(&r.commit.as_str()) {
                commits.push(&r.commit);
            }
        }
        let c = &cell[0];
        let name = cell_name(&c.m);
        let sys = cell
            .iter()
            .any(|r| r.m.allocator == "system")
            .then_some("system");
        for metric in HistoryMetric::ALL {
            let alloc = match metric {
                HistoryMetric::PeakHeap => Some("counting"),
                HistoryMetric::PeakRss | HistoryMetric::Time => sys,
            };
            let value = |r: &Row| match metric {
                HistoryMetric::PeakHeap => r.m.peak_heap_bytes,
                HistoryMetric::PeakRss => Some(r.m.peak_rss_bytes),
                HistoryMetric::Time => r.m.wall_ns,
            };
            let mut reps: Vec<Vec<f64>> = Vec::new();
            let mut named: Vec<String> = Vec::new();
            for commit in &commits {
                let v: Vec<f64> = cell
                    .iter()
                    .filter(|r| r.commit == *commit && alloc.is_none_or(|a| r.m.allocator == a))
                    .filter_map(|r| value(r).map(|v| v as f64))
                    .collect();
                if !v.is_empty() {
                    reps.push(v);
                    named.push(commit.to_string());
                }
            }
            if reps.is_empty() {
                continue;
            }
            out.push(Series {
                machine: c.machine_desc.clone(),
                strategy: c.m.strategy.clone(),
                workload: c.m.workload.clone(),
                cell: name.clone(),
                metric,
                steps: Vec::new(),
                commits: named,
                reps,
            });
        }
    }
    if let Some(reference) = &s.reference {
        out = relative_time(out, reference, &all, s.detector(HistoryMetric::Time));
    }
    for series in &mut out {
        series.steps = steps(&series.reps, s.detector(series.metric));
    }
    out
}

/// Every time series but the reference's divided, commit by commit, by its machine's speed
/// ([`machine_speed`] of the machine's `reference` cells, on the machine's commits in the order
/// their first run started); the reference's own time series dropped. A machine without a
/// reference cell keeps its times as they are.
fn relative_time(out: Vec<Series>, reference: &str, all: &[&Row], d: &Detector) -> Vec<Series> {
    let mut machines: Vec<&str> = Vec::new();
    for s in &out {
        if !machines.contains(&s.machine.as_str()) {
            machines.push(&s.machine);
        }
    }
    let mut speed: BTreeMap<(String, String), f64> = BTreeMap::new();
    for machine in machines {
        let mut runs: Vec<&&Row> = all.iter().filter(|r| r.machine_desc == machine).collect();
        runs.sort_by(|a, b| (&a.started_at, a.run).cmp(&(&b.started_at, b.run)));
        let mut commits: Vec<&str> = Vec::new();
        for r in runs {
            if !commits.contains(&r.commit.as_str()) {
                commits.push(&r.commit);
            }
        }
        let refs: Vec<Vec<Vec<f64>>> = out
            .iter()
            .filter(|s| {
                s.machine == machine && s.metric == HistoryMetric::Time && s.strategy == reference
            })
            .map(|s| {
                commits
                    .iter()
                    .map(|c| {
                        s.commits
                            .iter()
                            .position(|x| x == c)
                            .map_or_else(Vec::new, |i| s.reps[i].clone())
                    })
                    .collect()
            })
            .collect();
        if refs.is_empty() {
            continue;
        }
        for (c, f) in commits.iter().zip(machine_speed(&refs, d)) {
            speed.insert((machine.to_string(), c.to_string()), f);
        }
    }
    out.into_iter()
        .filter(|s| !(s.metric == HistoryMetric::Time && s.strategy == reference))
        .map(|mut s| {
            if s.metric == HistoryMetric::Time {
                let f: Vec<f64> = s
                    .commits
                    .iter()
                    .map(|c| *speed.get(&(s.machine.clone(), c.clone())).unwrap_or(&1.0))
                    .collect();
                s.reps = relative_to(&s.reps, &f);
            }
            s
        })
        .collect()
}

/// `strategy · workload · format · rows[ · shape]`.
fn cell_name(m: &Measurement) -> String {
    let shape = if m.shape.is_empty() {
        String::new()
    } else {
        format!(" · {}", m.shape)
    };
    format!(
        "{} · {} · {} · {} rows{shape}",
        m.strategy,
        m.workload,
        m.format,
        rows(m.rows as u64)
    )
}

fn report_added(run: &Path, added: Option<usize>) {
    match added {
        Some(n) => eprintln!("added {} ({n} records)", run.display()),
        None => eprintln!("{}: already in the history", run.display()),
    }
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
    db: &mut Store,
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
    if db.has_run(&first.run_id)? {
        return Ok(None);
    }
    let (machine, machine_desc) = machine(first);
    let run = NewRun {
        commit: commit.unwrap_or(&first.context.git_rev).to_string(),
        branch: branch.map(str::to_string),
        run_id: first.run_id.clone(),
        machine,
        machine_desc,
        started_at: first.context.started_at.clone(),
        folder: folder.display().to_string(),
    };
    let opt = |v: Option<u64>| v.map(|x| x as i64);
    let ms: Vec<Measurement> = records
        .iter()
        .map(|r| Measurement {
            strategy: r.strategy.clone(),
            workload: r.workload.name().to_string(),
            format: r.format.name().to_string(),
            rows: r.rows as i64,
            shape: r.shape.label(),
            allocator: r.allocator.name().to_string(),
            repetition: i64::from(r.repetition),
            status: r.status.name().to_string(),
            peak_heap_bytes: opt(r.measure.peak_heap_bytes),
            peak_rss_bytes: r.process.peak_rss_bytes as i64,
            peak_rss_anon_bytes: r.process.peak_rss_anon_bytes as i64,
            peak_rss_file_bytes: r.process.peak_rss_file_bytes as i64,
            wall_ns: opt(r.measure.wall_ns.or(Some(r.process.process_wall_ns))),
        })
        .collect();
    db.add_run(&run, &ms)?;
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
pub fn show(all: &[Row], strategy: Option<&str>, workload: Option<&str>, metric: Metric) -> String {
    let allocator = match metric {
        Metric::Heap => Some("counting"),
        Metric::Rss | Metric::Time => None,
    };
    let value = |r: &Row| match metric {
        Metric::Heap => r.m.peak_heap_bytes,
        Metric::Rss => Some(r.m.peak_rss_bytes),
        Metric::Time => r.m.wall_ns,
    };
    let all: Vec<&Row> = all
        .iter()
        .filter(|r| r.m.status == "ok" && value(r).is_some())
        .filter(|r| strategy.is_none_or(|s| r.m.strategy == s))
        .filter(|r| workload.is_none_or(|w| r.m.workload == w))
        .collect();
    let fmt: fn(f64) -> String = match metric {
        Metric::Time => duration_ns,
        _ => bytes,
    };
    let mut out = String::new();
    let mut machine = String::new();
    let mut i = 0;
    while i < all.len() {
        let same_cell = |a: &Row, b: &Row| (&a.machine, a.m.cell()) == (&b.machine, b.m.cell());
        let mut j = i;
        while j < all.len() && same_cell(all[i], all[j]) {
            j += 1;
        }
        let cell = &all[i..j];
        if cell[0].machine_desc != machine {
            machine = cell[0].machine_desc.clone();
            out.push_str(&format!("machine: {machine}\n"));
        }
        // Time and RSS from system-allocator repetitions when the commit has them.
        let mut series: Vec<(String, f64)> = Vec::new();
        let mut k = 0;
        while k < cell.len() {
            let mut l = k;
            while l < cell.len() && cell[l].commit == cell[k].commit {
                l += 1;
            }
            let reps = &cell[k..l];
            let wanted = allocator.or(reps
                .iter()
                .any(|r| r.m.allocator == "system")
                .then_some("system"));
            let v: Vec<f64> = reps
                .iter()
                .filter(|r| wanted.is_none_or(|a| r.m.allocator == a))
                .filter_map(|r| value(r).map(|v| v as f64))
                .collect();
            if let Some(s) = membench_report::stats::spread(&v) {
                series.push((cell[k].commit.clone(), s.median));
            }
            k = l;
        }
        if !series.is_empty() {
            out.push_str(&format!("  {}\n", cell_name(&cell[0].m)));
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
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A measurement of `strategy` (top-n, CSV, 1 000 rows, ok) at commit `c` on machine `m`,
    /// no heap and no time yet.
    fn row(strategy: &str, c: i64, allocator: &str, repetition: i64) -> Row {
        Row {
            machine: "m".into(),
            machine_desc: "a machine".into(),
            commit: format!("c{c:02}"),
            started_at: format!("2026-01-01T00:{c:02}:00Z"),
            run: c,
            m: Measurement {
                strategy: strategy.to_string(),
                workload: "top-n".into(),
                format: "csv".into(),
                rows: 1000,
                shape: String::new(),
                allocator: allocator.into(),
                repetition,
                status: "ok".into(),
                peak_heap_bytes: None,
                peak_rss_bytes: 10_000_000,
                peak_rss_anon_bytes: 0,
                peak_rss_file_bytes: 0,
                wall_ns: None,
            },
        }
    }

    /// Four cells' peak heap over six commits on one machine: `grow(cell)` multiplies a cell's
    /// heap from the fifth commit on.
    fn rows(grow: impl Fn(&str) -> f64) -> Vec<Row> {
        let mut out = Vec::new();
        for (i, strategy) in ["chunked", "load-all", "parallel", "streaming"]
            .iter()
            .enumerate()
        {
            for c in 0..6 {
                let heap = 1_000_000.0 * (i + 1) as f64 * if c >= 4 { grow(strategy) } else { 1.0 };
                let mut r = row(strategy, c, "counting", 1);
                r.m.peak_heap_bytes = Some(heap as i64);
                out.push(r);
            }
        }
        out
    }

    fn settings() -> CheckSettings {
        CheckSettings {
            heap: Detector::heap(0.02, 0.01),
            rss: Detector::rss(0.01, 0.10),
            time: Detector::time(0.01, 0.10),
            last: 3,
            reference: None,
        }
    }

    /// Five cells' time (three system-allocator repetitions, ±1 % of jitter) over 40 commits
    /// on one machine that runs 12 % slower from commit 20 on; `ref` is a pinned program, and
    /// `own` multiplies load-all's time from commit 26 on (a regression of its own).
    fn timed_rows(own: f64) -> Vec<Row> {
        let mut out = Vec::new();
        let mut x = 0x2545_F491_4F6C_DD1Du64;
        for (i, strategy) in ["chunked", "load-all", "parallel", "ref", "streaming"]
            .iter()
            .enumerate()
        {
            for c in 0..40i64 {
                for rep in 1..=3 {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    let jitter = 1.0 + ((x % 2001) as f64 - 1000.0) / 100_000.0;
                    let machine = if c >= 20 { 1.12 } else { 1.0 };
                    let mine = if *strategy == "load-all" && c >= 26 {
                        own
                    } else {
                        1.0
                    };
                    let ns = 10_000_000.0 * (i + 1) as f64 * jitter * machine * mine;
                    let mut r = row(strategy, c, "system", rep);
                    r.m.wall_ns = Some(ns as i64);
                    out.push(r);
                }
            }
        }
        out
    }

    #[test]
    fn time_relative_to_a_reference_program_drops_the_machines_step_and_keeps_a_cells_own() {
        let time = |f: Vec<Finding>| -> Vec<(String, String)> {
            f.into_iter()
                .filter(|f| f.metric == HistoryMetric::Time)
                .map(|f| (f.cell.split(' ').next().unwrap().to_string(), f.to))
                .collect()
        };
        // As measured: every cell's time steps at c20, each labelled the machine's.
        let raw = check(&timed_rows(1.0), &settings());
        assert!(
            raw.iter()
                .filter(|f| f.metric == HistoryMetric::Time)
                .all(|f| f.to == "c20" && f.together.is_some()),
            "{raw:#?}"
        );
        assert_eq!(time(raw).len(), 5);
        // Relative to `ref`: no step, and `ref`'s own time is not checked.
        let with_ref = CheckSettings {
            reference: Some("ref".into()),
            ..settings()
        };
        assert_eq!(time(check(&timed_rows(1.0), &with_ref)), []);
        let rows = timed_rows(1.0);
        let all = series(&rows, &with_ref);
        assert!(
            !all.iter()
                .any(|s| s.strategy == "ref" && s.metric == HistoryMetric::Time)
        );
        assert!(
            all.iter()
                .any(|s| s.strategy == "ref" && s.metric == HistoryMetric::PeakRss)
        );
        // A cell's own +25 % at c26 is still found, at its commit, and only there.
        assert_eq!(
            time(check(&timed_rows(1.25), &with_ref)),
            [("load-all".to_string(), "c26".to_string())]
        );
        // A reference no cell has changes nothing.
        let none = CheckSettings {
            reference: Some("no-such".into()),
            ..settings()
        };
        assert_eq!(time(check(&timed_rows(1.0), &none)).len(), 5);
    }

    #[test]
    fn a_step_every_cell_of_the_machine_takes_at_once_is_labelled_and_one_cells_own_is_not() {
        let heap = |f: &[Finding]| -> Vec<Finding> {
            f.iter()
                .filter(|f| f.metric == HistoryMetric::PeakHeap)
                .cloned()
                .collect()
        };
        let all = heap(&check(&rows(|_| 1.5), &settings()));
        assert_eq!(all.len(), 4, "{all:#?}");
        for f in &all {
            assert_eq!((f.from.as_str(), f.to.as_str()), ("c03", "c04"));
            assert_eq!(f.together, Some((3, 3)), "{f}");
            assert!(
                f.to_string()
                    .ends_with("3 of the 3 other cells moved with it: a change of the machine looks like this (so does code every cell runs); `membench compare` of the two builds tells"),
                "{f}"
            );
        }
        let one = heap(&check(
            &rows(|s| if s == "load-all" { 1.5 } else { 1.0 }),
            &settings(),
        ));
        assert_eq!(one.len(), 1, "{one:#?}");
        assert_eq!(one[0].together, None);
        assert!(!one[0].to_string().contains("moved with it"), "{}", one[0]);
        // Half the cells: not the machine's.
        let half = heap(&check(
            &rows(|s| {
                if s == "load-all" || s == "chunked" {
                    1.5
                } else {
                    1.0
                }
            }),
            &settings(),
        ));
        assert_eq!(half.len(), 2, "{half:#?}");
        assert!(half.iter().all(|f| f.together.is_none()), "{half:#?}");
    }
}
