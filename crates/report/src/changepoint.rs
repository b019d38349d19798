//! Change points of one metric across commits: where a cell's peak heap, RSS or time stepped to
//! a new level, told from the noise around it.
//!
//! The method is a penalised piecewise-constant fit — optimal partitioning of the per-commit
//! values under a quantile (pinball) cost: for memory the median's, an L1 cost (each segment's
//! cost is the sum of absolute deviations from its median, robust to outliers; asv's step
//! detection fits the same L1 model); for time a low quantile's (`quantile`, the floor: time's
//! noise only adds, in bursts of up to ten commits on a shared machine, which move a median but
//! not the floor under them) — with a fixed penalty per change point, solved exactly with PELT
//! pruning (Killick, Fearnhead & Eckley, 2012). The penalty is `penalty_sigmas · σ · ln n`, σ a
//! robust estimate of the commit-to-commit noise, and never below the cost of the smallest step
//! reported. Each boundary the fit finds is then confirmed on up to `window` commits either
//! side: its relative size (the two windows' levels at the same quantile) must reach
//! `min_effect`, `hold_share` of the commits after it must sit beyond the midpoint, a step needs
//! `settle` commits at its new level, and for noisy memory (RSS, a jittering heap) a
//! Mann–Whitney U test on the raw repetitions must reject "same distribution" at `alpha` (for
//! time its p is reported, the floor's checks decide: `p_decides`). Peak heap is nearly
//! deterministic, so it has no test: any step beyond its tolerance is a change.
//!
//! Must not: read a history or know what a commit is (callers pass series of repetitions).

use crate::significance::mann_whitney_p;

/// Which value of a commit's repetitions the fit follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PerCommit {
    /// The median: memory, whose noise goes both ways.
    Median,
    /// The minimum: time, whose noise only adds (another process, a slower core; Chen &
    /// Revels, "Robust benchmarking in noisy environments", 2016).
    Minimum,
}

/// How a metric's steps are told from its noise.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Detector {
    /// The smallest relative step reported (0.02: 2 %).
    pub min_effect: f64,
    /// The significance level of a step's Mann–Whitney test on the repetitions either side.
    pub alpha: f64,
    /// Skip the test where both sides are exact (every repetition within a quarter of
    /// `min_effect` of its side's median, as most strategies' peak heap is): any step beyond
    /// `min_effect` counts, even between single runs. Peak heap only.
    pub exact_counts: bool,
    /// The penalty per change point, in robust standard deviations of the per-commit values
    /// times `ln n`.
    pub penalty_sigmas: f64,
    /// Commits either side of a boundary whose repetitions decide it.
    pub window: usize,
    /// A segment shorter than this that returns to the level before it is an excursion.
    pub hold: usize,
    pub per_commit: PerCommit,
    /// The quantile of a segment's per-commit values the fit follows and a window's level is
    /// read at: 0.5 (the median) for memory, a low one (the floor) for time.
    pub quantile: f64,
    /// The share of the commits of the window after a step that must sit beyond the midpoint
    /// of the two levels.
    pub hold_share: f64,
    /// Commits at the new level (its first included) a step needs before it counts: 1 for
    /// memory; more for time, whose bursts last several commits.
    pub settle: usize,
    /// Whether the Mann–Whitney test decides (memory), or its p is only reported (time: the
    /// floor's own checks decide; on repetitions that bursts lift, the test loses the power to
    /// see a real step where a cell's noise is bimodal — `parallel` on two cores — and it
    /// prevented no false alarm in the measured history).
    pub p_decides: bool,
}

impl Detector {
    /// Peak heap: exact for most strategies, a few percent of jitter for engines with their own
    /// thread pools; a step is anything beyond `tolerance` (and significant where it jitters).
    pub fn heap(tolerance: f64, alpha: f64) -> Detector {
        Detector {
            min_effect: tolerance,
            alpha,
            exact_counts: true,
            penalty_sigmas: 1.0,
            window: 10,
            hold: 5,
            per_commit: PerCommit::Median,
            quantile: 0.5,
            hold_share: 2.0 / 3.0,
            settle: 1,
            p_decides: true,
        }
    }

