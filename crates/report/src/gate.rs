//! The memory regression gate: a baseline of per-cell medians, a comparison with per-metric
//! tolerances, and scaling assertions against each strategy's declared memory growth.
//!
//! Heap peaks from the counting allocator are the gate's backbone: for single-threaded
//! strategies they repeat to the byte, so the heap tolerance is tight. Cells whose peak varies
//! between repetitions (engines with their own thread pools) get a per-cell tolerance of three
//! times the spread the baseline run itself observed, and a peak regresses only when every
//! repetition of the run exceeds its allowance (timing only adds to a peak). RSS is looser; time is a ratio and only
//! warns unless asked to fail.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use membench_protocol::{Growth, InputFormat, Status, Workload};

use crate::format::{bytes, duration_ns, rows};
use crate::record::{CellKey, Record, RunContext};
use crate::stats::{self, Spread};

/// Baseline file format version.
pub const BASELINE_VERSION: u32 = 1;

/// One cell of a baseline.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BaselineCell {
    #[serde(flatten)]
    pub key: CellKey,
    pub status: Status,
    pub peak_heap_bytes: Option<f64>,
    /// (max − min) / median of the peak heap over the baseline's repetitions.
    pub peak_heap_spread: f64,
    pub peak_rss_bytes: Option<f64>,
    pub wall_ns: Option<f64>,
    /// `baseline --sites`: the call sites holding the most heap at the peak (dhat runner), for
    /// `check --explain` to say which grew.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sites: Vec<crate::sites::Site>,
    /// External programs: the tree's processes by command at the RSS peak of the repetition
    /// nearest the median, for `check --explain` to say which process grew.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub processes: Vec<membench_protocol::ProcessShare>,
}

/// A committed baseline: medians per cell, and the strategies' declared growth.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Baseline {
    pub version: u32,
    pub context: RunContext,
    pub cells: Vec<BaselineCell>,
}

fn rel_spread(s: &Option<Spread>) -> f64 {
    s.filter(|s| s.median > 0.0)
        .map(|s| (s.max - s.min) / s.median)
        .unwrap_or(0.0)
}

/// Builds a baseline from a run's records.
pub fn make_baseline(records: &[Record]) -> Baseline {
    let cells = stats::cells(records)
        .into_iter()
        .map(|c| BaselineCell {
            processes: c
                .peak_rss_bytes
                .and_then(|median| {
                    let of_cell: Vec<&Record> =
                        records.iter().filter(|r| r.key() == c.key).collect();
                    crate::processes::nearest(&of_cell, median.median)
                })
                .map(|r| r.process.peak_processes.clone())
                .unwrap_or_default(),
            peak_heap_spread: rel_spread(&c.peak_heap_bytes),
            peak_heap_bytes: c.peak_heap_bytes.map(|s| s.median),
            peak_rss_bytes: c.peak_rss_bytes.map(|s| s.median),
            wall_ns: c.wall_ns.map(|s| s.median),
            status: c.status,
            key: c.key,
            sites: Vec::new(),
        })
        .collect();
    Baseline {
        version: BASELINE_VERSION,
        context: records
            .first()
            .map(|r| r.context.clone())
            .unwrap_or_default(),
        cells,
    }
}

/// How much change each metric may show before it counts as a regression.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Tolerances {
    /// Relative heap increase allowed (default 5 %), widened per cell to 3 × its baseline spread.
    pub heap: f64,
    /// Heap increase always allowed, in bytes (default 64 KiB): tiny cells are not noise-free.
    pub heap_slack_bytes: f64,
    /// Relative RSS increase allowed (default 25 %).
    pub rss: f64,
    /// RSS increase always allowed, in bytes (default 4 MiB: page-cache and runtime jitter).
    pub rss_slack_bytes: f64,
    /// Time ratio now / baseline that warns (default 1.5).
    pub time_ratio: f64,
    /// Whether a time regression fails the check (default: warn only).
    pub fail_on_time: bool,
}

impl Default for Tolerances {
    fn default() -> Self {
        Tolerances {
            heap: 0.05,
            heap_slack_bytes: 64.0 * 1024.0,
            rss: 0.25,
            rss_slack_bytes: 4.0 * 1048576.0,
            time_ratio: 1.5,
            fail_on_time: false,
        }
    }
}

/// The outcome for one metric of one cell.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    Pass,
    Improved,
    Warn,
    Regression,
    /// Beyond the tolerance, within an unexpired acknowledgement (`membench-allow.toml`).
    Allowed,
}

impl Verdict {
    fn text(self) -> &'static str {
        match self {
            Verdict::Pass => "ok",
            Verdict::Improved => "improved",
            Verdict::Warn => "warn",
            Verdict::Regression => "**REGRESSION**",
            Verdict::Allowed => "allowed",
        }
    }
}

