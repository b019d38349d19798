//! The `orders` schema's two tables: `orders` (one row per order, in `order_id` order) and
//! `order_items` (1–8 items per order, skewed: most orders have one or two, a few have eight),
//! for the `join` workload.
//!
//! Every value is a hash of (seed, order id, column), not a draw from a stream, so any order's
//! rows can be produced on their own: that is what lets `--shuffle-items` write the items in a
//! scrambled order in bounded memory (orders visited in a pseudo-random permutation, then each
//! window of [`SHUFFLE_WINDOW`] items shuffled) with the same rows as the ordered file.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use anyhow::{Context, Result};
use membench_kernel::{HashingWriter, ITEMS_COLUMNS, ORDERS_COLUMNS};
use polars::prelude::*;

use crate::rows::{CATEGORIES, REGIONS, push_cents};
use crate::spec::{
    DataSchema, Format, GenOutput, GenSpec, Target, Written, check_spec, table_file_name,
    write_dataset,
};

/// Order statuses (uniform).
pub const STATUSES: [&str; 5] = ["placed", "paid", "shipped", "delivered", "returned"];
/// Days of `order_date`, from 2022-01-01: three years, so the `join` workload's default range
/// (2023) holds about a third of the orders.
const DAYS: u64 = 1096;
/// Cumulative weights of 1..=8 items per order (out of 100): mean ≈ 2.5.
const ITEM_WEIGHTS: [u64; 8] = [40, 62, 76, 85, 91, 95, 98, 100];
/// Items shuffled together in `--shuffle-items` files.
pub const SHUFFLE_WINDOW: usize = 65_536;
/// Rows per block written at once.
const BLOCK: u64 = 65_536;

fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The value of column `salt` of order `id` (items: salt 16 + 8 × line + column).
fn h(seed: u64, id: u64, salt: u64) -> u64 {
    mix(seed ^ mix(id.wrapping_mul(0x100).wrapping_add(salt)))
}

/// A uniform float in [0, 1) from a hash.
fn unit(x: u64) -> f64 {
    (x >> 11) as f64 / (1u64 << 53) as f64
}

/// One order's values.
pub struct Order {
    pub order_id: i64,
    pub day: u64,
    pub customer_id: i64,
    pub region: &'static str,
    pub status: &'static str,
    pub items: u64,
}

/// One item's values.
pub struct Item {
    pub order_id: i64,
    pub line_no: i64,
    pub product_id: i64,
    pub category: &'static str,
    pub quantity: i64,
    pub price_cents: i64,
}

/// Order `id` (1-based) of a dataset of `orders` orders.
pub fn order(seed: u64, orders: u64, id: u64) -> Order {
    let pick = h(seed, id, 5) % 100;
    Order {
        order_id: id as i64,
        day: h(seed, id, 1) % DAYS,
        customer_id: 1 + (h(seed, id, 2) % (orders / 4).max(1)) as i64,
        region: REGIONS[(h(seed, id, 3) % REGIONS.len() as u64) as usize],
        status: STATUSES[(h(seed, id, 4) % STATUSES.len() as u64) as usize],
        items: 1 + ITEM_WEIGHTS.iter().position(|&w| pick < w).unwrap_or(7) as u64,
    }
}

/// Item `line` (1-based) of order `id`.
pub fn item(seed: u64, id: u64, line: u64) -> Item {
    let c = |k: u64| h(seed, id, 16 + 8 * line + k);
    let u = unit(c(0));
    let q = unit(c(1));
    let p = unit(c(2));
    Item {
        order_id: id as i64,
        line_no: line as i64,
        product_id: 1 + (c(3) % 50_000) as i64,
        category: CATEGORIES[(CATEGORIES.len() as f64 * u * u) as usize],
        quantity: 1 + (9.0 * q * q * q) as i64,
        price_cents: (10f64.powf(2.9 * p * p) * 100.0).round() as i64,
    }
}

