//! The workers' side of `etl`: clean and encode rows into a batch (CSV bytes, or columns for
//! a Parquet output) that the one writer appends in order.

use membench_kernel::etl::push_csv_row;
use membench_kernel::{Cleaner, EtlColumns, RowRef};

use crate::Format;

/// A batch of output made by a worker, appended in order by the one writer (`parallel`).
pub enum EtlBatch {
    /// Encoded CSV lines.
    Csv { bytes: Vec<u8>, rows: u64 },
    /// Cleaned rows for a Parquet output.
    Columns(Box<EtlColumns>),
}

/// Cleans and encodes rows into a batch (one per worker in `parallel`).
pub struct EtlEncoder {
    format: Format,
    cleaner: Cleaner,
    csv: Vec<u8>,
    rows: u64,
    cols: EtlColumns,
}

impl EtlEncoder {
    /// An encoder for an output in `format`.
    pub fn new(format: Format) -> Self {
        EtlEncoder {
            format,
            cleaner: Cleaner::new(),
            csv: Vec::new(),
            rows: 0,
            cols: EtlColumns::default(),
        }
    }
    /// Cleans and encodes one validated row.
    pub fn push(&mut self, row: &RowRef<'_>) {
        let r = self.cleaner.clean(row);
        match self.format {
            Format::Csv => push_csv_row(&mut self.csv, &r),
            Format::Parquet => self.cols.push(&r),
        }
        self.rows += 1;
    }
    /// Takes what was encoded so far.
    pub fn take(&mut self) -> EtlBatch {
        let rows = std::mem::take(&mut self.rows);
        match self.format {
            Format::Csv => EtlBatch::Csv {
                bytes: std::mem::take(&mut self.csv),
                rows,
            },
            Format::Parquet => EtlBatch::Columns(Box::new(std::mem::take(&mut self.cols))),
        }
    }
}
