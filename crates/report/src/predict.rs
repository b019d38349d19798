//! Predicting a strategy's memory and time at a size that was not measured, from the sizes that
//! were, and ranking the strategies for a memory budget (`cargo xtask recommend`).
//!
//! The models are deliberately simple and stated:
//! - **memory** is the peak *anonymous* RSS (what must fit in RAM; file-backed pages such as
//!   `mmap`'s or Polars' mapped input can be evicted), plus the server's for a database. A
//!   strategy that declares its memory `constant` (asserted by the gate) is predicted at its
//!   largest measured value, with a 25 % margin above; any other is fitted `m = a + b·n` (affine
//!   in rows), which for linear strategies extrapolates their per-row cost and for sub-linear
//!   ones errs on the side of more memory — except where the heap shows the growth is not per
//!   row: a strategy whose peak heap hardly grows (log-log slope under 0.5 between its two
//!   largest sizes) is predicted at its largest RSS plus the heap's growth per row beyond it
//!   ([`heap_led`]). A declaration is not trusted over the measurements:
//!   when a `constant` strategy's measured memory grows by more than that margin between its
//!   two largest measured sizes, the declaration is contradicted, it is fitted
//!   affine like any other, and the prediction says so ([`Fitted::contradicted`]). On Parquet
//!   only sizes whose file spans two row groups per thread or more count (a smaller file fills
//!   fewer of the strategy's buffers: [`GROUPS_PER_THREAD`]).
//! - **time** is fitted `t = a + b·n` the same way.
//! - Fits weigh every size alike (relative error), and the interval is the fit's relative
//!   residual (at least ±10 %) widened by how far the target lies beyond the largest measured
//!   size: ×(1 + log10(target / largest)).
//!
//! What it must not do: invent a number for a strategy with fewer than two measured sizes (it
//! is left out, with the reason), call a strategy fitting when the interval's top does not, or
//! recommend an external program whose answer was never checked (it printed none).
//!
//! ```
//! use membench_report::predict::Model;
//! let m = Model::affine(&[(10_000, 1.0e6), (100_000, 10.0e6), (1_000_000, 100.0e6)]).unwrap();
//! let at = m.predict(10_000_000);
//! assert!((at.mid - 1.0e9).abs() < 1.0e7);
//! assert!(at.lo < at.mid && at.mid < at.hi);
//! ```

use std::collections::BTreeMap;

use membench_protocol::{Allocator, GroupKey, Growth};
use serde::Serialize;

use crate::record::Record;
use crate::stats::effective_status;

/// A value predicted at some size, with its interval.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Estimate {
    pub lo: f64,
    pub mid: f64,
    pub hi: f64,
}

/// How a model extrapolates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Shape {
    /// Bounded: the largest measured value (a declared-constant strategy).
    Bounded,
    /// `a + b·n`.
    Affine,
}

/// A fitted model of one quantity against rows.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Model {
    pub shape: Shape,
    pub intercept: f64,
    pub per_row: f64,
    /// The root-mean-square relative residual of the fit.
    pub rel_error: f64,
    pub largest_rows: u64,
}

/// The smallest relative half-width of an interval.
pub const MIN_REL_INTERVAL: f64 = 0.10;
/// How far above its largest measurement a bounded quantity may go.
pub const BOUNDED_MARGIN: f64 = 0.25;
/// The least memory need believed as a measurement (a runner process holds more than this).
pub const MIN_PLAUSIBLE_BYTES: f64 = 1024.0 * 1024.0;

