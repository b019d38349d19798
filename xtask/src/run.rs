//! `cargo xtask run`: the comparison matrix. Generates missing datasets, runs every cell
//! `--repeat` times (after one uncounted warm-up) in fresh runner processes, appends one record
//! per repetition to `results.jsonl` (flushed each time, so `--resume` loses and doubles
//! nothing), then writes the report.

use std::collections::{BTreeMap, HashMap};
use std::ffi::OsStr;
use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use membench_harness::{CellCommand, Measured, Status, run_cell};
use membench_report::format::{bytes, duration_ns, rows as rows_label};
use membench_report::record::{Record, RunContext, read_records};

use crate::util::{bin, binaries, now_stamp, run_context};

/// Run the matrix strategies × workloads × formats × sizes and write a report.
#[derive(Args, Debug, Clone)]
pub struct RunArgs {
    /// Strategies, comma-separated (default: all; see `cargo xtask list`).
    #[arg(long, value_delimiter = ',')]
    pub strategy: Vec<String>,
    /// Workloads, comma-separated (etl writes its output to a scratch file in the run folder,
    /// removed after each cell).
    #[arg(long, value_delimiter = ',', default_value = "top-n,group-by,etl")]
    pub workload: Vec<String>,
    /// Formats, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "csv,parquet")]
    pub format: Vec<String>,
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
    /// Measured repetitions per cell (plus one uncounted warm-up).
    #[arg(long, default_value_t = 3)]
    pub repeat: u32,
    /// Heap budget per cell (e.g. 2GiB); a cell over it is recorded as oom.
    #[arg(long)]
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
    /// fail or skip malformed rows.
    #[arg(long, default_value = "fail")]
    pub on_bad_row: String,
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
}

struct Dataset {
    path: PathBuf,
    rows: u64,
    bytes: u64,
}

fn generate(gen_bin: &Path, a: &RunArgs, format: &str, rows_arg: (&str, &str)) -> Result<Dataset> {
    let out = Command::new(gen_bin)
        .args([
            rows_arg.0,
            rows_arg.1,
            "--format",
            format,
            "--seed",
            &a.seed.to_string(),
            "--json",
            "--out",
        ])
        .arg(&a.datasets)
        .stderr(std::process::Stdio::inherit())
        .output()
        .context("running membench-gen")?;
    if !out.status.success() {
        bail!("membench-gen failed for {rows_arg:?} {format}");
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let meta: serde_json::Value = serde_json::from_str(text.lines().last().unwrap_or(""))
        .context("parsing membench-gen output")?;
    Ok(Dataset {
        path: a
            .datasets
            .join(meta["file"].as_str().context("file in sidecar")?),
        rows: meta["rows"].as_u64().unwrap_or(0),
        bytes: meta["bytes"].as_u64().unwrap_or(0),
    })
}

/// Drops a torn final line (left by a killed run) so appended records stay one per line.
fn repair_results(path: &Path) -> Result<()> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Ok(());
    };
    if text.is_empty() || text.ends_with('\n') {
        return Ok(());
    }
    let keep = text.rfind('\n').map(|i| i + 1).unwrap_or(0);
    std::fs::write(path, &text[..keep]).with_context(|| format!("repairing {}", path.display()))
}

struct Cell<'a> {
    strategy: &'a str,
    workload: &'a str,
    format: &'a str,
    dataset: &'a Dataset,
}

fn cell_command(runner: &Path, a: &RunArgs, c: &Cell<'_>, strategy: &str) -> CellCommand {
    let mut cmd = CellCommand::new(runner)
        .args(["--strategy", strategy, "--workload", c.workload, "--input"])
        .args([c.dataset.path.as_os_str()])
        .args([
            "--threads",
            &a.threads.to_string(),
            "--chunk-rows",
            &a.chunk_rows.to_string(),
        ])
        .args(["--on-bad-row", &a.on_bad_row])
        .timeout(Duration::from_secs(a.timeout));
    if let Some(m) = &a.memory_limit {
        cmd = cmd.args(["--memory-limit", m]);
    }
    if let Some(m) = &a.address_space_limit {
        cmd = cmd.args(["--address-space-limit", m]);
    }
    cmd
}

/// Runs one cell in a fresh runner process. An `etl` cell writes to `scratch/etl-output.<ext>`
/// (the input's format), removed afterwards whatever happened to the cell.
fn measure_cell(
    runner: &Path,
    a: &RunArgs,
    c: &Cell<'_>,
    strategy: &str,
    scratch: &Path,
) -> Measured {
    let mut cmd = cell_command(runner, a, c, strategy);
    let mut output = None;
    if c.workload == "etl" {
        let o = scratch.join(format!("etl-output.{}", c.format));
        cmd = cmd.args([OsStr::new("--output"), o.as_os_str()]);
        output = Some(o);
    }
    let m = run_cell(&cmd);
    if let Some(o) = output {
        let mut tmp = o.clone().into_os_string();
        tmp.push(".tmp");
        let _ = std::fs::remove_file(&o);
        let _ = std::fs::remove_file(tmp);
    }
    m
}

