//! The plan: which datasets (generated or reused by `membench-gen`), and which cells
//! (strategy × workload × format × size) to run.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};
use membench_protocol::{DataSchema, InputFormat, Shape, Sidecar, Workload};

use super::cell::{Dataset, Group};
use super::config::{RunConfig, Sizes};

/// The groups of the matrix, datasets (format, then size) outermost: each dataset with the
/// workloads of its schema, each workload with the strategies that do it. A strategy that is
/// not in the registry is an external program (`--command`): it is given every cell.
pub fn groups(datasets: &[Dataset], workloads: &[Workload], strategies: &[String]) -> Vec<Group> {
    let mut out = Vec::new();
    for d in datasets {
        for w in workloads
            .iter()
            .filter(|w| w.query().is_some() || w.is_join() == d.is_orders())
        {
            out.extend(groups_of(d, w, strategies));
        }
    }
    out
}

/// The group of one workload over one dataset, with the strategies that do it (none when no
/// strategy does).
fn groups_of(d: &Dataset, w: &Workload, strategies: &[String]) -> Option<Group> {
    let doing: Vec<String> = strategies
        .iter()
        .filter(|s| match membench_protocol::strategy(s) {
            Some(i) => i.does(w) && i.reads(d.compression()),
            None => true,
        })
        .cloned()
        .collect();
    (!doing.is_empty()).then(|| Group {
        workload: w.clone(),
        dataset: d.clone(),
        strategies: doing,
    })
}

/// A user's run: one group per query, over the tables it reads (the `FROM` table is the
/// dataset's file, a joined one its `items`), with the strategies that do it.
pub fn user_groups(user: &membench_query::UserRun, strategies: &[String]) -> Result<Vec<Group>> {
    let mut out = Vec::new();
    for (spec, plan) in &user.queries {
        let (mut rows, mut bytes) = (0, 0);
        let mut paths = Vec::new();
        for name in &plan.inputs {
            let (_, t) = user
                .tables
                .iter()
                .find(|(n, _)| n == name)
                .context("a planned query reads a known table")?;
            let (r, b) = t.count()?;
            // The size of a query's input: the rows of its `FROM` table.
            if paths.is_empty() {
                rows = r;
            }
            bytes += b;
            paths.push(t.path.clone());
        }
        let format = membench_protocol::InputFormat::of_path(
            user.tables
                .iter()
                .find(|(n, _)| *n == plan.inputs[0])
                .and_then(|(_, t)| t.files.first())
                .context("a table has files")?,
        )
        .unwrap_or(InputFormat::CSV);
        let dataset = Dataset {
            shape: generated_shape(&paths[0]),
            path: paths[0].clone(),
            items: paths.get(1).cloned(),
            format,
            rows,
            bytes,
        };
        let workload = Workload::Query(Box::new(spec.clone()));
        out.extend(groups(&[dataset], &[workload], strategies));
    }
    Ok(out)
}

/// The shape of a file membench generated (its sidecar `<file>.meta.json` says), so that a
/// query over generated tables of several cardinalities keeps them apart; a user's own file
/// (no sidecar, or one that does not parse) has none.
fn generated_shape(path: &Path) -> Shape {
    let mut side = path.as_os_str().to_owned();
    side.push(".meta.json");
    std::fs::read_to_string(&side)
        .ok()
        .and_then(|t| serde_json::from_str::<Sidecar>(&t).ok())
        .map(|m| m.options.shape)
        .unwrap_or_default()
}

/// `--query` without `--input`: each query typed and planned over each generated `sales` table
/// (named `sales`), one group per table and query; the planned runs, for the executor.
pub fn generated_query_groups(
    datasets: &[Dataset],
    c: &RunConfig,
    strategies: &[String],
) -> Result<(Vec<Group>, Vec<std::sync::Arc<membench_query::UserRun>>)> {
    let (mut groups, mut runs) = (Vec::new(), Vec::new());
    if c.generated_queries.is_empty() {
        return Ok((groups, runs));
    }
    for d in datasets.iter().filter(|d| !d.is_orders()) {
        let input = membench_query::InputArg {
            name: "sales".into(),
            path: d.path.clone(),
        };
        let run = membench_query::prepare(
            &[input],
            &c.generated_queries,
            &membench_query::CsvOptions::default(),
        )
        .with_context(|| format!("the queries over {}", d.path.display()))?;
        for (spec, _) in &run.queries {
            let w = Workload::Query(Box::new(spec.clone()));
            groups.extend(groups_of(d, &w, strategies));
        }
        runs.push(std::sync::Arc::new(run));
    }
    Ok((groups, runs))
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
        let queried = s == DataSchema::Sales && !c.generated_queries.is_empty();
        if queried || c.workloads.iter().any(|w| w.input() == Some(s)) {
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
            // The shape knobs are the sales table's: the join's tables have one shape.
            let shapes = match schema {
                DataSchema::Sales => c.shapes.clone(),
                DataSchema::Orders => vec![Shape::default()],
            };
            for shape in &shapes {
                for (flag, v) in &sizes {
                    out.push(generate(gen_bin, c, schema, f, shape, (flag, v))?);
                }
            }
        }
    }
    // Schema, format, shape, then size: each format's sizes ascending.
    out.sort_by_key(|d| (d.is_orders(), d.format, d.shape, d.rows));
    Ok(out)
}

pub(super) fn generate(
    gen_bin: &Path,
    c: &RunConfig,
    schema: DataSchema,
    format: InputFormat,
    shape: &Shape,
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
        .args(crate::util::shape_args(shape))
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
            shape: meta.options.shape,
        }),
        [o, i] if orders => Ok(Dataset {
            path: c.datasets.join(&o.file),
            items: Some(c.datasets.join(&i.file)),
            format: format_of(o),
            rows: o.rows,
            bytes: o.bytes + i.bytes,
            shape: Shape::default(),
        }),
        _ => bail!(
            "membench-gen printed {} sidecars, expected one per table",
            metas.len()
        ),
    }
}
