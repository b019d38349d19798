//! The reading and writing machinery the strategies share: how a strategy reads is its own;
//! what it reads with is here. CSV read in blocks from a position ([`csv`]) and cut into exact
//! byte ranges ([`split`]), Parquet row groups with a projection ([`parquet`]), a reader fed by
//! a decompression thread ([`overlap`]), ordered parallel work ([`pipeline`]), threads that
//! start without panicking ([`threads`]), where valid rows go ([`output`]), the one `etl` writer
//! ([`etl_out`]) and its checkpoints ([`checkpoint`]), the two tables of the `join` and its
//! spill files ([`join`]), an input as its files ([`files`]), the plain fold of every valid row
//! to a sink ([`fold`]), the saved aggregate and watermark of an incremental run
//! ([`incremental`]), and a user's query through the generic operators ([`query`]).
//!
//! Nothing here is a strategy, and nothing here uses Polars' engine to compute an answer.

pub mod checkpoint;
pub mod csv;
pub mod etl_out;
pub mod files;
pub mod fold;
pub mod incremental;
pub mod join;
pub mod output;
pub mod overlap;
pub mod parquet;
pub mod pipeline;
pub mod query;
pub mod split;
pub mod threads;
