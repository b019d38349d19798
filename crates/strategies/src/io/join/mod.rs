//! What the `join` strategies share: the two inputs of a `join` cell, one reader for either
//! table of the `orders` schema (CSV through the kernel's parser, Parquet one row group at a
//! time), the fixed-size item record the spilling strategies write, and the answer.
//!
//! Bad rows get one verdict in every strategy: the `orders` table is validated before
//! `order_items` (a strategy that reads both at once finishes validating the orders before it
//! reports a bad item), with the kernel's `file:line: reason`; `skip` counts the bad rows of
//! both tables.

pub(crate) mod query;
pub(crate) mod runs;
pub(crate) mod spill;

use std::collections::VecDeque;
use std::path::{Path, PathBuf};

use ::polars::prelude::*;
use membench_kernel::{
    BadRow, DateRange, Fields, InputError, ItemRow, JoinAcc, JoinTable, LineParser, OnBadRow,
    OrderRow, rules,
};
use rustc_hash::FxHashMap;

use crate::io::csv::{CsvReader, open_csv_of, read_error};
use crate::io::parquet::{open, polars_err, row_groups_of};
use crate::outcome::Counts;
use crate::{Format, Outcome, Params, RunError, format_of};

/// The two inputs of a `join` cell and how to read them.
#[derive(Clone, Debug)]
pub(crate) struct JoinInput {
    pub orders: PathBuf,
    pub items: PathBuf,
    pub dates: DateRange,
    pub on_bad: OnBadRow,
    pub max_record_bytes: usize,
}

impl JoinInput {
    /// From a cell's parameters: `input` is the `orders` file, `items` the `order_items` one.
    pub fn of(p: &Params) -> Result<JoinInput, RunError> {
        let items = p.items.clone().ok_or_else(|| {
            RunError::Unsupported(
                "join reads two files: --input ORDERS and --items ORDER_ITEMS (`cargo xtask gen \
                 --schema orders` writes both)"
                    .into(),
            )
        })?;
        Ok(JoinInput {
            orders: p.input.clone(),
            items,
            dates: p.workload.dates().unwrap_or_default(),
            on_bad: p.on_bad_row,
            max_record_bytes: p.max_record_bytes,
        })
    }

    /// A reader of the `orders` table.
    pub fn orders(&self) -> Result<Rows<Orders>, RunError> {
        Rows::open(&self.orders, self)
    }

    /// A reader of the `order_items` table.
    pub fn items(&self) -> Result<Rows<Items>, RunError> {
        Rows::open(&self.items, self)
    }

    /// The keys of the orders in range, each with how often it appears (an inner join counts an
    /// item once per matching order), and the counts of the `orders` table.
    pub fn keys_in_range(&self) -> Result<(FxHashMap<i64, u32>, Counts), RunError> {
        let mut keys: FxHashMap<i64, u32> = FxHashMap::default();
        let mut orders = self.orders()?;
        orders.for_each(|o| {
            if self.dates.contains(o.order_date) {
                *keys.entry(o.order_id).or_default() += 1;
            }
        })?;
        Ok((keys, orders.counts))
    }

    /// The outcome of a fold: the answer (a sum out of range is the kernel's error, on the
    /// items file) and the rows of both tables.
    pub fn finish(&self, acc: JoinAcc, counts: Counts) -> Result<Outcome, RunError> {
        let answer = acc.finish().map_err(|e| InputError::file(&self.items, e))?;
        Ok(Outcome {
            answer,
            rows_read: counts.read,
            rows_skipped: counts.skipped,
        })
    }
}

/// One of the two tables: how a row is read from a CSV record or a Parquet frame.
pub(crate) trait TableKind {
    const TABLE: JoinTable;
    type Row<'a>;
    /// The Parquet columns and their types, in [`JoinTable::columns`] order.
    const TYPES: &'static [DataType];
    fn from_fields<'a>(f: &Fields<'a>) -> Result<Self::Row<'a>, BadRow>;
    fn from_frame(f: &Frame, i: usize) -> Result<Self::Row<'_>, BadRow>;
}

