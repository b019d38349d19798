//! Analysis: per-cell statistics over repetitions, answer agreement, and the memory-growth fit.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use membench_protocol::{Allocator, GroupKey, Status};

use crate::record::{CellKey, Record};

/// Median, min and max of a sample.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Spread {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

/// Median (mean of the two middle values for an even count), min and max; `None` when empty.
pub fn spread(values: &[f64]) -> Option<Spread> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    let median = if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    };
    Some(Spread {
        median,
        min: v[0],
        max: v[n - 1],
    })
}

/// One cell's derived statistics.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CellStats {
    #[serde(flatten)]
    pub key: CellKey,
    /// `ok` when every repetition is ok; otherwise the worst status seen.
    pub status: Status,
    pub repetitions: usize,
    pub input_bytes: u64,
    pub peak_heap_bytes: Option<Spread>,
    pub peak_rss_bytes: Option<Spread>,
    pub peak_rss_anon_bytes: Option<Spread>,
    /// File-backed RSS (memory-mapped input), apart from anonymous memory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peak_rss_file_bytes: Option<Spread>,
    /// The strategy's time: from the system-allocator repetitions when there are any
    /// (`time_allocator`), else from the counting ones.
    pub wall_ns: Option<Spread>,
    /// Which allocator `wall_ns` was measured under.
    pub time_allocator: Allocator,
    /// Median time under the counting allocator ÷ median time under the system allocator: the
    /// counter's time overhead on this cell (when the run has both).
    pub counting_overhead: Option<f64>,
    /// Input megabytes (10^6) per second of median wall time.
    pub mb_per_s: Option<f64>,
    pub error: Option<String>,
    /// Strategies that announce phases (databases: load, index, query; join strategies: build,
    /// probe, sort, …): each phase's median time and peaks.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub phases: Vec<PhaseStats>,
    /// PostgreSQL: the server's peak memory (shared pages counted once).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_peak_rss_bytes: Option<Spread>,
    /// Database strategies: every repetition found its input loaded (`--db-reuse`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub db_reused: bool,
    /// Strategies that spill: bytes written to spill files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spill_bytes: Option<Spread>,
    /// The heap budget the cell ran under (`--memory-limit`), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_limit: Option<String>,
    /// External programs: the process tree's summed proportional set size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peak_pss_bytes: Option<Spread>,
    /// An external program that printed no answer: `ok` means it ran, not that it was right.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub answer_unchecked: bool,
    /// A failed external program whose stderr ended with its runtime's out-of-memory message:
    /// shown beside its `error` (the status itself never comes from text).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub stderr_says_out_of_memory: bool,
}

/// One phase of a cell over its repetitions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PhaseStats {
    pub name: String,
    /// From the same allocator's repetitions as the cell's time.
    pub wall_ns: Option<Spread>,
    pub peak_heap_bytes: Option<Spread>,
    pub server_peak_rss_bytes: Option<Spread>,
}

/// The phases of `ok` records, in the order the first record names them; times from the
/// repetitions of `time_allocator`.
fn phases_of(ok: &[&Record], time_allocator: Allocator) -> Vec<PhaseStats> {
    let Some(first) = ok.iter().find(|r| !r.measure.phases.is_empty()) else {
        return Vec::new();
    };
    let phase = |r: &Record, name: &str| r.measure.phases.iter().find(|p| p.name == name).cloned();
    first
        .measure
        .phases
        .iter()
        .map(|p| {
            let of = |pick: &dyn Fn(&Record) -> Option<u64>, allocator: Option<Allocator>| {
                let rs: Vec<&Record> = ok
                    .iter()
                    .copied()
                    .filter(|r| allocator.is_none_or(|a| r.allocator == a))
                    .collect();
                spread_of(&rs, pick)
            };
            PhaseStats {
                name: p.name.clone(),
                wall_ns: of(
                    &|r| phase(r, &p.name).map(|x| x.wall_ns),
                    Some(time_allocator),
                ),
                peak_heap_bytes: of(&|r| phase(r, &p.name).and_then(|x| x.peak_heap_bytes), None),
                server_peak_rss_bytes: of(
                    &|r| phase(r, &p.name).and_then(|x| x.server_peak_rss_bytes),
                    None,
                ),
            }
        })
        .collect()
}

