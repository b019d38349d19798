//! The one Polars query plan of the aggregates (`lazy`, `load-all-polars`): the kernel's value
//! rules and folds as expressions, so the engine's answer can be compared with the hand-written
//! ones digit for digit; and the two result frames turned into an outcome.

use membench_kernel::{Accumulator, Answer, InputError, TopRow, Workload, rules};
use polars::prelude::*;

use crate::io::csv::RowTotals;
use crate::io::parquet as parquet_io;
use crate::{Outcome, RunError};

use super::input::{PolarsInput, bad_input};

/// Values are split at 2^32 to sum them exactly (see the group-by plan).
pub(crate) const SPLIT: i64 = 1 << 32;

/// The kernel's value rules (`membench_kernel::rules`) as one expression: true for a row the
/// kernel would reject. It mirrors the rules' constants; it does not restate them.
pub(crate) fn invalid() -> Expr {
    missing(&rules::REQUIRED)
        .or(value_rules())
        .or(not_cents(col("discount")).fill_null(lit(false)))
        .or(cents(col("discount"))
            .lt(lit(rules::MIN_DISCOUNT_CENTS))
            .fill_null(lit(false)))
}

/// True where one of `columns` is null.
pub(crate) fn missing(columns: &[&str]) -> Expr {
    columns
        .iter()
        .map(|c| col(*c).is_null())
        .reduce(|a, b| a.or(b))
        .expect("required columns")
}

/// The rules on `quantity` and `price` (`rules::check_values` without the discount): true for
/// a row the kernel would reject.
pub(crate) fn value_rules() -> Expr {
    col("quantity")
        .lt(lit(rules::MIN_QUANTITY))
        .fill_null(lit(true))
        .or(cents(col("price"))
            .lt(lit(rules::MIN_PRICE_CENTS))
            .fill_null(lit(true)))
        // Money is exact cents: a float with more decimals, or not finite, is not money (the
        // kernel's parser refuses such text).
        .or(not_cents(col("price")).fill_null(lit(false)))
        // quantity × price must fit in 64 bits: q > MAX / p, exactly, in integers (p = 0: null,
        // no overflow).
        .or(col("quantity")
            .gt(lit(i64::MAX).floor_div(cents(col("price"))))
            .fill_null(lit(false)))
}

/// True where a money value is not money by `rules::float_cents`: not finite, out of the exact
/// range, or neither within the tolerance of a whole number of cents nor exactly the double of
/// one. (Written to keep few temporary columns: each is a column of the whole frame.)
fn not_cents(e: Expr) -> Expr {
    let scaled = e.clone() * lit(100.0);
    let rounded = scaled.clone().round(0, RoundMode::HalfAwayFromZero);
    let off = scaled.clone() - rounded.clone();
    scaled
        .clone()
        .is_finite()
        .not()
        .or(scaled.clone().gt(lit(rules::MAX_FLOAT_CENTS)))
        .or(scaled.lt(lit(-rules::MAX_FLOAT_CENTS)))
        .or(off
            .clone()
            .gt(lit(rules::FLOAT_CENTS_TOLERANCE))
            .or(off.lt(lit(-rules::FLOAT_CENTS_TOLERANCE)))
            .and((rounded / lit(100.0)).neq(e)))
}

/// A money column (float) in integer cents, rounded half away from zero like the Parquet fold.
pub(crate) fn cents(e: Expr) -> Expr {
    (e * lit(100.0))
        .round(0, RoundMode::HalfAwayFromZero)
        .cast(DataType::Int64)
}