impl Model {
    /// `a + b·n` through the medians of the two largest sizes: beyond the measurements, the
    /// growth measured last is the best guide (a least-squares line weighted by relative error
    /// followed the small sizes, and over-predicted 10 M rows by 1.6–1.8× for strategies
    /// whose memory grows more slowly at the large ones). `rel_error` is the spread of every
    /// measurement at those two sizes around it. `None` with fewer than two distinct sizes.
    pub fn affine(points: &[(u64, f64)]) -> Option<Model> {
        let pts: Vec<(f64, f64)> = points
            .iter()
            .filter(|p| p.1 > 0.0)
            .map(|&(n, y)| (n as f64, y))
            .collect();
        let distinct = {
            let mut n: Vec<u64> = points.iter().map(|p| p.0).collect();
            n.sort_unstable();
            n.dedup();
            n.len()
        };
        if distinct < 2 || pts.len() < 2 {
            return None;
        }
        // The median of each size, and the two largest sizes among them.
        let mut sizes: Vec<f64> = pts.iter().map(|p| p.0).collect();
        sizes.sort_by(f64::total_cmp);
        sizes.dedup();
        if sizes.len() < 2 {
            return None;
        }
        let median_at = |n: f64| {
            let v: Vec<f64> = pts.iter().filter(|p| p.0 == n).map(|p| p.1).collect();
            crate::stats::spread(&v).map_or(0.0, |s| s.median)
        };
        let (x1, x2) = (sizes[sizes.len() - 2], sizes[sizes.len() - 1]);
        let (y1, y2) = (median_at(x1), median_at(x2));
        let per_row = ((y2 - y1) / (x2 - x1)).max(0.0);
        let intercept = y2 - per_row * x2;
        let mut m = Model {
            shape: Shape::Affine,
            intercept,
            per_row,
            rel_error: 0.0,
            largest_rows: points.iter().map(|p| p.0).max().unwrap_or(0),
        };
        // The spread of the repetitions at the two sizes the line goes through: the small sizes
        // do not describe the growth beyond the largest (their memory is mostly the process's
        // own), so they do not widen the interval either.
        let used: Vec<&(f64, f64)> = pts.iter().filter(|p| p.0 == x1 || p.0 == x2).collect();
        let sq: f64 = used
            .iter()
            .map(|&&(x, y)| ((m.at(x as u64) - y) / y).powi(2))
            .sum();
        m.rel_error = (sq / used.len() as f64).sqrt();
        Some(m)
    }

    /// The largest measured value, for a quantity that does not grow with the input.
    pub fn bounded(points: &[(u64, f64)]) -> Option<Model> {
        let max = points.iter().map(|p| p.1).fold(f64::NAN, f64::max);
        (!max.is_nan()).then(|| Model {
            shape: Shape::Bounded,
            intercept: max,
            per_row: 0.0,
            rel_error: 0.0,
            largest_rows: points.iter().map(|p| p.0).max().unwrap_or(0),
        })
    }

    fn at(&self, rows: u64) -> f64 {
        self.intercept + self.per_row * rows as f64
    }

    /// The value at `rows`, with its interval.
    pub fn predict(&self, rows: u64) -> Estimate {
        let mid = self.at(rows).max(0.0);
        if self.shape == Shape::Bounded {
            return Estimate {
                lo: mid,
                mid,
                hi: mid * (1.0 + BOUNDED_MARGIN),
            };
        }
        let beyond = (rows as f64 / self.largest_rows.max(1) as f64).max(1.0);
        let half = (2.0 * self.rel_error).max(MIN_REL_INTERVAL) * (1.0 + beyond.log10());
        Estimate {
            lo: mid * (1.0 - half).max(0.0),
            mid,
            hi: mid * (1.0 + half),
        }
    }
}

/// Whether a strategy fits a budget at the target size.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Fits {
    /// Even the interval's top fits.
    Yes,
    /// The prediction fits, the interval's top does not.
    Maybe,
    /// The prediction does not fit.
    No,
}

/// One strategy's prediction at the target.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Candidate {
    pub strategy: String,
    pub memory_bytes: Estimate,
    pub wall_ns: Estimate,
    pub memory_model: Shape,
    pub fits: Fits,
    /// The sizes measured.
    pub measured_rows: Vec<u64>,
    pub why: String,
}

/// What a run measured of one strategy, per size: median memory need and median time.
#[derive(Clone, Debug, Default)]
struct Measured {
    memory: Vec<(u64, f64)>,
    time: Vec<(u64, f64)>,
    /// Median peak heap (the counting allocator's runs), per size.
    heap: Vec<(u64, f64)>,
    declared: Option<Growth>,
    /// The least size at which the input spans more reading units than the strategy holds at
    /// once ([`saturated_from`]); 0 where the input has no such unit.
    saturated_from: u64,
}

