//! `cargo xtask min-budget`: the smallest `--memory-limit` each strategy survives, per workload
//! × format × size (DaCapo's minimum-heap tables, found the same way: by bisection).
//!
//! A strategy whose peak is a fixed property of its input (the kernel strategies that do not
//! size themselves from the budget) survives exactly its measured peak: that is reported
//! without bisecting, and checked with two runs (1 % over the peak: ok; 5 % under: `oom`). The
//! others — `adaptive`, `grace` and `merge-join` (sized from the budget), the databases (their
//! knobs) and Polars (its engine) — are bisected between a failing and a passing budget until
//! they are within `--precision` of each other.
//!
//! An external program (`--command`, as in `run`) is bisected under the kernel limit `run`
//! would give it (a cgroup v2 `memory.max` where delegated, else `RLIMIT_DATA`), and any
//! failure under a limit counts as not surviving it (a Python `MemoryError`, a failed `mmap`,
//! a thread that cannot start). `RLIMIT_DATA` applies to each process of the tree on its own;
//! a cgroup to the tree as a whole.

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use clap::Args;
use membench_harness::{CellCommand, Status, run_cell};
use membench_protocol::{CellJob, Engine, InputFormat, Role, Workload};
use membench_report::format::{bytes, rows};
use serde::Serialize;

use crate::run::cell::{Cell, Dataset};
use crate::run::external::External;
use crate::util::{bin, binaries, sales_dataset};

/// Find the smallest heap budget (`--memory-limit`) each strategy finishes under.
#[derive(Args, Debug)]
pub struct MinBudgetArgs {
    /// Strategies, comma-separated (also `calibrate`, the harness's known-peak cell).
    #[arg(long, value_delimiter = ',', required_unless_present = "commands")]
    pub strategy: Vec<String>,
    /// External programs, as `run --command NAME=PROGRAM ARGS` (repeatable): bisected under a
    /// kernel limit.
    #[arg(long = "command", value_name = "NAME=PROGRAM ARGS")]
    pub commands: Vec<String>,
    /// Threads, for a command's `{threads}`.
    #[arg(long, default_value_t = 2)]
    pub threads: usize,
    /// Sizes in rows, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1m", value_parser = membench_protocol::parse_count)]
    pub rows: Vec<u64>,
    /// Workloads, comma-separated (the `sales` ones).
    #[arg(long, value_delimiter = ',', default_value = "top-n", value_parser = Workload::parse)]
    pub workload: Vec<Workload>,
    #[arg(long, default_value = "csv", value_parser = InputFormat::parse)]
    pub format: InputFormat,
    /// Bisection stops when the passing and failing budgets are this close (relative).
    #[arg(long, default_value_t = 0.05)]
    pub precision: f64,
    /// Bisect every strategy, fixed-peak ones included.
    #[arg(long)]
    pub bisect_all: bool,
    /// calibrate: the bytes it allocates.
    #[arg(long, default_value_t = 50_000_000)]
    pub calibrate_bytes: u64,
    /// Print JSON lines instead of a table.
    #[arg(long)]
    pub json: bool,
    #[arg(long, default_value = "datasets")]
    pub datasets: PathBuf,
}

/// How a budget was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    /// The measured peak of a fixed-peak strategy, checked at it and 5 % under.
    MeasuredPeak,
    /// Bisection to the stated precision.
    Bisection,
}

/// One answer.
#[derive(Clone, Debug, Serialize)]
pub struct MinBudget {
    pub strategy: String,
    pub workload: Workload,
    pub format: InputFormat,
    pub rows: u64,
    /// The smallest budget that passed.
    pub min_budget_bytes: u64,
    /// The largest that failed (`None` when none was tried or found).
    pub failed_at_bytes: Option<u64>,
    /// Peak live heap without a limit (baseline included: what the budget is compared with);
    /// for an external program, its process tree's peak anonymous RSS.
    pub unlimited_peak_bytes: u64,
    /// What enforced the budget: `counting allocator`, `RLIMIT_DATA` or `cgroup-v2 memory.max`.
    pub limit: String,
    pub method: Method,
    pub runs: u32,
}

/// The outcome of one probe at a budget.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Probe {
    Ok,
    Oom,
}

/// Bisects between `fail` (a budget that fails, or 0) and `pass` (one that passes) until
/// `(pass - fail) / pass <= precision`; returns (smallest passing, largest failing, probes).
pub fn bisect(
    mut fail: u64,
    mut pass: u64,
    precision: f64,
    mut probe: impl FnMut(u64) -> Result<Probe>,
) -> Result<(u64, u64, u32)> {
    let mut runs = 0;
    while pass.saturating_sub(fail) as f64 > precision * pass as f64 {
        let mid = fail + (pass - fail) / 2;
        runs += 1;
        match probe(mid)? {
            Probe::Ok => pass = mid,
            Probe::Oom => fail = mid,
        }
    }
    Ok((pass, fail, runs))
}

