//! `load-all`: read the whole file into memory as rows, then compute (the seeds' `pd.read_csv`
//! baseline; for `etl`, `read_csv` → transform → `to_csv`). Memory grows with the file.
//! `join`: both tables loaded as rows, then joined in memory (pandas' `merge` of two loaded
//! frames, seed 000 §6).

use membench_kernel::JoinAcc;
use rustc_hash::FxHashMap;

use crate::outcome::Counts;
use crate::io::csv::{OwnedRow, for_each_row, open_csv};
use crate::io::join::JoinInput;
use crate::io::parquet::{fold_frame, read_all};
use crate::{Format, Outcome, Output, Params, RowSink, RunError, Strategy, format_of};

pub struct LoadAll;

impl Strategy for LoadAll {
    fn run(&self, p: &Params) -> Result<Outcome, RunError> {
        if p.workload.is_join() {
            return load_and_join(p);
        }
        let format = format_of(&p.input)?;
        let mut out = Output::new(p)?;
        // Every file loaded before anything is computed (`pd.concat` of the files' frames).
        let counts = match format {
            Format::Csv => {
                let mut rows: Vec<OwnedRow> = Vec::new();
                let c = crate::io::files::per_file(p, |file| {
                    let (mut reader, mut parser) = open_csv(&file.input, file.max_record_bytes)?;
                    for_each_row(
                        &file.input,
                        &mut reader,
                        &mut parser,
                        file.on_bad_row,
                        0,
                        u64::MAX,
                        |r| rows.push(OwnedRow::from_row(r)),
                    )
                })?;
                for r in &rows {
                    out.add(&r.as_row());
                }
                c
            }
            Format::Parquet => {
                let mut frames = Vec::new();
                crate::io::files::per_file(p, |file| {
                    frames.push((file.input.clone(), read_all(&file.input)?));
                    Ok(Counts::default())
                })?;
                let mut c = Counts::default();
                for (path, df) in &frames {
                    c.add(fold_frame(path, df, 0, p.on_bad_row, &mut out)?);
                }
                c
            }
        };
        out.finish(&p.input, counts)
    }

    /// Every row of every input parsed into memory, then folded.
    fn query(&self, _: &Params, q: &crate::QueryParams) -> Result<Outcome, RunError> {
        crate::io::query::generic(q, membench_query::scan::Reading::LoadAll)
    }
}

/// An `orders` row held in memory (every column, as a loaded frame holds it).
struct OwnedOrder {
    order_id: i64,
    order_date: String,
    _customer_id: i64,
    _region: String,
    _status: String,
}

/// An `order_items` row held in memory.
struct OwnedItem {
    order_id: i64,
    _line_no: i64,
    _product_id: i64,
    category: String,
    quantity: i64,
    price_cents: i64,
}

/// Loads both tables whole, then filters the orders, hashes their keys and probes every item.
fn load_and_join(p: &Params) -> Result<Outcome, RunError> {
    let inp = JoinInput::of(p)?;
    p.phase("load");
    let mut orders_in = inp.orders()?;
    let mut orders = Vec::new();
    orders_in.for_each(|o| {
        orders.push(OwnedOrder {
            order_id: o.order_id,
            order_date: o.order_date.to_owned(),
            _customer_id: o.customer_id,
            _region: o.region.to_owned(),
            _status: o.status.to_owned(),
        })
    })?;
    let mut items_in = inp.items()?;
    let mut items = Vec::new();
    items_in.for_each(|i| {
        items.push(OwnedItem {
            order_id: i.order_id,
            _line_no: i.line_no,
            _product_id: i.product_id,
            category: i.category.to_owned(),
            quantity: i.quantity,
            price_cents: i.price_cents,
        })
    })?;
    p.phase("join");
    let mut keys: FxHashMap<i64, u32> = FxHashMap::default();
    for o in orders.iter().filter(|o| inp.dates.contains(&o.order_date)) {
        *keys.entry(o.order_id).or_default() += 1;
    }
    let mut acc = JoinAcc::default();
    for i in &items {
        if let Some(&w) = keys.get(&i.order_id) {
            acc.add_parts(&i.category, i.quantity, i.price_cents, w);
        }
    }
    let mut counts = orders_in.counts;
    counts.add(items_in.counts);
    inp.finish(acc, counts)
}
