//! `cargo xtask recommend`: which strategy for a file of N rows on a box with M bytes, predicted
//! from a run's measurements (`membench_report::predict`), and with `--verify` checked by
//! running the top choice at that size under that budget.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Args;
use membench_harness::{CellCommand, Status, run_cell};
use membench_protocol::{CellJob, GroupKey, InputFormat, Shape, Workload};
use membench_report::format::{bytes, duration_ns, rows};
use membench_report::predict::{Candidate, Fits, recommend};

use crate::util::{bin, binaries, free_bytes, sales_dataset};

/// Predict each strategy's memory and time at a size from a run's measurements, rank those
/// that fit a memory budget, and say why the others do not.
#[derive(Args, Debug)]
pub struct RecommendArgs {
    /// The dataset size to plan for, in rows (e.g. 50m).
    #[arg(long)]
    pub rows: String,
    /// The memory available (e.g. 8GiB).
    #[arg(long)]
    pub memory: String,
    /// A built-in workload, or the name of a user's query measured in `--from`.
    #[arg(long, default_value = "top-n")]
    pub workload: String,
    #[arg(long, default_value = "csv", value_parser = InputFormat::parse)]
    pub format: InputFormat,
    /// The run whose measurements to fit (a folder with results.jsonl).
    #[arg(long, default_value = "reports/example")]
    pub from: PathBuf,
    /// Generate the target size (when the disk has room), run the top choice under the budget
    /// and print the prediction error.
    #[arg(long)]
    pub verify: bool,
    /// `--verify` every strategy predicted to fit, not only the top one: predicted against
    /// measured memory and time for each; exits non-zero when one predicted to fit is not ok.
    #[arg(long, conflicts_with = "verify")]
    pub verify_all: bool,
    /// The number of distinct group keys to plan for: the run's tables of that
    /// `--key-cardinality` are fitted (the run must have measured it).
    #[arg(long, value_parser = membench_protocol::parse_key_cardinality)]
    pub cardinality: Option<u64>,
    /// Where `--verify` generates its dataset.
    #[arg(long, default_value = "datasets")]
    pub datasets: PathBuf,
    /// With `--verify`/`--verify-all`: exit non-zero when a measured memory is more than F
    /// times off its prediction, either way (e.g. 1.5; CI holds the 10M-row predictions to it).
    #[arg(long, value_name = "F", value_parser = parse_factor)]
    pub max_memory_error: Option<f64>,
}

fn parse_factor(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(f) if f >= 1.0 && f.is_finite() => Ok(f),
        _ => Err(format!(
            "--max-memory-error {s}: a factor of at least 1 (e.g. 1.5)"
        )),
    }
}

/// The shape of the run's tables to fit: the one of `--cardinality` keys, else the default
/// table's, else the run's only one. A run that measured several shapes and none asked for is
/// refused with the list.
fn shape_of(
    records: &[membench_report::record::Record],
    workload: &Workload,
    format: InputFormat,
    cardinality: Option<u64>,
    from: &std::path::Path,
) -> Result<Shape> {
    let mut shapes: Vec<Shape> = records
        .iter()
        .filter(|r| r.workload == *workload && r.format == format)
        .map(|r| r.shape)
        .collect();
    shapes.sort();
    shapes.dedup();
    let list = || {
        shapes
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>()
            .join("; ")
    };
    match cardinality {
        Some(k) => shapes
            .iter()
            .find(|s| s.key_cardinality == Some(k))
            .copied()
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "--cardinality {k}: {} measured {workload} · {format} on tables of: {}; \
                     measure this cardinality (run --key-cardinality {k})",
                    from.display(),
                    list()
                )
            }),
        None if shapes.len() <= 1 || shapes.contains(&Shape::default()) => Ok(shapes
            .first()
            .copied()
            .filter(|_| shapes.len() == 1)
            .unwrap_or_default()),
        None => bail!(
            "{} measured {workload} · {format} on several shapes of table ({}): say which with \
             --cardinality N",
            from.display(),
            list()
        ),
    }
}

