//! Deterministic generator of the `sales` datasets membench measures on, as CSV and Parquet.
//!
//! The same [`GenSpec`] gives a byte-identical file on every run and machine, whatever the
//! thread count: rows are produced in fixed-size blocks, each block from its own ChaCha stream,
//! and blocks are written in order. Memory stays flat as `rows` grows (a bounded window of
//! blocks is in flight). Files are written under a temporary name and renamed, then a
//! `*.meta.json` sidecar (schema, rows, bytes, seed, options, bad-row counts, sha256) is written
//! the same way; a file with a matching sidecar is reused.
//!
//! This crate must not measure anything and must not be linked into the runner.
//!
//! ```no_run
//! use membench_datagen::{Format, GenSpec, generate};
//! let spec = GenSpec { rows: 1000, ..GenSpec::default() };
//! let out = generate(&spec, Format::Csv, std::path::Path::new("datasets"), false, &mut |_| {})?;
//! println!("{} ({} bytes)", out.path.display(), out.meta.bytes);
//! # Ok::<(), anyhow::Error>(())
//! ```

mod csv_out;
mod generate;
mod orders;
mod parquet_out;
mod parts;
mod rows;
mod shape;
mod spec;

pub use generate::generate;
pub use orders::{STATUSES, generate_orders};
pub use parts::{folder_name, part_paths, split_into_files};
pub use rows::BLOCK_ROWS;
pub use rows::{BAD_KINDS, CATEGORIES, REGIONS};
pub use spec::{
    AVG_ROW_BYTES, Compression, DataSchema, Format, GENERATOR_VERSION, GenOutput, GenSpec, Meta,
    ParquetCompressionName, compress, file_name, parse_compression, parse_count, parse_format,
    parse_size, read_meta, rows_for_bytes, rows_label, table_file_name,
};