/// How many row groups per thread an input must span before a strategy that reads one row group
/// at a time per thread holds all it ever will: one being worked on and one waiting, per thread.
pub const GROUPS_PER_THREAD: u64 = 2;

/// The least rows at which a Parquet input spans [`GROUPS_PER_THREAD`] row groups per thread: a
/// smaller file is a whole row group or a few, and a strategy reading it holds less than it
/// holds of any larger file (`parallel` on Parquet: one group of 100k rows for one of its two
/// workers, 7.1 MiB, where 1M rows keeps both busy, 12.6 MiB, and 10M rows 16.6 MiB). 0 for
/// an input without row groups.
fn saturated_from(r: &Record) -> u64 {
    r.measure
        .row_group_rows
        .map_or(0, |g| g * GROUPS_PER_THREAD * r.threads.max(1) as u64)
}

/// A cell's memory need: peak anonymous RSS of its system-allocator runs (plus a database
/// server's), else its peak heap.
fn memory_need(r: &Record) -> Option<f64> {
    let own = if r.process.peak_rss_anon_bytes > 0 {
        r.process.peak_rss_anon_bytes as f64
    } else {
        r.measure.peak_heap_bytes? as f64
    };
    Some(own + r.measure.server_peak_rss_bytes.unwrap_or(0) as f64)
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

fn measured(records: &[Record], g: &GroupKey) -> BTreeMap<String, Measured> {
    let mut by: BTreeMap<(String, u64), Vec<&Record>> = BTreeMap::new();
    for r in records
        .iter()
        .filter(|r| g.holds(r) && effective_status(r).is_ok())
        // A program that printed no answer is not a candidate: it did not show it computes one.
        .filter(|r| !r.answer_unchecked)
    {
        by.entry((r.strategy.clone(), r.rows)).or_default().push(r);
    }
    let mut out: BTreeMap<String, Measured> = BTreeMap::new();
    for ((strategy, rows), rs) in by {
        let timed: Vec<&&Record> = rs
            .iter()
            .filter(|r| r.allocator == Allocator::System)
            .collect();
        // Time and RSS from the system-allocator runs when there are any.
        let pool: Vec<&Record> = if timed.is_empty() {
            rs.clone()
        } else {
            timed.into_iter().copied().collect()
        };
        // The registry's declaration (as the gate reads it), a record's for a program not in it.
        let declared = crate::gate::declared_growth(records, &strategy, &g.workload, g.format);
        let m = out.entry(strategy).or_default();
        m.declared = m.declared.or(declared);
        m.saturated_from = rs
            .iter()
            .map(|r| saturated_from(r))
            .fold(m.saturated_from, u64::max);
        if let Some(v) = median(pool.iter().filter_map(|r| memory_need(r)).collect()) {
            m.memory.push((rows, v));
        }
        if let Some(v) = median(
            pool.iter()
                .filter_map(|r| r.measure.wall_ns.map(|t| t as f64))
                .collect(),
        ) {
            m.time.push((rows, v));
        }
        if let Some(v) = median(
            rs.iter()
                .filter_map(|r| r.measure.peak_heap_bytes.map(|b| b as f64))
                .collect(),
        ) {
            m.heap.push((rows, v));
        }
    }
    out
}

/// One strategy's fitted models: memory and time against rows.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Fitted {
    pub memory: Model,
    pub time: Model,
    /// The sizes measured.
    pub measured_rows: Vec<u64>,
    /// Why the strategy's declared `constant` memory was not believed (its measured memory
    /// grows; the model is then the affine fit).
    pub contradicted: Option<String>,
    /// A memory guard's peak heap against rows: its budget and high-water mark are in heap
    /// bytes, so whether it filled the default budget's is judged from this, not from the
    /// memory need (anonymous RSS, which holds more than the heap). `None` for other
    /// strategies, or without counting runs at two sizes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub guard_heap: Option<Model>,
}