/// The plans over `lf`: statistics (`rows`, `invalid`) and the workload's answer.
///
/// With `checked` (the kernel parsed and checked every row before, `Depth::Rows`), the bare
/// query alone: only the columns the answer needs, no rule as an expression and no statistics
/// plan (the kernel counted the rows; a second plan over the same scan made Polars' streaming
/// engine hold the scan's batches for both, +27 MiB of peak heap at 1M rows). The group-by
/// then counts its nulls in the same aggregation (a value the kernel read that the engine did
/// not) and sums plainly when the kernel's totals show that every group's sums fit 64 bits.
/// Without, the kernel's rules ride in the plan over the seven columns they read, and the
/// statistics plan counts the rows they reject.
///
/// # Panics
/// For `etl`, which is not an aggregate: use [`etl_plan`].
pub(crate) fn plans(
    lf: LazyFrame,
    workload: &Workload,
    checked: Option<&RowTotals>,
) -> (Option<LazyFrame>, LazyFrame) {
    let (base, stats) = match checked {
        Some(_) => {
            let columns = match workload {
                Workload::GroupBy => ["category", "quantity", "price"],
                _ => ["order_id", "quantity", "price"],
            };
            let total = col("quantity") * cents(col("price"));
            // A row the kernel read whole but the engine read without a value would fail the
            // filter and leave the top rows unseen: it takes the largest total instead, which
            // [`outcome`] refuses (no answer exceeds the kernel's largest row total).
            let total = match workload {
                Workload::TopN(_) => total.fill_null(lit(i64::MAX)),
                _ => total,
            };
            let base = lf
                .select(columns.iter().map(|c| col(*c)).collect::<Vec<_>>())
                .with_column(total.alias("total"));
            (base, None)
        }
        None => {
            let base = lf
                .select(
                    parquet_io::NEEDED
                        .iter()
                        .map(|c| col(*c))
                        .collect::<Vec<_>>(),
                )
                .with_columns([
                    cents(col("price")).alias("price_cents"),
                    invalid().alias("invalid"),
                ])
                .with_column((col("quantity") * col("price_cents")).alias("total"));
            let stats = base.clone().select([
                len().cast(DataType::Int64).alias("rows"),
                col("invalid").cast(DataType::Int64).sum().alias("invalid"),
            ]);
            (base, Some(stats))
        }
    };
    // The answer is computed over every row: one invalid row makes the cell an error
    // ([`outcome`]), so rows the rules reject never reach an answer, and filtering them out first
    // would cost a pass over the frame for nothing.
    let answer = match workload {
        Workload::TopN(top) => base
            .filter(col("total").gt(lit(top.above_cents)))
            .sort_by_exprs(
                [col("total"), col("order_id")],
                SortMultipleOptions::default().with_order_descending_multi([true, false]),
            )
            .slice(0, top.n as IdxSize)
            .select([col("order_id"), col("total")]),
        // Sums are exact beyond 64 bits, like the kernel's 128-bit ones: each non-negative value
        // is split into its high and low 32 bits, summed apart (neither sum can overflow below
        // 2^31 rows) and recombined in Rust; the range is checked once, by the kernel.
        Workload::GroupBy => {
            let mut aggs = match checked {
                Some(t) if t.sums_fit_i64() => vec![
                    len().cast(DataType::Int64).alias("rows"),
                    col("quantity").sum().alias("quantity"),
                    col("total").sum().alias("total"),
                ],
                _ => group_aggs().to_vec(),
            };
            if checked.is_some() {
                aggs.push(
                    col("total")
                        .null_count()
                        .cast(DataType::Int64)
                        .alias("nulls"),
                );
            }
            base.group_by([col("category")]).agg(aggs)
        }
        Workload::Etl => unreachable!("etl is not an aggregate; it uses etl_plan"),
        Workload::Join(_) => unreachable!("join has a plan of its own (polars::join)"),
        Workload::Query(_) => {
            unreachable!("a user's query is routed by Entry::run to Strategy::query")
        }
    };
    (stats, answer)
}

pub(crate) fn i64_at(df: &DataFrame, name: &str) -> PolarsResult<Vec<Option<i64>>> {
    Ok(df
        .column(name)?
        .cast(&DataType::Int64)?
        .i64()?
        .iter()
        .collect())
}

