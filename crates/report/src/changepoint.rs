//! Change points of one metric across commits: where a cell's peak heap, RSS or time stepped to
//! a new level, told from the noise around it.
//!
//! The method is a penalised piecewise-constant fit — optimal partitioning of the per-commit
//! medians under an L1 cost (each segment's cost is the sum of absolute deviations from its
//! median, robust to outliers), with a fixed penalty per change point, solved exactly with PELT
//! pruning (Killick, Fearnhead & Eckley, 2012; asv's step detection fits the same L1 model). The
//! penalty is `penalty_sigmas · σ · ln n`, σ a robust estimate of the commit-to-commit noise,
//! and never below half the smallest step reported. Each boundary the fit finds is then
//! confirmed on the raw repetitions of up to `window` commits either side: its relative size
//! must reach `min_effect` and, for a noisy metric, a Mann–Whitney U test must reject "same
//! distribution" at `alpha`. Peak heap is nearly deterministic, so it has no test: any step
//! beyond its tolerance is a change.
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
        }
    }

    /// Time: as RSS, following each commit's fastest repetition.
    pub fn time(alpha: f64, min_effect: f64) -> Detector {
        Detector {
            per_commit: PerCommit::Minimum,
            ..Detector::rss(alpha, min_effect)
        }
    }
}

/// One change: from commit `at` on, the metric sits at a new level.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    /// The index of the first commit at the new level.
    pub at: usize,
    /// The median of the per-commit values in the window before `at`.
    pub before: f64,
    /// The median of the per-commit values in the window from `at` on.
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
    let values: Vec<f64> = series
        .iter()
        .map(|r| match d.per_commit {
            PerCommit::Median => median(r),
            PerCommit::Minimum => r.iter().copied().fold(f64::INFINITY, f64::min),
        })
        .collect();
    let n = values.len();
    if n < 2 {
        return Vec::new();
    }
    let level = median(&values).abs();
    let sigma = noise(series, &values);
    let penalty = (d.penalty_sigmas * sigma * (n as f64).ln().max(1.0))
        .max(0.5 * d.min_effect * level)
        .max(f64::MIN_POSITIVE);
    let bounds = segment(&values, penalty);
    // Each boundary's segment before and after it, and the levels on either side.
    let segments: Vec<(usize, usize, usize)> = bounds
        .iter()
        .enumerate()
        .map(|(k, &at)| {
            let start = if k == 0 { 0 } else { bounds[k - 1] };
            (start, at, bounds.get(k + 1).copied().unwrap_or(n))
        })
        .collect();
    let level_of = |r: std::ops::Range<usize>| median(&values[r]);
    let mut found = Vec::new();
    for &(start, at, end) in &segments {
        let (left, right) = (
            start.max(at.saturating_sub(d.window))..at,
            at..end.min(at + d.window),
        );
        let (before, after) = (
            median(&values[left.clone()]),
            median(&values[right.clone()]),
        );
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
        let holds = beyond * 3 >= right.len() * 2;
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
        if effect.abs() >= d.min_effect && holds && p.is_none_or(|p| p < d.alpha) {
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

/// The starts of every segment but the first, of the L1 fit minimising the sum of absolute
/// deviations from each segment's median plus `penalty` per segment (PELT: a start is dropped
/// for good once it cannot begin the last segment of an optimum, valid because splitting never
/// raises an L1 cost). Each step's segment costs come from one running median grown leftwards
/// from its end: O(n log n) a step, O(n² log n) at worst.
fn segment(x: &[f64], penalty: f64) -> Vec<usize> {
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
        let mut run = RunningL1::default();
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

/// The sum of absolute deviations from the median of the values pushed so far: the lower half
/// in a max-heap, the upper in a min-heap, with their sums.
#[derive(Default)]
struct RunningL1 {
    lower: std::collections::BinaryHeap<Ordered>,
    upper: std::collections::BinaryHeap<std::cmp::Reverse<Ordered>>,
    sum_lower: f64,
    sum_upper: f64,
}

impl RunningL1 {
    fn push(&mut self, v: f64) {
        if self.lower.peek().is_none_or(|m| v <= m.0) {
            self.lower.push(Ordered(v));
            self.sum_lower += v;
        } else {
            self.upper.push(std::cmp::Reverse(Ordered(v)));
            self.sum_upper += v;
        }
        if self.lower.len() > self.upper.len() + 1 {
            let m = self.lower.pop().expect("non-empty").0;
            self.sum_lower -= m;
            self.upper.push(std::cmp::Reverse(Ordered(m)));
            self.sum_upper += m;
        } else if self.upper.len() > self.lower.len() {
            let m = self.upper.pop().expect("non-empty").0.0;
            self.sum_upper -= m;
            self.lower.push(Ordered(m));
            self.sum_lower += m;
        }
    }

    fn cost(&self) -> f64 {
        let Some(m) = self.lower.peek().map(|m| m.0) else {
            return 0.0;
        };
        let below = m * self.lower.len() as f64 - self.sum_lower;
        let above = self.sum_upper - m * self.upper.len() as f64;
        (below + above).max(0.0)
    }
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
        assert_eq!(segment(&x, 1.0), [3]);
        assert_eq!(segment(&x, 20.0), Vec::<usize>::new());
        let mut run = RunningL1::default();
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
        assert_eq!(segment(&x, 2.0), [8, 16]);
    }
}
