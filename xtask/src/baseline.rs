//! `cargo xtask baseline DIR`: save a run's per-cell medians as a baseline to commit.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use membench_report::gate::make_baseline;
use membench_report::record::read_records;

/// Save a run's per-cell medians (and heap spread) as a baseline file to commit.
#[derive(Args, Debug)]
pub struct BaselineArgs {
    /// A run folder (holding results.jsonl).
    pub dir: PathBuf,
    /// Where to write the baseline.
    #[arg(long, default_value = "reports/baseline.json")]
    pub out: PathBuf,
}

pub fn run(a: BaselineArgs) -> Result<()> {
    let records = read_records(&a.dir.join("results.jsonl"))?;
    anyhow::ensure!(!records.is_empty(), "{}: no records", a.dir.display());
    let b = make_baseline(&records);
    std::fs::write(&a.out, serde_json::to_string_pretty(&b)? + "\n")
        .with_context(|| format!("writing {}", a.out.display()))?;
    eprintln!(
        "baseline of {} cells written to {}",
        b.cells.len(),
        a.out.display()
    );
    Ok(())
}
