//! `cargo xtask run`: the comparison matrix. Generates missing datasets ([`plan`]), runs every
//! cell in fresh runner processes ([`executor`]) — heap from the counting-allocator runner, time
//! from the system-allocator runner — appends one flushed record per repetition to
//! `results.jsonl` ([`ledger`], so `--resume` loses and doubles nothing), then writes the report.
//! The loop itself ([`drive`]) is tested in-process with a fake executor.

mod budgets;
mod database;
mod drive;
mod executor;
pub(crate) mod external;
mod ledger;
pub(crate) mod plan;
mod record;
mod settings;
mod summary;

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

use crate::util::{bin, binaries, now_stamp, run_context};

/// Run the matrix strategies × workloads × formats × sizes and write a report.
#[derive(Args, Debug, Clone)]
pub struct RunArgs {
    /// Strategies, comma-separated (default: every strategy on by default; see
    /// `cargo xtask list`).
    #[arg(long, value_delimiter = ',')]
    pub strategy: Vec<String>,
    /// Any program as a strategy, repeatable: `NAME=PROGRAM ARGS…`, split into words without a
    /// shell (quotes group), with {input} {items} {workload} {format} {rows} {output}
    /// {threads} substituted per cell. Measured on its whole process tree (no heap), under the
    /// timeout and, with --memory-limit, a kernel limit; its last output line, if it is the
    /// canonical answer JSON (peers/README.md), is compared with the reference, else the cell
    /// is `unchecked`. Without --strategy, only the commands run.
    #[arg(long = "command", value_name = "NAME=PROGRAM ARGS")]
    pub commands: Vec<String>,
    /// Run only the I-th of N deterministic slices of the cells (e.g. 2/4): a sweep split over
    /// jobs or machines, merged afterwards with `report DIR1 DIR2 … --out DIR`.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<String>,
    /// Workloads, comma-separated: top-n, group-by, etl (over `sales` files; etl writes its
    /// output to a scratch file in the run folder, removed after each cell) and join (over the
    /// `orders` tables, generated with the same sizes counted in orders).
    #[arg(long, value_delimiter = ',', default_value = "top-n,group-by,etl,join")]
    pub workload: Vec<String>,
    /// join: write the items in shuffled order (strategies that need sorted input pay for
    /// sorting).
    #[arg(long)]
    pub shuffle_items: bool,
    /// join: the orders' `order_date` range, both ends included.
    #[arg(long, default_value = "2023-01-01..2023-12-31")]
    pub dates: String,
    /// Formats, comma-separated: csv, parquet, and compressed CSV: csv.gz, csv.zst (strategies
    /// that cannot read compressed input are left out of those cells; `cargo xtask list` says
    /// which).
    #[arg(long, value_delimiter = ',', default_value = "csv,parquet")]
    pub format: Vec<String>,
    /// Spread each `sales` dataset over N part files in a folder, read as one input (the
    /// folder's cells are measured instead of the single file's).
    #[arg(long, value_name = "N")]
    pub files: Option<usize>,
    /// Dataset sizes in rows, comma-separated.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "10k,100k,1m",
        conflicts_with = "size"
    )]
    pub rows: Vec<String>,
    /// Dataset sizes in bytes of CSV instead (e.g. 100MiB,1GiB).
    #[arg(long, value_delimiter = ',')]
    pub size: Vec<String>,
    /// Measured repetitions per cell and allocator: heap from this many counting-allocator
    /// runs, time from as many system-allocator runs (plus one uncounted warm-up).
    #[arg(long, default_value_t = 3)]
    pub repeat: u32,
    /// Heap budget per cell (e.g. 2GiB); a cell over it is recorded as oom. Several,
    /// comma-separated (`64MiB,256MiB,1GiB`), make budgets an axis: the matrix runs under each
    /// into `<out>/budget-<B>/`, and `<out>/BUDGETS.md` says which strategy fits which budget.
    #[arg(long = "memory-limit", value_delimiter = ',')]
    pub memory_limits: Vec<String>,
    /// `large`: larger than memory for real — top-n on CSV at 1m, 10m and 50m rows (≈ 9.5 GB)
    /// under a 1 GiB heap budget that `load-all` cannot meet, one repetition; checks free disk
    /// first. Explicit `--rows`, `--memory-limit`, `--workload` are kept.
    /// `peers`: the Python peers of `peers setup` (pandas load-all and chunked, generators,
    /// Polars lazy, DuckDB, Dask on a 2-worker local cluster) beside the built-in strategies,
    /// on top-n and group-by.
    #[arg(long)]
    pub preset: Option<String>,
    /// `--preset peers`: where `peers setup` put the Python peers.
    #[arg(long, default_value = crate::peers::DEFAULT_DIR)]
    pub peers_dir: PathBuf,
    /// The one budget of this (sub-)run, from `--memory-limit`.
    #[arg(skip)]
    pub memory_limit: Option<String>,
    /// Kernel cap on each cell's address space (RLIMIT_AS), for memory that is not heap.
    #[arg(long)]
    pub address_space_limit: Option<String>,
    /// Seconds before a cell is killed and recorded as timeout.
    #[arg(long, default_value_t = 300)]
    pub timeout: u64,
    /// Worker threads for parallel strategies and Polars.
    #[arg(long, default_value_t = 2)]
    pub threads: usize,
    /// Rows per chunk for the chunked strategy.
    #[arg(long, default_value_t = 100_000)]
    pub chunk_rows: usize,
    /// The longest CSV record accepted; a longer one stops every strategy with an error at its
    /// first line, before it is read whole.
    #[arg(long, default_value = "16MiB")]
    pub max_record_bytes: String,
    /// fail or skip malformed rows.
    #[arg(long, default_value = "fail")]
    pub on_bad_row: String,
    /// Generate messy datasets: notes with quoted line feeds, CRLFs and quotes.
    #[arg(long)]
    pub messy: bool,
    /// Dataset seed.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Dataset folder.
    #[arg(long, default_value = "datasets")]
    pub datasets: PathBuf,
    /// Name for the run folder (reports/local/<timestamp>-<label>).
    #[arg(long, default_value = "default")]
    pub label: String,
    /// Write into this folder instead of reports/local/<timestamp>-<label>.
    #[arg(long, conflicts_with = "resume")]
    pub out: Option<PathBuf>,
    /// Continue a run: skip repetitions already in DIR/results.jsonl.
    #[arg(long, value_name = "DIR")]
    pub resume: Option<PathBuf>,
    /// Skip writing the report at the end.
    #[arg(long)]
    pub no_report: bool,
    /// postgres: use this server (libpq connection string or postgresql:// URL) instead of a
    /// throw-away one; the run works in a schema of its own, dropped at the end.
    #[arg(long, env = "MEMBENCH_POSTGRES_URL", hide_env_values = true)]
    pub postgres_url: Option<String>,
    /// Database strategies: keep each input loaded between repetitions, workloads and
    /// strategies' cells, so that only the first cell on an input loads it and the others
    /// measure the query alone (data that already lives in a database).
    #[arg(long)]
    pub db_reuse: bool,
    /// sqlite: keep the database files in the run folder (`db/`) instead of removing them.
    #[arg(long)]
    pub keep_db: bool,
}

