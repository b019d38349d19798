//! The plan: which datasets, and which cells (strategy × workload × format × size) to run.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use membench_protocol::{DataSchema, Sidecar};

use super::RunArgs;

/// A dataset of the run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dataset {
    /// The file (`orders` datasets: the `orders` table).
    pub path: PathBuf,
    /// `orders` datasets: the `order_items` table.
    pub items: Option<PathBuf>,
    pub format: String,
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
        membench_protocol::Compression::of_path(&self.path)
    }
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

/// The groups of the matrix, datasets (format, then size) outermost: each dataset with the
/// workloads of its schema, each workload with the strategies that do it. A strategy that is
/// not in the registry is an external program (`--command`): it is given every cell.
pub fn groups(datasets: &[Dataset], workloads: &[String], strategies: &[String]) -> Vec<Group> {
    let mut out = Vec::new();
    for d in datasets {
        for w in workloads.iter().filter(|w| is_join(w) == d.is_orders()) {
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
    pub fn parse(s: &str) -> Result<Shard> {
        let parsed = s
            .split_once('/')
            .and_then(|(i, n)| Some((i.trim().parse().ok()?, n.trim().parse().ok()?)));
        match parsed {
            Some((index, count)) if index >= 1 && index <= count => Ok(Shard { index, count }),
            _ => bail!("--shard {s:?}: expected I/N with 1 ≤ I ≤ N (e.g. 2/4)"),
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

fn is_join(workload: &str) -> bool {
    workload == membench_protocol::JOIN
}

/// The strategies to run: `--strategy`, or every strategy on by default; then the external
/// programs of `--command` (alone when `--strategy` is not given with them).
pub fn strategies(a: &RunArgs, externals: &[super::external::External]) -> Result<Vec<String>> {
    let mut out = if a.strategy.is_empty() && !externals.is_empty() {
        Vec::new()
    } else {
        builtin_strategies(a)?
    };
    out.extend(externals.iter().map(|e| e.name.clone()));
    Ok(out)
}

fn builtin_strategies(a: &RunArgs) -> Result<Vec<String>> {
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

/// Generates (or reuses) every dataset of the run: formats × sizes, of the `sales` schema for
/// its `sales` workloads and of the `orders` schema for `join` (sizes count orders).
pub fn datasets(gen_bin: &Path, a: &RunArgs) -> Result<Vec<Dataset>> {
    let sizes: Vec<(&str, &String)> = if a.size.is_empty() {
        a.rows.iter().map(|r| ("--rows", r)).collect()
    } else {
        a.size.iter().map(|s| ("--size", s)).collect()
    };
    let mut schemas = Vec::new();
    if a.workload.iter().any(|w| !is_join(w)) {
        schemas.push(DataSchema::Sales);
    }
    if a.workload.iter().any(|w| is_join(w)) {
        schemas.push(DataSchema::Orders);
    }
    let mut out = Vec::new();
    for &schema in &schemas {
        for f in &a.format {
            let (_, compression) = membench_protocol::Compression::parse_format_name(f)
                .with_context(|| format!("unknown format {f:?} (csv, parquet, csv.gz, csv.zst)"))?;
            // The join's tables are not compressed: its cells run on csv and parquet.
            if schema == DataSchema::Orders && !compression.is_none() {
                continue;
            }
            for &(flag, v) in &sizes {
                out.push(generate(gen_bin, a, schema, f, (flag, v))?);
            }
        }
    }
    // Schema, format, then size: each format's sizes ascending.
    out.sort_by(|x, y| (x.is_orders(), &x.format, x.rows).cmp(&(y.is_orders(), &y.format, y.rows)));
    Ok(out)
}

fn generate(
    gen_bin: &Path,
    a: &RunArgs,
    schema: DataSchema,
    format: &str,
    size: (&str, &str),
) -> Result<Dataset> {
    let orders = schema == DataSchema::Orders;
    let out = Command::new(gen_bin)
        .args([
            size.0,
            size.1,
            "--format",
            format,
            "--seed",
            &a.seed.to_string(),
            "--schema",
            schema.name(),
        ])
        .args((a.messy && !orders).then_some("--messy"))
        .args(
            a.files
                .filter(|_| !orders)
                .map(|n| ["--files".to_string(), n.to_string()])
                .into_iter()
                .flatten(),
        )
        .args((a.shuffle_items && orders).then_some("--shuffle-items"))
        .args(["--json", "--out"])
        .arg(&a.datasets)
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
    match &metas[..] {
        [meta] if !orders && meta.compressed.format_name(meta.format) == format => Ok(Dataset {
            path: a.datasets.join(&meta.file),
            items: None,
            format: meta.compressed.format_name(meta.format),
            rows: meta.rows,
            bytes: meta.bytes,
        }),
        [o, i] if orders => Ok(Dataset {
            path: a.datasets.join(&o.file),
            items: Some(a.datasets.join(&i.file)),
            format: o.format.name().to_string(),
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
            format: "csv".into(),
            rows: 10_000,
            bytes: 1,
        };
        let s: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        groups(&[d], &["top-n".into(), "group-by".into(), "etl".into()], &s)
    }

    fn cells(groups: &[Group]) -> Vec<(String, String)> {
        groups
            .iter()
            .flat_map(|g| g.strategies.iter().map(|s| (g.workload.clone(), s.clone())))
            .collect()
    }

    #[test]
    fn shards_are_disjoint_cover_the_plan_and_are_balanced() {
        let all = cells(&plan());
        assert_eq!(all.len(), 9);
        let shards: Vec<Vec<(String, String)>> = (1..=4)
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