    /// Peak RSS: a step must be significant at `alpha` and at least `min_effect`.
    pub fn rss(alpha: f64, min_effect: f64) -> Detector {
        Detector {
            min_effect,
            alpha,
            exact_counts: false,
            penalty_sigmas: 1.0,
            window: 10,
            hold: 5,
            per_commit: PerCommit::Median,
            quantile: 0.5,
            hold_share: 2.0 / 3.0,
            settle: 1,
            p_decides: true,
        }
    }

    /// Time: each commit's fastest repetition, and the floor under them — the lower quartile
    /// of a segment's commits — rather than their median: a burst of machine noise (this
    /// project's 2-core machine: 15–45 % of commits more than 10 % above the floor, in runs of
    /// up to ten) lifts a median; a step lifts the floor. Windows of 15 commits, four in five
    /// of those after a step beyond the midpoint, and 12 commits at the new level before a
    /// step counts (a burst outlasting that would be taken for a step).
    pub fn time(alpha: f64, min_effect: f64) -> Detector {
        Detector {
            per_commit: PerCommit::Minimum,
            quantile: 0.25,
            window: 15,
            hold: 15,
            hold_share: 0.8,
            settle: 12,
            penalty_sigmas: 2.0,
            p_decides: false,
            ..Detector::rss(alpha, min_effect)
        }
    }
}

/// One change: from commit `at` on, the metric sits at a new level.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    /// The index of the first commit at the new level.
    pub at: usize,
    /// The level (the detector's quantile) of the per-commit values in the window before `at`.
    pub before: f64,
    /// The level of the per-commit values in the window from `at` on.
    pub after: f64,
    /// `after / before − 1`.
    pub effect: f64,
    /// The Mann–Whitney p of the two windows' repetitions (`None` where both are exact).
    pub p: Option<f64>,
}

