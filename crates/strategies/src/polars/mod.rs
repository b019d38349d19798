//! Polars for the Polars strategies (`lazy`, `load-all-polars`): their input ([`input`]), the
//! one query plan of the aggregates ([`plan`]), `etl` ([`etl`]) and the `join` ([`join`]).
//! The kernel's rules and answers, expressed for the engine; nothing here decides a verdict the
//! kernel would not.

pub mod etl;
pub mod input;
pub mod join;
pub mod plan;
pub mod query;

pub use etl::{EtlFrames, etl_plan};
pub use input::{
    PolarsInput, engine, precheck, read_eager, read_input, sales_schema, scan, without_empty_lines,
};
pub use plan::outcome;
pub(crate) use plan::plans;
