//! `load-all-lean`: `load-all`, but loading less (seeds 003/004): only the columns the workload
//! reads (projection: `top-n` keeps three of ten), text with few distinct values as dictionary
//! codes (`region`, `category`, `order_date`: categoricals), every integer column in the
//! narrowest type its values fit (widened when a larger value arrives), and the free text
//! (`note`) in one shared buffer instead of a string per row. Then it computes from memory like
//! `load-all`. Its report row stands beside `load-all`'s, so the articles' "30–70 % less" is
//! measured, not assumed.

use membench_kernel::{RowRef, Workload};
use rustc_hash::FxHashMap;

use crate::outcome::Counts;
use crate::io::csv::{fold_all, open_csv};
use crate::io::parquet::{Projection, fold_frame, read_slice, row_groups};
use crate::{Format, Outcome, Output, Params, RowSink, RunError, Strategy, format_of};

pub struct LoadAllLean;

impl Strategy for LoadAllLean {
    fn run(&self, p: &Params) -> Result<Outcome, RunError> {
        let mut table = Table::new(&p.workload);
        let counts = crate::io::files::per_file(p, |file| load(file, &mut table))?;
        let mut out = Output::new(p)?;
        table.replay(&mut out);
        drop(table);
        out.finish(&p.input, counts)
    }

    /// A user's query: the `FROM` table loaded as columns, text as dictionary codes, then
    /// folded.
    fn query(&self, _: &Params, q: &crate::QueryParams) -> Result<Outcome, RunError> {
        crate::io::query::generic(q, membench_query::scan::Reading::LoadAllLean)
    }
}

/// Loads every valid row of the input into `table` (Parquet: one row group at a time, only the
/// columns the workload reads).
fn load(p: &Params, table: &mut Table) -> Result<Counts, RunError> {
    Ok(match format_of(&p.input)? {
        Format::Csv => {
            let (mut reader, mut parser) = open_csv(&p.input, p.max_record_bytes)?;
            fold_all(&p.input, &mut reader, &mut parser, p.on_bad_row, table)?
        }
        Format::Parquet => {
            let projection = Projection::of(&p.input, &p.workload)?;
            let mut c = Counts::default();
            for (offset, len) in row_groups(&p.input)? {
                let df = read_slice(&p.input, offset, len, &projection)?;
                c.add(fold_frame(&p.input, &df, offset, p.on_bad_row, table)?);
            }
            c
        }
    })
}

/// An integer column in the narrowest type that holds every value seen so far.
#[derive(Debug)]
enum Ints {
    U8(Vec<u8>),
    U16(Vec<u16>),
    U32(Vec<u32>),
    I64(Vec<i64>),
}

impl Default for Ints {
    fn default() -> Self {
        Ints::U8(Vec::new())
    }
}

impl Ints {
    #[inline]
    fn push(&mut self, v: i64) {
        match self {
            Ints::U8(c) if (0..=u8::MAX as i64).contains(&v) => c.push(v as u8),
            Ints::U16(c) if (0..=u16::MAX as i64).contains(&v) => c.push(v as u16),
            Ints::U32(c) if (0..=u32::MAX as i64).contains(&v) => c.push(v as u32),
            Ints::I64(c) => c.push(v),
            _ => {
                self.widen(v);
                self.push(v);
            }
        }
    }

    /// Re-encodes the column in the next type that holds `v` (the pandas `downcast` in
    /// reverse: columns start narrow).
    #[cold]
    fn widen(&mut self, v: i64) {
        let all: Vec<i64> = (0..self.len()).map(|i| self.get(i)).collect();
        *self = if (0..=u16::MAX as i64).contains(&v) && !matches!(self, Ints::U32(_)) {
            Ints::U16(all.iter().map(|&x| x as u16).collect())
        } else if (0..=u32::MAX as i64).contains(&v) && !matches!(self, Ints::I64(_)) {
            Ints::U32(all.iter().map(|&x| x as u32).collect())
        } else {
            Ints::I64(all)
        };
    }

    fn len(&self) -> usize {
        match self {
            Ints::U8(c) => c.len(),
            Ints::U16(c) => c.len(),
            Ints::U32(c) => c.len(),
            Ints::I64(c) => c.len(),
        }
    }

    #[inline]
    fn get(&self, i: usize) -> i64 {
        match self {
            Ints::U8(c) => i64::from(c[i]),
            Ints::U16(c) => i64::from(c[i]),
            Ints::U32(c) => i64::from(c[i]),
            Ints::I64(c) => c[i],
        }
    }
}

/// A text column with few distinct values: one code per row, each value stored once.
#[derive(Debug, Default)]
struct Dictionary {
    codes: Ints,
    values: Vec<String>,
    index: FxHashMap<String, u32>,
}

impl Dictionary {
    #[inline]
    fn push(&mut self, s: &str) {
        let code = match self.index.get(s) {
            Some(&c) => c,
            None => {
                let c = self.values.len() as u32;
                self.values.push(s.to_owned());
                self.index.insert(s.to_owned(), c);
                c
            }
        };
        self.codes.push(i64::from(code));
    }