/// Why a declared-constant memory is contradicted by its measurements: it grows by more than
/// [`BOUNDED_MARGIN`] between the two largest sizes of at least `saturated_from` rows (the
/// smaller sizes are dominated by what every process holds, and by buffers not yet full; a
/// Parquet file of fewer row groups than the strategy holds at once fills fewer of them).
fn contradiction(memory: &[(u64, f64)], saturated_from: u64) -> Option<String> {
    let mut by_size: Vec<(u64, f64)> = memory
        .iter()
        .copied()
        .filter(|p| p.0 >= saturated_from)
        .collect();
    by_size.sort_by_key(|p| p.0);
    let [.., first, last] = by_size.as_slice() else {
        return None;
    };
    // A measurement under a mebibyte is a process caught before it ran (its anonymous RSS
    // sampled at start-up), not what it needs: no evidence either way.
    let plausible = first.1 >= MIN_PLAUSIBLE_BYTES;
    (plausible && last.1 > first.1 * (1.0 + BOUNDED_MARGIN)).then(|| {
        format!(
            "declared constant, but its memory grows from {} at {} rows to {} at {} rows: \
             predicted from the fit, not the declaration",
            crate::format::bytes(first.1),
            crate::format::rows(first.0),
            crate::format::bytes(last.1),
            crate::format::rows(last.0)
        )
    })
}

/// The largest log-log slope of a strategy's peak heap between its two largest sizes under
/// which its memory is extrapolated from the heap's growth ([`heap_led`]).
pub const HEAP_LED_SLOPE: f64 = 0.5;

/// The memory model of a strategy whose heap hardly grows with the input (log-log slope under
/// [`HEAP_LED_SLOPE`] between its two largest sizes) while its anonymous RSS, measured at
/// small sizes where the process's own memory and the allocator's retention dominate, seems to:
/// the RSS at the largest size plus the heap's growth per row beyond it. The affine fit of
/// such an RSS is the per-row cost of what does not grow per row (`lazy` on CSV: 113 MiB
/// predicted at 10M rows, 46.3 MiB measured; with this, 38 MiB). `None` (keep the RSS fit)
/// when the heap grows faster, or was not measured at two sizes.
fn heap_led(rss: Model, heap: &[(u64, f64)]) -> Option<Model> {
    let mut by_size = heap.to_vec();
    by_size.sort_by_key(|p| p.0);
    let [.., (n1, h1), (n2, h2)] = by_size.as_slice() else {
        return None;
    };
    if *h1 < MIN_PLAUSIBLE_BYTES || *h2 <= 0.0 || n1 == n2 {
        return None;
    }
    let slope = (h2 / h1).ln() / (*n2 as f64 / *n1 as f64).ln();
    if slope >= HEAP_LED_SLOPE {
        return None;
    }
    let growth = Model::affine(heap)?;
    let x2 = rss.largest_rows;
    Some(Model {
        intercept: rss.at(x2) - growth.per_row * x2 as f64,
        per_row: growth.per_row,
        rel_error: rss.rel_error.max(growth.rel_error),
        ..rss
    })
}

/// Fits every strategy of a run for `workload` × `format`; strategies with fewer than two
/// measured sizes are left out, with the reason.
pub fn fit(records: &[Record], g: &GroupKey) -> (BTreeMap<String, Fitted>, Vec<String>) {
    let mut out = BTreeMap::new();
    let mut left_out = Vec::new();
    for (strategy, m) in measured(records, g) {
        let contradicted = match m.declared {
            Some(Growth::Constant) => contradiction(&m.memory, m.saturated_from),
            _ => None,
        };
        let memory = match (m.declared, &contradicted) {
            (Some(Growth::Constant), None) => Model::bounded(&m.memory),
            (Some(Growth::Constant), Some(_)) => Model::affine(&m.memory),
            _ => Model::affine(&m.memory).map(|rss| heap_led(rss, &m.heap).unwrap_or(rss)),
        };
        let (Some(memory), Some(time)) = (memory, Model::affine(&m.time)) else {
            left_out.push(format!(
                "{strategy}: measured at fewer than two sizes, nothing to fit"
            ));
            continue;
        };
        let measured_rows = m.memory.iter().map(|p| p.0).collect();
        let guard_heap = membench_protocol::plays(&strategy, membench_protocol::Role::MemoryGuard)
            .then(|| Model::affine(&m.heap))
            .flatten();
        out.insert(
            strategy,
            Fitted {
                memory,
                time,
                measured_rows,
                contradicted,
                guard_heap,
            },
        );
    }
    (out, left_out)
}

