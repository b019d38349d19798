//! `etl` through Polars: the cleaning rules as expressions, frames handed to the one `etl`
//! writer (`io::etl_out`), so the output's bytes are every strategy's.

use membench_kernel::InputError;
use polars::prelude::*;

use crate::io::etl_out::{EtlSink, push_frame};
use crate::{Outcome, Params, RunError, etl_target};

use super::input::{PolarsInput, bad_input};
use super::plan::{cents, invalid};

/// The `etl` plan: the kernel's cleaning rules (`membench_kernel::etl`) as expressions, every
/// output column in order, plus the `invalid` flag of each row.
pub fn etl_plan(lf: LazyFrame) -> LazyFrame {
    let text = |c: &str| {
        col(c)
            .fill_null(lit(""))
            .str()
            .strip_chars(lit(NULL).cast(DataType::String))
    };
    lf.with_columns([
        cents(col("price")).alias("price_cents"),
        cents(col("discount").fill_null(lit(0.0))).alias("discount_cents"),
        invalid().alias("invalid"),
    ])
    .select([
        col("order_id"),
        text("order_date").alias("order_date"),
        col("customer_id"),
        text("region").str().to_lowercase().alias("region"),
        text("category").str().to_lowercase().alias("category"),
        col("product_id"),
        col("quantity"),
        col("price_cents"),
        col("discount_cents"),
        (col("quantity") * col("price_cents") - col("discount_cents")).alias("net_cents"),
        text("note").alias("note"),
        col("invalid"),
    ])
}

/// Collects the `etl` plan's frames into the shared output writer.
#[derive(Debug)]
pub struct EtlFrames {
    sink: EtlSink,
    rows: u64,
    invalid: u64,
}

impl EtlFrames {
    /// Creates the output file.
    pub fn new(p: &Params) -> Result<EtlFrames, RunError> {
        let (path, format) = etl_target(p)?;
        Ok(EtlFrames {
            sink: EtlSink::create(&path, format, p.observer)?,
            rows: 0,
            invalid: 0,
        })
    }

    /// Writes one frame of the plan's output, in order. Returns `false` (stop) once a frame holds
    /// an invalid row: the run will fail, so nothing more is written.
    pub fn push(&mut self, df: &DataFrame) -> PolarsResult<bool> {
        let invalid = df.column("invalid")?.bool()?.sum().unwrap_or(0) as u64;
        if invalid > 0 || self.invalid > 0 {
            self.invalid += invalid;
            return Ok(false);
        }
        push_frame(&mut self.sink, df)?;
        self.rows += df.height() as u64;
        Ok(true)
    }

    /// The outcome once the engine is done (`result` is the engine's own result).
    pub fn finish(
        self,
        input: &PolarsInput,
        result: PolarsResult<()>,
    ) -> Result<Outcome, RunError> {
        let path = &input.path;
        if let Err(e) = result {
            return Err(bad_input(
                input,
                format!("Polars could not read the file: {e}"),
            ));
        }
        if self.invalid > 0 {
            return Err(bad_input(
                input,
                format!("{} rows with missing or out-of-range values", self.invalid),
            ));
        }
        if self.rows == 0 {
            return Err(InputError::file(path, "has a header but no data rows").into());
        }
        Ok(Outcome {
            answer: self.sink.finish()?,
            rows_read: self.rows,
            rows_skipped: 0,
        })
    }
}
