//! A user's table and question, before any strategy runs: reading a delimited file of any
//! delimiter (`csv`), naming its files (`source`), typing its columns (`infer`: inferred from a
//! sample, `--schema` overriding, then enforced on every row), the one set of rules from a
//! field's text to a typed value (`text`), located errors (`error`), and `membench inspect`'s
//! measurements and memory predictions (`inspect`), a user's query planned (`sql`) and run by
//! the generic operators (`eval`, its typed closures `compile`, `exec`, `scan`), and a user's run prepared (`user`).
//!
//! It must not link Polars or measure anything: the driver calls it (to type an input and refuse
//! a bad one before any cell runs), and so will the runner's generic operators.
//!
//! ```
//! use membench_query::text::{parse_decimal, parse_date, format_date};
//! assert_eq!(parse_decimal(b"12.34", 2), Ok(1234));
//! assert_eq!(parse_date(b"2012/01/02").map(format_date).as_deref(), Ok("2012-01-02"));
//! ```

pub mod compare;
pub mod compile;
pub mod csv;
pub mod error;
pub mod eval;
pub mod exec;
pub mod infer;
pub mod inspect;
pub mod output;
pub mod parquet;
pub mod scan;
pub mod source;
pub mod sql;
pub mod text;
pub mod user;

pub use error::{InputError, TypeError};
pub use infer::{CsvOptions, Table, open_table};
pub use inspect::{ColumnStats, Inspection, MemoryPrediction, Profile, TopValue, inspect, profile};
pub use user::{InputArg, QueryArg, UserError, UserRun, prepare, query_file};
