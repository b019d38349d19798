//! The plan: which datasets, and which cells (strategy × workload × format × size) to run.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use membench_protocol::{DataSchema, InputFormat, Sidecar, Workload};

use super::config::{RunConfig, Sizes};

/// A dataset of the run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dataset {
    /// The file (`orders` datasets: the `orders` table).
    pub path: PathBuf,
    /// `orders` datasets: the `order_items` table.
    pub items: Option<PathBuf>,
    pub format: InputFormat,
    /// Rows (`orders` datasets: orders).
    pub rows: u64,
    /// Bytes (`orders` datasets: of both tables).
    pub bytes: u64,
}

impl Dataset {
    /// Whether this dataset is the `orders` tables (the `join` workload's input).
    pub fn is_orders(&self) -> bool {
        self.items.is_some()
    }

    /// How the file is compressed (`csv.gz`, `csv.zst` datasets).
    pub fn compression(&self) -> membench_protocol::Compression {
        self.format.compression
    }
}

/// One cell of the matrix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cell {
    /// A strategy's name, or an external program's.
    pub strategy: String,
    pub workload: Workload,
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
    pub workload: Workload,
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

/// The groups of the matrix, datasets (format, then size) outermost: each dataset with the
/// workloads of its schema, each workload with the strategies that do it. A strategy that is
/// not in the registry is an external program (`--command`): it is given every cell.
pub fn groups(datasets: &[Dataset], workloads: &[Workload], strategies: &[String]) -> Vec<Group> {
    let mut out = Vec::new();
    for d in datasets {
        for w in workloads.iter().filter(|w| w.is_join() == d.is_orders()) {
            let doing: Vec<String> = strategies
                .iter()
                .filter(|s| match membench_protocol::strategy(s) {
                    Some(i) => i.does(w) && i.reads(d.compression()),
                    None => true,
                })
                .cloned()
                .collect();
            if !doing.is_empty() {
                out.push(Group {
                    workload: w.clone(),
                    dataset: d.clone(),
                    strategies: doing,
                });
            }
        }
    }
    out
}

/// `--shard I/N`: the I-th of N deterministic slices of the matrix's cells (1-based), for a
/// sweep split over machines or jobs and merged afterwards (`report DIR1 DIR2 … --out`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl Shard {
    /// Parses `I/N` with 1 ≤ I ≤ N.
    pub fn parse(s: &str) -> Result<Shard, String> {
        let parsed = s
            .split_once('/')
            .and_then(|(i, n)| Some((i.trim().parse().ok()?, n.trim().parse().ok()?)));
        match parsed {
            Some((index, count)) if index >= 1 && index <= count => Ok(Shard { index, count }),
            _ => Err(format!("{s:?}: expected I/N with 1 ≤ I ≤ N (e.g. 2/4)")),
        }
    }

    /// This shard's cells: every N-th cell of the plan (in its order), starting at the I-th,
    /// so shards of a plan are disjoint, cover it, and differ in size by at most one cell.
    pub fn select(&self, groups: Vec<Group>) -> Vec<Group> {
        let mut i = 0usize;
        groups
            .into_iter()
            .filter_map(|mut g| {
                g.strategies.retain(|_| {
                    let keep = i % self.count == self.index - 1;
                    i += 1;
                    keep
                });
                (!g.strategies.is_empty()).then_some(g)
            })
            .collect()
    }
}