/// The steps of a series: `series[i]` holds commit `i`'s repetitions, in commit order (a
/// commit without repetitions is left out by the caller). A step must also hold: every commit
/// of its window after it stays on the new side of the midpoint between the two levels (code
/// that regressed stays regressed; a burst of machine noise comes back).
pub fn steps(series: &[Vec<f64>], d: &Detector) -> Vec<Step> {
    let values = per_commit(series, d.per_commit);
    let n = values.len();
    if n < 2 {
        return Vec::new();
    }
    let level = median(&values).abs();
    let sigma = noise(series, &values);
    // The cost of the smallest step reported: at the median, half of it per commit.
    let penalty = (d.penalty_sigmas * sigma * (n as f64).ln().max(1.0))
        .max(d.quantile.min(1.0 - d.quantile) * d.min_effect * level)
        .max(f64::MIN_POSITIVE);
    let mut bounds = segment(&values, penalty, d.quantile);
    if d.quantile < 0.5 {
        absorb_bursts(&mut bounds, &values, d);
    }
    // Each boundary's segment before and after it, and the levels on either side.
    let segments: Vec<(usize, usize, usize)> = bounds
        .iter()
        .enumerate()
        .map(|(k, &at)| {
            let start = if k == 0 { 0 } else { bounds[k - 1] };
            (start, at, bounds.get(k + 1).copied().unwrap_or(n))
        })
        .collect();
    let level_of = |r: std::ops::Range<usize>| quantile(&values[r], d.quantile);
    let mut found = Vec::new();
    for &(start, at, end) in &segments {
        let (left, right) = (
            start.max(at.saturating_sub(d.window))..at,
            at..end.min(at + d.window),
        );
        if right.len() < d.settle {
            continue;
        }
        let (before, after) = (level_of(left.clone()), level_of(right.clone()));
        if before <= 0.0 {
            continue;
        }
        let effect = after / before - 1.0;
        // Most commits of the window after it sit on the new side of the midpoint.
        let midpoint = (before + after) / 2.0;
        let beyond = values[right.clone()]
            .iter()
            .filter(|&&v| {
                if effect > 0.0 {
                    v > midpoint
                } else {
                    v < midpoint
                }
            })
            .count();
        let holds = beyond as f64 + 1e-9 >= d.hold_share * right.len() as f64;
        // An excursion — a short segment (under `hold` commits) the series leaves back to the
        // level it came from — is a burst of noise, not two steps: machine noise comes back,
        // code that regressed stays regressed.
        let near = |a: f64, b: f64| b > 0.0 && (a / b - 1.0).abs() < d.min_effect;
        let goes_back = end < n
            && end - at < d.hold
            && near(
                level_of(end..bounds.iter().copied().find(|&b| b > end).unwrap_or(n)),
                before,
            );
        let came_back = at - start < d.hold
            && start > 0
            && near(
                after,
                level_of(
                    bounds
                        .iter()
                        .copied()
                        .rev()
                        .find(|&b| b < start)
                        .unwrap_or(0)..start,
                ),
            );
        if goes_back || came_back {
            continue;
        }
        let pool = |r: std::ops::Range<usize>| -> Vec<f64> {
            series[r].iter().flatten().copied().collect()
        };
        let (a, b) = (pool(left), pool(right));
        let exact = |v: &[f64]| {
            let m = median(v);
            v.iter()
                .all(|x| (x - m).abs() <= 0.25 * d.min_effect * m.abs())
        };
        let p = (!(d.exact_counts && exact(&a) && exact(&b))).then(|| mann_whitney_p(&a, &b));
        let significant = !d.p_decides || p.is_none_or(|p| p < d.alpha);
        if effect.abs() >= d.min_effect && holds && significant {
            found.push(Step {
                at,
                before,
                after,
                effect,
                p,
            });
        }
    }
    found
}

/// The steps of `series` a gate run at its newest commit reports as new: a memory step while
/// its first commit is one of the newest `last`; a step that needs `settle` commits at its
/// level (time; more where the noise is larger) while it could not be seen `last` commits
/// earlier (no step the same way within `hold` commits of it in the series without its newest
/// `last`).
pub fn new_steps(series: &[Vec<f64>], d: &Detector, last: usize) -> Vec<Step> {
    let now = steps(series, d);
    let n = series.len();
    if d.settle <= 1 {
        return now.into_iter().filter(|s| s.at + last >= n).collect();
    }
    let before = steps(&series[..n.saturating_sub(last)], d);
    now.into_iter()
        .filter(|s| {
            !before
                .iter()
                .any(|b| b.at.abs_diff(s.at) <= d.hold && (b.effect > 0.0) == (s.effect > 0.0))
        })
        .collect()
}

/// The machine's speed at each commit, read off reference series — cells of a program the
/// commits do not change, so whatever moves their time is the machine: at each commit, the
/// median over the references of their floor around it (the detector's quantile of the
/// per-commit values of up to `window / 2` commits either side) over their floor across all
/// commits. `references[k][i]` are reference `k`'s repetitions at commit `i` (empty where it did
/// not run); a commit none ran at gets 1.
pub fn machine_speed(references: &[Vec<Vec<f64>>], d: &Detector) -> Vec<f64> {
    let n = references.iter().map(Vec::len).max().unwrap_or(0);
    let half = (d.window / 2).max(1);
    let per_ref: Vec<Vec<Option<f64>>> = references
        .iter()
        .map(|r| {
            let values: Vec<Option<f64>> = r
                .iter()
                .map(|reps| (!reps.is_empty()).then(|| commit_value(reps, d.per_commit)))
                .collect();
            let all: Vec<f64> = values.iter().flatten().copied().collect();
            let floor = quantile(&all, d.quantile);
            (0..n)
                .map(|i| {
                    let (lo, hi) = (i.saturating_sub(half), values.len().min(i + half + 1));
                    let near: Vec<f64> = values
                        .get(lo..hi)
                        .unwrap_or_default()
                        .iter()
                        .flatten()
                        .copied()
                        .collect();
                    (floor > 0.0 && !near.is_empty()).then(|| quantile(&near, d.quantile) / floor)
                })
                .collect()
        })
        .collect();
    (0..n)
        .map(|i| {
            let at: Vec<f64> = per_ref.iter().filter_map(|r| r[i]).collect();
            if at.is_empty() { 1.0 } else { median(&at) }
        })
        .collect()
}