/// The status a record should have once answers are compared: `wrong-answer` when it ran but its
/// answer differs from the reference.
pub fn effective_status(r: &Record) -> Status {
    // A user's query was compared value by value by the driver (floats within a relative
    // 1e-9, `membench_query::compare`): a differing digest alone does not make it wrong.
    if r.workload.query().is_some() {
        return r.status;
    }
    match (&r.measure.answer_digest, &r.expected_digest) {
        (Some(a), Some(e)) if r.status == Status::Ok && a != e => Status::WrongAnswer,
        _ => r.status,
    }
}

fn spread_of(rs: &[&Record], g: impl Fn(&Record) -> Option<u64>) -> Option<Spread> {
    spread(
        &rs.iter()
            .filter_map(|r| g(r))
            .map(|v| v as f64)
            .collect::<Vec<_>>(),
    )
}

/// Time of a cell: the repetitions under the allocator its engine recommends (mimalloc, for
/// Polars: as its users run it) when there are any, else the system allocator's, else the
/// counting ones; and the counting allocator's overhead over the system allocator when both
/// exist. (The system figure of a Polars cell stays in its records, for comparison.)
fn time_of(ok: &[&Record]) -> (Option<Spread>, Allocator, Option<f64>) {
    let by = |a: Allocator| -> Vec<&Record> {
        ok.iter().copied().filter(|r| r.allocator == a).collect()
    };
    let counting = spread_of(&by(Allocator::Counting), |r| r.measure.wall_ns);
    let system = spread_of(&by(Allocator::System), |r| r.measure.wall_ns);
    let overhead = counting
        .zip(system)
        .filter(|(_, s)| s.median > 0.0)
        .map(|(c, s)| c.median / s.median);
    let mimalloc = spread_of(&by(Allocator::Mimalloc), |r| r.measure.wall_ns);
    match (mimalloc, system) {
        (Some(m), _) => (Some(m), Allocator::Mimalloc, overhead),
        (None, Some(s)) => (Some(s), Allocator::System, overhead),
        (None, None) => (counting, Allocator::Counting, None),
    }
}

/// Groups records into cells and computes their statistics, sorted by cell.
pub fn cells(records: &[Record]) -> Vec<CellStats> {
    let mut groups: BTreeMap<CellKey, Vec<&Record>> = BTreeMap::new();
    for r in records {
        groups.entry(r.key()).or_default().push(r);
    }
    groups
        .into_iter()
        .map(|(key, rs)| {
            let status = rs
                .iter()
                .map(|r| effective_status(r))
                .max()
                .unwrap_or_default();
            let ok: Vec<&Record> = rs
                .iter()
                .copied()
                .filter(|r| effective_status(r).is_ok())
                .collect();
            let (wall, time_allocator, counting_overhead) = time_of(&ok);
            let input_bytes = rs[0].input_bytes;
            // Heap repetitions; an external program has time repetitions only.
            let counted = rs
                .iter()
                .filter(|r| r.allocator != Allocator::System)
                .count();
            CellStats {
                status,
                repetitions: if counted == 0 { rs.len() } else { counted },
                input_bytes,
                peak_heap_bytes: spread_of(&ok, |r| r.measure.peak_heap_bytes),
                peak_rss_bytes: spread_of(&ok, |r| Some(r.process.peak_rss_bytes)),
                peak_rss_anon_bytes: spread_of(&ok, |r| Some(r.process.peak_rss_anon_bytes)),
                peak_rss_file_bytes: spread_of(&ok, |r| Some(r.process.peak_rss_file_bytes)),
                mb_per_s: wall
                    .filter(|w| w.median > 0.0)
                    .map(|w| input_bytes as f64 / 1e6 / (w.median / 1e9)),
                wall_ns: wall,
                time_allocator,
                counting_overhead,
                error: rs.iter().find_map(|r| r.error().map(str::to_string)),
                phases: phases_of(&ok, time_allocator),
                server_peak_rss_bytes: spread_of(&ok, |r| r.measure.server_peak_rss_bytes),
                db_reused: !ok.is_empty() && ok.iter().all(|r| r.measure.db_reused),
                spill_bytes: spread_of(&ok, |r| r.measure.spill_bytes),
                memory_limit: rs[0].memory_limit.clone(),
                peak_pss_bytes: spread_of(&ok, |r| r.process.peak_pss_bytes),
                answer_unchecked: ok.iter().any(|r| r.answer_unchecked),
                stderr_says_out_of_memory: rs.iter().any(|r| r.process.stderr_says_out_of_memory),
                key,
            }
        })
        .collect()
}

