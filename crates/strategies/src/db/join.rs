//! The `join` pushed down to a database (seed 000 §6's recommendation): both tables loaded
//! through the kernel's readers (the same verdicts and skip counts as every other strategy), an
//! index on the items' `order_id` and one on the orders' `order_date`, then one SQL statement —
//! the inner join, the date range and the split exact sums per category. The tables are removed
//! afterwards (`--db-reuse` does not apply to `join`).

use membench_kernel::{DateRange, JoinAcc};

use super::{Database, Dialect, SqlRow, Value, unique_name};
use crate::io::join::{JoinInput, Rows, TableKind};
use crate::outcome::Counts;
use crate::{Outcome, Params, RunError};

/// `CREATE TABLE` for one of the two tables, its columns in file order, none nullable.
fn create_sql<K: TableKind>(table: &str, d: Dialect) -> String {
    let cols: Vec<String> = K::TABLE
        .columns()
        .iter()
        .zip(K::TYPES)
        .map(|(c, t)| {
            let ty = match t {
                ::polars::prelude::DataType::String => d.text,
                _ => d.integer,
            };
            // Money is stored as integer cents.
            let name = if *c == "price" { "price_cents" } else { c };
            format!("{name} {ty} NOT NULL")
        })
        .collect();
    format!("CREATE TABLE {table} ({})", cols.join(", "))
}

/// The one statement: orders in range ⋈ items, per category, sums split in 32-bit halves.
pub fn query_sql(orders: &str, items: &str, dates: &DateRange) -> String {
    let split = |x: &str| {
        format!("CAST(SUM(({x}) >> 32) AS BIGINT), CAST(SUM(({x}) & 4294967295) AS BIGINT)")
    };
    format!(
        "SELECT i.category, COUNT(*), {}, {} FROM {items} i JOIN {orders} o \
         ON o.order_id = i.order_id \
         WHERE o.order_date >= '{}' AND o.order_date <= '{}' GROUP BY i.category",
        split("i.quantity"),
        split("i.quantity * i.price_cents"),
        dates.from,
        dates.to
    )
}

/// Hands a row's values, in table order, to `emit`.
type Values<K> = dyn Fn(
    &<K as TableKind>::Row<'_>,
    &mut dyn FnMut(&[Value<'_>]) -> anyhow::Result<()>,
) -> anyhow::Result<()>;

/// Loads `rows` into `table` through `db`, each row as its `values`.
fn load<K: TableKind + 'static>(
    db: &mut dyn Database,
    table: &str,
    mut rows: Rows<K>,
    values: &Values<K>,
) -> Result<Counts, RunError> {
    db.execute(&format!("DROP TABLE IF EXISTS {table}"))?;
    db.execute(&create_sql::<K>(table, db.dialect()))?;
    let mut error = None;
    db.load_table(table, K::TABLE.columns().len(), &mut |emit| {
        rows.for_each(|r| {
            if error.is_none()
                && let Err(e) = values(&r, emit)
            {
                error = Some(e);
            }
        })
    })?;
    match error {
        Some(e) => Err(RunError::Other(e)),
        None => Ok(rows.counts),
    }
}

/// `load` (both tables), `index`, `query`; the tables are removed whatever happens.
pub fn run(p: &Params, db: &mut dyn Database) -> Result<Outcome, RunError> {
    let inp = JoinInput::of(p)?;
    // The range is spliced into SQL: only ISO dates pass.
    let dates = DateRange::parse(&format!("{}..{}", inp.dates.from, inp.dates.to))
        .map_err(|e| RunError::Unsupported(format!("join dates: {e}")))?;
    let n = unique_name();
    let (orders, items) = (format!("orders_{n}"), format!("order_items_{n}"));
    let result = load_index_query(p, db, &inp, (&orders, &items), &dates);
    for t in [&orders, &items] {
        let _ = db.execute(&format!("DROP TABLE IF EXISTS {t}"));
    }
    result
}

fn load_index_query(
    p: &Params,
    db: &mut dyn Database,
    inp: &JoinInput,
    (orders, items): (&str, &str),
    dates: &DateRange,
) -> Result<Outcome, RunError> {
    use Value::{Int, Text};
    p.phase("load");
    let mut counts = load(db, orders, inp.orders()?, &|o, emit| {
        emit(&[
            Int(o.order_id),
            Text(o.order_date),
            Int(o.customer_id),
            Text(o.region),
            Text(o.status),
        ])
    })?;
    counts.add(load(db, items, inp.items()?, &|i, emit| {
        emit(&[
            Int(i.order_id),
            Int(i.line_no),
            Int(i.product_id),
            Text(i.category),
            Int(i.quantity),
            Int(i.price_cents),
        ])
    })?);
    db.analyze(&[orders, items])?;
    p.phase("index");
    db.execute(&format!(
        "CREATE INDEX {items}_order ON {items} (order_id); \
         CREATE INDEX {orders}_date ON {orders} (order_date, order_id)"
    ))?;
    p.phase("query");
    let mut acc = JoinAcc::default();
    db.query(&query_sql(orders, items, dates), &mut |r| {
        add_group(&mut acc, r)
    })?;
    inp.finish(acc, counts)
}

fn add_group(acc: &mut JoinAcc, r: &dyn SqlRow) -> anyhow::Result<()> {
    let (category, rows, sum_quantity, sum_total) = super::group_row(r)?;
    acc.add_group_wide(category, rows, sum_quantity, sum_total);
    Ok(())
}