/// The `orders` table.
pub(crate) struct Orders;
/// The `order_items` table.
pub(crate) struct Items;

impl TableKind for Orders {
    const TABLE: JoinTable = JoinTable::Orders;
    type Row<'a> = OrderRow<'a>;
    const TYPES: &'static [DataType] = &[
        DataType::Int64,
        DataType::String,
        DataType::Int64,
        DataType::String,
        DataType::String,
    ];
    #[inline]
    fn from_fields<'a>(f: &Fields<'a>) -> Result<OrderRow<'a>, BadRow> {
        OrderRow::from_fields(f)
    }
    fn from_frame(f: &Frame, i: usize) -> Result<OrderRow<'_>, BadRow> {
        Ok(OrderRow {
            order_id: f.int(0, i)?,
            order_date: f.text(1, i),
            customer_id: f.int(2, i)?,
            region: f.text(3, i),
            status: f.text(4, i),
        })
    }
}

impl TableKind for Items {
    const TABLE: JoinTable = JoinTable::Items;
    type Row<'a> = ItemRow<'a>;
    const TYPES: &'static [DataType] = &[
        DataType::Int64,
        DataType::Int64,
        DataType::Int64,
        DataType::String,
        DataType::Int64,
        DataType::Float64,
    ];
    #[inline]
    fn from_fields<'a>(f: &Fields<'a>) -> Result<ItemRow<'a>, BadRow> {
        ItemRow::from_fields(f)
    }
    fn from_frame(f: &Frame, i: usize) -> Result<ItemRow<'_>, BadRow> {
        let row = ItemRow {
            order_id: f.int(0, i)?,
            line_no: f.int(1, i)?,
            product_id: f.int(2, i)?,
            category: f.text(3, i),
            quantity: f.int(4, i)?,
            price_cents: f.cents(5, i)?,
        };
        rules::check_values(row.quantity, row.price_cents, None)?;
        Ok(row)
    }
}

/// One Parquet row group of a table, its columns cast to the table's types.
pub(crate) struct Frame {
    columns: Vec<Column>,
    rows: usize,
}

impl Frame {
    fn read<K: TableKind>(path: &Path, offset: usize, len: usize) -> Result<Frame, RunError> {
        let names = K::TABLE.columns();
        let df = ParquetReader::new(open(path)?)
            .with_columns(Some(names.iter().map(|s| s.to_string()).collect()))
            .with_slice(Some((offset, len)))
            .finish()
            .map_err(|e| polars_err(path, e))?;
        let columns = names
            .iter()
            .zip(K::TYPES)
            .map(|(n, t)| {
                df.column(n)
                    .and_then(|c| c.cast(t))
                    .map_err(|e| polars_err(path, e))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Frame {
            columns,
            rows: df.height(),
        })
    }

    fn int(&self, c: usize, i: usize) -> Result<i64, BadRow> {
        let v = self.columns[c].i64().expect("cast to i64").get(i);
        v.ok_or_else(rules::missing_value)
    }

    fn cents(&self, c: usize, i: usize) -> Result<i64, BadRow> {
        let v = self.columns[c].f64().expect("cast to f64").get(i);
        let v = v.ok_or_else(rules::missing_value)?;
        rules::float_cents(JoinTable::Items.columns()[c], v)
    }

    fn text(&self, c: usize, i: usize) -> &str {
        self.columns[c]
            .str()
            .expect("cast to str")
            .get(i)
            .unwrap_or_default()
    }
}

enum Source {
    Csv {
        reader: Box<CsvReader>,
        parser: Box<LineParser>,
    },
    Parquet {
        groups: VecDeque<(usize, usize)>,
        frame: Option<(Frame, usize)>,
        next: usize,
    },
}

/// A reader of one table's valid rows, in file order, honouring `--on-bad-row` (its
/// [`Counts`] say how many rows were read and skipped).
pub(crate) struct Rows<K> {
    path: PathBuf,
    on_bad: OnBadRow,
    source: Source,
    pub counts: Counts,
    kind: std::marker::PhantomData<K>,
}

impl<K: TableKind> Rows<K> {
    fn open(path: &Path, inp: &JoinInput) -> Result<Rows<K>, RunError> {
        let source = match format_of(path)? {
            Format::Csv => {
                let (reader, parser) = open_csv_of(path, K::TABLE.columns(), inp.max_record_bytes)?;
                Source::Csv {
                    reader: Box::new(reader),
                    parser: Box::new(parser),
                }
            }
            Format::Parquet => Source::Parquet {
                groups: row_groups_of(path, K::TABLE.columns())?.into(),
                frame: None,
                next: 0,
            },
        };
        Ok(Rows {
            path: path.to_path_buf(),
            on_bad: inp.on_bad,
            source,
            counts: Counts::default(),
            kind: std::marker::PhantomData,
        })
    }

