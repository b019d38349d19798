//! `merge-join`: a sort-merge join on `order_id` in constant memory. Both tables are read once,
//! side by side, when they are in `order_id` order: each item meets its orders as both
//! streams advance. Items found out of order from some row on (`--shuffle-items` data) are sorted
//! from that row with an external merge sort — runs of bounded size spilled to the scratch
//! folder, then merged — and joined with a second pass over the orders; orders out of order
//! have their keys in range sorted the same way first. Phases (`merge`, `sort`, `merge-sorted`)
//! show the sort's share of time and memory; the record has the bytes spilled.

use membench_kernel::JoinAcc;

use crate::outcome::Counts;
use crate::io::join::spill::{Categories, ExternalSort, ItemRec, Sorted, SpillDir};
use crate::io::join::{JoinInput, Orders, Rows, locate_first_bad_row};
use crate::{Outcome, Params, RunError, Strategy};

pub struct MergeJoin;

/// Memory for one sorted run when no budget is given.
const RUN_BYTES: usize = 8 << 20;

impl Strategy for MergeJoin {
    fn run(&self, p: &Params) -> Result<Outcome, RunError> {
        let inp = JoinInput::of(p)?;
        let mut job = Job {
            p,
            inp: &inp,
            spill: SpillDir::new(&p.scratch)?,
            cats: Categories::default(),
            run_bytes: run_bytes(p),
        };
        let result = job.join();
        p.spilled(job.spill.bytes_written);
        // A bad item is reported only once the orders are known to be valid (orders first).
        match result {
            Err(RunError::Input(e)) => Err(locate_first_bad_row(&inp)?.unwrap_or(e).into()),
            other => other,
        }
    }

    /// A user's join: both inputs sorted on the key by an external merge sort, then read side
    /// by side (`io/join/query.rs`).
    fn query(&self, p: &Params, q: &crate::QueryParams) -> Result<Outcome, RunError> {
        crate::io::join::query::merge(p, q)
    }
}

/// A sorted run's share of the heap budget: a quarter of it, at most [`RUN_BYTES`].
fn run_bytes(p: &Params) -> usize {
    let budget = p.memory_budget_bytes.map_or(usize::MAX, |b| (b / 4) as usize);
    let run = RUN_BYTES.min(budget).max(64 * 1024);
    p.setting(format!("run_bytes={run} (a quarter of --memory-limit, at most 8 MiB)"));
    run
}

struct Job<'a> {
    p: &'a Params,
    inp: &'a JoinInput,
    spill: SpillDir,
    cats: Categories,
    run_bytes: usize,
}

/// Why a pass over streamed orders stopped.
enum Pass {
    Done(JoinAcc, Counts),
    OrdersUnsorted,
}

impl Job<'_> {
    fn join(&mut self) -> Result<Outcome, RunError> {
        self.p.phase("merge");
        let streamed = Keys::Stream {
            rows: Box::new(self.inp.orders()?),
            head: None,
            last: i64::MIN,
        };
        if let Pass::Done(acc, counts) = self.pass(streamed, &|job: &mut Self| {
            job.inp.orders().map(|r| Keys::Stream {
                rows: Box::new(r),
                head: None,
                last: i64::MIN,
            })
        })? {
            return self.inp.finish(acc, counts);
        }
        // The orders are not in order_id order: sort their keys in range, then start again.
        self.p.phase("sort-orders");
        let reopen = |job: &mut Self| job.sorted_orders();
        let keys = reopen(self)?;
        match self.pass(keys, &reopen)? {
            Pass::Done(acc, counts) => self.inp.finish(acc, counts),
            Pass::OrdersUnsorted => unreachable!("sorted keys are in order"),
        }
    }

    /// The keys of the orders in range, sorted externally.
    fn sorted_orders(&mut self) -> Result<Keys, RunError> {
        let mut sort = ExternalSort::new(&mut self.spill, self.run_bytes);
        let mut rows = self.inp.orders()?;
        let dates = &self.inp.dates;
        let mut result = Ok(());
        rows.for_each(|o| {
            if result.is_ok() && dates.contains(o.order_date) {
                // A key travels as an item record of which only `order_id` is read.
                result = sort.push(ItemRec {
                    order_id: o.order_id,
                    quantity: 0,
                    price_cents: 0,
                    category: 0,
                });
            }
        })?;
        result?;
        let sorted = sort.finish()?;
        self.p.spilled(self.spill.bytes_written);
        Ok(Keys::Sorted {
            sorted,
            head: None,
            counts: rows.counts,
        })
    }

    /// One join of every item against `keys`; items out of order from some row on are sorted
    /// and joined against a fresh `reopen()` of the keys.
    fn pass(
        &mut self,
        mut keys: Keys,
        reopen: &dyn Fn(&mut Self) -> Result<Keys, RunError>,
    ) -> Result<Pass, RunError> {
        let mut acc = JoinAcc::default();
        let mut items = self.inp.items()?;
        let mut last = i64::MIN;
        let mut cur = Weight::default();
        let cats = &mut self.cats;
        while let Some(rec) = items.next_with(|i| ItemRec::of(&i, cats))? {
            if rec.order_id < last {
                return self.sort_rest(rec, items, acc, reopen);
            }
            last = rec.order_id;
            let Some(w) = cur.of(&mut keys, rec.order_id, &self.inp.dates)? else {
                return Ok(Pass::OrdersUnsorted);
            };
            cats.add(&mut acc, &rec, w);
        }
        let mut counts = keys.drain()?;
        counts.add(items.counts);
        Ok(Pass::Done(acc, counts))
    }

    /// Sorts `first` and the items after it, then joins them against fresh keys.
    fn sort_rest(
        &mut self,
        first: ItemRec,
        mut items: Rows<crate::io::join::Items>,
        mut acc: JoinAcc,
        reopen: &dyn Fn(&mut Self) -> Result<Keys, RunError>,
    ) -> Result<Pass, RunError> {
        self.p.phase("sort");
        let mut sort = ExternalSort::new(&mut self.spill, self.run_bytes);
        sort.push(first)?;
        let cats = &mut self.cats;
        while let Some(rec) = items.next_with(|i| ItemRec::of(&i, cats))? {
            sort.push(rec)?;
        }
        let mut sorted = sort.finish()?;
        self.p.spilled(self.spill.bytes_written);
        self.p.phase("merge-sorted");
        let mut keys = reopen(self)?;
        let mut cur = Weight::default();
        while let Some(rec) = sorted.next()? {
            let Some(w) = cur.of(&mut keys, rec.order_id, &self.inp.dates)? else {
                return Ok(Pass::OrdersUnsorted);
            };
            self.cats.add(&mut acc, &rec, w);
        }
        let mut counts = keys.drain()?;
        counts.add(items.counts);
        Ok(Pass::Done(acc, counts))
    }
}