/// Whether a strategy's peak is fixed by its input (no knob sized from the budget).
fn fixed_peak(strategy: &str) -> bool {
    strategy == "calibrate"
        || membench_protocol::strategy(strategy)
            .is_some_and(|s| s.engine == Engine::Kernel && !s.has(Role::SizedFromBudget))
}

pub fn run(a: MinBudgetArgs) -> Result<()> {
    if !(0.001..0.5).contains(&a.precision) {
        bail!("--precision must be between 0.001 and 0.5");
    }
    for s in &a.strategy {
        if s != "calibrate" && membench_protocol::strategy(s).is_none() {
            bail!("unknown strategy {s:?} (see `cargo xtask list`)");
        }
    }
    let externals = a
        .commands
        .iter()
        .map(|c| External::parse(c))
        .collect::<Result<Vec<_>>>()?;
    let dir = binaries()?;
    let runner = bin(&dir, "membench-runner")?;
    let mut out = Vec::new();
    for &n in &a.rows {
        let input = sales_dataset(&dir, &a.datasets, n, a.format, &Default::default())?;
        for w in &a.workload {
            let mut found = Vec::new();
            for s in &a.strategy {
                found.push(of_strategy(&a, &runner, &input, s, w, n)?);
            }
            for e in &externals {
                found.push(of_command(&a, e, &input, w, n)?);
            }
            for m in found {
                if a.json {
                    println!("{}", serde_json::to_string(&m)?);
                } else {
                    eprintln!(
                        "{} {w} {} {}: {}",
                        m.strategy,
                        a.format,
                        rows(n),
                        bytes(m.min_budget_bytes as f64)
                    );
                }
                out.push(m);
            }
        }
    }
    if !a.json {
        print_table(&out, a.precision);
    }
    Ok(())
}

/// A built-in strategy (or `calibrate`) in the counting runner, under heap budgets.
fn of_strategy(
    a: &MinBudgetArgs,
    runner: &Path,
    input: &Path,
    s: &str,
    w: &Workload,
    n: u64,
) -> Result<MinBudget> {
    let cell = |limit: Option<u64>| -> CellCommand {
        let job = CellJob {
            bytes: a.calibrate_bytes as usize,
            memory_limit_bytes: limit,
            ..CellJob::new(s, w.clone(), input)
        };
        CellCommand::new(runner).args(job.to_args())
    };
    let free = run_cell(&cell(None));
    let Some(rec) = free.runner.filter(|_| free.status == Status::Ok) else {
        bail!(
            "{s} {w} at {} rows does not finish without a limit ({}): {}",
            rows(n),
            free.status.name(),
            free.stderr_tail
        );
    };
    let peak =
        rec.measure.peak_heap_bytes.unwrap_or(0) + rec.measure.baseline_heap_bytes.unwrap_or(0);
    let probe = |limit: u64| -> Result<Probe> {
        let m = run_cell(&cell(Some(limit)));
        match m.status {
            Status::Ok => Ok(Probe::Ok),
            Status::Oom => Ok(Probe::Oom),
            other => bail!(
                "{s} {w} under {}: {} ({})",
                bytes(limit as f64),
                other.name(),
                m.stderr_tail
            ),
        }
    };
    let found = Found {
        name: s,
        workload: w,
        rows: n,
        peak,
        limit: "counting allocator".into(),
    };
    one(a, &found, fixed_peak(s), probe)
}

/// An external program under kernel limits; any failure under a limit is not surviving it.
fn of_command(
    a: &MinBudgetArgs,
    e: &External,
    input: &Path,
    w: &Workload,
    n: u64,
) -> Result<MinBudget> {
    let bytes_on_disk = std::fs::metadata(input).map(|m| m.len()).unwrap_or(0);
    let cell = Cell {
        strategy: e.name.clone(),
        workload: w.clone(),
        dataset: Dataset {
            path: input.to_path_buf(),
            items: None,
            format: a.format,
            rows: n,
            bytes: bytes_on_disk,
            shape: Default::default(),
        },
    };
    let free = run_cell(&e.command(&cell, a.threads, None, None));
    if free.status != Status::Ok {
        bail!(
            "{} {w} at {} rows does not finish without a limit ({}): {}",
            e.name,
            rows(n),
            free.status.name(),
            free.stderr_tail
        );
    }
    let limit = std::cell::RefCell::new(String::new());
    let probe = |l: u64| -> Result<Probe> {
        let m = run_cell(&e.command(&cell, a.threads, None, None).kernel_limit(l));
        if let Some(k) = &m.kernel_limit {
            *limit.borrow_mut() = k.kind.name().to_string();
        }
        Ok(match m.status {
            Status::Ok => Probe::Ok,
            _ => Probe::Oom,
        })
    };
    let found = Found {
        name: &e.name,
        workload: w,
        rows: n,
        peak: free.process.peak_rss_anon_bytes,
        limit: String::new(),
    };
    let mut m = one(a, &found, false, probe)?;
    m.limit = limit.into_inner();
    Ok(m)
}

