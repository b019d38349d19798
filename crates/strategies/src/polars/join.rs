//! The `join` as one Polars plan, shared by `lazy` (scans, streaming engine) and
//! `load-all-polars` (both tables read eagerly first): the kernel's rules on each table as
//! expressions, the orders in range, an inner join on `order_id`, and the group-by plan's exact
//! split sums per category.

use ::polars::prelude::*;
use membench_kernel::{ITEMS_COLUMNS, JoinAcc, ORDERS_COLUMNS};

use super::input::{
    Locate, PolarsInput, bad_input, engine, precheck_file, read_input, scan, without_empty_lines,
};
use super::plan::{cents, group_aggs, groups_wide, i64_at, missing, value_rules};
use crate::io::csv::Depth;
use crate::io::files::format_of;
use crate::io::join::JoinInput;
use crate::outcome::{Outcome, RunError};
use crate::params::Params;

/// How the engine gets the tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Read {
    /// Lazy scans, executed by the streaming engine.
    Scan,
    /// Eager reads of both tables, then the in-memory engine.
    Eager,
}

fn schema(columns: &[&str], types: &[DataType]) -> Schema {
    Schema::from_iter(
        columns
            .iter()
            .zip(types)
            .map(|(c, t)| Field::new((*c).into(), t.clone())),
    )
}

/// Runs the join plan.
pub(crate) fn run(p: &Params, read: Read) -> Result<Outcome, RunError> {
    let inp = JoinInput::of(p)?;
    let table = |path: &std::path::Path, columns, types: &[DataType]| {
        let format = format_of(path)?;
        let known = schema(columns, types);
        let locate = Locate::Join(Box::new(inp.clone()));
        precheck_file(
            path,
            format,
            (columns, &known),
            (inp.max_record_bytes, p.threads, Depth::Framing),
            locate,
        )
        .map(|t| match read {
            Read::Scan => t,
            Read::Eager => t.for_eager(),
        })
    };
    let orders = table(
        &inp.orders,
        &ORDERS_COLUMNS,
        <crate::io::join::Orders as crate::io::join::TableKind>::TYPES,
    )?;
    let items = table(
        &inp.items,
        &ITEMS_COLUMNS,
        <crate::io::join::Items as crate::io::join::TableKind>::TYPES,
    )?;
    let result = engine(|| {
        let load = |t: &PolarsInput| -> PolarsResult<LazyFrame> {
            let lf = match read {
                Read::Scan => scan(t)?,
                Read::Eager => read_input(t)?.lazy(),
            };
            Ok(without_empty_lines(lf, t))
        };
        let plans = plans(load(&orders)?, load(&items)?, &inp);
        match read {
            Read::Scan => LazyFrame::collect_all_with_engine(
                plans.map(|lf| lf.logical_plan).into(),
                Engine::Streaming,
                OptFlags::default(),
            ),
            Read::Eager => plans.into_iter().map(|lf| lf.collect()).collect(),
        }
    });
    outcome(&inp, &orders, result)
}

/// Three plans: each table's rows and invalid rows, and the answer.
fn plans(orders: LazyFrame, items: LazyFrame, inp: &JoinInput) -> [LazyFrame; 3] {
    let orders = orders.with_column(missing(&["order_id", "customer_id"]).alias("invalid"));
    let items = items
        .with_columns([
            cents(col("price")).alias("price_cents"),
            missing(&["order_id", "line_no", "product_id", "quantity", "price"])
                .or(value_rules())
                .alias("invalid"),
            col("category").fill_null(lit("")),
        ])
        .with_column((col("quantity") * col("price_cents")).alias("total"));
    let stats = |lf: LazyFrame| {
        lf.select([
            len().cast(DataType::Int64).alias("rows"),
            col("invalid").cast(DataType::Int64).sum().alias("invalid"),
        ])
    };
    let in_range = orders
        .clone()
        .filter(col("invalid").not())
        .filter(
            col("order_date")
                .gt_eq(lit(inp.dates.from.as_str()))
                .and(col("order_date").lt_eq(lit(inp.dates.to.as_str()))),
        )
        .select([col("order_id")]);
    let answer = items
        .clone()
        .filter(col("invalid").not())
        .select([
            col("order_id"),
            col("category"),
            col("quantity"),
            col("total"),
        ])
        .join(
            in_range,
            [col("order_id")],
            [col("order_id")],
            JoinArgs::new(JoinType::Inner),
        )
        .group_by([col("category")])
        .agg(group_aggs());
    [stats(orders), stats(items), answer]
}

/// The engine's frames as an outcome, or the kernel's error for the first bad row.
fn outcome(
    inp: &JoinInput,
    orders: &PolarsInput,
    result: PolarsResult<Vec<DataFrame>>,
) -> Result<Outcome, RunError> {
    let frames = match result {
        Ok(f) => f,
        Err(e) => {
            return Err(bad_input(
                orders,
                format!("Polars could not read the tables: {e}"),
            ));
        }
    };
    let conv = |e: PolarsError| RunError::Other(anyhow::anyhow!("unexpected Polars result: {e}"));
    let mut rows = 0u64;
    let mut invalid = 0i64;
    for stats in &frames[..2] {
        rows += i64_at(stats, "rows").map_err(conv)?[0].unwrap_or(0) as u64;
        invalid += i64_at(stats, "invalid").map_err(conv)?[0].unwrap_or(0);
    }
    if invalid > 0 {
        return Err(bad_input(
            orders,
            format!("{invalid} rows with missing or out-of-range values"),
        ));
    }
    let mut acc = JoinAcc::default();
    for (cat, n, q, t) in groups_wide(&frames[2])? {
        acc.add_group_wide(&cat, n, q, t);
    }
    let mut out = inp.finish(acc, Default::default())?;
    out.rows_read = rows;
    Ok(out)
}
