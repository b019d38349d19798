//! The folds: one accumulator per workload, mergeable so that chunked and parallel strategies
//! combine partial results exactly.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use rustc_hash::FxHashMap;

use crate::answer::{Answer, GroupRow, TopRow};
use crate::parse::RowRef;
use crate::schema::{TopNParams, Workload};

/// Ranking key: larger total first, then smaller order id.
type Key = (i64, Reverse<i64>);

/// Keeps the best `n` rows above the threshold ([`TopNParams`]) in a bounded min-heap.
#[derive(Clone, Debug)]
pub struct TopN {
    params: TopNParams,
    heap: BinaryHeap<Reverse<Key>>,
}

impl TopN {
    /// An empty top-n.
    pub fn new(params: TopNParams) -> TopN {
        TopN {
            params,
            heap: BinaryHeap::new(),
        }
    }

    /// Offers one row.
    #[inline]
    pub fn push(&mut self, order_id: i64, total_cents: i64) {
        if total_cents <= self.params.above_cents {
            return;
        }
        let key = (total_cents, Reverse(order_id));
        let n = self.params.n as usize;
        if self.heap.len() < n {
            if self.heap.capacity() == 0 {
                // Room for the whole answer at once, unless a user's `n` is huge: then the
                // heap grows as rows arrive.
                self.heap.reserve_exact(n.min(1 << 12) + 1);
            }
            self.heap.push(Reverse(key));
        } else if let Some(Reverse(worst)) = self.heap.peek()
            && key > *worst
        {
            self.heap.pop();
            self.heap.push(Reverse(key));
        }
    }

    fn into_rows(self) -> Vec<TopRow> {
        let mut keys: Vec<Key> = self.heap.into_iter().map(|Reverse(k)| k).collect();
        keys.sort_unstable_by(|a, b| b.cmp(a));
        keys.into_iter()
            .map(|(total_cents, Reverse(order_id))| TopRow {
                order_id,
                total_cents,
            })
            .collect()
    }
}

/// Per-category counters. Sums are kept in 128 bits and checked against the 64-bit answer once,
/// at the end: the result does not depend on the order rows and partial results are added in,
/// so every strategy (sequential, chunked, parallel) reaches the same verdict.
#[derive(Clone, Debug, Default)]
pub struct GroupAcc {
    /// A fast hash map (one hash and one comparison per row; the ordered map compared keys
    /// five times): the answer is sorted by category at the end.
    groups: FxHashMap<String, (u64, i128, i128)>,
}

impl GroupAcc {
    /// Adds one row (allocates only for a category not seen before).
    #[inline]
    pub fn push(&mut self, category: &str, quantity: i64, total_cents: i64) {
        let slot = match self.groups.get_mut(category) {
            Some(s) => s,
            None => self.groups.entry(category.to_owned()).or_default(),
        };
        slot.0 += 1;
        slot.1 += i128::from(quantity);
        slot.2 += i128::from(total_cents);
    }
    /// Adds one row counted `weight` times (a joined row whose key matched `weight` rows).
    #[inline]
    pub fn push_weighted(&mut self, category: &str, quantity: i64, total_cents: i64, weight: u64) {
        let slot = match self.groups.get_mut(category) {
            Some(s) => s,
            None => self.groups.entry(category.to_owned()).or_default(),
        };
        let w = i128::from(weight);
        slot.0 += weight;
        slot.1 += i128::from(quantity) * w;
        slot.2 += i128::from(total_cents) * w;
    }

    /// Adds another part's groups.
    pub fn merge(&mut self, other: GroupAcc) {
        for (k, (n, q, t)) in other.groups {
            let slot = self.groups.entry(k).or_default();
            slot.0 += n;
            slot.1 += q;
            slot.2 += t;
        }
    }

    /// The groups sorted by category, or why a sum does not fit the answer's 64 bits.
    pub fn into_rows(self) -> Result<Vec<GroupRow>, String> {
        let fit = |v: i128, what: &str, cat: &str| {
            i64::try_from(v).map_err(|_| {
                format!("the sum of {what} over category {cat:?} is out of range (64-bit): {v}")
            })
        };
        let mut sorted: Vec<_> = self.groups.into_iter().collect();
        sorted.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        sorted
            .into_iter()
            .map(|(category, (rows, q, t))| {
                Ok(GroupRow {
                    sum_quantity: fit(q, "quantity", &category)?,
                    sum_total_cents: fit(t, "quantity × price", &category)?,
                    category,
                    rows,
                })
            })
            .collect()
    }