/// `series` with each commit's repetitions divided by the machine's speed then
/// ([`machine_speed`]): time as if the machine had run at one speed throughout.
pub fn relative_to(series: &[Vec<f64>], speed: &[f64]) -> Vec<Vec<f64>> {
    series
        .iter()
        .zip(speed.iter().chain(std::iter::repeat(&1.0)))
        .map(|(reps, f)| reps.iter().map(|x| x / f).collect())
        .collect()
}

/// How many commits apart two series' steps may start and still be one change ([`machine_wide`]).
pub const TOGETHER: usize = 3;

/// How far a series moved at commit `at`: the level (the detector's quantile of its per-commit
/// values) of up to `window` commits from `at` on over that of up to `window` before, minus 1;
/// `None` without commits on both sides or with a level of 0.
pub fn moved_at(series: &[Vec<f64>], at: usize, d: &Detector) -> Option<f64> {
    moved_in(&per_commit(series, d.per_commit), at, d)
}

/// [`moved_at`] on the per-commit values.
fn moved_in(values: &[f64], at: usize, d: &Detector) -> Option<f64> {
    if at == 0 || at >= values.len() {
        return None;
    }
    let before = quantile(&values[at.saturating_sub(d.window)..at], d.quantile);
    let after = quantile(&values[at..values.len().min(at + d.window)], d.quantile);
    (before > 0.0).then(|| after / before - 1.0)
}

/// Whether a step of `effect` is one the machine made: at least three of the other series
/// measured on it (`others`, each with the index of the step's commit in it) and two in three
/// of them moved the same way by at least a third as much ([`moved_at`]) at that commit or within
/// [`TOGETHER`] commits of it (each series' bursts place its own start a commit or two apart).
/// A slower host or a busier neighbour moves every cell's time at once; so does a code change
/// every cell runs through, which is why this labels a step and never hides one.
pub fn machine_wide(effect: f64, others: &[(&[Vec<f64>], usize)], d: &Detector) -> Option<usize> {
    let moved = others
        .iter()
        .filter(|(s, at)| {
            let values = per_commit(s, d.per_commit);
            (at.saturating_sub(TOGETHER)..=at + TOGETHER).any(|i| {
                moved_in(&values, i, d)
                    .is_some_and(|m| m * effect > 0.0 && m.abs() >= effect.abs() / 3.0)
            })
        })
        .count();
    (others.len() >= 3 && moved >= 3 && moved * 3 >= others.len() * 2).then_some(moved)
}

/// Each commit's value the fit follows.
pub fn per_commit(series: &[Vec<f64>], how: PerCommit) -> Vec<f64> {
    series.iter().map(|r| commit_value(r, how)).collect()
}

/// One commit's value from its repetitions: their median, or the fastest.
fn commit_value(reps: &[f64], how: PerCommit) -> f64 {
    match how {
        PerCommit::Median => median(reps),
        PerCommit::Minimum => reps.iter().copied().fold(f64::INFINITY, f64::min),
    }
}