/// `YYYY-MM-DD` for each day of the span.
fn dates() -> Vec<String> {
    let start = chrono::NaiveDate::from_ymd_opt(2022, 1, 1).expect("valid date");
    (0..DAYS)
        .map(|d| {
            (start + chrono::Days::new(d))
                .format("%Y-%m-%d")
                .to_string()
        })
        .collect()
}

/// A bijection of `0..n` (a 4-round Feistel network on the next even power of two, cycle-walked
/// back into range): the order in which a shuffled file visits the orders.
struct Permutation {
    n: u64,
    half_bits: u32,
    seed: u64,
}

impl Permutation {
    fn new(n: u64, seed: u64) -> Permutation {
        let bits = 64 - n.max(2).saturating_sub(1).leading_zeros();
        Permutation {
            n,
            half_bits: bits.div_ceil(2).max(1),
            seed,
        }
    }

    fn at(&self, i: u64) -> u64 {
        let mask = (1u64 << self.half_bits) - 1;
        let mut x = i;
        loop {
            let (mut l, mut r) = (x >> self.half_bits, x & mask);
            for round in 0..4 {
                let f = mix(r ^ self.seed.wrapping_add(round)) & mask;
                (l, r) = (r, l ^ f);
            }
            x = (l << self.half_bits) | r;
            if x < self.n {
                return x;
            }
        }
    }
}

/// The items of the dataset in file order, block by block.
fn item_blocks(spec: &GenSpec, mut f: impl FnMut(&[Item]) -> Result<()>) -> Result<()> {
    let seed = spec.seed;
    let perm = spec
        .shuffle_items
        .then(|| Permutation::new(spec.rows, seed ^ 0x5EED));
    let mut block: Vec<Item> = Vec::with_capacity(SHUFFLE_WINDOW + 8);
    let mut window = 0u64;
    let mut flush = |block: &mut Vec<Item>, window: &mut u64| -> Result<()> {
        if perm.is_some() {
            // Fisher–Yates with the window's own hash stream.
            for i in (1..block.len()).rev() {
                let j = (h(seed ^ 0xF15E, *window, i as u64) % (i as u64 + 1)) as usize;
                block.swap(i, j);
            }
        }
        *window += 1;
        f(block)?;
        block.clear();
        Ok(())
    };
    for i in 0..spec.rows {
        let id = 1 + perm.as_ref().map_or(i, |p| p.at(i));
        let o = order(seed, spec.rows, id);
        for line in 1..=o.items {
            block.push(item(seed, id, line));
        }
        if block.len() >= SHUFFLE_WINDOW {
            flush(&mut block, &mut window)?;
        }
    }
    if !block.is_empty() {
        flush(&mut block, &mut window)?;
    }
    Ok(())
}

/// How many items the dataset has.
fn count_items(spec: &GenSpec) -> u64 {
    (1..=spec.rows)
        .map(|id| order(spec.seed, spec.rows, id).items)
        .sum()
}

