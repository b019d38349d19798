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
//! assert_eq!(lazy.growth.of(&Workload::TopN, Format::Parquet), Some(Growth::Linear));
//! assert!(Status::Ok < Status::Oom); // the worst status of a cell wins
//! assert!(STRATEGIES.iter().any(|s| s.name == "streaming"));
//! ```

mod format;
mod job;
mod record;
mod redact;
mod runner;
mod sidecar;
mod status;
mod strategy;
mod workload;

pub use format::{Compression, Format, Growth, InputFormat};
pub use job::{CellJob, DateRange, DbJob, Profiler};
pub use record::{CellKey, ProcessRecord, RECORD_VERSION, Record, RunContext};
pub use redact::redact;
pub use runner::{Allocator, ErrorKind, PhaseRecord, RunnerError, RunnerMeasure, RunnerRecord};
pub use sidecar::{DataSchema, GenSpec, ParquetCompressionName, PartMeta, Sidecar};
pub use status::Status;
pub use strategy::{
    Decompress, Engine, Growths, PerFormat, Requirement, Role, STRATEGIES, Skip, StrategyInfo,
    plays, reference_strategy, strategy, with_role,
};
pub use workload::{OnBadRow, Workload};

/// Parses a byte size: `512MiB`, `1GB`, `4096` (via the `bytesize` crate). The error says what
/// was given and what is expected.
pub fn parse_size(s: &str) -> Result<u64, String> {
    s.trim()
        .parse::<bytesize::ByteSize>()
        .map(|b| b.as_u64())
        .map_err(|e| format!("{s:?} is not a size (e.g. 512MiB, 1GiB, 2GB): {e}"))
}

/// Parses a row count: `100k`, `1m`, `2.5m`, `50m`, `1000`. The error says what was given.
pub fn parse_count(s: &str) -> Result<u64, String> {
    let t = s.trim().to_ascii_lowercase();
    let (num, mul) = match t.chars().last() {
        Some('k') => (&t[..t.len() - 1], 1e3),
        Some('m') => (&t[..t.len() - 1], 1e6),
        Some('g') | Some('b') => (&t[..t.len() - 1], 1e9),
        _ => (&t[..], 1.0),
    };
    match num.parse::<f64>() {
        Ok(v) if v >= 0.0 => Ok((v * mul).round() as u64),
        _ => Err(format!("{s:?} is not a row count (e.g. 100k, 1m, 50m)")),
    }
}

/// Exit code of a runner whose strategy reported an error (bad input, unsupported request).
pub const ERROR_EXIT_CODE: i32 = 2;
/// Exit code of a process whose heap budget was exceeded (the counting allocator's `_exit`).
pub const OOM_EXIT_CODE: i32 = 97;
/// First words of the message printed when the heap budget is exceeded.
pub const OOM_MESSAGE_PREFIX: &str = "membench: heap budget exceeded";
/// First words of the message printed when the allocator refused an allocation (a kernel
/// limit, or the machine out of memory) and the runner ended with [`OOM_EXIT_CODE`].
pub const ALLOC_FAILED_MESSAGE_PREFIX: &str = "membench: an allocation failed (out of memory)";