/// Generates (or reuses) every dataset of the run: formats × sizes, of the `sales` schema for
/// its `sales` workloads and of the `orders` schema for `join` (sizes count orders).
pub fn datasets(gen_bin: &Path, c: &RunConfig) -> Result<Vec<Dataset>> {
    let sizes: Vec<(&str, String)> = match &c.sizes {
        Sizes::Rows(r) => r.iter().map(|n| ("--rows", n.to_string())).collect(),
        Sizes::Bytes(b) => b.iter().map(|n| ("--size", n.to_string())).collect(),
    };
    let mut schemas = Vec::new();
    for s in [DataSchema::Sales, DataSchema::Orders] {
        if c.workloads.iter().any(|w| w.input() == s) {
            schemas.push(s);
        }
    }
    let mut out = Vec::new();
    for &schema in &schemas {
        for &f in &c.formats {
            // The join's tables are not compressed: its cells run on csv and parquet.
            if schema == DataSchema::Orders && f.is_compressed() {
                continue;
            }
            for (flag, v) in &sizes {
                out.push(generate(gen_bin, c, schema, f, (flag, v))?);
            }
        }
    }
    // Schema, format, then size: each format's sizes ascending.
    out.sort_by_key(|d| (d.is_orders(), d.format, d.rows));
    Ok(out)
}

fn generate(
    gen_bin: &Path,
    c: &RunConfig,
    schema: DataSchema,
    format: InputFormat,
    size: (&str, &str),
) -> Result<Dataset> {
    let orders = schema == DataSchema::Orders;
    let out = Command::new(gen_bin)
        .args([
            size.0,
            size.1,
            "--format",
            format.name(),
            "--seed",
            &c.seed.to_string(),
            "--schema",
            schema.name(),
        ])
        .args((c.messy && !orders).then_some("--messy"))
        .args(
            c.files
                .filter(|_| !orders)
                .map(|n| ["--files".to_string(), n.to_string()])
                .into_iter()
                .flatten(),
        )
        .args((c.shuffle_items && orders).then_some("--shuffle-items"))
        .args(["--json", "--out"])
        .arg(&c.datasets)
        .stderr(std::process::Stdio::inherit())
        .output()
        .context("running membench-gen")?;
    if !out.status.success() {
        bail!(
            "membench-gen failed for {} {} {format} ({})",
            size.0,
            size.1,
            schema.name()
        );
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let metas: Vec<Sidecar> = text
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()
        .context("parsing membench-gen's sidecar output")?;
    let format_of = |m: &Sidecar| InputFormat {
        format: m.format,
        compression: m.compressed,
    };
    match &metas[..] {
        [meta] if !orders && format_of(meta) == format => Ok(Dataset {
            path: c.datasets.join(&meta.file),
            items: None,
            format,
            rows: meta.rows,
            bytes: meta.bytes,
        }),
        [o, i] if orders => Ok(Dataset {
            path: c.datasets.join(&o.file),
            items: Some(c.datasets.join(&i.file)),
            format: format_of(o),
            rows: o.rows,
            bytes: o.bytes + i.bytes,
        }),
        _ => bail!(
            "membench-gen printed {} sidecars, expected one per table",
            metas.len()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> Vec<Group> {
        let d = Dataset {
            path: "sales-10k-s42.csv".into(),
            items: None,
            format: InputFormat::CSV,
            rows: 10_000,
            bytes: 1,
        };
        let s: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        groups(&[d], &Workload::SALES, &s)
    }

    fn cells(groups: &[Group]) -> Vec<(Workload, String)> {
        groups
            .iter()
            .flat_map(|g| g.strategies.iter().map(|s| (g.workload.clone(), s.clone())))
            .collect()
    }

    #[test]
    fn shards_are_disjoint_cover_the_plan_and_are_balanced() {
        let all = cells(&plan());
        assert_eq!(all.len(), 9);
        let shards: Vec<Vec<(Workload, String)>> = (1..=4)
            .map(|i| cells(&Shard { index: i, count: 4 }.select(plan())))
            .collect();
        let mut joined: Vec<_> = shards.concat();
        joined.sort();
        let mut expected = all.clone();
        expected.sort();
        assert_eq!(joined, expected);
        assert!(shards.iter().all(|s| s.len() == 2 || s.len() == 3));
        assert_eq!(Shard::parse("2/4").unwrap(), Shard { index: 2, count: 4 });
        for bad in ["0/2", "3/2", "x", "1/0"] {
            assert!(Shard::parse(bad).is_err(), "{bad}");
        }
    }
}
