//! `grace`: the partitioned hash join databases use for tables larger than memory. Both tables
//! are hash-partitioned on `order_id` into spill files (orders: the keys in range; items: a
//! fixed-size record), then each partition is joined on its own: its keys in a hash table, its
//! items streamed past. The partition count comes from the heap budget (`--memory-limit`, else
//! 64 MiB), so one partition's table fits in a quarter of it.

use membench_kernel::JoinAcc;
use rustc_hash::FxHashMap;

use crate::io::join::spill::{Categories, ItemRec, SpillDir, SpillFile, SpillWriter};
use crate::io::join::{JoinInput, locate_first_bad_row};
use crate::{Format, Outcome, Params, RunError, Strategy, format_of};

pub struct Grace;

/// The budget partitions are sized for when none is given.
const DEFAULT_BUDGET: u64 = 64 << 20;
/// Heap per key in a partition's hash table, with the table's spare capacity.
const BYTES_PER_KEY: u64 = 32;
/// The most partitions (each has two 64 KiB write buffers while partitioning).
const MAX_PARTITIONS: u64 = 64;

impl Strategy for Grace {
    fn run(&self, p: &Params) -> Result<Outcome, RunError> {
        let inp = JoinInput::of(p)?;
        let mut spill = SpillDir::new(&p.scratch)?;
        let n = partitions(p, &inp)?;
        let result = join(p, &inp, &mut spill, n);
        p.spilled(spill.bytes_written);
        match result {
            Err(RunError::Input(e)) => Err(locate_first_bad_row(&inp)?.unwrap_or(e).into()),
            other => other,
        }
    }

    /// A user's join: both inputs hash-partitioned on the key into spill files, then joined
    /// partition by partition (`io/join/query.rs`).
    fn query(&self, p: &Params, q: &crate::QueryParams) -> Result<Outcome, RunError> {
        crate::io::join::query::grace(p, q)
    }
}

/// Partitions so that one partition's keys fit a quarter of the budget, estimating the orders
/// from the file size (CSV: at least 32 bytes a row; Parquet: 8).
fn partitions(p: &Params, inp: &JoinInput) -> Result<usize, RunError> {
    let bytes = std::fs::metadata(&inp.orders).map(|m| m.len()).unwrap_or(0);
    let per_row = match format_of(&inp.orders)? {
        Format::Csv => 32,
        Format::Parquet => 8,
    };
    let budget = p.memory_budget_bytes.unwrap_or(DEFAULT_BUDGET);
    let table = (bytes / per_row) * BYTES_PER_KEY;
    let n = table.div_ceil((budget / 4).max(1)).clamp(1, MAX_PARTITIONS);
    p.setting(format!(
        "partitions={n} (≈{} orders × {BYTES_PER_KEY} B per key over a quarter of {} MiB)",
        bytes / per_row,
        budget >> 20
    ));
    Ok(n as usize)
}

#[inline]
fn partition_of(order_id: i64, n: usize) -> usize {
    ((order_id as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) as usize % n
}

fn join(p: &Params, inp: &JoinInput, spill: &mut SpillDir, n: usize) -> Result<Outcome, RunError> {
    p.phase("partition");
    let mut keys: Vec<SpillWriter> = (0..n).map(|_| spill.create()).collect::<Result<_, _>>()?;
    let mut orders = inp.orders()?;
    let mut result = Ok(());
    orders.for_each(|o| {
        if result.is_ok() && inp.dates.contains(o.order_date) {
            result = keys[partition_of(o.order_id, n)].key(o.order_id);
        }
    })?;
    result?;
    let keys: Vec<SpillFile> = keys
        .into_iter()
        .map(|w| spill.close(w))
        .collect::<Result<_, _>>()?;
    let mut cats = Categories::default();
    let mut parts: Vec<SpillWriter> = (0..n).map(|_| spill.create()).collect::<Result<_, _>>()?;
    let mut items = inp.items()?;
    let mut result = Ok(());
    items.for_each(|i| {
        if result.is_ok() {
            let rec = ItemRec::of(&i, &mut cats);
            result = parts[partition_of(rec.order_id, n)].item(&rec);
        }
    })?;
    result?;
    let parts: Vec<SpillFile> = parts
        .into_iter()
        .map(|w| spill.close(w))
        .collect::<Result<_, _>>()?;
    p.spilled(spill.bytes_written);
    p.phase("join");
    let mut acc = JoinAcc::default();
    for (k, items) in keys.iter().zip(&parts) {
        let mut table: FxHashMap<i64, u32> = FxHashMap::default();
        k.for_each_key(|id| *table.entry(id).or_default() += 1)?;
        items.for_each_item(|rec| {
            if let Some(&w) = table.get(&rec.order_id) {
                cats.add(&mut acc, &rec, w);
            }
        })?;
    }
    let mut counts = orders.counts;
    counts.add(items.counts);
    inp.finish(acc, counts)
}