/// Turns the engine's result frames (statistics, when planned, and answer) into an outcome, or
/// into the same error the hand-written strategies report when the data holds bad rows or none.
pub fn outcome(
    input: &PolarsInput,
    workload: &Workload,
    result: PolarsResult<(Option<DataFrame>, DataFrame)>,
) -> Result<Outcome, RunError> {
    let path = &input.path;
    let bad = |engine_msg: String| bad_input(input, engine_msg);
    let (stats, answer) = match result {
        Ok(x) => x,
        Err(e) => return Err(bad(format!("Polars could not read the file: {e}"))),
    };
    let conv = |e: PolarsError| RunError::Other(anyhow::anyhow!("unexpected Polars result: {e}"));
    let rows = match (&stats, &input.rows) {
        (Some(stats), _) => {
            let rows = i64_at(stats, "rows").map_err(conv)?[0].unwrap_or(0) as u64;
            let invalid = i64_at(stats, "invalid").map_err(conv)?[0].unwrap_or(0);
            if invalid > 0 {
                return Err(bad(format!(
                    "{invalid} rows with missing or out-of-range values"
                )));
            }
            rows
        }
        (None, Some(checked)) => {
            if let Workload::TopN(_) = workload {
                // The engine's totals against the kernel's largest: a value the engine read as
                // missing (see [`plans`]) or larger than the kernel did.
                let totals = i64_at(&answer, "total").map_err(conv)?;
                if let Some(t) = totals
                    .iter()
                    .find(|t| t.is_none_or(|t| t > checked.max_total_cents))
                {
                    return Err(bad(match t {
                        Some(t) if *t < i64::MAX => format!(
                            "the engine computed a total of {t} cents where the kernel's \
                             largest is {}",
                            checked.max_total_cents
                        ),
                        _ => "the engine read a row without a value that the kernel read \
                              whole"
                            .to_string(),
                    }));
                }
            }
            if let Workload::GroupBy = workload {
                // The engine's rows and nulls against the kernel's: the same rows read alike.
                let grouped: i64 = i64_at(&answer, "rows")
                    .map_err(conv)?
                    .iter()
                    .flatten()
                    .sum();
                let nulls: i64 = i64_at(&answer, "nulls")
                    .map_err(conv)?
                    .iter()
                    .flatten()
                    .sum();
                let null_keys = answer.column("category").map_err(conv)?.null_count();
                if grouped as u64 != checked.rows || nulls > 0 || null_keys > 0 {
                    return Err(bad(format!(
                        "the engine read {grouped} rows ({} without a value) where the kernel \
                         read {} valid ones",
                        nulls as usize + null_keys,
                        checked.rows
                    )));
                }
            }
            checked.rows
        }
        (None, None) => unreachable!("plans() makes a statistics plan unless the kernel counted"),
    };
    if rows == 0 {
        return Err(InputError::file(path, "has a header but no data rows").into());
    }
    let answer = match workload {
        Workload::TopN(_) => {
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
            for (cat, n, q, t) in groups_wide(&answer)? {
                acc.push_group_wide(&cat, n, q, t);
            }
            Accumulator::GroupBy(acc)
                .finish()
                .map_err(|e| InputError::file(path, e))?
        }
        Workload::Etl => unreachable!("etl results come from EtlFrames"),
        Workload::Join(_) => unreachable!("join has a plan of its own (polars::join)"),
        Workload::Query(_) => {
            unreachable!("a user's query is routed by Entry::run to Strategy::query")
        }
    };
    Ok(Outcome {
        answer,
        rows_read: rows,
        rows_skipped: 0,
    })
}

/// The split-sum aggregates of a category per row (the group-by plan's, and the join's):
/// category, rows, and the exact sums of quantity and of the total.
pub(crate) fn group_aggs() -> [Expr; 5] {
    [
        len().cast(DataType::Int64).alias("rows"),
        col("quantity")
            .floor_div(lit(SPLIT))
            .sum()
            .alias("quantity_hi"),
        (col("quantity") % lit(SPLIT)).sum().alias("quantity_lo"),
        col("total").floor_div(lit(SPLIT)).sum().alias("total_hi"),
        (col("total") % lit(SPLIT)).sum().alias("total_lo"),
    ]
}