fn record(
    run_id: &str,
    a: &RunArgs,
    c: &Cell<'_>,
    rep: u32,
    m: &Measured,
    expected: Option<&String>,
    ctx: &RunContext,
) -> Record {
    let r = m.runner.clone().unwrap_or_default();
    let u = |k: &str| r.get(k).and_then(|v| v.as_u64());
    // Keep the timeline small: at most ~200 evenly spaced samples.
    let step = m.timeline.len().div_ceil(200).max(1);
    let mut status = m.status.name().to_string();
    let digest = r
        .get("answer_digest")
        .and_then(|v| v.as_str())
        .map(String::from);
    if m.status == Status::Ok && expected.is_some() && digest.as_ref() != expected {
        status = Status::WrongAnswer.name().to_string();
    }
    let error = r
        .get("error")
        .and_then(|e| e.get("message"))
        .and_then(|v| v.as_str())
        .map(String::from)
        .or_else(|| (m.status != Status::Ok).then(|| m.stderr_tail.clone()));
    Record {
        run_id: run_id.to_string(),
        strategy: c.strategy.to_string(),
        workload: c.workload.to_string(),
        format: c.format.to_string(),
        rows: c.dataset.rows,
        dataset: c.dataset.path.display().to_string(),
        input_bytes: c.dataset.bytes,
        repetition: rep,
        status,
        peak_heap_bytes: u("peak_heap_bytes"),
        baseline_heap_bytes: u("baseline_heap_bytes"),
        total_allocated_bytes: u("total_allocated_bytes"),
        n_allocs: u("n_allocs"),
        peak_rss_bytes: m.peak_rss_bytes,
        peak_rss_anon_bytes: m.peak_rss_anon_bytes,
        peak_rss_file_bytes: m.peak_rss_file_bytes,
        wall_ns: u("wall_ns"),
        process_wall_ns: m.wall_ns,
        user_ns: m.user_ns,
        sys_ns: m.sys_ns,
        rows_read: u("rows_read"),
        rows_skipped: u("rows_skipped"),
        answer_digest: digest,
        expected_digest: expected.cloned(),
        error,
        exit_code: m.exit_code,
        signal: m.signal.clone(),
        threads: a.threads,
        chunk_rows: a.chunk_rows,
        on_bad_row: a.on_bad_row.clone(),
        memory_limit: a.memory_limit.clone(),
        heap_timeline: r
            .get("heap_timeline")
            .and_then(|v| serde_json::from_value(v.clone()).ok())
            .unwrap_or_default(),
        declared_growth: r
            .get("declared_growth")
            .and_then(|v| v.as_str())
            .map(String::from),
        timeline: m
            .timeline
            .iter()
            .step_by(step)
            .map(|s| [s.t_ns, s.rss_bytes, s.rss_anon_bytes, s.rss_file_bytes])
            .collect(),
        context: ctx.clone(),
    }
}