/// Whether a predicted memory need fits a budget.
pub fn fits(mem: &Estimate, budget_bytes: u64) -> Fits {
    let budget = budget_bytes as f64;
    if mem.hi <= budget {
        Fits::Yes
    } else if mem.mid <= budget {
        Fits::Maybe
    } else {
        Fits::No
    }
}

/// Ranks fitted strategies at `rows` for a memory budget: those that fit by predicted time,
/// then those that may fit, then the rest. (The interactive report does the same in its
/// script, from the same [`Fitted`] models; its browser test holds the two equal.)
pub fn rank(fitted: &BTreeMap<String, Fitted>, rows: u64, budget_bytes: u64) -> Vec<Candidate> {
    let mut out: Vec<Candidate> = fitted
        .iter()
        .map(|(strategy, f)| {
            let (mut mem, t) = (f.memory.predict(rows), f.time.predict(rows));
            let heap = f.guard_heap.map(|h| h.predict(rows).mid);
            let guard = guarded_memory(strategy, &mut mem, heap, budget_bytes);
            let fits = fits(&mem, budget_bytes);
            let needs = format!(
                "needs ≈ {} ({}–{}) at {} rows",
                crate::format::bytes(mem.mid),
                crate::format::bytes(mem.lo),
                crate::format::bytes(mem.hi),
                crate::format::rows(rows)
            );
            let mut why = match fits {
                Fits::Yes => format!("{needs}: fits"),
                Fits::Maybe => format!("{needs}: fits only if the prediction is not low"),
                Fits::No => format!("{needs}: does not fit"),
            };
            if let Some(c) = &f.contradicted {
                why.push_str(&format!(" ({c})"));
            }
            if let Some(g) = guard {
                why.push_str(&format!(" ({g})"));
            }
            Candidate {
                strategy: strategy.clone(),
                memory_bytes: mem,
                wall_ns: t,
                memory_model: f.memory.shape,
                fits,
                measured_rows: f.measured_rows.clone(),
                why,
            }
        })
        .collect();
    out.sort_by(|a, b| {
        a.fits
            .cmp(&b.fits)
            .then(a.wall_ns.mid.total_cmp(&b.wall_ns.mid))
    });
    out
}

/// A memory guard's memory follows its budget, not the rows: measured without a limit it kept
/// to the default budget's high-water mark, and under a larger budget B it grows toward
/// `GUARD_HIGH_WATER × B` (at most `GUARD_MAX_GROWTH` times the measurement, its longest
/// batch) once the input is large enough to have filled the default's: judged from its
/// predicted peak heap `heap_bytes` at these rows (the budget counts heap), else from `mem`.
/// Raises the prediction for `budget_bytes` and says why; `None` for other strategies, no
/// budget, or nothing to raise.
fn guarded_memory(
    strategy: &str,
    mem: &mut Estimate,
    heap_bytes: Option<f64>,
    budget_bytes: u64,
) -> Option<String> {
    use membench_protocol::{GUARD_DEFAULT_BUDGET_BYTES, GUARD_HIGH_WATER, GUARD_MAX_GROWTH, Role};
    if budget_bytes == u64::MAX || !membench_protocol::plays(strategy, Role::MemoryGuard) {
        return None;
    }
    // Its batches grow at most GUARD_MAX_GROWTH-fold: so does its memory.
    let ceiling = (GUARD_HIGH_WATER * budget_bytes as f64).min(GUARD_MAX_GROWTH as f64 * mem.mid);
    let measured_ceiling = GUARD_HIGH_WATER * GUARD_DEFAULT_BUDGET_BYTES as f64;
    // Only upward: under a smaller budget it shrinks its batches, but down to a floor the
    // measurements do not show, so the prediction stays as measured (not flattering).
    let filled = heap_bytes.unwrap_or(mem.mid) >= 0.8 * measured_ceiling;
    if !filled || ceiling <= mem.mid {
        return None;
    }
    let mid = ceiling;
    *mem = Estimate {
        lo: mem.lo.min(mid),
        mid,
        hi: mem.hi.max(mid * 1.25).min(budget_bytes as f64).max(mid),
    };
    Some(format!(
        "a memory guard: it grows toward {:.0} % of the budget, at most {}× what it held at \
         the default budget: {}",
        GUARD_HIGH_WATER * 100.0,
        GUARD_MAX_GROWTH,
        crate::format::bytes(ceiling)
    ))
}

