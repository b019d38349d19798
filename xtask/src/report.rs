//! `cargo xtask report DIR`: recompute everything from `DIR/results.jsonl`.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

/// Recompute REPORT.md, summary.csv, summary.json, index.html and charts from results.jsonl.
#[derive(Args, Debug)]
pub struct ReportArgs {
    /// A run folder (holding results.jsonl).
    pub dir: PathBuf,
}

pub fn run(a: ReportArgs) -> Result<()> {
    let written = membench_report::write_report(&a.dir)?;
    eprintln!(
        "wrote {} files; open {}",
        written.len(),
        a.dir.join("REPORT.md").display()
    );
    Ok(())
}
