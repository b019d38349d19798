//! Reports recomputed from raw records: statistics, the memory-growth fit, tables (Markdown,
//! CSV, JSON, HTML) and SVG charts.
//!
//! Layers, criterion-style: [`record`] (raw, as measured) → [`stats`] (analysis) → [`export`]
//! (one file per output format, one [`export::Exporter`] trait; `REPORT.md` is built from
//! [`section`]s, one [`section::Section`] per file) and [`plot`] (charts); [`gate`] compares a
//! run with a baseline; [`claims`] checks the background articles' claims against it.
//!
//! This crate must not run or measure anything, and must never write anything derived back
//! into the raw records.
//!
//! ```no_run
//! let dir = std::path::Path::new("reports/local/2026-11-22T10-00-00-default");
//! let written = membench_report::write_report(dir)?;
//! println!("{written:?}");
//! # Ok::<(), anyhow::Error>(())
//! ```

pub mod allow;
pub mod changepoint;
pub mod claims;
pub mod export;
pub mod format;
pub mod gate;
pub mod history;
pub mod merge;
pub mod plot;
pub mod predict;
pub mod processes;
pub mod record;
mod report;
pub mod section;
pub mod significance;
pub mod sites;
pub mod soak;
pub mod stats;

pub use report::{Report, write_report, write_report_with};
