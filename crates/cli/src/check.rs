//! `cargo xtask check --baseline FILE DIR`: the memory regression gate.
//! Exit 0: no regression; 1: a regression; 2: unusable input.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use membench_report::gate::{BASELINE_VERSION, Baseline, Tolerances, check, markdown};
use membench_report::record::read_records;

/// Compare a run with a baseline: heap (tight), RSS (looser), time (warn-only ratio), and each
/// strategy's declared memory growth. Prints a Markdown table; exit 1 on any regression.
#[derive(Args, Debug)]
pub struct CheckArgs {
    /// The run folder to check (holding results.jsonl).
    pub dir: PathBuf,
    /// The baseline file (from `cargo xtask baseline`).
    #[arg(long, default_value = "reports/baseline.json")]
    pub baseline: PathBuf,
    /// Relative peak-heap increase allowed (widened per cell to 3 × its baseline spread).
    #[arg(long, default_value_t = 0.05)]
    pub heap_tolerance: f64,
    /// Relative peak-RSS increase allowed.
    #[arg(long, default_value_t = 0.25)]
    pub rss_tolerance: f64,
    /// Time ratio (now / baseline) that warns.
    #[arg(long, default_value_t = 1.5)]
    pub time_ratio: f64,
    /// Fail, not just warn, when time exceeds the ratio.
    #[arg(long)]
    pub fail_on_time: bool,
}

/// Runs the check; returns the process exit code.
pub fn run(a: CheckArgs) -> i32 {
    match run_inner(&a) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("cargo xtask check: {e:#}");
            2
        }
    }
}

fn run_inner(a: &CheckArgs) -> Result<i32> {
    let text = std::fs::read_to_string(&a.baseline)
        .with_context(|| format!("reading {}", a.baseline.display()))?;
    let baseline: Baseline = serde_json::from_str(&text)
        .with_context(|| format!("{}: not a membench baseline", a.baseline.display()))?;
    anyhow::ensure!(
        baseline.version == BASELINE_VERSION,
        "{}: baseline version {} (this membench reads {BASELINE_VERSION})",
        a.baseline.display(),
        baseline.version
    );
    let records = read_records(&a.dir.join("results.jsonl"))?;
    let tol = Tolerances {
        heap: a.heap_tolerance,
        rss: a.rss_tolerance,
        time_ratio: a.time_ratio,
        fail_on_time: a.fail_on_time,
        ..Tolerances::default()
    };
    let out = check(&baseline, &records, &tol);
    anyhow::ensure!(
        out.compared > 0,
        "no cell of {} is in the baseline {}",
        a.dir.display(),
        a.baseline.display()
    );
    let md = markdown(&out);
    println!("{md}");
    if let Some(path) = std::env::var_os("GITHUB_STEP_SUMMARY") {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .with_context(|| {
                format!(
                    "opening $GITHUB_STEP_SUMMARY {}",
                    PathBuf::from(&path).display()
                )
            })?;
        f.write_all(md.as_bytes())?;
    }
    Ok(if out.regressions() > 0 { 1 } else { 0 })
}
