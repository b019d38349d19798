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
