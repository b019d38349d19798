//! The protocol every side of membench speaks: the runner's output record
//! ([`RunnerRecord`]), how a cell ended ([`Status`], ordered from best to worst), input
//! [`Format`]s, declared memory [`Growth`] and its slope limit, the dataset sidecar
//! ([`Sidecar`]), the runner's exit codes and budget message, and the strategies' metadata as
//! data ([`StrategyInfo`], [`STRATEGIES`]).
//!
//! Runner, harness, driver and report all use these types, so nothing reads a record by string
//! key and nothing is defined twice. This crate must stay light: serde only — no Polars, no I/O,
//! nothing that measures (`bytesize` for sizes) — so that `cargo xtask list` needs no heavy build.
//!
//! ```
//! use membench_protocol::{Format, Growth, STRATEGIES, Status, Workload, strategy};
//! let lazy = strategy("lazy").unwrap();
//! assert_eq!(lazy.growth.of(&Workload::TOP_N, Format::Parquet), Some(Growth::Linear));
//! assert!(Status::Ok < Status::Oom); // the worst status of a cell wins
//! assert!(STRATEGIES.iter().any(|s| s.name == "streaming"));
//! ```

mod exit;
mod format;
mod job;
mod plan;
mod record;
mod redact;
mod runner;
mod shape;
mod sidecar;
mod status;
mod strategy;
mod table;
mod units;
mod workload;

pub use exit::{ALLOC_FAILED_MESSAGE_PREFIX, ERROR_EXIT_CODE, OOM_EXIT_CODE, OOM_MESSAGE_PREFIX};
pub use format::{Compression, Format, Growth, InputFormat};
pub use job::{CellJob, DbJob, Profiler};
pub use plan::{
    AggFunc, Aggregate, BinOp, DatePart, Expr, Func, Group, JoinKind, JoinSpec, Literal, OrderKey,
    Output, Plan, ScanColumn, Typed,
};
pub use record::{
    CellKey, GroupKey, IncrementalStep, ProcessRecord, ProcessShare, RECORD_VERSION, Record,
    RunContext,
};
pub use redact::redact;
pub use runner::{Allocator, ErrorKind, PhaseRecord, RunnerError, RunnerMeasure, RunnerRecord};
pub use shape::{
    MAX_KEY_CARDINALITY, MAX_TEXT_BYTES, ROW_BYTES_WITHOUT_NOTE, Ratio, Shape, SortKey,
    parse_key_cardinality, parse_null_rate, parse_row_bytes, parse_skew, parse_text_bytes,
};
pub use sidecar::{DataSchema, GenSpec, ParquetCompressionName, PartMeta, Sidecar};
pub use status::Status;
pub use strategy::{
    Decompress, Engine, GUARD_DEFAULT_BUDGET_BYTES, GUARD_HIGH_WATER, GUARD_MAX_GROWTH, Growths,
    PerFormat, Queries, Requirement, Role, STRATEGIES, Skip, StrategyInfo, plays,
    reference_strategy, strategy, with_role,
};
pub use table::{ColumnSchema, ColumnType, NullTokens, SchemaOverride, TableSchema, UserTable};
pub use units::{parse_count, parse_scale, parse_size, rows_label, scale_label};
pub use workload::{Date, DateRange, OnBadRow, QuerySpec, TopNParams, Workload};