/// The groups of a [`group_aggs`] result, their sums recombined exactly (or of plain sums,
/// `quantity` and `total`, where [`plans`] knew they fit).
pub(crate) fn groups_wide(answer: &DataFrame) -> Result<Vec<(String, u64, i128, i128)>, RunError> {
    let conv = |e: PolarsError| RunError::Other(anyhow::anyhow!("unexpected Polars result: {e}"));
    let cats = answer
        .column("category")
        .map_err(conv)?
        .str()
        .map_err(conv)?
        .clone();
    let n = i64_at(answer, "rows").map_err(conv)?;
    let exact = |name: &str| -> Result<Vec<i128>, RunError> {
        if answer.schema().contains(name) {
            let plain = i64_at(answer, name).map_err(conv)?;
            return Ok(plain.iter().map(|v| i128::from(v.unwrap_or(0))).collect());
        }
        let hi = i64_at(answer, &format!("{name}_hi")).map_err(conv)?;
        let lo = i64_at(answer, &format!("{name}_lo")).map_err(conv)?;
        Ok(hi
            .iter()
            .zip(&lo)
            .map(|(h, l)| {
                i128::from(h.unwrap_or(0)) * i128::from(SPLIT) + i128::from(l.unwrap_or(0))
            })
            .collect())
    };
    let (q, t) = (exact("quantity")?, exact("total")?);
    Ok(cats
        .iter()
        .enumerate()
        .map(|(i, cat)| {
            (
                cat.unwrap_or_default().to_string(),
                n[i].unwrap_or(0) as u64,
                q[i],
                t[i],
            )
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use membench_kernel::TopNParams;

    use super::*;

    /// The checked top-n's answer from a frame of the three columns it reads, for a file the
    /// kernel read as `checked` (a valid file on disk, so the kernel locates no bad row).
    fn top_n(quantity: [Option<i64>; 3], checked: RowTotals) -> Result<Outcome, RunError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sales.csv");
        std::fs::write(
            &path,
            "order_id,order_date,customer_id,region,category,product_id,quantity,price,discount,note\n\
             1,2024-01-02,7,north,books,3,2,10.00,,\n",
        )
        .unwrap();
        let frame = df!(
            "order_id" => [1i64, 2, 3],
            "quantity" => quantity,
            "price" => [10.0, 5.0, 3.0],
        )
        .unwrap();
        let workload = Workload::TopN(TopNParams {
            n: 10,
            above_cents: 0,
        });
        let (stats, answer) = plans(frame.lazy(), &workload, Some(&checked));
        assert!(stats.is_none(), "the kernel counted the rows");
        let input = super::super::input::checked_csv(&path, checked);
        outcome(&input, &workload, Ok((None, answer.collect().unwrap())))
    }

    #[test]
    fn a_checked_top_n_refuses_a_row_the_engine_read_without_a_value() {
        let checked = RowTotals {
            rows: 3,
            quantity: 4,
            total_cents: 2000 + 500 + 300,
            max_total_cents: 2000,
        };
        let read_whole = top_n([Some(2), Some(1), Some(1)], checked).unwrap();
        assert_eq!(read_whole.rows_read, 3);
        let Answer::TopN { rows } = read_whole.answer else {
            panic!("a top-n answer")
        };
        assert_eq!(rows.len(), 3);
        // Without the guard the missing row would fail the filter and vanish unnoticed.
        let err = top_n([Some(2), None, Some(1)], checked)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("without a value that the kernel read whole"),
            "{err}"
        );
        // A total larger than any the kernel read.
        let err = top_n(
            [Some(2), Some(1), Some(1)],
            RowTotals {
                max_total_cents: 1999,
                ..checked
            },
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("a total of 2000 cents"), "{err}");
    }
}