    #[inline]
    fn get(&self, i: usize) -> &str {
        &self.values[self.codes.get(i) as usize]
    }
}

/// Free text: every row's value in one buffer, with its end offset.
#[derive(Debug, Default)]
struct Texts {
    bytes: String,
    ends: Ints,
}

impl Texts {
    #[inline]
    fn push(&mut self, s: &str) {
        self.bytes.push_str(s);
        self.ends.push(self.bytes.len() as i64);
    }

    #[inline]
    fn get(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends.get(i - 1) as usize };
        &self.bytes[start..self.ends.get(i) as usize]
    }
}

/// The loaded input: the columns the workload reads, each in its lean form (`None`: not
/// loaded).
#[derive(Debug, Default)]
struct Table {
    rows: usize,
    order_id: Option<Ints>,
    quantity: Ints,
    price_cents: Ints,
    category: Option<Dictionary>,
    /// `etl` only: the other columns.
    rest: Option<Box<Rest>>,
}

#[derive(Debug, Default)]
struct Rest {
    order_date: Dictionary,
    customer_id: Ints,
    region: Dictionary,
    product_id: Ints,
    /// A missing discount is stored as 0 with its bit clear in `has_discount`.
    discount_cents: Ints,
    has_discount: Vec<u64>,
    note: Texts,
}

impl Table {
    /// The columns `workload` reads.
    fn new(workload: &Workload) -> Table {
        let etl = !workload.is_aggregate();
        Table {
            order_id: (*workload != Workload::GroupBy).then(Ints::default),
            category: (!matches!(workload, Workload::TopN(_))).then(Dictionary::default),
            rest: etl.then(Box::default),
            ..Table::default()
        }
    }

    /// Hands every row back, in input order, as the kernel's row (columns not loaded read as
    /// 0 or empty: the workload does not read them).
    fn replay(&self, out: &mut dyn RowSink) {
        for i in 0..self.rows {
            let rest = self.rest.as_deref();
            let has_discount = rest.is_some_and(|r| r.has_discount[i / 64] >> (i % 64) & 1 == 1);
            out.add(&RowRef {
                order_id: self.order_id.as_ref().map_or(0, |c| c.get(i)),
                order_date: rest.map_or("", |r| r.order_date.get(i)),
                customer_id: rest.map_or(0, |r| r.customer_id.get(i)),
                region: rest.map_or("", |r| r.region.get(i)),
                category: self.category.as_ref().map_or("", |c| c.get(i)),
                product_id: rest.map_or(0, |r| r.product_id.get(i)),
                quantity: self.quantity.get(i),
                price_cents: self.price_cents.get(i),
                discount_cents: rest
                    .filter(|_| has_discount)
                    .map(|r| r.discount_cents.get(i)),
                note: rest.map_or("", |r| r.note.get(i)),
                unquoted: false,
            });
        }
    }
}

impl RowSink for Table {
    #[inline]
    fn add(&mut self, row: &RowRef<'_>) {
        if let Some(c) = &mut self.order_id {
            c.push(row.order_id);
        }
        self.quantity.push(row.quantity);
        self.price_cents.push(row.price_cents);
        if let Some(c) = &mut self.category {
            c.push(row.category);
        }
        if let Some(r) = &mut self.rest {
            r.order_date.push(row.order_date);
            r.customer_id.push(row.customer_id);
            r.region.push(row.region);
            r.product_id.push(row.product_id);
            r.discount_cents.push(row.discount_cents.unwrap_or(0));
            if self.rows.is_multiple_of(64) {
                r.has_discount.push(0);
            }
            if row.discount_cents.is_some() {
                r.has_discount[self.rows / 64] |= 1 << (self.rows % 64);
            }
            r.note.push(row.note);
        }
        self.rows += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_columns_widen_as_values_need_and_keep_every_value() {
        let mut c = Ints::default();
        let values = [3, 200, 70_000, 5, -1, i64::MAX, 0];
        for (n, &v) in values.iter().enumerate() {
            c.push(v);
            assert_eq!(c.len(), n + 1);
        }
        assert!(matches!(c, Ints::I64(_)));
        assert_eq!((0..values.len()).map(|i| c.get(i)).collect::<Vec<_>>(), values);
        let mut small = Ints::default();
        small.push(300);
        assert!(matches!(small, Ints::U16(_)));
        small.push(70_000);
        assert!(matches!(small, Ints::U32(_)));
    }

    #[test]
    fn dictionaries_and_texts_read_back_what_was_stored() {
        let mut d = Dictionary::default();
        let mut t = Texts::default();
        for s in ["books", "toys", "books", "", "naïve"] {
            d.push(s);
            t.push(s);
        }
        assert_eq!(d.values.len(), 4);
        assert_eq!((0..5).map(|i| d.get(i)).collect::<Vec<_>>(), ["books", "toys", "books", "", "naïve"]);
        assert_eq!((0..5).map(|i| t.get(i)).collect::<Vec<_>>(), ["books", "toys", "books", "", "naïve"]);
    }
}