/// Generates (or reuses) both tables: `[orders, order_items]`. The orders file does not depend
/// on `--shuffle-items` (its sidecar records the ordered spec), so the ordered and the shuffled
/// items share it.
pub fn generate_orders(
    spec: &GenSpec,
    format: Format,
    dir: &Path,
    force: bool,
    progress: &mut dyn FnMut(u64),
) -> Result<[GenOutput; 2]> {
    anyhow::ensure!(spec.schema == DataSchema::Orders, "not an orders spec");
    check_spec(spec, format)?;
    let orders_spec = GenSpec {
        shuffle_items: false,
        ..spec.clone()
    };
    let orders_name = table_file_name("orders", &orders_spec, format);
    let items_name = table_file_name("order_items", spec, format);
    let dates = dates();
    let orders = Target {
        dir,
        name: orders_name.clone(),
        table: "orders",
        rows: spec.rows,
        pair: None,
        compressed: crate::spec::Compression::None,
    };
    let o = write_dataset(&orders, &orders_spec, format, force, &mut |tmp| {
        write_table(tmp, format, spec, Table::Orders, &dates, progress)
    })?;
    let items = Target {
        dir,
        name: items_name,
        table: "order_items",
        rows: count_items(spec),
        pair: Some(orders_name),
        compressed: crate::spec::Compression::None,
    };
    let i = write_dataset(&items, spec, format, force, &mut |tmp| {
        write_table(tmp, format, spec, Table::Items, &dates, progress)
    })?;
    Ok([o, i])
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Table {
    Orders,
    Items,
}

type Sink = HashingWriter<BufWriter<File>>;
type ParquetBatches<'a> = polars::io::parquet::write::BatchedWriter<&'a mut Sink>;

/// Where rows go: CSV text or Parquet frames, hashed as written.
enum Out<'a, 'b> {
    Csv(&'a mut Sink),
    Parquet(&'a mut ParquetBatches<'b>),
}

fn write_table(
    tmp: &Path,
    format: Format,
    spec: &GenSpec,
    table: Table,
    dates: &[String],
    progress: &mut dyn FnMut(u64),
) -> Result<Written> {
    let file = membench_safefs::create_fresh(tmp, 0o644)
        .with_context(|| format!("creating {}", tmp.display()))?;
    let mut sink = HashingWriter::new(BufWriter::with_capacity(1 << 20, file));
    let columns: &[&str] = match table {
        Table::Orders => &ORDERS_COLUMNS,
        Table::Items => &ITEMS_COLUMNS,
    };
    match format {
        Format::Csv => {
            sink.write_all((columns.join(",") + "\n").as_bytes())?;
            fill(&mut Out::Csv(&mut sink), spec, table, dates, progress)?;
        }
        Format::Parquet => {
            let empty = match table {
                Table::Orders => orders_frame(&[], dates)?,
                Table::Items => items_frame(&[])?,
            };
            let mut w = ParquetWriter::new(&mut sink)
                .with_compression(crate::parquet_out::codec(spec))
                .with_row_group_size(Some(spec.row_group_rows))
                .batched(empty.schema())?;
            fill(&mut Out::Parquet(&mut w), spec, table, dates, progress)?;
            w.finish()?;
        }
    }
    crate::spec::close(sink, tmp, BTreeMap::new())
}

/// Writes every row of `table` to `out`, a block at a time.
fn fill(
    out: &mut Out<'_, '_>,
    spec: &GenSpec,
    table: Table,
    dates: &[String],
    progress: &mut dyn FnMut(u64),
) -> Result<()> {
    let mut done = 0u64;
    match table {
        Table::Orders => {
            let mut start = 1;
            while start <= spec.rows {
                let end = (start + BLOCK).min(spec.rows + 1);
                let block: Vec<Order> = (start..end)
                    .map(|id| order(spec.seed, spec.rows, id))
                    .collect();
                write_orders(out, &block, dates)?;
                done += block.len() as u64;
                progress(done);
                start = end;
            }
            Ok(())
        }
        Table::Items => item_blocks(spec, |block| {
            write_items(out, block)?;
            done += block.len() as u64;
            progress(done);
            Ok(())
        }),
    }
}

fn write_orders(out: &mut Out<'_, '_>, block: &[Order], dates: &[String]) -> Result<()> {
    match out {
        Out::Csv(w) => {
            let mut text = Vec::with_capacity(block.len() * 48);
            let mut num = itoa::Buffer::new();
            for o in block {
                text.extend_from_slice(num.format(o.order_id).as_bytes());
                text.push(b',');
                text.extend_from_slice(dates[o.day as usize].as_bytes());
                text.push(b',');
                text.extend_from_slice(num.format(o.customer_id).as_bytes());
                for s in [o.region, o.status] {
                    text.push(b',');
                    text.extend_from_slice(s.as_bytes());
                }
                text.push(b'\n');
            }
            w.write_all(&text)?;
        }
        Out::Parquet(w) => w.write_batch(&orders_frame(block, dates)?)?,
    }
    Ok(())
}

fn write_items(out: &mut Out<'_, '_>, block: &[Item]) -> Result<()> {
    match out {
        Out::Csv(w) => {
            let mut text = Vec::with_capacity(block.len() * 40);
            let mut num = itoa::Buffer::new();
            for i in block {
                for v in [i.order_id, i.line_no, i.product_id] {
                    text.extend_from_slice(num.format(v).as_bytes());
                    text.push(b',');
                }
                text.extend_from_slice(i.category.as_bytes());
                text.push(b',');
                text.extend_from_slice(num.format(i.quantity).as_bytes());
                text.push(b',');
                push_cents(&mut text, i.price_cents, &mut num);
                text.push(b'\n');
            }
            w.write_all(&text)?;
        }
        Out::Parquet(w) => w.write_batch(&items_frame(block)?)?,
    }
    Ok(())
}

fn orders_frame(block: &[Order], dates: &[String]) -> PolarsResult<DataFrame> {
    DataFrame::new(
        block.len(),
        vec![
            Column::new(
                "order_id".into(),
                block.iter().map(|o| o.order_id).collect::<Vec<_>>(),
            ),
            Column::new(
                "order_date".into(),
                block
                    .iter()
                    .map(|o| dates[o.day as usize].as_str())
                    .collect::<Vec<_>>(),
            ),
            Column::new(
                "customer_id".into(),
                block.iter().map(|o| o.customer_id).collect::<Vec<_>>(),
            ),
            Column::new(
                "region".into(),
                block.iter().map(|o| o.region).collect::<Vec<_>>(),
            ),
            Column::new(
                "status".into(),
                block.iter().map(|o| o.status).collect::<Vec<_>>(),
            ),
        ],
    )
}

fn items_frame(block: &[Item]) -> PolarsResult<DataFrame> {
    let ints = |f: fn(&Item) -> i64| block.iter().map(f).collect::<Vec<i64>>();
    DataFrame::new(
        block.len(),
        vec![
            Column::new("order_id".into(), ints(|i| i.order_id)),
            Column::new("line_no".into(), ints(|i| i.line_no)),
            Column::new("product_id".into(), ints(|i| i.product_id)),
            Column::new(
                "category".into(),
                block.iter().map(|i| i.category).collect::<Vec<_>>(),
            ),
            Column::new("quantity".into(), ints(|i| i.quantity)),
            Column::new(
                "price".into(),
                block
                    .iter()
                    .map(|i| i.price_cents as f64 / 100.0)
                    .collect::<Vec<_>>(),
            ),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_permutation_is_a_bijection() {
        for n in [1u64, 2, 3, 17, 1000, 4097] {
            let p = Permutation::new(n, 7);
            let mut seen: Vec<u64> = (0..n).map(|i| p.at(i)).collect();
            seen.sort_unstable();
            assert_eq!(seen, (0..n).collect::<Vec<_>>(), "n = {n}");
        }
    }

    #[test]
    fn items_are_skewed_and_about_a_third_of_orders_fall_in_2023() {
        let n = 30_000;
        let orders: Vec<Order> = (1..=n).map(|id| order(42, n, id)).collect();
        let mean = orders.iter().map(|o| o.items).sum::<u64>() as f64 / n as f64;
        assert!((2.3..2.8).contains(&mean), "mean items {mean}");
        assert!(orders.iter().any(|o| o.items == 8));
        let dates = dates();
        let in_2023 = orders
            .iter()
            .filter(|o| dates[o.day as usize].starts_with("2023"))
            .count() as f64;
        assert!((0.30..0.37).contains(&(in_2023 / n as f64)));
    }
}