/// Predicts every strategy of a run at `rows` for `workload` × `format` and ranks them for a
/// memory budget ([`fit`], then [`rank`]).
pub fn recommend(
    records: &[Record],
    g: &GroupKey,
    rows: u64,
    budget_bytes: u64,
) -> (Vec<Candidate>, Vec<String>) {
    let (fitted, left_out) = fit(records, g);
    (rank(&fitted, rows, budget_bytes), left_out)
}

#[cfg(test)]
mod tests {
    use membench_protocol::{InputFormat, Workload};

    use super::*;

    #[test]
    fn a_memory_guard_is_predicted_at_its_share_of_a_larger_budget_once_it_filled_the_default() {
        const MIB: f64 = 1024.0 * 1024.0;
        let est = |mid: f64| Estimate {
            lo: mid,
            mid,
            hi: mid * 1.25,
        };
        // Measured at the default budget's high-water mark (about 45 MiB): under 128 MiB it
        // grows toward 70 % of 128 MiB.
        let mut m = est(40.0 * MIB);
        assert!(guarded_memory("adaptive", &mut m, None, 128 << 20).is_some());
        assert!((m.mid / MIB - 89.6).abs() < 0.01, "{m:?}");
        assert!(m.hi <= (128u64 << 20) as f64);
        // Under a smaller budget it shrinks, to a floor the runs do not show: as measured.
        let mut m = est(40.0 * MIB);
        assert!(guarded_memory("adaptive", &mut m, None, 32 << 20).is_none());
        assert_eq!(m, est(40.0 * MIB));
        // A small input that never filled the default stays as measured.
        let mut m = est(5.0 * MIB);
        assert!(guarded_memory("adaptive", &mut m, None, 128 << 20).is_none());
        assert_eq!(m, est(5.0 * MIB));
        // A huge budget: at most its longest batch, eight times the measurement.
        let mut m = est(40.0 * MIB);
        guarded_memory("adaptive", &mut m, None, 16 << 30);
        assert!((m.mid / MIB - 320.0).abs() < 0.01, "{m:?}");
        // Not a guard, or no budget: unchanged.
        let mut m = est(40.0 * MIB);
        assert!(guarded_memory("streaming", &mut m, None, 128 << 20).is_none());
        assert!(guarded_memory("adaptive", &mut m, None, u64::MAX).is_none());
        assert_eq!(m, est(40.0 * MIB));
        // Filled is judged from the heap the budget counts, not from the memory need: a run
        // whose anonymous RSS was fitted at 34.7 MiB (under 80 % of the 44.8 MiB high-water
        // mark) while its heap held 44 MiB filled the default, and grows under 1 GiB.
        let mut m = est(34.7 * MIB);
        assert!(guarded_memory("adaptive", &mut m, Some(44.0 * MIB), 1 << 30).is_some());
        assert!((m.mid / MIB - 8.0 * 34.7).abs() < 0.01, "{m:?}");
        // ... and a heap that never filled it stays as measured, however large the RSS.
        let mut m = est(40.0 * MIB);
        assert!(guarded_memory("adaptive", &mut m, Some(8.0 * MIB), 1 << 30).is_none());
        assert_eq!(m, est(40.0 * MIB));
    }

