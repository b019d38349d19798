//! `cargo xtask report DIR…`: recompute everything from `DIR/results.jsonl`; several folders
//! (the shards of a sweep, runs of different strategies) are merged into `--out` first.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Args;
use membench_report::merge::{Machines, merge_dirs};

/// Recompute REPORT.md, summary.csv, summary.json, index.html and charts from results.jsonl.
#[derive(Args, Debug)]
pub struct ReportArgs {
    /// Run folders (each holding results.jsonl). Several are merged (refusing records from
    /// different machines or of different files under one name unless --allow-mixed, and
    /// overlapping shards).
    #[arg(required = true)]
    pub dirs: Vec<PathBuf>,
    /// With several folders: the folder that receives the merged results.jsonl and the report.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Merge records measured on different machines, or on different files under one
    /// dataset's name (overlapping shards are refused regardless).
    #[arg(long)]
    pub allow_mixed: bool,
    /// A baseline (as written by `cargo xtask baseline`, e.g. reports/baseline.json) that
    /// index.html compares the run against, cell by cell.
    #[arg(long)]
    pub baseline: Option<PathBuf>,
}

/// Whether `--allow-mixed` was given.
pub fn machines(allow_mixed: bool) -> Machines {
    if allow_mixed {
        Machines::Mixed
    } else {
        Machines::Same
    }
}

/// Writes the merged `results.jsonl` of `dirs` into `out` (which must not hold one yet).
pub fn write_merged(dirs: &[PathBuf], out: &std::path::Path, m: Machines) -> Result<usize> {
    let records = merge_dirs(dirs, m)?;
    let results = out.join("results.jsonl");
    if results.exists() {
        bail!("{} exists: merge into a new folder", results.display());
    }
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let mut text = String::new();
    for r in &records {
        text.push_str(&serde_json::to_string(r)?);
        text.push('\n');
    }
    std::fs::write(&results, text).with_context(|| format!("writing {}", results.display()))?;
    Ok(records.len())
}

pub fn run(a: ReportArgs) -> Result<()> {
    let dir = match (&a.dirs[..], &a.out) {
        ([one], None) => one.clone(),
        (_, None) => {
            bail!("several run folders are merged into a new one: pass --out DIR")
        }
        (dirs, Some(out)) => {
            let n = write_merged(dirs, out, machines(a.allow_mixed))?;
            eprintln!(
                "merged {n} records of {} folders into {}",
                dirs.len(),
                out.join("results.jsonl").display()
            );
            out.clone()
        }
    };
    let written = membench_report::write_report_with(&dir, a.baseline.as_deref())?;
    eprintln!(
        "wrote {} files; open {}",
        written.len(),
        dir.join("REPORT.md").display()
    );
    Ok(())
}