    /// Reads the next valid row and returns what `f` makes of it; `None` at the end.
    #[inline]
    pub fn next_with<T>(
        &mut self,
        mut f: impl FnMut(K::Row<'_>) -> T,
    ) -> Result<Option<T>, RunError> {
        loop {
            let (verdict, at) = match &mut self.source {
                Source::Csv { reader, parser } => {
                    let Some(rec) = reader
                        .next_record()
                        .map_err(|e| read_error(&self.path, 0, e))?
                    else {
                        return Ok(None);
                    };
                    let line = rec.line;
                    let v = parser
                        .fields_of(&rec)
                        .and_then(|fl| K::from_fields(&fl))
                        .map(&mut f);
                    (v, Where::Line(line))
                }
                Source::Parquet {
                    groups,
                    frame,
                    next,
                } => {
                    if frame.as_ref().is_none_or(|(fr, _)| *next >= fr.rows) {
                        let Some((offset, len)) = groups.pop_front() else {
                            return Ok(None);
                        };
                        *frame = Some((Frame::read::<K>(&self.path, offset, len)?, offset));
                        *next = 0;
                        continue;
                    }
                    let (fr, offset) = frame.as_ref().expect("a frame");
                    let i = *next;
                    *next += 1;
                    (K::from_frame(fr, i).map(&mut f), Where::Row(offset + i + 1))
                }
            };
            match verdict {
                Ok(t) => {
                    self.counts.read += 1;
                    return Ok(Some(t));
                }
                Err(bad) => self.bad(bad, at)?,
            }
        }
    }

    fn bad(&mut self, bad: BadRow, at: Where) -> Result<(), RunError> {
        match self.on_bad {
            OnBadRow::Skip => {
                self.counts.skipped += 1;
                Ok(())
            }
            OnBadRow::Fail => Err(match at {
                Where::Line(l) => InputError::at_line(&self.path, l, bad.reason),
                Where::Row(r) => InputError::file(&self.path, format!("row {r}: {bad}")),
            }
            .into()),
        }
    }

    /// Hands every remaining valid row to `f`.
    pub fn for_each(&mut self, mut f: impl FnMut(K::Row<'_>)) -> Result<(), RunError> {
        while self.next_with(&mut f)?.is_some() {}
        Ok(())
    }

    /// Reads the rest of the table only to validate it (and count it).
    pub fn drain(&mut self) -> Result<(), RunError> {
        self.for_each(|_| {})
    }
}

/// Where a bad row is: a CSV line or a Parquet row (1-based).
#[derive(Clone, Copy)]
enum Where {
    Line(u64),
    Row(usize),
}

/// The first bad row of the two tables as the hand-written strategies report it (orders
/// first), if any: for engines that only say that something is wrong.
pub(crate) fn locate_first_bad_row(inp: &JoinInput) -> Result<Option<InputError>, RunError> {
    let strict = JoinInput {
        on_bad: OnBadRow::Fail,
        ..inp.clone()
    };
    let check = || -> Result<(), RunError> {
        strict.orders()?.drain()?;
        strict.items()?.drain()
    };
    match check() {
        Ok(()) => Ok(None),
        Err(RunError::Input(e)) => Ok(Some(e)),
        Err(e) => Err(e),
    }
}