/// The run folder, ready to write into: `--resume DIR` (a run's folder); `--out DIR`, which
/// must not exist yet or be empty (a folder holding a run is refused: resume it explicitly);
/// or a new `reports/local/<timestamp>-<label>`, with `-2`, `-3`… when two runs start in the
/// same second.
pub(crate) fn out_dir(a: &RunArgs, stamp: &str) -> Result<PathBuf> {
    match (&a.resume, &a.out) {
        (Some(d), _) => {
            if !d.join("results.jsonl").exists() {
                bail!("--resume {}: no results.jsonl there", d.display());
            }
            Ok(d.clone())
        }
        (None, Some(d)) => {
            if d.join("results.jsonl").exists() {
                bail!(
                    "--out {}: a run is already there; continue it with --resume {0}, or choose \
                     another folder",
                    d.display()
                );
            }
            let has_files = std::fs::read_dir(d).is_ok_and(|mut e| e.next().is_some());
            if has_files {
                bail!(
                    "--out {}: the folder is not empty; membench writes a run into a new or \
                     empty folder (nothing of yours is overwritten or removed)",
                    d.display()
                );
            }
            std::fs::create_dir_all(d).with_context(|| format!("creating {}", d.display()))?;
            Ok(d.clone())
        }
        (None, None) => new_run_dir(&PathBuf::from("reports/local"), stamp, &a.label),
    }
}

/// A new folder `<parent>/<stamp>-<label>` (`-2`, `-3`… when taken: two runs started in the
/// same second get two folders).
fn new_run_dir(parent: &std::path::Path, stamp: &str, label: &str) -> Result<PathBuf> {
    std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    for n in 1.. {
        let name = match n {
            1 => format!("{stamp}-{label}"),
            n => format!("{stamp}-{label}-{n}"),
        };
        let dir = parent.join(name);
        match std::fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e).with_context(|| format!("creating {}", dir.display())),
        }
    }
    unreachable!("some run folder name is free")
}

