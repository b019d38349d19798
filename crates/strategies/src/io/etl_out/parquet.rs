//! Parquet framing of `etl` outputs: the output schema, one row group's frame from cleaned
//! columns, and the way back (an engine's frame of cleaned rows into the sink).

use membench_kernel::etl::TextColumn;
use membench_kernel::{ETL_COLUMNS, EtlColumns, EtlRow};
use polars::prelude::*;

use super::EtlSink;

/// The Parquet schema of an `etl` output.
pub(super) fn etl_schema() -> Schema {
    Schema::from_iter(ETL_COLUMNS.iter().map(|&name| {
        let dtype = match name {
            "order_date" | "region" | "category" | "note" => DataType::String,
            _ => DataType::Int64,
        };
        Field::new(name.into(), dtype)
    }))
}

fn text(name: &str, t: &TextColumn) -> Column {
    StringChunked::from_iter_values(name.into(), t.iter()).into_column()
}

/// One row group's DataFrame (moves the integer columns out of `c`).
pub(super) fn frame(c: &mut EtlColumns) -> PolarsResult<DataFrame> {
    let n = c.len();
    let int = |name: &str, v: &mut Vec<i64>| Column::new(name.into(), std::mem::take(v));
    let columns = vec![
        int("order_id", &mut c.order_id),
        text("order_date", &c.order_date),
        int("customer_id", &mut c.customer_id),
        text("region", &c.region),
        text("category", &c.category),
        int("product_id", &mut c.product_id),
        int("quantity", &mut c.quantity),
        int("price_cents", &mut c.price_cents),
        int("discount_cents", &mut c.discount_cents),
        int("net_cents", &mut c.net_cents),
        text("note", &c.note),
    ];
    DataFrame::new(n, columns)
}

/// Writes a frame of cleaned rows (columns named as [`ETL_COLUMNS`]) to `sink`, in row order.
pub fn push_frame(sink: &mut EtlSink, df: &DataFrame) -> PolarsResult<()> {
    let int = |name: &str| -> PolarsResult<Int64Chunked> {
        Ok(df.column(name)?.cast(&DataType::Int64)?.i64()?.clone())
    };
    let text = |name: &str| -> PolarsResult<StringChunked> {
        Ok(df.column(name)?.cast(&DataType::String)?.str()?.clone())
    };
    let (id, cust, prod, qty) = (
        int("order_id")?,
        int("customer_id")?,
        int("product_id")?,
        int("quantity")?,
    );
    let (price, disc, net) = (
        int("price_cents")?,
        int("discount_cents")?,
        int("net_cents")?,
    );
    let (date, region, cat, note) = (
        text("order_date")?,
        text("region")?,
        text("category")?,
        text("note")?,
    );
    let ints = id
        .iter()
        .zip(cust.iter())
        .zip(prod.iter())
        .zip(qty.iter())
        .zip(price.iter())
        .zip(disc.iter())
        .zip(net.iter());
    let texts = date
        .iter()
        .zip(region.iter())
        .zip(cat.iter())
        .zip(note.iter());
    for (((((((id, cust), prod), qty), price), disc), net), (((date, region), cat), note)) in
        ints.zip(texts)
    {
        sink.push_clean(&EtlRow {
            order_id: id.unwrap_or_default(),
            order_date: date.unwrap_or_default(),
            customer_id: cust.unwrap_or_default(),
            region: region.unwrap_or_default(),
            category: cat.unwrap_or_default(),
            product_id: prod.unwrap_or_default(),
            quantity: qty.unwrap_or_default(),
            price_cents: price.unwrap_or_default(),
            discount_cents: disc.unwrap_or_default(),
            net_cents: net.unwrap_or_default(),
            note: note.unwrap_or_default(),
            unquoted: false,
        });
    }
    Ok(())
}