/// What is known of a cell before its budget is searched.
struct Found<'a> {
    name: &'a str,
    workload: &'a Workload,
    rows: u64,
    /// Its peak without a limit.
    peak: u64,
    limit: String,
}

fn one(
    a: &MinBudgetArgs,
    f: &Found<'_>,
    fixed: bool,
    mut probe: impl FnMut(u64) -> Result<Probe>,
) -> Result<MinBudget> {
    let (s, peak) = (f.name, f.peak);
    let base = MinBudget {
        strategy: s.into(),
        workload: f.workload.clone(),
        format: a.format,
        rows: f.rows,
        min_budget_bytes: peak,
        failed_at_bytes: None,
        unlimited_peak_bytes: peak,
        limit: f.limit.clone(),
        method: Method::MeasuredPeak,
        runs: 1,
    };
    if fixed && !a.bisect_all {
        // The claim "the minimum is the measured peak", checked: ok 1 % over it (the process
        // also holds its arguments, which differ by the limit's own digits), oom 5 % under.
        let (over, under) = ((peak as f64 * 1.01) as u64, (peak as f64 * 0.95) as u64);
        if probe(over)? != Probe::Ok || probe(under)? != Probe::Oom {
            bail!("{s}: its peak is not a fixed property of the input here; use --bisect-all");
        }
        return Ok(MinBudget {
            failed_at_bytes: Some(under),
            runs: 3,
            ..base
        });
    }
    // A passing budget: the unlimited peak (a strategy sized from the budget may need a little
    // more than its unlimited run when its default knobs differ: double until it passes).
    let mut pass = peak.max(1 << 20);
    let mut runs = 1;
    while probe(pass)? == Probe::Oom {
        runs += 1;
        pass *= 2;
    }
    let (min, failed, probes) = bisect(0, pass, a.precision, probe)?;
    Ok(MinBudget {
        min_budget_bytes: min,
        failed_at_bytes: (failed > 0).then_some(failed),
        method: Method::Bisection,
        runs: runs + 1 + probes,
        ..base
    })
}

fn print_table(all: &[MinBudget], precision: f64) {
    println!(
        "\nBudgets are `--memory-limit` values: for a built-in strategy the whole runner's live \
         heap, its own baseline (≈ 1.6 MiB: arguments, buffers) included; for an external \
         program the kernel limit `run` gives it (`RLIMIT_DATA` applies to each of its \
         processes, a cgroup to all of them).\n"
    );
    println!(
        "| strategy | workload | format | rows | smallest budget | fails at | unlimited peak | limit | how |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for m in all {
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            m.strategy,
            m.workload,
            m.format,
            rows(m.rows),
            bytes(m.min_budget_bytes as f64),
            m.failed_at_bytes.map_or("–".into(), |b| bytes(b as f64)),
            bytes(m.unlimited_peak_bytes as f64),
            m.limit,
            match m.method {
                Method::MeasuredPeak => format!(
                    "fixed peak: the measured one ({} runs: ok 1 % over, oom 5 % under)",
                    m.runs
                ),
                Method::Bisection =>
                    format!("bisection to {:.0} % ({} runs)", precision * 100.0, m.runs),
            }
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bisection_finds_a_threshold_within_the_precision() {
        let threshold = 123_456_789u64;
        let mut probes = 0;
        let (pass, fail, runs) = bisect(0, 1 << 30, 0.05, |b| {
            probes += 1;
            Ok(if b >= threshold {
                Probe::Ok
            } else {
                Probe::Oom
            })
        })
        .unwrap();
        assert!(pass >= threshold && fail < threshold);
        assert!((pass - fail) as f64 <= 0.05 * pass as f64);
        assert_eq!(runs, probes);
    }

    #[test]
    fn kernel_strategies_are_fixed_and_adapting_ones_are_not() {
        assert!(fixed_peak("streaming") && fixed_peak("load-all") && fixed_peak("calibrate"));
        assert!(!fixed_peak("adaptive") && !fixed_peak("lazy") && !fixed_peak("sqlite"));
    }
}
