//! `cargo xtask report DIR`: recompute everything from `DIR/results.jsonl`.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

/// Recompute REPORT.md, summary.csv, summary.json, index.html and charts from results.jsonl.
#[derive(Args, Debug)]
pub struct ReportArgs {
    /// A run folder (holding results.jsonl).
    pub dir: PathBuf,
    /// A baseline (as written by `cargo xtask baseline`, e.g. reports/baseline.json) that
    /// index.html compares the run against, cell by cell.
    #[arg(long)]
    pub baseline: Option<PathBuf>,
}

pub fn run(a: ReportArgs) -> Result<()> {
    let written = membench_report::write_report_with(&a.dir, a.baseline.as_deref())?;
    eprintln!(
        "wrote {} files; open {}",
        written.len(),
        a.dir.join("REPORT.md").display()
    );
    Ok(())
}