/// The prefix of a run's private scratch folders (inside the run folder).
const SCRATCH_PREFIX: &str = ".scratch-";

/// Removes the scratch folders a killed run left in its folder (never anything else).
fn remove_stale_scratch(out_dir: &std::path::Path) {
    let Ok(entries) = std::fs::read_dir(out_dir) else {
        return;
    };
    for e in entries.flatten() {
        if e.file_name().to_string_lossy().starts_with(SCRATCH_PREFIX)
            && e.file_type().is_ok_and(|t| t.is_dir())
        {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

fn progress_bar(total: u64) -> ProgressBar {
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template(
            "[{elapsed_precise}] {bar:30} {pos}/{len} runs, ETA {eta} · {msg}",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    bar
}

pub fn run(mut a: RunArgs) -> Result<()> {
    external::check_name(&a.label).map_err(|e| anyhow::anyhow!("--label: {e}"))?;
    if let Some(p) = a.preset.clone() {
        preset(&mut a, &p)?;
    }
    for m in &a.memory_limits {
        membench_protocol::parse_size(m).map_err(|e| anyhow::anyhow!("--memory-limit {e}"))?;
    }
    if a.memory_limits.len() > 1 {
        return budgets::run(a);
    }
    a.memory_limit = a.memory_limits.first().cloned();
    run_one(a)
}

/// Applies `--preset`: `large` (see its help). Values given on the command line win over the
/// preset's (they differ from the defaults).
fn preset(a: &mut RunArgs, name: &str) -> Result<()> {
    match name {
        "large" => preset_large(a),
        "peers" => preset_peers(a),
        _ => bail!("unknown --preset {name:?} (large, peers)"),
    }
}

/// `peers`: the Python peers (`peers setup`) beside the built-in strategies, on the workloads
/// they compute (top-n, group-by).
fn preset_peers(a: &mut RunArgs) -> Result<()> {
    let peers = crate::peers::commands(&a.peers_dir)?;
    if a.strategy.is_empty() {
        a.strategy = membench_protocol::STRATEGIES
            .iter()
            .filter(|s| s.on_by_default)
            .map(|s| s.name.to_string())
            .collect();
    }
    if a.workload == ["top-n", "group-by", "etl", "join"] {
        a.workload = vec!["top-n".into(), "group-by".into()];
    }
    if a.label == "default" {
        a.label = "peers".into();
    }
    eprintln!(
        "preset peers: {} Python peers beside {}",
        peers.len(),
        a.strategy.join(", ")
    );
    a.commands.extend(peers);
    Ok(())
}

fn preset_large(a: &mut RunArgs) -> Result<()> {
    if a.rows == ["10k", "100k", "1m"] && a.size.is_empty() {
        a.rows = vec!["1m".into(), "10m".into(), "50m".into()];
    }
    if a.memory_limits.is_empty() {
        a.memory_limits = vec!["1GiB".into()];
    }
    if a.workload == ["top-n", "group-by", "etl", "join"] {
        a.workload = vec!["top-n".into()];
    }
    a.format = vec!["csv".into()];
    a.repeat = 1;
    if a.label == "default" {
        a.label = "large".into();
    }
    // Bounded disk: the CSV files this needs (≈ 200 bytes a row), minus those already there.
    let mut need = 0u64;
    for r in &a.rows {
        let n = membench_protocol::parse_count(r).map_err(anyhow::Error::msg)?;
        let file = a.datasets.join(format!(
            "sales-{}-s{}.csv",
            membench_kernel::rows_label(n),
            a.seed
        ));
        if !file.exists() {
            need += n * 200;
        }
    }
    std::fs::create_dir_all(&a.datasets)
        .with_context(|| format!("creating {}", a.datasets.display()))?;
    let free = crate::util::free_bytes(&a.datasets)?;
    // Keep 1 GiB spare for the run folder and scratch files.
    if need + (1 << 30) > free {
        bail!(
            "--preset large needs ≈ {:.1} GB of disk for its datasets in {} (plus 1 GiB spare), \
             and {:.1} GB are free: free some, or point --datasets elsewhere",
            need as f64 / 1e9,
            a.datasets.display(),
            free as f64 / 1e9
        );
    }
    eprintln!(
        "preset large: top-n on CSV at {} rows under {}; {:.1} GB of datasets to generate, {:.1} GB free",
        a.rows.join(", "),
        a.memory_limits.join(", "),
        need as f64 / 1e9,
        free as f64 / 1e9
    );
    Ok(())
}

/// One run of the matrix (under at most one budget).
fn run_one(a: RunArgs) -> Result<()> {
    if a.repeat == 0 {
        bail!("--repeat must be at least 1");
    }
    for w in &a.workload {
        if membench_kernel::Workload::parse(w).is_none() {
            bail!("unknown workload {w:?} (top-n, group-by, etl, join)");
        }
    }
    membench_kernel::DateRange::parse(&a.dates).map_err(|e| anyhow::anyhow!("--dates {e}"))?;
    let externals = a
        .commands
        .iter()
        .map(|c| external::External::parse(c))
        .collect::<Result<Vec<_>>>()?;
    for (i, e) in externals.iter().enumerate() {
        if externals[..i].iter().any(|x| x.name == e.name) {
            bail!(
                "--command {}: two commands have this name; give each its own",
                e.name
            );
        }
    }
    let strategies = plan::strategies(&a, &externals)?;
    let shard = a.shard.as_deref().map(plan::Shard::parse).transpose()?;
    let bins = binaries()?;
    for b in ["membench-runner", "membench-runner-sys"] {
        bin(&bins, b)?;
    }
    let gen_bin = bin(&bins, "membench-gen")?;
    let (stamp, started_at) = now_stamp();
    let settings = settings::Settings::of(&a);
    let out_dir = out_dir(&a, &stamp)?;
    let results = out_dir.join("results.jsonl");
    let existing = ledger::existing(&results)?;
    if a.resume.is_some() {
        settings.check_resume(&out_dir, &existing)?;
        remove_stale_scratch(&out_dir);
    } else {
        settings.write(&out_dir)?;
    }
    // A private scratch folder of this run (random name, 0700), removed at the end: a folder
    // that was there before is never touched.
    let scratch_dir = membench_safefs::private_dir(&out_dir, SCRATCH_PREFIX)
        .context("creating the run's scratch folder")?;
    let scratch = scratch_dir.path().to_path_buf();
    let mut ledger = ledger::Ledger::from_records(existing);
    // Unique per run, even for two runs started in the same second (it names the run's
    // schema on a user's PostgreSQL server).
    let run_id = ledger
        .run_id
        .clone()
        .unwrap_or_else(|| format!("{stamp}-{}", &membench_harness::reaper::random_token()[..8]));
    let ctx = run_context(&started_at);

    let datasets = plan::datasets(&gen_bin, &a)?;
    let mut groups = plan::groups(&datasets, &a.workload, &strategies);
    if let Some(s) = shard {
        groups = s.select(groups);
        eprintln!(
            "shard {}/{}: {} cells",
            s.index,
            s.count,
            groups.iter().map(|g| g.strategies.len()).sum::<usize>()
        );
    }
    let databases = database::prepare(&a, &strategies, &run_id)?;
    let db_dir = match a.keep_db {
        true => out_dir.join("db"),
        false => scratch.join("db"),
    };
    let bar = progress_bar(drive::planned(
        &groups,
        &ledger,
        a.repeat,
        &databases.unavailable,
    ));
    let mut sink = ledger::JsonlSink::open(&results)?;
    let mut exec = executor::RunnerExecutor::new(&bins, &a, &scratch)
        .with_databases(&databases, &db_dir)
        .with_externals(&externals);
    let cx = record::RecordContext {
        run_id: &run_id,
        args: &a,
        context: &ctx,
    };
    let driven = drive::drive(
        &groups,
        a.repeat,
        &databases.unavailable,
        &mut exec,
        &mut ledger,
        &mut sink,
        &cx,
        &bar,
    );
    bar.finish_and_clear();
    drop(sink);
    let stopped = databases.finish();
    let driven = driven?;
    stopped?;
    drop(scratch_dir);
    summary::print(&membench_report::record::read_records(&results)?);
    if driven.wrong_answers > 0 {
        eprintln!(
            "{} repetitions gave a WRONG ANSWER (see the report)",
            driven.wrong_answers
        );
    }
    if !a.no_report {
        membench_report::write_report(&out_dir)?;
        eprintln!("report: {}", out_dir.join("REPORT.md").display());
    }
    eprintln!("results: {}", results.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn two_runs_started_in_the_same_second_get_two_folders() {
        let tmp = tempfile::tempdir().unwrap();
        let a = super::new_run_dir(tmp.path(), "2026-12-02T10-00-00", "default").unwrap();
        let b = super::new_run_dir(tmp.path(), "2026-12-02T10-00-00", "default").unwrap();
        assert_ne!(a, b);
        assert!(
            b.ends_with("2026-12-02T10-00-00-default-2"),
            "{}",
            b.display()
        );
    }
}
