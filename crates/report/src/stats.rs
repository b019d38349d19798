//! Analysis: per-cell statistics over repetitions, answer agreement, and the memory-growth fit.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

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
    pub status: String,
    pub repetitions: usize,
    pub input_bytes: u64,
    pub peak_heap_bytes: Option<Spread>,
    pub peak_rss_bytes: Option<Spread>,
    pub peak_rss_anon_bytes: Option<Spread>,
    pub wall_ns: Option<Spread>,
    /// Input megabytes (10^6) per second of median wall time.
    pub mb_per_s: Option<f64>,
    pub error: Option<String>,
}

fn status_rank(s: &str) -> u8 {
    match s {
        "ok" => 0,
        "error" => 2,
        "timeout" => 3,
        "oom" => 4,
        "crash" => 5,
        "wrong-answer" => 6,
        _ => 1,
    }
}

/// The status a record should have once answers are compared: `wrong-answer` when it ran but its
/// answer differs from the reference.
pub fn effective_status(r: &Record) -> &str {
    match (&r.answer_digest, &r.expected_digest) {
        (Some(a), Some(e)) if r.status == "ok" && a != e => "wrong-answer",
        _ => &r.status,
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
                .max_by_key(|s| status_rank(s))
                .unwrap_or("ok")
                .to_string();
            let ok: Vec<&&Record> = rs.iter().filter(|r| effective_status(r) == "ok").collect();
            let f = |g: &dyn Fn(&Record) -> Option<u64>| {
                spread(
                    &ok.iter()
                        .filter_map(|r| g(r))
                        .map(|v| v as f64)
                        .collect::<Vec<_>>(),
                )
            };
            let wall = f(&|r| r.wall_ns);
            let input_bytes = rs[0].input_bytes;
            CellStats {
                status,
                repetitions: rs.len(),
                input_bytes,
                peak_heap_bytes: f(&|r| r.peak_heap_bytes),
                peak_rss_bytes: f(&|r| Some(r.peak_rss_bytes)),
                peak_rss_anon_bytes: f(&|r| Some(r.peak_rss_anon_bytes)),
                mb_per_s: wall
                    .filter(|w| w.median > 0.0)
                    .map(|w| input_bytes as f64 / 1e6 / (w.median / 1e9)),
                wall_ns: wall,
                error: rs.iter().find_map(|r| r.error.clone()),
                key,
            }
        })
        .collect()
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

/// Median peak heap by rows, per (workload, format, strategy), sizes ascending.
pub fn heap_points(cells: &[CellStats]) -> BTreeMap<(String, String, String), Vec<(u64, f64)>> {
    let mut pts: BTreeMap<(String, String, String), Vec<(u64, f64)>> = BTreeMap::new();
    for c in cells {
        if let Some(h) = c.peak_heap_bytes {
            pts.entry((
                c.key.workload.clone(),
                c.key.format.clone(),
                c.key.strategy.clone(),
            ))
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
pub fn growth_by_strategy(cells: &[CellStats]) -> BTreeMap<(String, String, String), GrowthFit> {
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
