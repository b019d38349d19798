//! The strategies membench compares: each reads a `sales` file its own way and computes a
//! workload's [`Answer`] through the shared kernel (`membench-kernel`).
//!
//! A strategy is one file and one line in [`REGISTRY`]. *How it reads* is the point; what it
//! computes is not its business: record validation and the folds come from the kernel (hand-written
//! strategies) or from one shared Polars query plan ([`polars_plan`]), and every strategy must
//! produce the same answer, the same `rows_read`/`rows_skipped` and the same bad-input error on the
//! same file.
//!
//! This crate must not measure anything (the runner does) and must not print.
//!
//! ```no_run
//! use membench_kernel::Workload;
//! use membench_strategies::{Params, find};
//! let p = Params::new(Workload::TopN, "datasets/sales-1m-s42.csv");
//! let out = find("streaming").unwrap().run(&p)?;
//! println!("{} rows, answer {}", out.rows_read, out.answer.digest());
//! # Ok::<(), membench_strategies::RunError>(())
//! ```

use std::path::{Path, PathBuf};

use membench_kernel::{Answer, InputError, OnBadRow, Workload};
pub use output::{Output, RowSink, etl_target};

mod chunked;
mod csv_io;
pub mod etl_out;
mod lazy;
mod load_all;
mod load_all_polars;
mod output;
mod parallel;
mod parquet_io;
pub mod polars_plan;
mod streaming;

/// Input file format, from the file extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Csv,
    Parquet,
}

impl Format {
    /// `csv` or `parquet`.
    pub fn name(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Parquet => "parquet",
        }
    }

    /// Parses `csv` or `parquet`.
    pub fn parse(s: &str) -> Option<Format> {
        match s {
            "csv" => Some(Format::Csv),
            "parquet" => Some(Format::Parquet),
            _ => None,
        }
    }

    /// `.csv` or `.parquet`.
    pub fn of(path: &Path) -> Result<Format, RunError> {
        match path.extension().and_then(|e| e.to_str()) {
            Some("csv") => Ok(Format::Csv),
            Some("parquet") | Some("pq") => Ok(Format::Parquet),
            _ => Err(RunError::Input(InputError::file(
                path,
                "unknown format: expected a .csv or .parquet file",
            ))),
        }
    }
}

/// What a strategy is asked to do.
#[derive(Clone, Debug)]
pub struct Params {
    pub workload: Workload,
    pub input: PathBuf,
    pub on_bad_row: OnBadRow,
    /// Rows per chunk for `chunked` (and per range for `parallel` on CSV it is unused).
    pub chunk_rows: usize,
    /// Worker threads for `parallel`.
    pub threads: usize,
    /// `etl`: the file to write (written as `<output>.tmp`, renamed when complete).
    pub output: Option<PathBuf>,
    /// `etl`: the output format; `None` means the input's format.
    pub output_format: Option<Format>,
}

impl Params {
    /// Defaults: fail on bad rows, 100,000-row chunks, 2 threads, no `etl` output path.
    pub fn new(workload: Workload, input: impl Into<PathBuf>) -> Self {
        Params {
            workload,
            input: input.into(),
            on_bad_row: OnBadRow::Fail,
            chunk_rows: 100_000,
            threads: 2,
            output: None,
            output_format: None,
        }
    }
}

/// What a strategy computed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    pub answer: Answer,
    /// Valid rows folded into the answer.
    pub rows_read: u64,
    /// Malformed rows skipped (`--on-bad-row skip`).
    pub rows_skipped: u64,
}

/// Why a strategy did not produce an answer.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Bad input: names the file, the line and the reason.
    #[error("{0}")]
    Input(InputError),
    /// The strategy cannot honour the request (e.g. `skip` on an engine that cannot count).
    #[error("{0}")]
    Unsupported(String),
    /// I/O or engine failure.
    #[error("{0:#}")]
    Other(#[from] anyhow::Error),
}

impl From<InputError> for RunError {
    fn from(e: InputError) -> Self {
        RunError::Input(e)
    }
}

/// A way of processing a file.
pub trait Strategy: Sync {
    /// The command-line name.
    fn name(&self) -> &'static str;
    /// One line for `cargo xtask list`.
    fn describe(&self) -> &'static str;
    /// Expected memory growth with input size on `format`, asserted by the CI gate.
    fn growth(&self, format: Format) -> Growth;
    /// Computes the workload.
    fn run(&self, p: &Params) -> Result<Outcome, RunError>;
}

/// Declared memory growth of a strategy as the input grows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Growth {
    /// Bounded: does not grow with the file.
    Constant,
    /// Proportional to the file.
    Linear,
}

impl Growth {
    /// `constant` or `linear`.
    pub fn name(self) -> &'static str {
        match self {
            Growth::Constant => "constant",
            Growth::Linear => "linear",
        }
    }
}

/// Every strategy, one line each.
pub static REGISTRY: &[&dyn Strategy] = &[
    &load_all::LoadAll,
    &load_all_polars::LoadAllPolars,
    &chunked::Chunked,
    &streaming::Streaming,
    &lazy::Lazy,
    &parallel::Parallel,
];

/// Looks a strategy up by name.
pub fn find(name: &str) -> Option<&'static dyn Strategy> {
    REGISTRY.iter().copied().find(|s| s.name() == name)
}

/// The names of all strategies.
pub fn names() -> Vec<&'static str> {
    REGISTRY.iter().map(|s| s.name()).collect()
}
