//! The shape knobs applied to generated rows ([`Shaper`]): key cardinality, zipf skew, null
//! rate, note length and sort order. They draw from their own random stream, so a knob changes
//! only the columns it is about, and the default table (no knob) is byte-identical to before.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::rows::{DAYS, RowVals, WORDS};
use crate::spec::GenSpec;
use membench_protocol::{Ratio, Shape, SortKey};

/// A spec's shape, ready to apply to rows: computed once per file.
#[derive(Clone, Debug)]
pub struct Shaper {
    shape: Shape,
    rows: u64,
    keys: u64,
    /// A multiplier coprime with `keys`: `x → x·step mod keys` scatters keys over 1..=keys.
    step: u64,
    zipf: Option<Zipf>,
}

impl Shaper {
    pub fn new(spec: &GenSpec) -> Shaper {
        let shape = spec.shape;
        let keys = shape.keys();
        let mut step = ((keys as f64 * 0.618_033_988_7) as u64) | 1;
        while gcd(step, keys) != 1 {
            step += 1;
        }
        Shaper {
            shape,
            rows: spec.rows,
            keys,
            step,
            zipf: shape.zipf.map(|Ratio(s)| Zipf::new(keys, s)),
        }
    }

    /// True when no knob is set: rows are left as drawn.
    pub fn is_default(&self) -> bool {
        self.shape.is_default()
    }

    /// The knobs' own random stream for block `block` (apart from the row values' stream).
    pub fn rng(&self, seed: u64, block: u64) -> ChaCha8Rng {
        crate::rows::block_rng(seed, block | (1 << 62))
    }

    /// Key rank `rank` (0-based) as a `customer_id` scattered over 1..=keys.
    fn scatter(&self, rank: u64) -> i64 {
        (1 + (u128::from(rank) * u128::from(self.step) % u128::from(self.keys)) as u64) as i64
    }

    /// Applies the knobs to row `index`'s values and note.
    pub fn apply(&self, rng: &mut ChaCha8Rng, index: u64, v: &mut RowVals, note: &mut String) {
        let s = &self.shape;
        if s.sorted_by == Some(SortKey::CustomerId) {
            // Ascending keys with the same frequencies: the quantile of the row's position.
            let u = (index as f64 + 0.5) / self.rows as f64;
            v.customer_id = match &self.zipf {
                Some(z) => z.quantile(u) as i64,
                None => {
                    (1 + (u128::from(index) * u128::from(self.keys) / u128::from(self.rows)) as u64)
                        as i64
                }
            };
        } else if let Some(z) = &self.zipf {
            v.customer_id = self.scatter(z.sample(rng) - 1);
        } else if s.key_cardinality.is_some() {
            // Every key in turn: exactly `keys` distinct ones once rows ≥ keys.
            v.customer_id = self.scatter(index % self.keys);
        }
        if s.sorted_by == Some(SortKey::OrderDate) {
            v.day = (u128::from(index) * u128::from(DAYS) / u128::from(self.rows)) as u32;
        }
        if let Some(Ratio(r)) = s.null_rate {
            let null = rng.random_bool(r);
            v.discount_cents = match null {
                true => None,
                false => Some(v.discount_cents.unwrap_or_else(|| rng.random_range(0..=30))),
            };
        }
        if let Some(b) = s.text_bytes {
            resize_note(rng, note, b);
        }
    }
}

