//! The plan: which datasets, and which cells (strategy × workload × format × size) to run.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use membench_protocol::Sidecar;

use super::RunArgs;

/// A dataset of the run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dataset {
    pub path: PathBuf,
    pub format: String,
    pub rows: u64,
    pub bytes: u64,
}

/// One cell of the matrix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cell {
    pub strategy: String,
    pub workload: String,
    pub dataset: Dataset,
}

impl Cell {
    /// `strategy · workload · format · rows`, for progress lines.
    pub fn label(&self) -> String {
        format!(
            "{} · {} · {} · {} rows",
            self.strategy,
            self.workload,
            self.dataset.format,
            membench_report::format::rows(self.dataset.rows)
        )
    }

    /// The same workload and dataset with another strategy.
    pub fn with_strategy(&self, strategy: &str) -> Cell {
        Cell {
            strategy: strategy.to_string(),
            ..self.clone()
        }
    }
}

/// A group of cells sharing a workload and a dataset, so they share a reference answer.
#[derive(Clone, Debug)]
pub struct Group {
    pub workload: String,
    pub dataset: Dataset,
    pub strategies: Vec<String>,
}

impl Group {
    /// The group's cells, in strategy order.
    pub fn cells(&self) -> impl Iterator<Item = Cell> + '_ {
        self.strategies.iter().map(|s| Cell {
            strategy: s.clone(),
            workload: self.workload.clone(),
            dataset: self.dataset.clone(),
        })
    }
}

/// The groups of the matrix, datasets (format, then size) outermost.
pub fn groups(datasets: &[Dataset], workloads: &[String], strategies: &[String]) -> Vec<Group> {
    let mut out = Vec::new();
    for d in datasets {
        for w in workloads {
            out.push(Group {
                workload: w.clone(),
                dataset: d.clone(),
                strategies: strategies.to_vec(),
            });
        }
    }
    out
}

/// The strategies to run: `--strategy`, or every strategy on by default.
pub fn strategies(a: &RunArgs) -> Result<Vec<String>> {
    if a.strategy.is_empty() {
        return Ok(membench_protocol::STRATEGIES
            .iter()
            .filter(|s| s.on_by_default)
            .map(|s| s.name.to_string())
            .collect());
    }
    for s in &a.strategy {
        if membench_protocol::strategy(s).is_none() {
            bail!(
                "unknown strategy {s:?} (known: {})",
                membench_protocol::STRATEGIES
                    .iter()
                    .map(|s| s.name)
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
    }
    Ok(a.strategy.clone())
}

/// Generates (or reuses) every dataset of the run: formats × sizes.
pub fn datasets(gen_bin: &Path, a: &RunArgs) -> Result<Vec<Dataset>> {
    let sizes: Vec<(&str, &String)> = if a.size.is_empty() {
        a.rows.iter().map(|r| ("--rows", r)).collect()
    } else {
        a.size.iter().map(|s| ("--size", s)).collect()
    };
    let mut out = Vec::new();
    for f in &a.format {
        for &(flag, v) in &sizes {
            out.push(generate(gen_bin, a, f, (flag, v))?);
        }
    }
    // Format, then size: each format's sizes ascending.
    out.sort_by(|x, y| (&x.format, x.rows).cmp(&(&y.format, y.rows)));
    Ok(out)
}

fn generate(gen_bin: &Path, a: &RunArgs, format: &str, size: (&str, &str)) -> Result<Dataset> {
    let out = Command::new(gen_bin)
        .args([
            size.0,
            size.1,
            "--format",
            format,
            "--seed",
            &a.seed.to_string(),
        ])
        .args(a.messy.then_some("--messy"))
        .args(["--json", "--out"])
        .arg(&a.datasets)
        .stderr(std::process::Stdio::inherit())
        .output()
        .context("running membench-gen")?;
    if !out.status.success() {
        bail!("membench-gen failed for {} {} {format}", size.0, size.1);
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let meta: Sidecar = serde_json::from_str(text.lines().last().unwrap_or(""))
        .context("parsing membench-gen's sidecar output")?;
    Ok(Dataset {
        path: a.datasets.join(&meta.file),
        format: meta.format.name().to_string(),
        rows: meta.rows,
        bytes: meta.bytes,
    })
}