/// One line of the comparison table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CheckRow {
    pub cell: String,
    pub metric: String,
    pub baseline: String,
    pub now: String,
    pub change: String,
    pub verdict: Verdict,
    /// The measured value (bytes, or nanoseconds for time), for an acknowledgement's limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub now_value: Option<f64>,
}

/// One scaling assertion.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScalingRow {
    pub cell: String,
    pub declared: Growth,
    /// Slope of log(peak heap) on log(rows) between the two largest sizes.
    pub slope: f64,
    pub verdict: Verdict,
}

/// Everything `check` found.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CheckOutcome {
    pub rows: Vec<CheckRow>,
    pub scaling: Vec<ScalingRow>,
    /// Baseline cells the run did not have.
    pub not_run: Vec<String>,
    /// Strategies of the run with no baseline cell at all, and how many cells each ran.
    #[serde(default)]
    pub not_gated: Vec<(String, usize)>,
    /// Cells compared.
    pub compared: usize,
    /// Acknowledgements past their expiry date ([`crate::allow`]): each fails the check.
    #[serde(default)]
    pub expired_allowances: usize,
}

impl CheckOutcome {
    /// Number of failing verdicts.
    pub fn regressions(&self) -> usize {
        self.expired_allowances
            + self
                .rows
                .iter()
                .filter(|r| r.verdict == Verdict::Regression)
                .count()
            + self
                .scaling
                .iter()
                .filter(|r| r.verdict == Verdict::Regression)
                .count()
    }
}

pub fn cell_name(k: &CellKey) -> String {
    format!("{} · {} · {}", k.group().title(), k.strategy, rows(k.rows))
}

fn pct(base: f64, now: f64) -> String {
    if base == 0.0 {
        return "n/a".into();
    }
    format!("{:+.1}%", (now / base - 1.0) * 100.0)
}

/// A strategy's declared growth for a workload on a format: its registry metadata
/// (`membench_protocol::STRATEGIES`), or for a strategy the registry does not know (an
/// external program, an older run) what its records declared.
pub fn declared_growth(
    records: &[Record],
    strategy: &str,
    workload: &Workload,
    format: InputFormat,
) -> Option<Growth> {
    membench_protocol::strategy(strategy)
        .and_then(|info| info.growth.of(workload, format.format))
        .or_else(|| {
            records
                .iter()
                .find(|r| r.strategy == strategy && r.workload == *workload && r.format == format)
                .and_then(|r| r.measure.declared_growth)
        })
}

/// Scaling assertions: for each strategy with a declared growth and at least two sizes, the
/// slope of log(median peak heap) on log(rows) between the two largest sizes.
pub fn scaling(records: &[Record]) -> Vec<ScalingRow> {
    let cells = stats::cells(records);
    let mut out = Vec::new();
    // Growth is declared per strategy, workload family *and format* (lazy is bounded on CSV,
    // linear on Parquet; streaming is bounded on sales, grows with the orders in a join).
    for ((g, s), pts) in stats::heap_points(&cells) {
        let Some(d) = declared_growth(records, &s, &g.workload, g.format) else {
            continue;
        };
        if pts.len() < 2 {
            continue;
        }
        let last = &pts[pts.len() - 2..];
        let Some(fit) = stats::fit_growth(last) else {
            continue;
        };
        out.push(ScalingRow {
            cell: format!(
                "{} · {s} ({}→{} rows)",
                g.title(),
                rows(last[0].0),
                rows(last[1].0)
            ),
            declared: d,
            slope: fit.slope,
            verdict: if fit.slope > d.max_slope() {
                Verdict::Regression
            } else {
                Verdict::Pass
            },
        });
    }
    out
}

/// Strategies of the run that have no cell in the baseline: reported as "not gated", never
/// silently skipped. Each with the number of its cells in the run.
fn not_gated(
    baseline: &Baseline,
    now: &BTreeMap<CellKey, stats::CellStats>,
) -> Vec<(String, usize)> {
    let gated: std::collections::BTreeSet<&str> = baseline
        .cells
        .iter()
        .map(|c| c.key.strategy.as_str())
        .collect();
    let mut out: BTreeMap<String, usize> = BTreeMap::new();
    for k in now.keys().filter(|k| !gated.contains(k.strategy.as_str())) {
        *out.entry(k.strategy.clone()).or_default() += 1;
    }
    out.into_iter().collect()
}

