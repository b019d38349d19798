//! [`Report`]: everything the exporters and sections need, derived from the records; and
//! [`write_report`], which reads a run folder and writes every output into it.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::record::{Record, RunContext};
use crate::stats::{CellStats, GrowthFit, StrategyKey};
use crate::{export, gate, plot, record, stats};
use membench_protocol::GroupKey;

/// Everything an exporter needs, derived from the records.
#[derive(Debug, Clone)]
pub struct Report {
    pub title: String,
    pub context: RunContext,
    pub cells: Vec<CellStats>,
    pub growth: std::collections::BTreeMap<StrategyKey, GrowthFit>,
    /// Chart files (relative to the report folder) per (workload, format).
    pub charts: Vec<plot::Chart>,
    pub records: Vec<Record>,
    /// A baseline to compare against (its label, its cells), when one was given.
    pub baseline: Option<(String, gate::Baseline)>,
}

impl Report {
    /// Builds the report data from records (charts are listed, not drawn).
    pub fn from_records(title: &str, records: Vec<Record>) -> Report {
        // An incremental run's records are not cells of the matrix (its own section shows them).
        let matrix: Vec<Record> = records
            .iter()
            .filter(|r| r.incremental.is_none())
            .cloned()
            .collect();
        let cells = stats::cells(&matrix);
        let growth = stats::growth_by_strategy(&cells);
        let context = records
            .first()
            .map(|r| r.context.clone())
            .unwrap_or_default();
        let charts = plot::planned_charts(&cells);
        Report {
            title: title.to_string(),
            context,
            cells,
            growth,
            charts,
            records,
            baseline: None,
        }
    }

    /// One group (a workload over a format and a shape): its cells, its sizes and its
    /// strategies, sorted.
    pub fn group(&self, g: &GroupKey) -> (Vec<&CellStats>, Vec<u64>, Vec<&str>) {
        let cells: Vec<&CellStats> = self.cells.iter().filter(|c| c.key.group() == *g).collect();
        let mut sizes: Vec<u64> = cells.iter().map(|c| c.key.rows).collect();
        sizes.sort_unstable();
        sizes.dedup();
        let mut strategies: Vec<&str> = cells.iter().map(|c| c.key.strategy.as_str()).collect();
        strategies.sort_unstable();
        strategies.dedup();
        (cells, sizes, strategies)
    }

    /// The groups (workload, format, shape), in order.
    pub fn groups(&self) -> Vec<GroupKey> {
        let mut g: Vec<GroupKey> = self.cells.iter().map(|c| c.key.group()).collect();
        g.dedup();
        g.sort();
        g.dedup();
        g
    }
}

/// Reads `dir/results.jsonl` and writes REPORT.md, summary.csv, summary.json, index.html and the
/// charts into `dir`. Returns the files written.
pub fn write_report(dir: &Path) -> Result<Vec<PathBuf>> {
    write_report_with(dir, None)
}

/// [`write_report`], with `index.html` comparing the run against a baseline file (as written
/// by `cargo xtask baseline`).
pub fn write_report_with(dir: &Path, baseline: Option<&Path>) -> Result<Vec<PathBuf>> {
    let records = record::read_records(&dir.join("results.jsonl"))?;
    anyhow::ensure!(
        !records.is_empty(),
        "{}: no records",
        dir.join("results.jsonl").display()
    );
    let title = dir
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut report = Report::from_records(&title, records);
    if let Some(path) = baseline {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let b: gate::Baseline = serde_json::from_str(&text)
            .with_context(|| format!("{}: not a membench baseline", path.display()))?;
        report.baseline = Some((path.display().to_string(), b));
    }
    let mut written = plot::draw_all(&mut report, dir)?;
    for exporter in export::all() {
        let path = dir.join(exporter.file_name());
        let text = exporter.render(&report)?;
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
        written.push(path);
    }
    Ok(written)
}