    /// Adds a pre-aggregated group whose sums are already wider than 64 bits (from an engine
    /// that sums exactly in parts).
    pub fn push_group_wide(
        &mut self,
        category: &str,
        rows: u64,
        sum_quantity: i128,
        sum_total: i128,
    ) {
        let slot = self.groups.entry(category.to_owned()).or_default();
        slot.0 += rows;
        slot.1 += sum_quantity;
        slot.2 += sum_total;
    }
    /// Adds a pre-aggregated group (from an engine that groups by itself).
    pub fn push_group(&mut self, category: &str, rows: u64, sum_quantity: i64, sum_total: i64) {
        let slot = self.groups.entry(category.to_owned()).or_default();
        slot.0 += rows;
        slot.1 += i128::from(sum_quantity);
        slot.2 += i128::from(sum_total);
    }
}

/// A workload's running aggregate.
#[derive(Clone, Debug)]
pub enum Accumulator {
    TopN(TopN),
    GroupBy(GroupAcc),
}

impl Accumulator {
    /// An empty accumulator for `workload`.
    ///
    /// # Panics
    /// For [`Workload::Etl`], which writes rows instead of folding them (strategies route it to
    /// their output writer; see [`Workload::is_aggregate`]).
    pub fn new(workload: &Workload) -> Self {
        match workload {
            Workload::TopN(p) => Accumulator::TopN(TopN::new(*p)),
            Workload::GroupBy => Accumulator::GroupBy(GroupAcc::default()),
            Workload::Etl => panic!("etl is not an aggregate: rows go to an output writer"),
            Workload::Join(_) => panic!("join reads two tables: it folds into a JoinAcc"),
            Workload::Query(_) => {
                panic!("a user's query runs through the generic operators (membench-query)")
            }
        }
    }

    /// The workload this accumulator folds.
    pub fn workload(&self) -> Workload {
        match self {
            Accumulator::TopN(t) => Workload::TopN(t.params),
            Accumulator::GroupBy(_) => Workload::GroupBy,
        }
    }

    /// Folds one validated row.
    #[inline]
    pub fn add(&mut self, row: &RowRef<'_>) {
        self.add_parts(row.order_id, row.category, row.quantity, row.price_cents);
    }

    /// Folds one row given only the columns the workloads need.
    #[inline]
    pub fn add_parts(&mut self, order_id: i64, category: &str, quantity: i64, price_cents: i64) {
        // Validated rows fit (`rules::check_values`); saturate rather than wrap otherwise.
        let total = quantity.saturating_mul(price_cents);
        match self {
            Accumulator::TopN(t) => t.push(order_id, total),
            Accumulator::GroupBy(g) => g.push(category, quantity, total),
        }
    }

    /// Merges a partial result computed on another part of the input.
    pub fn merge(&mut self, other: Accumulator) {
        match (self, other) {
            (Accumulator::TopN(a), Accumulator::TopN(b)) => {
                for Reverse((total, Reverse(id))) in b.heap {
                    a.push(id, total);
                }
            }
            (Accumulator::GroupBy(a), Accumulator::GroupBy(b)) => a.merge(b),
            _ => panic!("merging accumulators of different workloads"),
        }
    }

    /// The canonical answer, or why it does not fit the answer's 64-bit integers (a sum out of
    /// range).
    pub fn finish(self) -> Result<Answer, String> {
        match self {
            Accumulator::TopN(t) => Ok(Answer::TopN {
                rows: t.into_rows(),
            }),
            Accumulator::GroupBy(g) => Ok(Answer::GroupBy {
                groups: g.into_rows()?,
            }),
        }
    }
}

/// An accumulator as it is saved between two runs (incremental processing): the top-n's kept
/// rows, or every group's counters with the 128-bit sums as decimal strings (JSON numbers lose
/// them). Restoring and folding more rows gives exactly the answer of one run over all rows.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SavedAcc {
    /// `[total_cents, order_id]` of each kept row.
    TopN(Vec<[i64; 2]>),
    /// `[category, rows, sum_quantity, sum_total_cents]` of each group.
    GroupBy(Vec<(String, u64, String, String)>),
}

impl Accumulator {
    /// The saved form of this accumulator (in a canonical order: saved twice, equal bytes).
    pub fn save(&self) -> SavedAcc {
        match self {
            Accumulator::TopN(t) => {
                let mut rows: Vec<[i64; 2]> = t
                    .heap
                    .iter()
                    .map(|Reverse((total, Reverse(id)))| [*total, *id])
                    .collect();
                rows.sort_unstable();
                SavedAcc::TopN(rows)
            }
            Accumulator::GroupBy(g) => {
                let mut groups: Vec<_> = g
                    .groups
                    .iter()
                    .map(|(k, (n, q, t))| (k.clone(), *n, q.to_string(), t.to_string()))
                    .collect();
                groups.sort_unstable();
                SavedAcc::GroupBy(groups)
            }
        }
    }