/// Compares a run with a baseline.
pub fn check(baseline: &Baseline, records: &[Record], tol: &Tolerances) -> CheckOutcome {
    let now: BTreeMap<CellKey, stats::CellStats> = stats::cells(records)
        .into_iter()
        .map(|c| (c.key.clone(), c))
        .collect();
    let mut out = CheckOutcome {
        scaling: scaling(records),
        not_gated: not_gated(baseline, &now),
        ..CheckOutcome::default()
    };
    for b in &baseline.cells {
        let name = cell_name(&b.key);
        let Some(n) = now.get(&b.key) else {
            out.not_run.push(name);
            continue;
        };
        out.compared += 1;
        if !n.status.is_ok() {
            let verdict = if b.status.is_ok() {
                Verdict::Regression
            } else {
                Verdict::Warn
            };
            out.rows.push(CheckRow {
                cell: name,
                metric: "status".into(),
                baseline: b.status.to_string(),
                now: n.status.to_string(),
                change: "–".into(),
                verdict,
                now_value: None,
            });
            continue;
        }
        if let (Some(bh), Some(nh)) = (b.peak_heap_bytes, n.peak_heap_bytes) {
            let allowed = tol.heap.max(3.0 * b.peak_heap_spread);
            // Timing only ever adds to a peak (more in flight), so a regression needs every
            // repetition above the allowance, an improvement every one below it: a deterministic
            // cell (min = max) is judged as before, a timing-bound one not on one unlucky run.
            let verdict = if nh.min > bh * (1.0 + allowed) + tol.heap_slack_bytes {
                Verdict::Regression
            } else if nh.max < bh * (1.0 - allowed) - tol.heap_slack_bytes {
                Verdict::Improved
            } else {
                Verdict::Pass
            };
            let (lo, hi) = (bytes(nh.min), bytes(nh.max));
            let now = if lo != hi {
                format!("{} ({lo}–{hi})", bytes(nh.median))
            } else {
                bytes(nh.median)
            };
            let nh = nh.median;
            out.rows.push(CheckRow {
                cell: name.clone(),
                metric: "peak_heap_bytes".into(),
                baseline: bytes(bh),
                now,
                now_value: Some(nh),
                change: pct(bh, nh),
                verdict,
            });
        }
        if let (Some(br), Some(nr)) = (b.peak_rss_bytes, n.peak_rss_bytes.map(|s| s.median)) {
            let verdict = if nr > br * (1.0 + tol.rss) + tol.rss_slack_bytes {
                Verdict::Regression
            } else {
                Verdict::Pass
            };
            out.rows.push(CheckRow {
                cell: name.clone(),
                metric: "peak_rss_bytes".into(),
                baseline: bytes(br),
                now: bytes(nr),
                now_value: Some(nr),
                change: pct(br, nr),
                verdict,
            });
        }
        if let (Some(bt), Some(nt)) = (b.wall_ns, n.wall_ns.map(|s| s.median)) {
            let slow = bt > 0.0 && nt / bt > tol.time_ratio;
            let verdict = match (slow, tol.fail_on_time) {
                (true, true) => Verdict::Regression,
                (true, false) => Verdict::Warn,
                _ => Verdict::Pass,
            };
            out.rows.push(CheckRow {
                cell: name,
                metric: "wall_ns".into(),
                baseline: duration_ns(bt),
                now: duration_ns(nt),
                now_value: Some(nt),
                change: pct(bt, nt),
                verdict,
            });
        }
    }
    out
}

/// The outcome as Markdown for a PR comment or `$GITHUB_STEP_SUMMARY`. Passing rows are
/// summarised; every non-passing row is listed.
pub fn markdown(out: &CheckOutcome) -> String {
    let mut md = String::new();
    let regressions = out.regressions();
    let _ = writeln!(
        md,
        "### membench memory check: {}\n",
        if regressions == 0 {
            "passed".to_string()
        } else {
            format!("{regressions} regression(s)")
        }
    );
    let _ = writeln!(
        md,
        "{} cells compared, {} baseline cells not run.\n",
        out.compared,
        out.not_run.len()
    );
    for (strategy, cells) in &out.not_gated {
        let _ = writeln!(
            md,
            "- `{strategy}`: **not gated** ({cells} cells ran; the baseline has none of its cells \
             — regenerate it with `cargo xtask baseline`)"
        );
    }
    if !out.not_gated.is_empty() {
        let _ = writeln!(md);
    }
    let _ = writeln!(md, "| cell | metric | baseline | now | change | verdict |");
    let _ = writeln!(md, "|---|---|---|---|---|---|");
    let mut passing = 0;
    for r in &out.rows {
        if r.verdict == Verdict::Pass {
            passing += 1;
            continue;
        }
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} |",
            crate::format::md_cell(&r.cell.to_string()),
            r.metric,
            r.baseline,
            r.now,
            r.change,
            r.verdict.text()
        );
    }
    let _ = writeln!(md, "\n{passing} metric comparisons within tolerance.\n");
    if !out.scaling.is_empty() {
        let _ = writeln!(md, "| scaling | declared | fitted slope | verdict |");
        let _ = writeln!(md, "|---|---|---|---|");
        for s in &out.scaling {
            let _ = writeln!(
                md,
                "| {} | {} (max slope {}) | {:.2} | {} |",
                crate::format::md_cell(&s.cell.to_string()),
                s.declared,
                s.declared.max_slope(),
                s.slope,
                s.verdict.text()
            );
        }
    }
    md
}