pub fn run(a: RecommendArgs) -> Result<()> {
    let target = membench_protocol::parse_count(&a.rows).map_err(anyhow::Error::msg)?;
    if target == 0 {
        bail!("--rows must be at least 1");
    }
    let budget = membench_protocol::parse_size(&a.memory).map_err(anyhow::Error::msg)?;
    let records = membench_report::record::read_records(&a.from.join("results.jsonl"))?;
    let workload = match Workload::parse(&a.workload) {
        Ok(w) => w,
        // A user's query, by its name in the run.
        Err(e) => records
            .iter()
            .map(|r| &r.workload)
            .find(|w| w.query().is_some() && w.name() == a.workload)
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("{e}; nor is it a query of {}", a.from.display()))?,
    };
    let group = GroupKey {
        shape: shape_of(&records, &workload, a.format, a.cardinality, &a.from)?,
        workload: workload.clone(),
        format: a.format,
    };
    let (ranked, left_out) = recommend(&records, &group, target, budget);
    if workload.query().is_some() {
        if ranked.is_empty() {
            bail!(
                "{} measured the query {workload} at one size only (its input's): membench does \
                 not extrapolate a prediction from one point. Measure it at other sizes (the \
                 input cut or grown) to plan for {} rows",
                a.from.display(),
                rows(target)
            );
        }
        if a.verify || a.verify_all {
            bail!("--verify generates the built-in datasets: it does not apply to a user's query");
        }
    }
    if ranked.is_empty() {
        bail!(
            "{} has no {} · {} cells measured at two sizes or more",
            a.from.display(),
            workload,
            a.format
        );
    }
    println!(
        "{} · {} at {} rows with {} of memory (fitted on {}; memory = peak anonymous RSS):\n",
        workload,
        a.format,
        rows(target),
        bytes(budget as f64),
        a.from.display()
    );
    print_table(&ranked);
    for l in &left_out {
        println!("left out: {l}");
    }
    let Some(top) = ranked.iter().find(|c| c.fits == Fits::Yes) else {
        println!("\nno strategy fits for sure: more memory, or a smaller input per run");
        return Ok(());
    };
    println!(
        "\nrecommended: {} (≈ {}, ≈ {})",
        top.strategy,
        bytes(top.memory_bytes.mid),
        duration_ns(top.wall_ns.mid)
    );
    let chosen: Vec<&Candidate> = match (a.verify, a.verify_all) {
        (true, _) => vec![top],
        (_, true) => ranked.iter().filter(|c| c.fits == Fits::Yes).collect(),
        _ => Vec::new(),
    };
    if chosen.is_empty() {
        return Ok(());
    }
    let input = verify_input(&a, target, &group.shape)?;
    let mut wrong = Vec::new();
    let mut off = Vec::new();
    for c in chosen {
        match verify(&input, &workload, c, target, budget)? {
            None => wrong.push(c.strategy.clone()),
            Some(measured) => {
                let factor = (c.memory_bytes.mid / measured).max(measured / c.memory_bytes.mid);
                if a.max_memory_error.is_some_and(|f| factor > f) {
                    off.push(format!(
                        "{} (predicted {}, measured {}: {factor:.2}×)",
                        c.strategy,
                        bytes(c.memory_bytes.mid),
                        bytes(measured)
                    ));
                }
            }
        }
    }
    if !wrong.is_empty() {
        bail!(
            "predicted to fit {} of memory at {} rows, but not ok: {}",
            bytes(budget as f64),
            rows(target),
            wrong.join(", ")
        );
    }
    if let (false, Some(f)) = (off.is_empty(), a.max_memory_error) {
        bail!(
            "memory predictions at {} rows more than {f}× off: {}",
            rows(target),
            off.join("; ")
        );
    }
    Ok(())
}

fn print_table(ranked: &[Candidate]) {
    println!(
        "  {:<16} {:<30} {:<30} {:<6} why",
        "strategy", "memory (interval)", "time (interval)", "fits"
    );
    for c in ranked {
        let m = &c.memory_bytes;
        let t = &c.wall_ns;
        println!(
            "  {:<16} {:<30} {:<30} {:<6} {}",
            c.strategy,
            format!("{} ({}–{})", bytes(m.mid), bytes(m.lo), bytes(m.hi)),
            format!(
                "{} ({}–{})",
                duration_ns(t.mid),
                duration_ns(t.lo),
                duration_ns(t.hi)
            ),
            match c.fits {
                Fits::Yes => "yes",
                Fits::Maybe => "maybe",
                Fits::No => "no",
            },
            c.why
        );
    }
}

/// Bytes a CSV row takes on disk, for the disk-space check (the generator's average is 189).
const CSV_ROW_BYTES: u64 = 200;

/// The table `--verify` runs on: the target size generated (the run's shape), when the disk
/// has room.
fn verify_input(a: &RecommendArgs, target: u64, shape: &Shape) -> Result<PathBuf> {
    let need = target
        * CSV_ROW_BYTES
        * if a.format == InputFormat::PARQUET {
            2
        } else {
            1
        };
    std::fs::create_dir_all(&a.datasets)
        .with_context(|| format!("creating {}", a.datasets.display()))?;
    let free = free_bytes(&a.datasets)?;
    if need > free {
        bail!(
            "--verify needs ≈ {} of disk for {} rows, {} has {} free",
            bytes(need as f64),
            rows(target),
            a.datasets.display(),
            bytes(free as f64)
        );
    }
    sales_dataset(&binaries()?, &a.datasets, target, a.format, shape)
}

/// Runs one candidate under the budget on `input` and prints its prediction error: its
/// measured memory need, `None` when it did not end ok.
fn verify(
    input: &std::path::Path,
    workload: &Workload,
    top: &Candidate,
    target: u64,
    budget: u64,
) -> Result<Option<f64>> {
    let dir = binaries()?;
    // The budget is enforced by the counting runner (heap); time and RSS come from the
    // system-allocator runner, as the fit's did.
    let job = CellJob {
        memory_limit_bytes: Some(budget),
        ..CellJob::new(&top.strategy, workload.clone(), input)
    };
    let cell = |runner: &str| -> Result<membench_harness::Measured> {
        let cmd = CellCommand::new(bin(&dir, runner)?).args(job.to_args());
        Ok(run_cell(&cmd))
    };
    let counted = cell("membench-runner")?;
    if counted.status != Status::Ok {
        println!(
            "verify: {} at {} rows under {}: {} — the prediction was wrong",
            top.strategy,
            rows(target),
            bytes(budget as f64),
            counted.status.name()
        );
        return Ok(None);
    }
    let timed = cell("membench-runner-sys")?;
    let wall = timed
        .runner
        .as_ref()
        .and_then(|r| r.measure.wall_ns)
        .unwrap_or(timed.process.process_wall_ns) as f64;
    let memory = timed.process.peak_rss_anon_bytes as f64;
    println!(
        "verify: {} at {} rows under {}: ok; memory {} (predicted {}, error {:+.0} %), time {} \
         (predicted {}, error {:+.0} %)",
        top.strategy,
        rows(target),
        bytes(budget as f64),
        bytes(memory),
        bytes(top.memory_bytes.mid),
        (top.memory_bytes.mid / memory - 1.0) * 100.0,
        duration_ns(wall),
        duration_ns(top.wall_ns.mid),
        (top.wall_ns.mid / wall - 1.0) * 100.0
    );
    Ok(Some(memory))
}