pub fn run(mut a: RunArgs) -> Result<()> {
    if a.repeat == 0 {
        bail!("--repeat must be at least 1");
    }
    let bins = binaries(false)?;
    let runner = bin(&bins, "membench-runner")?;
    let gen_bin = bin(&bins, "membench-gen")?;
    if a.strategy.is_empty() {
        let out = Command::new(&runner)
            .arg("--list")
            .output()
            .context("membench-runner --list")?;
        a.strategy = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter_map(|v| v["name"].as_str().map(String::from))
            .collect();
    }
    let (stamp, started_at) = now_stamp();
    let out_dir = match (&a.resume, &a.out) {
        (Some(d), _) => {
            if !d.join("results.jsonl").exists() {
                bail!("--resume {}: no results.jsonl there", d.display());
            }
            d.clone()
        }
        (None, Some(d)) => d.clone(),
        (None, None) => PathBuf::from("reports/local").join(format!("{stamp}-{}", a.label)),
    };
    std::fs::create_dir_all(&out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
    let results = out_dir.join("results.jsonl");
    let scratch = out_dir.join("scratch");
    std::fs::create_dir_all(&scratch).with_context(|| format!("creating {}", scratch.display()))?;
    repair_results(&results)?;
    let previous = if results.exists() {
        read_records(&results)?
    } else {
        Vec::new()
    };
    let run_id = previous
        .first()
        .map(|r| r.run_id.clone())
        .unwrap_or_else(|| stamp.clone());
    let mut done: HashMap<(String, String, String, String), u32> = HashMap::new();
    for r in &previous {
        *done
            .entry((
                r.strategy.clone(),
                r.workload.clone(),
                r.format.clone(),
                r.dataset.clone(),
            ))
            .or_default() += 1;
    }
    let ctx = run_context(&started_at);

    // Datasets first (generated only when missing).
    let sizes: Vec<(String, String)> = if a.size.is_empty() {
        a.rows
            .iter()
            .map(|r| ("--rows".to_string(), r.clone()))
            .collect()
    } else {
        a.size
            .iter()
            .map(|s| ("--size".to_string(), s.clone()))
            .collect()
    };
    let mut datasets: BTreeMap<(String, usize), Dataset> = BTreeMap::new();
    for (i, (flag, v)) in sizes.iter().enumerate() {
        for f in &a.format {
            datasets.insert((f.clone(), i), generate(&gen_bin, &a, f, (flag, v))?);
        }
    }

    let mut total = 0u64;
    for ((f, _), d) in &datasets {
        for w in &a.workload {
            for s in &a.strategy {
                let k = (
                    s.clone(),
                    w.clone(),
                    f.clone(),
                    d.path.display().to_string(),
                );
                total += u64::from(a.repeat.saturating_sub(*done.get(&k).unwrap_or(&0)));
            }
        }
    }
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template(
            "[{elapsed_precise}] {bar:30} {pos}/{len} runs, ETA {eta} · {msg}",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&results)
        .with_context(|| format!("opening {}", results.display()))?;
    let mut wrong = 0;
    for ((format, _), dataset) in &datasets {
        for workload in &a.workload {
            let remaining: Vec<&String> = a
                .strategy
                .iter()
                .filter(|s| {
                    let k = (
                        (*s).clone(),
                        workload.clone(),
                        format.clone(),
                        dataset.path.display().to_string(),
                    );
                    *done.get(&k).unwrap_or(&0) < a.repeat
                })
                .collect();
            if remaining.is_empty() {
                continue;
            }
            let base = Cell {
                strategy: "streaming",
                workload,
                format,
                dataset,
            };
            // The reference answer: the kernel's streaming strategy, unmeasured.
            bar.set_message(format!(
                "reference answer for {workload} {format} {}",
                rows_label(dataset.rows)
            ));
            let reference = measure_cell(&runner, &a, &base, "streaming", &scratch);
            let expected = reference
                .runner
                .as_ref()
                .and_then(|r| r["answer_digest"].as_str())
                .map(String::from);
            for strategy in remaining {
                let cell = Cell { strategy, ..base };
                let key = (
                    strategy.clone(),
                    workload.clone(),
                    format.clone(),
                    dataset.path.display().to_string(),
                );
                let first = *done.get(&key).unwrap_or(&0) + 1;
                let name = format!(
                    "{strategy} · {workload} · {format} · {} rows",
                    rows_label(dataset.rows)
                );
                bar.set_message(format!("{name} (warm-up)"));
                let _ = measure_cell(&runner, &a, &cell, strategy, &scratch);
                for rep in first..=a.repeat {
                    bar.set_message(format!("{name} (#{rep})"));
                    let m = measure_cell(&runner, &a, &cell, strategy, &scratch);
                    let rec = record(&run_id, &a, &cell, rep, &m, expected.as_ref(), &ctx);
                    if rec.status == Status::WrongAnswer.name() {
                        wrong += 1;
                        bar.println(format!(
                            "WRONG ANSWER: {name}: {:?} != reference {:?}",
                            rec.answer_digest, expected
                        ));
                    }
                    let mut line = serde_json::to_string(&rec)?;
                    line.push('\n');
                    file.write_all(line.as_bytes())?;
                    file.flush()?;
                    bar.inc(1);
                }
            }
        }
    }
    bar.finish_and_clear();
    drop(file);
    let _ = std::fs::remove_dir_all(&scratch);
    print_summary(&read_records(&results)?);
    if wrong > 0 {
        eprintln!("{wrong} repetitions gave a WRONG ANSWER (see the report)");
    }
    if !a.no_report {
        membench_report::write_report(&out_dir)?;
        eprintln!("report: {}", out_dir.join("REPORT.md").display());
    }
    eprintln!("results: {}", results.display());
    Ok(())
}

/// One screen: the largest size of each workload × format.
fn print_summary(records: &[Record]) {
    let cells = membench_report::stats::cells(records);
    let largest = cells.iter().map(|c| c.key.rows).max().unwrap_or(0);
    println!(
        "{:<10} {:<8} {:<16} {:>12} {:>12} {:>10} {:>9}  status",
        "workload", "format", "strategy", "peak heap", "peak RSS", "time", "MB/s"
    );
    for c in cells.iter().filter(|c| c.key.rows == largest) {
        println!(
            "{:<10} {:<8} {:<16} {:>12} {:>12} {:>10} {:>9}  {}",
            c.key.workload,
            c.key.format,
            c.key.strategy,
            c.peak_heap_bytes
                .map(|s| bytes(s.median))
                .unwrap_or_default(),
            c.peak_rss_bytes
                .map(|s| bytes(s.median))
                .unwrap_or_default(),
            c.wall_ns.map(|s| duration_ns(s.median)).unwrap_or_default(),
            c.mb_per_s.map(|m| format!("{m:.0}")).unwrap_or_default(),
            c.status
        );
    }
    println!("(largest size: {} rows)", rows_label(largest));
}