/// Noise that only adds (time) comes in bursts: a segment shorter than `hold` above the one
/// after it is a burst on top of that level, not a level of its own — it joins the segment
/// after it (so a step whose first commits a burst lifted further starts where the burst does).
fn absorb_bursts(bounds: &mut Vec<usize>, values: &[f64], d: &Detector) {
    loop {
        let n = values.len();
        let burst = (0..bounds.len()).find(|&k| {
            let start = if k == 0 { 0 } else { bounds[k - 1] };
            let (end, next_end) = (bounds[k], bounds.get(k + 1).copied().unwrap_or(n));
            end - start < d.hold
                && quantile(&values[start..end], d.quantile)
                    > quantile(&values[end..next_end], d.quantile) * (1.0 + d.min_effect / 2.0)
        });
        match burst {
            Some(k) => {
                bounds.remove(k);
            }
            None => return,
        }
    }
}

/// A robust σ of the per-commit values: from successive differences (the median absolute
/// difference, which a few steps do not move) and from the spread of each commit's repetitions
/// around their median, the larger; short series (under 10 commits), whose differences a single
/// step dominates, use the repetitions alone.
fn noise(series: &[Vec<f64>], medians: &[f64]) -> f64 {
    // 1.4826 · MAD estimates σ of a normal; a difference of two has σ·√2.
    let diffs: Vec<f64> = medians.windows(2).map(|w| (w[1] - w[0]).abs()).collect();
    let from_diffs = 1.4826 * median(&diffs) / std::f64::consts::SQRT_2;
    let within: Vec<f64> = series
        .iter()
        .zip(medians)
        .flat_map(|(r, m)| r.iter().map(move |x| (x - m).abs()))
        .collect();
    let from_reps = 1.4826 * median(&within);
    if medians.len() < 10 {
        from_reps
    } else {
        from_reps.max(from_diffs)
    }
}

/// The starts of every segment but the first, of the fit minimising each segment's quantile
/// cost (twice the pinball loss around its `tau`-quantile: at 0.5, the sum of absolute
/// deviations from its median) plus `penalty` per segment (PELT: a start is dropped for good
/// once it cannot begin the last segment of an optimum, valid because splitting never raises
/// such a cost). Each step's segment costs come from one running quantile grown leftwards from
/// its end: O(n log n) a step, O(n² log n) at worst.
fn segment(x: &[f64], penalty: f64, tau: f64) -> Vec<usize> {
    let n = x.len();
    let mut best = vec![0.0f64; n + 1];
    let mut last = vec![0usize; n + 1];
    best[0] = -penalty;
    // Ascending.
    let mut candidates: Vec<usize> = vec![0];
    let mut costs: Vec<f64> = Vec::with_capacity(n);
    for t in 1..=n {
        costs.clear();
        costs.resize(candidates.len(), 0.0);
        let mut run = RunningQuantile::new(tau);
        let mut next = t;
        for (k, &s) in candidates.iter().enumerate().rev() {
            while next > s {
                next -= 1;
                run.push(x[next]);
            }
            costs[k] = best[s] + run.cost() + penalty;
        }
        let (i, &min) = costs
            .iter()
            .enumerate()
            .min_by(|a, b| a.1.total_cmp(b.1))
            .expect("a candidate");
        best[t] = min;
        last[t] = candidates[i];
        let mut k = 0;
        candidates.retain(|_| {
            let keep = costs[k] - penalty <= min;
            k += 1;
            keep
        });
        candidates.push(t);
    }
    let mut bounds = Vec::new();
    let mut t = n;
    while last[t] > 0 {
        bounds.push(last[t]);
        t = last[t];
    }
    bounds.reverse();
    bounds
}

/// An `f64` ordered by `total_cmp`, for the heaps.
#[derive(Clone, Copy, PartialEq)]
struct Ordered(f64);

impl Eq for Ordered {}

impl PartialOrd for Ordered {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Ordered {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0)
    }
}