/// The orders side of the merge: order keys in ascending order.
enum Keys {
    /// The `orders` table as it is read (checked to be in order as it goes).
    Stream {
        rows: Box<Rows<Orders>>,
        head: Option<(i64, bool)>,
        last: i64,
    },
    /// Keys in range, sorted.
    Sorted {
        sorted: Sorted,
        head: Option<i64>,
        counts: Counts,
    },
}

/// What [`Keys::next`] found.
enum Next {
    Key(i64, bool),
    End,
    Unsorted,
}

impl Keys {
    /// The next key, and whether its order is in range.
    fn next(&mut self, dates: &membench_kernel::DateRange) -> Result<Next, RunError> {
        match self {
            Keys::Stream { rows, head, last } => {
                let Some((id, in_range)) = head
                    .take()
                    .map(Ok)
                    .or_else(|| {
                        rows.next_with(|o| (o.order_id, dates.contains(o.order_date)))
                            .transpose()
                    })
                    .transpose()?
                else {
                    return Ok(Next::End);
                };
                if id < *last {
                    return Ok(Next::Unsorted);
                }
                *last = id;
                Ok(Next::Key(id, in_range))
            }
            Keys::Sorted { sorted, head, .. } => Ok(match head.take() {
                Some(id) => Next::Key(id, true),
                None => match sorted.next()? {
                    Some(r) => Next::Key(r.order_id, true),
                    None => Next::End,
                },
            }),
        }
    }

    /// Puts a key back (it belongs to a later item).
    fn unread(&mut self, id: i64, in_range: bool) {
        match self {
            Keys::Stream { head, .. } => *head = Some((id, in_range)),
            Keys::Sorted { head, .. } => *head = Some(id),
        }
    }

    /// Validates and counts the orders not read yet; the table's counts.
    fn drain(self) -> Result<Counts, RunError> {
        match self {
            Keys::Stream { mut rows, .. } => {
                rows.drain()?;
                Ok(rows.counts)
            }
            Keys::Sorted { counts, .. } => Ok(counts),
        }
    }
}

/// The weight of the current item key: how many orders in range carry it.
#[derive(Default)]
struct Weight {
    key: Option<i64>,
    weight: u32,
}

impl Weight {
    /// The weight of `key` (ascending calls), or `None` when the keys are out of order.
    #[inline]
    fn of(
        &mut self,
        keys: &mut Keys,
        key: i64,
        dates: &membench_kernel::DateRange,
    ) -> Result<Option<u32>, RunError> {
        if self.key == Some(key) {
            return Ok(Some(self.weight));
        }
        let mut weight = 0;
        loop {
            match keys.next(dates)? {
                Next::Unsorted => return Ok(None),
                Next::End => break,
                Next::Key(id, _) if id < key => {}
                Next::Key(id, in_range) if id == key => weight += u32::from(in_range),
                Next::Key(id, in_range) => {
                    keys.unread(id, in_range);
                    break;
                }
            }
        }
        self.key = Some(key);
        self.weight = weight;
        Ok(Some(weight))
    }
}
