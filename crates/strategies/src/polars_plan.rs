//! The one Polars query plan used by the Polars strategies (`lazy`, `load-all-polars`): the same
//! validation and folds as the kernel, expressed as expressions, so the engine's answer can be
//! compared with the hand-written ones digit for digit.

use std::path::Path;

use membench_kernel::{
    Accumulator, Answer, InputError, OnBadRow, TOP_N, TOP_N_THRESHOLD_CENTS, TopRow, Workload,
};
use polars::prelude::*;

use crate::csv_io::{check_csv_header_only, locate_first_bad_row};
use crate::{Format, Outcome, RunError, parquet_io};

/// The `sales` schema as Polars types (dates and text as strings, money as floats).
pub fn sales_schema() -> Schema {
    Schema::from_iter([
        Field::new("order_id".into(), DataType::Int64),
        Field::new("order_date".into(), DataType::String),
        Field::new("customer_id".into(), DataType::Int64),
        Field::new("region".into(), DataType::String),
        Field::new("category".into(), DataType::String),
        Field::new("product_id".into(), DataType::Int64),
        Field::new("quantity".into(), DataType::Int64),
        Field::new("price".into(), DataType::Float64),
        Field::new("discount".into(), DataType::Float64),
        Field::new("note".into(), DataType::String),
    ])
}

/// Refuses `skip` (Polars cannot report exactly which rows it would drop) and checks the file
/// before the engine sees it: empty file, header, missing columns.
pub fn precheck(p: &crate::Params, format: Format) -> Result<(), RunError> {
    if p.on_bad_row == OnBadRow::Skip {
        return Err(RunError::Unsupported(
            "--on-bad-row skip is not supported by the Polars strategies: Polars cannot report \
             exactly which rows it skipped, so its counts would differ from the other strategies"
                .into(),
        ));
    }
    match format {
        Format::Csv => check_csv_header_only(&p.input),
        Format::Parquet => parquet_io::row_groups(&p.input).map(|_| ()),
    }
}

/// A lazy scan of the file (memory-mapped by Polars).
pub fn scan(path: &Path, format: Format) -> PolarsResult<LazyFrame> {
    let pl_path = PlRefPath::new(path.to_string_lossy().as_ref());
    match format {
        Format::Csv => LazyCsvReader::new(pl_path)
            .with_has_header(true)
            .with_schema(Some(Arc::new(sales_schema())))
            .finish(),
        Format::Parquet => LazyFrame::scan_parquet(pl_path, ScanArgsParquet::default()),
    }
}

/// An eager read of the whole file into memory.
pub fn read_eager(path: &Path, format: Format) -> PolarsResult<DataFrame> {
    match format {
        Format::Csv => CsvReadOptions::default()
            .with_has_header(true)
            .with_schema(Some(Arc::new(sales_schema())))
            .try_into_reader_with_file_path(Some(path.to_path_buf()))?
            .finish(),
        Format::Parquet => ParquetReader::new(std::fs::File::open(path)?).finish(),
    }
}

fn invalid() -> Expr {
    let null = |c: &str| col(c).is_null();
    null("order_id")
        .or(null("customer_id"))
        .or(null("product_id"))
        .or(null("category"))
        .or(null("quantity"))
        .or(null("price"))
        .or(col("quantity").lt(lit(1)).fill_null(lit(true)))
        .or(col("price").lt(lit(0.0)).fill_null(lit(true)))
        .or(col("discount").lt(lit(0.0)).fill_null(lit(false)))
}

