//! The `sales` schema, the workloads and the error every strategy reports for bad input.

use std::fmt;
use std::path::PathBuf;

/// Column names of the `sales` schema, in file order.
pub const COLUMNS: [&str; 10] = [
    "order_id",
    "order_date",
    "customer_id",
    "region",
    "category",
    "product_id",
    "quantity",
    "price",
    "discount",
    "note",
];
/// Number of columns in the `sales` schema.
pub const N_COLUMNS: usize = COLUMNS.len();
pub use membench_protocol::{OnBadRow, TopNParams, Workload};

/// A problem with an input file: which file, where (1-based line, or row group), and why.
///
/// Its `Display` form is the same for every strategy, so outcomes can be compared as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputError {
    /// The file.
    pub path: PathBuf,
    /// Where in the file: `Some(line)` for CSV (1-based, header is line 1).
    pub line: Option<u64>,
    /// Why.
    pub reason: String,
}

impl InputError {
    /// An error that concerns the whole file.
    pub fn file(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        InputError {
            path: path.into(),
            line: None,
            reason: reason.into(),
        }
    }
    /// An error at a line.
    pub fn at_line(path: impl Into<PathBuf>, line: u64, reason: impl Into<String>) -> Self {
        InputError {
            path: path.into(),
            line: Some(line),
            reason: reason.into(),
        }
    }
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{}: {}", self.path.display(), line, self.reason),
            None => write!(f, "{}: {}", self.path.display(), self.reason),
        }
    }
}

impl std::error::Error for InputError {}

pub use membench_protocol::rows_label;