    #[test]
    fn memory_whose_heap_hardly_grows_follows_the_heap_beyond_the_largest_size() {
        const MIB: f64 = 1024.0 * 1024.0;
        // `lazy` on CSV as the example measured it: anonymous RSS 15.3 → 24.2 MiB from 100k to
        // 1M rows (the process's own memory and the allocator's), heap 11.6 → 13.0 MiB.
        let rss = Model::affine(&[(100_000, 15.3 * MIB), (1_000_000, 24.2 * MIB)]).unwrap();
        let flat = [(100_000, 11.6 * MIB), (1_000_000, 13.0 * MIB)];
        let m = heap_led(rss, &flat).expect("a heap with slope 0.05");
        let at = m.predict(10_000_000).mid / MIB;
        // 24.2 MiB + 9M rows × the heap's 1.4 MiB per 900k rows: 38.2 MiB (the affine fit of
        // the RSS said 104 MiB; 46.3 MiB was measured).
        assert!((at - 38.2).abs() < 0.01, "{at}");
        assert!(rss.predict(10_000_000).mid / MIB > 100.0);
        // A heap that grows with the rows keeps the RSS fit.
        let linear = [(100_000, 1.4 * MIB), (1_000_000, 10.1 * MIB)];
        assert!(heap_led(rss, &linear).is_none());
        // No heap at two sizes, or a heap too small to be a measurement: the RSS fit.
        assert!(heap_led(rss, &flat[1..]).is_none());
        assert!(heap_led(rss, &[(100_000, 1000.0), (1_000_000, 2000.0)]).is_none());
    }

    #[test]
    fn an_exact_line_is_predicted_exactly_with_the_minimum_interval() {
        let pts: Vec<(u64, f64)> = [10_000u64, 30_000, 100_000, 300_000]
            .iter()
            .map(|&n| (n, 5.0e6 + 300.0 * n as f64))
            .collect();
        let m = Model::affine(&pts).unwrap();
        let e = m.predict(1_000_000);
        assert!((e.mid / 305.0e6 - 1.0).abs() < 1e-9, "{e:?}");
        // 1M is 3.3× beyond 300k: ±10 % × (1 + log10 3.33).
        let half = 0.10 * (1.0 + (1_000_000f64 / 300_000.0).log10());
        assert!((e.hi / e.mid - 1.0 - half).abs() < 1e-9);
    }

    #[test]
    fn growth_that_slows_is_extrapolated_from_the_largest_sizes() {
        // `lazy`'s peak anonymous RSS on CSV top-n (reports/example: 5.2, 18.5, 36.4 MiB at
        // 10k, 100k, 1M rows); measured at 10M rows: 190 MiB.
        let mib = |m: f64| m * 1024.0 * 1024.0;
        let pts = [
            (10_000, mib(5.2)),
            (100_000, mib(18.5)),
            (1_000_000, mib(36.4)),
        ];
        let e = Model::affine(&pts).unwrap().predict(10_000_000);
        let ratio = e.mid / mib(190.0);
        assert!(
            (1.0 / 1.5..1.5).contains(&ratio),
            "{:.1} MiB",
            e.mid / mib(1.0)
        );
        assert!(e.lo <= mib(190.0) && mib(190.0) <= e.hi, "{e:?}");
    }

    #[test]
    fn noise_widens_the_interval_and_fewer_than_two_sizes_fit_nothing() {
        let noisy = [
            (10_000, 1.0e6),
            (100_000, 12.0e6),
            (100_000, 13.5e6),
            (1_000_000, 95.0e6),
            (1_000_000, 101.0e6),
        ];
        let m = Model::affine(&noisy).unwrap();
        assert!(m.rel_error > 0.01);
        let e = m.predict(1_000_000);
        assert!(e.lo <= 95.0e6 && 95.0e6 <= e.hi, "{e:?}");
        assert!(Model::affine(&[(10_000, 1.0), (10_000, 2.0)]).is_none());
        assert!(Model::affine(&[]).is_none());
    }

