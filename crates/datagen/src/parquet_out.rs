//! Parquet writer: one row group per `row_group_rows` rows, same values as the CSV (same
//! blocks, same random streams), written with Polars' batched writer through a hashing sink.

use std::collections::BTreeMap;
use std::io::BufWriter;
use std::path::Path;

use anyhow::{Context, Result};
use membench_kernel::HashingWriter;
use polars::prelude::*;

use crate::rows::BLOCK_ROWS;
use crate::rows::{CATEGORIES, REGIONS, block_rng, date_table, gen_row};
use crate::spec::{GenSpec, ParquetCompressionName, Written};

/// Builds the DataFrame for rows `[start, end)`.
pub(crate) fn frame(
    spec: &GenSpec,
    dates: &[String],
    start: u64,
    end: u64,
) -> PolarsResult<DataFrame> {
    let n = (end - start) as usize;
    let mut order_id = Vec::with_capacity(n);
    let mut order_date = Vec::with_capacity(n);
    let mut customer_id = Vec::with_capacity(n);
    let mut region = Vec::with_capacity(n);
    let mut category = Vec::with_capacity(n);
    let mut product_id = Vec::with_capacity(n);
    let mut quantity = Vec::with_capacity(n);
    let mut price = Vec::with_capacity(n);
    let mut discount = Vec::with_capacity(n);
    let mut notes: Vec<String> = Vec::with_capacity(n);
    let mut note = String::with_capacity(256);
    let mut block = start / BLOCK_ROWS;
    let shaper = crate::shape::Shaper::new(spec);
    while block * BLOCK_ROWS < end {
        let mut rng = block_rng(spec.seed, block);
        let mut shape_rng = shaper.rng(spec.seed, block);
        let b_end = ((block + 1) * BLOCK_ROWS).min(end);
        for i in block * BLOCK_ROWS..b_end {
            let mut v = gen_row(&mut rng, i, &mut note);
            if !shaper.is_default() {
                shaper.apply(&mut shape_rng, i, &mut v, &mut note);
            }
            if spec.messy {
                crate::rows::make_messy(&mut note, i);
            }
            if i < start {
                continue;
            }
            order_id.push(v.order_id);
            order_date.push(dates[v.day as usize].as_str());
            customer_id.push(v.customer_id);
            region.push(REGIONS[v.region]);
            category.push(CATEGORIES[v.category]);
            product_id.push(v.product_id);
            quantity.push(v.quantity);
            price.push(v.price_cents as f64 / 100.0);
            discount.push(v.discount_cents.map(|d| d as f64 / 100.0));
            notes.push(note.clone());
        }
        block += 1;
    }
    DataFrame::new(
        n,
        vec![
            Column::new("order_id".into(), order_id),
            Column::new("order_date".into(), order_date),
            Column::new("customer_id".into(), customer_id),
            Column::new("region".into(), region),
            Column::new("category".into(), category),
            Column::new("product_id".into(), product_id),
            Column::new("quantity".into(), quantity),
            Column::new("price".into(), price),
            Column::new("discount".into(), discount),
            Column::new("note".into(), notes),
        ],
    )
}

/// The spec's Parquet codec.
pub(crate) fn codec(spec: &GenSpec) -> ParquetCompression {
    match spec.compression {
        ParquetCompressionName::Uncompressed => ParquetCompression::Uncompressed,
        ParquetCompressionName::Snappy => ParquetCompression::Snappy,
        ParquetCompressionName::Zstd => ParquetCompression::Zstd(None),
        ParquetCompressionName::Lz4 => ParquetCompression::Lz4Raw,
    }
}

pub(crate) fn write_parquet(
    spec: &GenSpec,
    tmp: &Path,
    progress: &mut dyn FnMut(u64),
) -> Result<Written> {
    write_parquet_rows(spec, tmp, 0..spec.rows, progress)
}

/// Writes rows `range` of the dataset (a part file of a multi-file dataset holds a range).
pub(crate) fn write_parquet_rows(
    spec: &GenSpec,
    tmp: &Path,
    range: std::ops::Range<u64>,
    progress: &mut dyn FnMut(u64),
) -> Result<Written> {
    let dates = date_table();
    let file = membench_safefs::create_fresh(tmp, 0o644)
        .with_context(|| format!("creating {}", tmp.display()))?;
    let mut sink = HashingWriter::new(BufWriter::with_capacity(1 << 20, file));
    let compression = codec(spec);
    let rg = spec.row_group_rows as u64;
    {
        let first = frame(spec, &dates, range.start, (range.start + rg).min(range.end))?;
        let mut writer = ParquetWriter::new(&mut sink)
            .with_compression(compression)
            .with_row_group_size(Some(spec.row_group_rows))
            .batched(first.schema())?;
        writer.write_batch(&first)?;
        drop(first);
        let mut done = (range.start + rg).min(range.end);
        progress(done);
        while done < range.end {
            let end = (done + rg).min(range.end);
            let df = frame(spec, &dates, done, end)?;
            writer.write_batch(&df)?;
            done = end;
            progress(done);
        }
        writer.finish()?;
    }
    crate::spec::close(sink, tmp, BTreeMap::new())
}
