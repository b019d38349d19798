//! What the query tests share: the generated tables, typed.

use std::path::Path;

use membench_datagen::{Format, GenSpec, generate, generate_orders};
use membench_protocol::DataSchema;
use membench_query::{CsvOptions, Table, open_table};

/// `sales` (`rows` rows) and the `orders` / `order_items` tables (`orders` orders), generated
/// as CSV into `dir` and typed by inference.
pub fn generated(dir: &Path, rows: u64, orders: u64) -> Vec<(String, Table)> {
    let sales = generate(
        &GenSpec {
            rows,
            ..GenSpec::default()
        },
        Format::Csv,
        dir,
        false,
        &mut |_| {},
    )
    .unwrap();
    let [o, items] = generate_orders(
        &GenSpec {
            schema: DataSchema::Orders,
            rows: orders,
            ..GenSpec::default()
        },
        Format::Csv,
        dir,
        false,
        &mut |_| {},
    )
    .unwrap();
    [
        ("sales", &sales.path),
        ("orders", &o.path),
        ("order_items", &items.path),
    ]
    .into_iter()
    .map(|(n, p)| {
        let t = open_table(p, &CsvOptions::default()).unwrap_or_else(|e| panic!("{e}"));
        (n.to_string(), t)
    })
    .collect()
}

/// Writes `table` (read through membench's scan) as a Parquet file at `out` with membench's own
/// result writer, typed as its schema says (decimals as `DECIMAL(18, s)`, dates, timestamps,
/// UTF-8 strings; every column optional), in row groups of `group_rows` rows.
#[allow(dead_code)]
pub fn write_parquet(table: &Table, out: &Path, group_rows: usize) {
    use membench_query::output::ResultFile;
    let all: Vec<usize> = (0..table.schema.columns.len()).collect();
    let types: Vec<_> = table.schema.columns.iter().map(|c| Some(c.ty)).collect();
    let file = ResultFile::create(out, &table.names(), &types)
        .unwrap()
        .with_group_rows(group_rows);
    membench_query::scan::scan(table, &all, |r| {
        file.write(r).unwrap();
        Ok(())
    })
    .unwrap();
    file.finish().unwrap().unwrap();
}