    /// The accumulator of `workload` a saved form describes, or why it does not fit.
    pub fn restore(workload: &Workload, saved: SavedAcc) -> Result<Accumulator, String> {
        let mut acc = Accumulator::new(workload);
        match (&mut acc, saved) {
            (Accumulator::TopN(t), SavedAcc::TopN(rows)) => {
                for [total, id] in rows {
                    t.push(id, total);
                }
            }
            (Accumulator::GroupBy(g), SavedAcc::GroupBy(groups)) => {
                for (k, n, q, t) in groups {
                    let wide = |s: &str| {
                        s.parse::<i128>()
                            .map_err(|_| format!("group {k:?}: {s:?} is not a sum"))
                    };
                    let (q, t) = (wide(&q)?, wide(&t)?);
                    g.push_group_wide(&k, n, q, t);
                }
            }
            _ => return Err(format!("the saved state is not a {workload} state")),
        }
        Ok(acc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_n_breaks_ties_by_order_id_and_merges_exactly() {
        let mut whole = Accumulator::new(&Workload::TOP_N);
        let mut a = Accumulator::new(&Workload::TOP_N);
        let mut b = Accumulator::new(&Workload::TOP_N);
        for id in 0..1000i64 {
            // Many ties: totals repeat every 7 ids.
            let price = 50_000 + (id % 7) * 10_000;
            whole.add_parts(id, "x", 3, price);
            if id % 2 == 0 { &mut a } else { &mut b }.add_parts(id, "x", 3, price);
        }
        a.merge(b);
        let (w, m) = (whole.finish().unwrap(), a.finish().unwrap());
        assert_eq!(w, m);
        let Answer::TopN { rows } = w else { panic!() };
        assert_eq!(rows.len(), TopNParams::DEFAULT.n as usize);
        assert_eq!(
            rows[0],
            TopRow {
                order_id: 6,
                total_cents: 3 * 110_000
            }
        );
        assert!(
            rows.windows(2)
                .all(|p| (p[0].total_cents, -p[0].order_id) > (p[1].total_cents, -p[1].order_id))
        );
    }

    #[test]
    fn a_saved_accumulator_continues_exactly() {
        for w in [Workload::TOP_N, Workload::GroupBy] {
            let mut whole = Accumulator::new(&w);
            let mut first = Accumulator::new(&w);
            for id in 0..2000i64 {
                let (cat, q, price) = (["a", "b", "c"][id as usize % 3], id % 5, 40_000 + id * 37);
                whole.add_parts(id, cat, q, price);
                if id < 1200 {
                    first.add_parts(id, cat, q, price);
                }
            }
            let saved = first.save();
            let text = serde_json::to_string(&saved).unwrap();
            let mut again = Accumulator::restore(&w, serde_json::from_str(&text).unwrap()).unwrap();
            assert_eq!(again.save(), saved, "{w}: saved twice, equal");
            for id in 1200..2000i64 {
                let (cat, q, price) = (["a", "b", "c"][id as usize % 3], id % 5, 40_000 + id * 37);
                again.add_parts(id, cat, q, price);
            }
            assert_eq!(again.finish(), whole.finish(), "{w}");
        }
        let wrong = Accumulator::restore(&Workload::GroupBy, SavedAcc::TopN(vec![]));
        assert!(wrong.unwrap_err().contains("group-by"));
    }

    #[test]
    fn threshold_is_strict() {
        let mut acc = Accumulator::new(&Workload::TOP_N);
        acc.add_parts(1, "x", 1, TopNParams::DEFAULT.above_cents);
        assert_eq!(acc.finish().unwrap(), Answer::TopN { rows: vec![] });
    }

    #[test]
    fn sums_out_of_range_are_an_error_whatever_the_order() {
        let mut a = Accumulator::new(&Workload::GroupBy);
        a.add_parts(1, "books", 1, i64::MAX);
        let mut b = Accumulator::new(&Workload::GroupBy);
        b.add_parts(2, "books", 1, i64::MAX);
        b.add_parts(3, "books", 1, -i64::MAX + 10);
        // Partial sums fit or not; only the total decides: MAX + 10.
        a.merge(b);
        let e = a.finish().unwrap_err();
        assert!(e.contains("category \"books\" is out of range"), "{e}");
        let mut fits = Accumulator::new(&Workload::GroupBy);
        fits.add_parts(1, "x", 1, i64::MAX);
        fits.add_parts(2, "x", 1, -10);
        fits.add_parts(3, "x", 1, 10);
        assert!(fits.finish().is_ok());
    }
}