/// Two plans over `lf`: statistics (`rows`, `invalid`) and the workload's answer.
pub fn plans(lf: LazyFrame, workload: Workload) -> (LazyFrame, LazyFrame) {
    let base = lf
        .select(
            parquet_io::NEEDED
                .iter()
                .map(|c| col(*c))
                .collect::<Vec<_>>(),
        )
        .with_columns([
            ((col("price") * lit(100.0) + lit(0.5)).cast(DataType::Int64)).alias("price_cents"),
            invalid().alias("invalid"),
        ])
        .with_column((col("quantity") * col("price_cents")).alias("total"));
    let stats = base.clone().select([
        len().cast(DataType::Int64).alias("rows"),
        col("invalid").cast(DataType::Int64).sum().alias("invalid"),
    ]);
    let valid = base.filter(col("invalid").not());
    let answer = match workload {
        Workload::TopN => valid
            .filter(col("total").gt(lit(TOP_N_THRESHOLD_CENTS)))
            .sort_by_exprs(
                [col("total"), col("order_id")],
                SortMultipleOptions::default().with_order_descending_multi([true, false]),
            )
            .slice(0, TOP_N as IdxSize)
            .select([col("order_id"), col("total")]),
        Workload::GroupBy => valid.group_by([col("category")]).agg([
            len().cast(DataType::Int64).alias("rows"),
            col("quantity").sum().alias("sum_quantity"),
            col("total").sum().alias("sum_total"),
        ]),
    };
    (stats, answer)
}

fn i64_at(df: &DataFrame, name: &str) -> PolarsResult<Vec<Option<i64>>> {
    Ok(df
        .column(name)?
        .cast(&DataType::Int64)?
        .i64()?
        .iter()
        .collect())
}

/// Turns the engine's two result frames into an outcome, or into the same error the
/// hand-written strategies report when the data holds bad rows or none.
pub fn outcome(
    path: &Path,
    format: Format,
    workload: Workload,
    result: PolarsResult<(DataFrame, DataFrame)>,
) -> Result<Outcome, RunError> {
    let bad = |engine_msg: String| -> RunError {
        if format == Format::Csv {
            match locate_first_bad_row(path) {
                Ok(Some(e)) => return e.into(),
                Ok(None) => {}
                Err(e) => return e,
            }
        }
        InputError::file(path, engine_msg).into()
    };
    let (stats, answer) = match result {
        Ok(x) => x,
        Err(e) => return Err(bad(format!("Polars could not read the file: {e}"))),
    };
    let conv = |e: PolarsError| RunError::Other(anyhow::anyhow!("unexpected Polars result: {e}"));
    let rows = i64_at(&stats, "rows").map_err(conv)?[0].unwrap_or(0) as u64;
    let invalid = i64_at(&stats, "invalid").map_err(conv)?[0].unwrap_or(0);
    if invalid > 0 {
        return Err(bad(format!(
            "{invalid} rows with missing or out-of-range values"
        )));
    }
    if rows == 0 {
        return Err(InputError::file(path, "has a header but no data rows").into());
    }
    let answer = match workload {
        Workload::TopN => {
            let ids = i64_at(&answer, "order_id").map_err(conv)?;
            let totals = i64_at(&answer, "total").map_err(conv)?;
            Answer::TopN {
                rows: ids
                    .into_iter()
                    .zip(totals)
                    .map(|(id, t)| TopRow {
                        order_id: id.unwrap_or_default(),
                        total_cents: t.unwrap_or_default(),
                    })
                    .collect(),
            }
        }
        Workload::GroupBy => {
            let mut acc = membench_kernel::GroupAcc::default();
            let cats = answer
                .column("category")
                .map_err(conv)?
                .str()
                .map_err(conv)?
                .clone();
            let n = i64_at(&answer, "rows").map_err(conv)?;
            let q = i64_at(&answer, "sum_quantity").map_err(conv)?;
            let t = i64_at(&answer, "sum_total").map_err(conv)?;
            for (i, cat) in cats.iter().enumerate() {
                acc.push_group(
                    cat.unwrap_or_default(),
                    n[i].unwrap_or(0) as u64,
                    q[i].unwrap_or(0),
                    t[i].unwrap_or(0),
                );
            }
            Accumulator::GroupBy(acc).finish()
        }
    };
    Ok(Outcome {
        answer,
        rows_read: rows,
        rows_skipped: 0,
    })
}
