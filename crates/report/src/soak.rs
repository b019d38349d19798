//! `--soak N`: whether a cell's work retains heap from one run to the next in the same process.
//! The slope of the live heap after each run, by the Theil–Sen estimator (the median of every
//! pairwise slope: a few jumps — a cache filled once, a table grown to its next capacity — do
//! not move it) over the runs after the first fifth (warm-up: pools and caches built once).
//!
//! Must not: run anything (the runner records the series, [`RunnerMeasure::soak`](membench_protocol::RunnerMeasure)).

/// Bytes per iteration from which a retained slope is a leak, by default: well under the
/// smallest leak the tests plant (1 KiB per run), well over allocator jitter (zero for every
/// built-in strategy measured).
pub const DEFAULT_LEAK_BYTES_PER_ITERATION: f64 = 256.0;

/// Whether a soak leaks: its slope reaches `limit` bytes per iteration and the heap grows in
/// every quarter of the runs after the warm-up, by at least half what the slope says — a leak
/// grows all along, where a pool that settles once at a higher level (Rayon's, under
/// `parallel`) steps once — and the last quarter's lowest is above the first's highest by
/// half what the slope says (noise that wanders is not growth), and the last half of the runs
/// alone still retains `limit` per iteration (a step late in the runs is not growth all along).
/// `None` under 8 runs.
pub fn leaks(live_bytes: &[u64], limit: f64) -> Option<bool> {
    let slope = retained_per_iteration(live_bytes)?;
    if live_bytes.len() < 8 {
        return None;
    }
    let after = &live_bytes[live_bytes.len() / 5..];
    let q = after.len() / 4;
    let median = |v: &[u64]| {
        let mut v = v.to_vec();
        v.sort_unstable();
        v[v.len() / 2] as f64
    };
    let quarters: Vec<f64> = (0..4).map(|k| median(&after[k * q..(k + 1) * q])).collect();
    let everywhere = quarters
        .windows(2)
        .all(|w| w[1] - w[0] >= 0.5 * limit * q as f64);
    // And beyond the noise: the last quarter's lowest above the first's highest by half what
    // the slope says of three quarters (`parallel`'s live heap wanders by ±25 KiB run to run:
    // crossbeam's deferred frees).
    let low_last = *after[3 * q..4 * q].iter().min()? as f64;
    let high_first = *after[..q].iter().max()? as f64;
    let beyond_noise = low_last - high_first >= 0.5 * limit * (3 * q) as f64;
    // And still growing at the end: the last half's own slope reaches the limit too (a step
    // in the middle — a pool settling late — leaves both halves flat; a leak keeps its slope).
    let late = theil_sen(&live_bytes[live_bytes.len() / 2..]);
    Some(slope >= limit && everywhere && beyond_noise && late >= limit)
}

/// The retained heap's slope in bytes per iteration (`None` under 5 runs).
pub fn retained_per_iteration(live_bytes: &[u64]) -> Option<f64> {
    if live_bytes.len() < 5 {
        return None;
    }
    Some(theil_sen(&live_bytes[live_bytes.len() / 5..]))
}

/// The median of every pairwise slope of `values` (at least two), one per iteration.
fn theil_sen(values: &[u64]) -> f64 {
    let pts: Vec<(f64, f64)> = values
        .iter()
        .enumerate()
        .map(|(i, &v)| (i as f64, v as f64))
        .collect();
    let mut slopes = Vec::with_capacity(pts.len() * pts.len() / 2);
    for (k, a) in pts.iter().enumerate() {
        for b in &pts[k + 1..] {
            slopes.push((b.1 - a.1) / (b.0 - a.0));
        }
    }
    slopes.sort_by(f64::total_cmp);
    let h = slopes.len() / 2;
    if slopes.len() % 2 == 1 {
        slopes[h]
    } else {
        (slopes[h - 1] + slopes[h]) / 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_steady_leak_is_its_slope_and_a_one_off_jump_is_nothing() {
        let leak: Vec<u64> = (0..50).map(|i| 1_000_000 + 1024 * i).collect();
        assert_eq!(retained_per_iteration(&leak), Some(1024.0));
        // A cache filled at run 20 (after the warm-up), flat otherwise.
        let jump: Vec<u64> = (0..50).map(|i| if i < 20 { 1000 } else { 9000 }).collect();
        assert_eq!(retained_per_iteration(&jump), Some(0.0));
        assert_eq!(retained_per_iteration(&[1, 2, 3]), None);
        assert_eq!(leaks(&leak, 256.0), Some(true));
        // `parallel` measured once (Rayon's pool settling 8 KiB higher at run 23): a slope,
        // but not a leak.
        let settles: Vec<u64> = vec![
            150753, 153057, 155129, 144513, 150753, 150753, 142777, 150753, 142777, 150753, 140705,
            150753, 142777, 150393, 142777, 150753, 142777, 150753, 142777, 150753, 142777, 142777,
            150753, 155361, 157433, 159273, 159273, 159273, 157201, 159273, 152825, 154897, 157201,
            155129, 156969, 155129, 156969, 155129, 156969, 157201, 155129, 156969, 155129, 156969,
            155129, 156969, 157201, 159273, 159273, 159273,
        ];
        assert!(retained_per_iteration(&settles).unwrap() > 256.0);
        assert_eq!(leaks(&settles, 256.0), Some(false));
        // `parallel` measured under load: wanders by ±25 KiB (crossbeam's deferred frees).
        let wanders: Vec<u64> = vec![
            150393, 159145, 166761, 172073, 179689, 188801, 175513, 184625, 194441, 193145, 176417,
            174345, 177585, 159145, 158681, 159505, 158913, 159697, 161217, 165593, 175873, 157201,
            150393, 155345, 162961, 163521, 171497, 179889, 161217, 177585, 190513, 183097, 172633,
            159145, 158681, 162961, 159505, 167121, 183849, 163521, 179889, 196257, 197393, 196457,
            193017, 185401, 175513, 184985, 173081, 175857,
        ];
        assert!(retained_per_iteration(&wanders).unwrap() > 256.0);
        assert_eq!(leaks(&wanders, 256.0), Some(false));
        // `parallel` in the full test suite, under load: the same pool settling later (around
        // run 27) — each quarter's median higher than the one before, the last above the first
        // by 8 KiB, but the last half flat (134 B per run).
        let settles_late: Vec<u64> = vec![
            150753, 153057, 149457, 144617, 142777, 150753, 147153, 144281, 142777, 142777, 142777,
            142777, 142777, 142777, 140705, 142777, 142777, 142777, 142777, 147153, 142545, 142777,
            142777, 142777, 142777, 150753, 150753, 154897, 157201, 159273, 159505, 155905, 152593,
            151297, 142777, 140705, 150753, 150753, 154897, 155129, 157665, 155129, 156969, 157201,
            159273, 155129, 156969, 155129, 156969, 155129,
        ];
        assert!(retained_per_iteration(&settles_late).unwrap() > 256.0);
        assert_eq!(leaks(&settles_late, 256.0), Some(false));
        // A leak of 1 KiB per run that also wanders by ±25 KiB is still one.
        let noisy_leak: Vec<u64> = wanders
            .iter()
            .enumerate()
            .map(|(i, w)| w + 1024 * i as u64)
            .collect();
        assert_eq!(leaks(&noisy_leak, 256.0), Some(true));
    }
}
