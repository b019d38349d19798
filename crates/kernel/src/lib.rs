//! The shared kernel of membench: the `sales` schema, one record parser, one set of aggregations
//! (folds), the `etl` transform and its encoding, and the canonical answers every strategy must
//! agree on.
//!
//! Strategies differ in *how they read* a file; they never re-implement how a record is
//! validated or how an aggregate is folded. Everything here is allocation-free per row: a
//! [`LineParser`] reuses its buffers and an [`Accumulator`] only allocates when it meets a new
//! group key or keeps a new top-n candidate.
//!
//! This crate must not do I/O beyond the [`RecordReader`] helper over a `BufRead`, must not depend
//! on Polars and must not measure anything.
//!
//! ```
//! use membench_kernel::{Accumulator, LineParser, Workload};
//! let mut parser = LineParser::new();
//! let mut acc = Accumulator::new(&Workload::GroupBy);
//! let row = parser
//!     .parse(b"1,2024-01-01,7,north,books,9,3,400.50,,\"a, note\"")
//!     .unwrap();
//! acc.add(&row);
//! let answer = acc.finish().unwrap();
//! assert_eq!(answer.digest().len(), 64);
//! ```

mod accumulate;
mod answer;
mod bad;
pub mod etl;
mod hash;
mod join;
mod parse;
pub mod record;
pub mod rules;
mod schema;
pub mod structural;

pub use accumulate::{Accumulator, GroupAcc, SavedAcc, TopN};
pub use answer::{Answer, GroupRow, TopRow};
pub use bad::{BadKind, BadRow};
pub use etl::{Cleaner, ETL_COLUMNS, ETL_ROW_GROUP_ROWS, EtlColumns, EtlRow};
pub use hash::HashingWriter;
pub use join::{
    DateRange, ITEMS_COLUMNS, ItemRow, JoinAcc, ORDERS_COLUMNS, OrderRow, Table as JoinTable,
};
pub use parse::{
    Fields, HeaderLayout, LineParser, MAX_COLUMNS, NumError, RowRef, UTF8_BOM, header_layout,
    header_layout_for, parse_cents, parse_i64, parse_int, parse_money, validate_header,
};
pub use record::{
    DEFAULT_MAX_RECORD_BYTES, Framing, FramingError, QuoteState, ReadError, Record, RecordReader,
    Records, SliceRecords, Split, check_framing, check_framing_parallel, in_parts, line_cuts,
};
pub use schema::{COLUMNS, InputError, N_COLUMNS, OnBadRow, TopNParams, Workload, rows_label};
