//! Significance of a difference between two samples: the Mann–Whitney U test, shared by
//! `compare` (two commands interleaved) and the history's change points ([`crate::changepoint`]).
//!
//! Must not: decide what a difference means (thresholds belong to the caller).

/// The two-sided p of the Mann–Whitney U test (normal approximation with the tie correction
/// and a continuity correction; fine from about 8 samples a side).
pub fn mann_whitney_p(a: &[f64], b: &[f64]) -> f64 {
    let (n1, n2) = (a.len() as f64, b.len() as f64);
    if a.is_empty() || b.is_empty() {
        return 1.0;
    }
    let mut all: Vec<(f64, usize)> = a
        .iter()
        .map(|&x| (x, 0))
        .chain(b.iter().map(|&x| (x, 1)))
        .collect();
    all.sort_by(|x, y| x.0.total_cmp(&y.0));
    // Mid-ranks for ties, and the tie term of the variance.
    let (mut rank_sum_a, mut ties, mut i) = (0.0, 0.0, 0);
    while i < all.len() {
        let mut j = i;
        while j + 1 < all.len() && all[j + 1].0 == all[i].0 {
            j += 1;
        }
        let rank = (i + j) as f64 / 2.0 + 1.0;
        let t = (j - i + 1) as f64;
        ties += t * t * t - t;
        rank_sum_a += rank * all[i..=j].iter().filter(|x| x.1 == 0).count() as f64;
        i = j + 1;
    }
    let u = rank_sum_a - n1 * (n1 + 1.0) / 2.0;
    let n = n1 + n2;
    let mean = n1 * n2 / 2.0;
    let var = n1 * n2 / 12.0 * ((n + 1.0) - ties / (n * (n - 1.0)));
    if var <= 0.0 {
        return 1.0;
    }
    let z = ((u - mean).abs() - 0.5).max(0.0) / var.sqrt();
    (2.0 * normal_upper_tail(z)).min(1.0)
}

/// P(Z > z) of the standard normal (Abramowitz–Stegun 7.1.26 for erfc, error below 1.5e-7).
pub fn normal_upper_tail(z: f64) -> f64 {
    let x = z / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.3275911 * x);
    let poly = t
        * (0.254829592
            + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
    0.5 * poly * (-x * x).exp()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values() {
        let a: Vec<f64> = (0..10).map(|i| 100.0 + f64::from(i)).collect();
        let b: Vec<f64> = (0..10).map(|i| 120.0 + f64::from(i)).collect();
        // U = 0 at n = 10 + 10: z = (50 − 0.5) / 13.23 = 3.74.
        assert!((mann_whitney_p(&a, &b) - 1.8e-4).abs() < 0.3e-4);
        assert!((mann_whitney_p(&a, &a) - 1.0).abs() < 1e-9);
        assert_eq!(mann_whitney_p(&[], &a), 1.0);
        assert!((normal_upper_tail(1.96) - 0.025).abs() < 1e-4);
    }
}
