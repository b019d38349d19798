//! The runner: runs exactly one measured cell (strategy × workload × input) in its own process
//! and prints one JSON [`RunnerRecord`] on stdout.
//!
//! The pipeline is arguments → a validated [`Job`] ([`args`]) → execution under the
//! measurement ([`execute`]) → the record. Heap is measured by the process's global allocator:
//! `membench-runner` (counting allocator: exact heap), `membench-runner-sys` (system allocator:
//! time without the counter's cost, no heap figures) or `membench-runner-dhat` (dhat). RSS, CPU
//! and whole-process time come from outside (`membench-harness`).
//!
//! The runner must not run more than one cell, must not write anything but its record to
//! stdout, and must not catch a budget overrun: that ends the process with the protocol's
//! [`OOM_EXIT_CODE`](membench_protocol::OOM_EXIT_CODE), which the parent turns into `oom`.
//!
//! ```text
//! membench-runner --strategy streaming --workload top-n --input datasets/sales-1m-s42.csv
//! membench-runner --job '{"strategy":"streaming","workload":"top-n","input":"datasets/sales-1m-s42.csv"}'
//! membench-runner-sys --strategy streaming --workload top-n --input datasets/sales-1m-s42.csv
//! membench-runner --strategy parallel --workload etl --input datasets/sales-1m-s42.csv \
//!     --output clean.parquet --output-format parquet
//! membench-runner --strategy calibrate --bytes 100000000
//! ```

pub mod args;
mod entry;
mod execute;
mod observe;
mod sampler;
mod selftest;

pub use args::{Args, Job, StrategyCell};
pub use entry::main;
pub use membench_protocol::{Allocator, ERROR_EXIT_CODE, ErrorKind, RunnerError, RunnerRecord};
