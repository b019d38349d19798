//! `cargo xtask baseline DIR…`: save a run's per-cell medians as a baseline to commit; several
//! folders (the shards of a sweep) are merged first.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use membench_report::gate::make_baseline;
use membench_report::merge::merge_dirs;

/// Save a run's per-cell medians (and heap spread) as a baseline file to commit.
#[derive(Args, Debug)]
pub struct BaselineArgs {
    /// Run folders (each holding results.jsonl); several are merged as `report` merges them.
    #[arg(required = true)]
    pub dirs: Vec<PathBuf>,
    /// Where to write the baseline.
    #[arg(long, default_value = "reports/baseline.json")]
    pub out: PathBuf,
    /// Merge records measured on different machines, or on different files under one
    /// dataset's name.
    #[arg(long)]
    pub allow_mixed: bool,
    /// Also store, per cell with a heap figure, the call sites holding the most heap at its
    /// peak: each cell run once more under the dhat runner (its dataset must still be there),
    /// so that `check --explain` can say which grew.
    #[arg(long)]
    pub sites: bool,
}

pub fn run(a: BaselineArgs) -> Result<()> {
    let records = merge_dirs(&a.dirs, crate::report::machines(a.allow_mixed))?;
    let mut b = make_baseline(&records);
    if a.sites {
        let heap_cells = b
            .cells
            .iter()
            .filter(|c| c.peak_heap_bytes.is_some())
            .count();
        for (i, c) in b
            .cells
            .iter_mut()
            .filter(|c| c.peak_heap_bytes.is_some())
            .enumerate()
        {
            let Some(r) = records.iter().find(|r| {
                r.key() == c.key && r.allocator == membench_protocol::Allocator::Counting
            }) else {
                continue;
            };
            eprintln!(
                "[{}/{heap_cells}] sites of {}",
                i + 1,
                membench_report::gate::cell_name(&c.key)
            );
            c.sites = crate::explain::sites_of(&crate::explain::job_of(r))?;
        }
    }
    std::fs::write(&a.out, serde_json::to_string_pretty(&b)? + "\n")
        .with_context(|| format!("writing {}", a.out.display()))?;
    eprintln!(
        "baseline of {} cells written to {}",
        b.cells.len(),
        a.out.display()
    );
    Ok(())
}