    #[test]
    fn a_declared_constant_that_grows_is_fitted_and_said_to_be_contradicted() {
        // Measured points of the issue's `lazy` on CSV (34.6 MiB at 1 M rows, growing), and a
        // flat strategy within noise.
        let mib = |m: f64| m * 1024.0 * 1024.0;
        let growing = [(200_000, mib(12.0)), (1_000_000, mib(34.6))];
        let flat = [(200_000, mib(12.0)), (1_000_000, mib(12.9))];
        assert!(contradiction(&flat, 0).is_none());
        // A sample taken before the process ran (20 KiB) is no evidence.
        let caught_early = [(100_000, 20.0 * 1024.0), (1_000_000, mib(7.4))];
        assert!(contradiction(&caught_early, 0).is_none());
        let why = contradiction(&growing, 0).expect("grows by more than the margin");
        assert!(
            why.contains("declared constant, but its memory grows"),
            "{why}"
        );
        // Ranked at 10 M rows under 128 MiB: the bounded model would say 34.6 MiB (fits);
        // the fit says more and the reason is given.
        let m = Measured {
            memory: growing.to_vec(),
            time: vec![(200_000, 1e8), (1_000_000, 5e8)],
            declared: Some(Growth::Constant),
            heap: Vec::new(),
            saturated_from: 0,
        };
        let mut fitted = BTreeMap::new();
        let memory = Model::affine(&m.memory).unwrap();
        fitted.insert(
            "lazy".to_string(),
            Fitted {
                memory,
                time: Model::affine(&m.time).unwrap(),
                measured_rows: vec![200_000, 1_000_000],
                contradicted: contradiction(&m.memory, 0),
                guard_heap: None,
            },
        );
        let c = &rank(&fitted, 10_000_000, 128 << 20)[0];
        assert!(c.memory_bytes.mid > mib(200.0), "{:?}", c.memory_bytes);
        assert_eq!(c.fits, Fits::No);
        assert!(c.why.contains("predicted from the fit"), "{}", c.why);
    }

    #[test]
    fn a_constant_memory_is_judged_only_where_the_file_spans_more_row_groups_than_it_holds() {
        // `parallel` on the example's Parquet files (row groups of 100k rows, two threads):
        // 7.1 MiB at 100k rows (one row group, one busy worker), 12.6 MiB at 1M; measured
        // 16.6 MiB at 10M rows, where the affine fit through the two said 67 MiB.
        let mib = |m: f64| m * 1024.0 * 1024.0;
        let records = |row_group_rows: Option<u64>| -> Vec<Record> {
            [(10_000, 5.0), (100_000, 7.1), (1_000_000, 12.6)]
                .into_iter()
                .map(|(rows, anon)| {
                    let mut r = Record {
                        strategy: "parallel".into(),
                        format: InputFormat::PARQUET,
                        rows,
                        threads: 2,
                        allocator: Allocator::System,
                        ..Record::default()
                    };
                    r.process.peak_rss_anon_bytes = mib(anon) as u64;
                    r.measure.wall_ns = Some(rows * 100);
                    r.measure.row_group_rows = row_group_rows.map(|g| g.min(rows));
                    r
                })
                .collect()
        };
        let g = GroupKey {
            workload: Workload::TOP_N,
            format: InputFormat::PARQUET,
            shape: Default::default(),
        };
        let at_10m = |records: &[Record]| {
            let (fitted, _) = fit(records, &g);
            let f = fitted["parallel"].clone();
            (f.memory.predict(10_000_000).mid, f.contradicted)
        };
        let (mid, contradicted) = at_10m(&records(Some(100_000)));
        assert!(contradicted.is_none(), "{contradicted:?}");
        assert!(
            (mid - mib(12.6)).abs() < 1.0,
            "the largest measurement: {mid}"
        );
        assert!(
            mib(16.6) / mid < 1.5,
            "within the CI's bound of the measured 10M"
        );
        // Without the files' row groups (records from before they were recorded, CSV), the
        // growth between the two largest sizes contradicts the declaration, as before.
        let (mid, contradicted) = at_10m(&records(None));
        assert!(contradicted.is_some());
        assert!(mid > mib(60.0), "{mid}");
        // Files of small row groups, where 100k rows already span 100 of them: the growth is
        // the strategy's, and it contradicts the declaration.
        let (_, contradicted) = at_10m(&records(Some(1_000)));
        assert!(contradicted.is_some());
    }

    #[test]
    fn bounded_is_the_largest_measurement_with_a_margin() {
        let m = Model::bounded(&[(10_000, 70_000.0), (1_000_000, 69_000.0)]).unwrap();
        let e = m.predict(50_000_000);
        assert_eq!((e.lo, e.mid), (70_000.0, 70_000.0));
        assert!((e.hi - 87_500.0).abs() < 1e-6);
    }
}