/// Twice the pinball loss around the `tau`-quantile of the values pushed so far (at 0.5, the
/// sum of absolute deviations from the median): the `ceil(tau · k)` smallest in a max-heap
/// (its top is the quantile, an exact minimiser of the loss), the rest in a min-heap, with
/// their sums.
struct RunningQuantile {
    tau: f64,
    lower: std::collections::BinaryHeap<Ordered>,
    upper: std::collections::BinaryHeap<std::cmp::Reverse<Ordered>>,
    sum_lower: f64,
    sum_upper: f64,
}

impl RunningQuantile {
    fn new(tau: f64) -> RunningQuantile {
        RunningQuantile {
            tau,
            lower: Default::default(),
            upper: Default::default(),
            sum_lower: 0.0,
            sum_upper: 0.0,
        }
    }

    fn push(&mut self, v: f64) {
        if self.lower.peek().is_none_or(|m| v <= m.0) {
            self.lower.push(Ordered(v));
            self.sum_lower += v;
        } else {
            self.upper.push(std::cmp::Reverse(Ordered(v)));
            self.sum_upper += v;
        }
        let k = self.lower.len() + self.upper.len();
        let want = ((self.tau * k as f64).ceil() as usize).clamp(1, k);
        while self.lower.len() > want {
            let m = self.lower.pop().expect("non-empty").0;
            self.sum_lower -= m;
            self.upper.push(std::cmp::Reverse(Ordered(m)));
            self.sum_upper += m;
        }
        while self.lower.len() < want {
            let m = self.upper.pop().expect("non-empty").0.0;
            self.sum_upper -= m;
            self.lower.push(Ordered(m));
            self.sum_lower += m;
        }
    }

    fn cost(&self) -> f64 {
        let Some(q) = self.lower.peek().map(|m| m.0) else {
            return 0.0;
        };
        let below = q * self.lower.len() as f64 - self.sum_lower;
        let above = self.sum_upper - q * self.upper.len() as f64;
        (2.0 * ((1.0 - self.tau) * below + self.tau * above)).max(0.0)
    }
}

/// The `tau`-quantile as the fit reads it (the `ceil(tau · k)`-th smallest); at 0.5 the median
/// (the mean of the middle two for an even count). 0 for none.
fn quantile(x: &[f64], tau: f64) -> f64 {
    if tau == 0.5 || x.is_empty() {
        return median(x);
    }
    let mut v = x.to_vec();
    v.sort_by(f64::total_cmp);
    let k = ((tau * v.len() as f64).ceil() as usize).clamp(1, v.len());
    v[k - 1]
}