/// The median of the per-cell counting-allocator overheads (`None` without system repetitions).
pub fn median_counting_overhead(cells: &[CellStats]) -> Option<f64> {
    let v: Vec<f64> = cells.iter().filter_map(|c| c.counting_overhead).collect();
    spread(&v).map(|s| s.median)
}

/// A fitted memory growth: the slope of log(memory) against log(rows).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct GrowthFit {
    pub slope: f64,
    pub points: usize,
}

impl GrowthFit {
    /// A plain-language class: `O(1)` below 0.25, `O(n)` from 0.75 to 1.25, else `O(n^k)`.
    pub fn class(&self) -> String {
        if self.slope < 0.25 {
            "O(1)".into()
        } else if (0.75..=1.25).contains(&self.slope) {
            "O(n)".into()
        } else {
            format!("O(n^{:.2})", self.slope)
        }
    }
}

/// Least-squares slope of `ln(memory)` on `ln(rows)`; `None` with fewer than two distinct sizes.
pub fn fit_growth(points: &[(u64, f64)]) -> Option<GrowthFit> {
    let pts: Vec<(f64, f64)> = points
        .iter()
        .filter(|(n, m)| *n > 0 && *m > 0.0)
        .map(|&(n, m)| ((n as f64).ln(), m.ln()))
        .collect();
    if pts.len() < 2 {
        return None;
    }
    let k = pts.len() as f64;
    let mx = pts.iter().map(|p| p.0).sum::<f64>() / k;
    let my = pts.iter().map(|p| p.1).sum::<f64>() / k;
    let sxx: f64 = pts.iter().map(|p| (p.0 - mx).powi(2)).sum();
    if sxx == 0.0 {
        return None;
    }
    let sxy: f64 = pts.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    Some(GrowthFit {
        slope: sxy / sxx,
        points: pts.len(),
    })
}

/// A strategy within a group: (workload, format, shape), strategy.
pub type StrategyKey = (GroupKey, String);

/// The key of a cell's strategy within its group.
pub fn strategy_key(k: &CellKey) -> StrategyKey {
    (k.group(), k.strategy.clone())
}

/// Median peak heap by rows, per group and strategy, sizes ascending.
pub fn heap_points(cells: &[CellStats]) -> BTreeMap<StrategyKey, Vec<(u64, f64)>> {
    let mut pts: BTreeMap<StrategyKey, Vec<(u64, f64)>> = BTreeMap::new();
    for c in cells {
        if let Some(h) = c.peak_heap_bytes {
            pts.entry(strategy_key(&c.key))
                .or_default()
                .push((c.key.rows, h.median));
        }
    }
    for p in pts.values_mut() {
        p.sort_by_key(|p| p.0);
    }
    pts
}

/// Growth of a strategy's median peak heap across sizes, per (workload, format, strategy).
pub fn growth_by_strategy(cells: &[CellStats]) -> BTreeMap<StrategyKey, GrowthFit> {
    heap_points(cells)
        .into_iter()
        .filter_map(|(k, p)| fit_growth(&p).map(|g| (k, g)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_samples() {
        assert_eq!(spread(&[3.0, 1.0, 2.0]).unwrap().median, 2.0);
        let s = spread(&[4.0, 1.0, 2.0, 3.0]).unwrap();
        assert_eq!((s.median, s.min, s.max), (2.5, 1.0, 4.0));
        assert!(spread(&[]).is_none());
    }

    #[test]
    fn growth_fit_recognises_constant_linear_and_quadratic() {
        let sizes = [10_000u64, 100_000, 1_000_000];
        let flat: Vec<_> = sizes
            .iter()
            .map(|&n| (n, 250_000.0 + (n % 7) as f64))
            .collect();
        let linear: Vec<_> = sizes
            .iter()
            .map(|&n| (n, 300.0 * n as f64 + 4096.0))
            .collect();
        let square: Vec<_> = sizes.iter().map(|&n| (n, (n as f64).powi(2))).collect();
        assert_eq!(fit_growth(&flat).unwrap().class(), "O(1)");
        assert_eq!(fit_growth(&linear).unwrap().class(), "O(n)");
        let q = fit_growth(&square).unwrap();
        assert!((q.slope - 2.0).abs() < 1e-9);
        assert_eq!(q.class(), "O(n^2.00)");
        assert!(fit_growth(&flat[..1]).is_none());
    }
}