/// Makes `note` between half and 1.5× `mean` bytes: cut at a word (a char boundary at worst),
/// or lengthened with words.
fn resize_note(rng: &mut ChaCha8Rng, note: &mut String, mean: u32) {
    let mean = mean as usize;
    let target = match mean {
        0 => 0,
        _ => rng.random_range(mean / 2..=mean + mean / 2),
    };
    if note.len() > target {
        let mut cut = target;
        while !note.is_char_boundary(cut) {
            cut -= 1;
        }
        if let Some(space) = note[..cut].rfind(' ') {
            cut = space;
        }
        note.truncate(cut);
        return;
    }
    while note.len() < target {
        if !note.is_empty() {
            note.push(' ');
        }
        note.push_str(WORDS[rng.random_range(0..WORDS.len())]);
    }
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// Zipf over ranks 1..=n with exponent s: rejection-inversion sampling (Hörmann and Derflinger,
/// 1996; as Apache Commons RNG implements it), O(1) per draw whatever `n`.
#[derive(Clone, Debug)]
pub struct Zipf {
    n: f64,
    s: f64,
    h_integral_x1: f64,
    h_integral_n: f64,
    threshold: f64,
}

impl Zipf {
    pub fn new(n: u64, s: f64) -> Zipf {
        let n = n as f64;
        let mut z = Zipf {
            n,
            s,
            h_integral_x1: 0.0,
            h_integral_n: 0.0,
            threshold: 0.0,
        };
        z.h_integral_x1 = z.h_integral(1.5) - 1.0;
        z.h_integral_n = z.h_integral(n + 0.5);
        z.threshold = 2.0 - z.h_integral_inv(z.h_integral(2.5) - z.h(2.0));
        z
    }

    fn h(&self, x: f64) -> f64 {
        (-self.s * x.ln()).exp()
    }

    fn h_integral(&self, x: f64) -> f64 {
        let l = x.ln();
        helper2((1.0 - self.s) * l) * l
    }

    fn h_integral_inv(&self, x: f64) -> f64 {
        let t = (x * (1.0 - self.s)).max(-1.0);
        (helper1(t) * x).exp()
    }

    /// One rank, 1..=n.
    pub fn sample(&self, rng: &mut ChaCha8Rng) -> u64 {
        loop {
            let u: f64 = rng.random();
            let u = self.h_integral_n + u * (self.h_integral_x1 - self.h_integral_n);
            let x = self.h_integral_inv(u);
            let k = (x + 0.5).floor().clamp(1.0, self.n);
            if k - x <= self.threshold || u >= self.h_integral(k + 0.5) - self.h(k) {
                return k as u64;
            }
        }
    }

    /// The rank at cumulative frequency `u` (0..1), from the continuous power law: sorted
    /// input with zipf frequencies.
    pub fn quantile(&self, u: f64) -> u64 {
        let e = 1.0 - self.s;
        let r = if e.abs() < 1e-9 {
            self.n.powf(u)
        } else {
            (1.0 + u * (self.n.powf(e) - 1.0)).powf(1.0 / e)
        };
        r.floor().clamp(1.0, self.n) as u64
    }
}

/// `ln(1+x)/x`, accurate near 0.
fn helper1(x: f64) -> f64 {
    if x.abs() > 1e-8 {
        x.ln_1p() / x
    } else {
        1.0 - x * (0.5 - x * (1.0 / 3.0 - 0.25 * x))
    }
}

/// `(e^x − 1)/x`, accurate near 0.
fn helper2(x: f64) -> f64 {
    if x.abs() > 1e-8 {
        x.exp_m1() / x
    } else {
        1.0 + x * 0.5 * (1.0 + x / 3.0 * (1.0 + 0.25 * x))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The sampler's frequencies follow r^-s: rank 1 against rank 2 and 10.
    #[test]
    fn zipf_ranks_follow_the_power_law() {
        let z = Zipf::new(1000, 1.1);
        let mut rng = crate::rows::block_rng(7, 0);
        let mut counts = vec![0u64; 1001];
        for _ in 0..200_000 {
            counts[z.sample(&mut rng) as usize] += 1;
        }
        let ratio2 = counts[1] as f64 / counts[2] as f64;
        let ratio10 = counts[1] as f64 / counts[10] as f64;
        assert!((ratio2 - 2f64.powf(1.1)).abs() < 0.15, "{ratio2}");
        assert!((ratio10 - 10f64.powf(1.1)).abs() < 2.0, "{ratio10}");
        assert_eq!(counts[0], 0);
    }

    #[test]
    fn scatter_is_a_permutation_of_the_keys() {
        for keys in [1u64, 7, 10, 1000, 1024] {
            let spec = GenSpec {
                shape: Shape {
                    key_cardinality: Some(keys),
                    ..Shape::default()
                },
                ..GenSpec::default()
            };
            let s = Shaper::new(&spec);
            let mut seen: Vec<i64> = (0..keys).map(|r| s.scatter(r)).collect();
            seen.sort_unstable();
            assert_eq!(seen, (1..=keys as i64).collect::<Vec<_>>(), "{keys}");
        }
    }
}