/// The median (the mean of the middle two for an even count); 0 for none.
fn median(x: &[f64]) -> f64 {
    if x.is_empty() {
        return 0.0;
    }
    let mut v = x.to_vec();
    v.sort_by(f64::total_cmp);
    let h = v.len() / 2;
    if v.len() % 2 == 1 {
        v[h]
    } else {
        (v[h - 1] + v[h]) / 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic pseudo-random noise in [-1, 1].
    fn noise_at(i: usize) -> f64 {
        let x = (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        ((x >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
    }

    fn series(n: usize, level: impl Fn(usize) -> f64, spread: f64) -> Vec<Vec<f64>> {
        (0..n)
            .map(|i| {
                (0..3)
                    .map(|r| level(i) * (1.0 + spread * noise_at(i * 3 + r)))
                    .collect()
            })
            .collect()
    }

    #[test]
    fn a_step_is_found_at_its_first_commit_and_noise_alone_is_not() {
        let d = Detector::rss(0.01, 0.10);
        let flat = series(120, |_| 100.0, 0.04);
        assert_eq!(steps(&flat, &d), vec![]);
        let stepped = series(120, |i| if i >= 70 { 115.0 } else { 100.0 }, 0.04);
        let s = steps(&stepped, &d);
        assert_eq!(s.len(), 1, "{s:?}");
        assert_eq!(s[0].at, 70);
        assert!((s[0].effect - 0.15).abs() < 0.03, "{s:?}");
        // A step at the newest commit alone is found too.
        let last = series(60, |i| if i == 59 { 120.0 } else { 100.0 }, 0.02);
        assert_eq!(
            steps(&last, &d).iter().map(|s| s.at).collect::<Vec<_>>(),
            [59]
        );
    }

    #[test]
    fn heap_steps_beyond_the_tolerance_count_and_jitter_does_not() {
        let d = Detector::heap(0.02, 0.01);
        let h = |i: usize| {
            let jitter = if i.is_multiple_of(3) { 1.005 } else { 1.0 };
            if i >= 5 {
                1050.0 * jitter
            } else {
                1000.0 * jitter
            }
        };
        let s: Vec<Vec<f64>> = (0..8).map(|i| vec![h(i)]).collect();
        let found = steps(&s, &d);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].at, 5);
        assert_eq!(found[0].p, None);
        // Two commits, 20 % apart: a step at the second.
        let two = [vec![100.0], vec![120.0]];
        assert_eq!(steps(&two, &d)[0].at, 1);
        // An improvement is a step too (the caller decides what gates).
        assert!(steps(&[vec![100.0], vec![80.0]], &d)[0].effect < 0.0);
    }

    #[test]
    fn the_fit_is_the_exact_optimum() {
        // Two clean levels: one boundary; the penalty larger than the step's gain: none.
        let x = [1.0, 1.0, 1.0, 5.0, 5.0, 5.0];
        assert_eq!(segment(&x, 1.0, 0.5), [3]);
        assert_eq!(segment(&x, 20.0, 0.5), Vec::<usize>::new());
        let mut run = RunningQuantile::new(0.5);
        for v in [9.0, 1.0, 2.0] {
            run.push(v);
        }
        assert_eq!(run.cost(), 8.0);
        run.push(4.0);
        // 1 2 4 9 around 2 (or any median between 2 and 4): 1 + 0 + 2 + 7.
        assert_eq!(run.cost(), 10.0);
        // A small noisy series with two steps: both found, nothing else.
        let x: Vec<f64> = (0..24)
            .map(|i| {
                let level = [10.0, 14.0, 9.0][i / 8];
                level + [0.3, -0.2, 0.1, -0.4, 0.2, 0.0, -0.1, 0.4][i % 8]
            })
            .collect();
        assert_eq!(segment(&x, 2.0, 0.5), [8, 16]);
        // The lower quartile: 1 2 4 9 around 1 (the first of four): twice 0.25 · (1 + 3 + 8).
        let mut low = RunningQuantile::new(0.25);
        for v in [9.0, 1.0, 2.0, 4.0] {
            low.push(v);
        }
        assert_eq!(low.cost(), 6.0);
        assert_eq!(quantile(&[9.0, 1.0, 2.0, 4.0], 0.25), 1.0);
    }

    #[test]
    fn time_follows_the_floor_so_bursts_above_it_are_not_steps() {
        let d = Detector::time(0.01, 0.10);
        // A floor of 100 with bursts of +30 % lasting up to eight commits, a third of the time.
        let burst = |i: usize| if (i / 8) % 3 == 1 { 1.3 } else { 1.0 };
        let flat = series(150, |i| 100.0 * burst(i), 0.01);
        assert_eq!(steps(&flat, &d), vec![]);
        // The floor steps up 15 % at commit 80 (bursts go on above it): found there.
        let stepped = series(
            150,
            |i| (if i >= 80 { 115.0 } else { 100.0 }) * burst(i),
            0.01,
        );
        let s = steps(&stepped, &d);
        assert_eq!(s.iter().map(|s| s.at).collect::<Vec<_>>(), [80], "{s:?}");
        // Too few commits at the new level yet: not a step.
        assert_eq!(steps(&stepped[..80 + d.settle - 1], &d), vec![]);
    }
}
