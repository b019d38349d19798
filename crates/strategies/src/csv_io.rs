//! CSV reading shared by the hand-written strategies: open, check the header, fold lines.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use anyhow::Context;
use membench_kernel::{InputError, LineParser, LineReader, OnBadRow, RowRef, validate_header};

use crate::{RowSink, RunError};

/// Buffer size for sequential reads.
pub const READ_BUF: usize = 256 * 1024;

/// Opens a CSV file, checks its header, and returns a reader positioned after it.
pub fn open_csv(path: &Path) -> Result<(LineReader<BufReader<File>>, LineParser), RunError> {
    let file = File::open(path).with_context(|| format!("{}: cannot open", path.display()))?;
    let mut reader = LineReader::new(BufReader::with_capacity(READ_BUF, file));
    let mut parser = LineParser::new();
    check_header(path, &mut reader, &mut parser)?;
    Ok((reader, parser))
}

/// Reads and validates the header line.
pub fn check_header<R: std::io::BufRead>(
    path: &Path,
    reader: &mut LineReader<R>,
    parser: &mut LineParser,
) -> Result<(), RunError> {
    let (line_no, header) = reader
        .next_line()
        .with_context(|| format!("{}: read failed", path.display()))?
        .ok_or_else(|| InputError::file(path, "file is empty (no header line)"))?;
    validate_header(parser, header).map_err(|r| InputError::at_line(path, line_no, r))?;
    Ok(())
}

/// Only the header check, for engines that read the data themselves.
pub fn check_csv_header_only(path: &Path) -> Result<(), RunError> {
    let mut f = File::open(path).with_context(|| format!("{}: cannot open", path.display()))?;
    let mut head = Vec::new();
    (&mut f)
        .take(64 * 1024)
        .read_to_end(&mut head)
        .with_context(|| format!("{}: read failed", path.display()))?;
    let mut reader = LineReader::new(&head[..]);
    check_header(path, &mut reader, &mut LineParser::new())
}

/// Counts of a fold.
#[derive(Clone, Copy, Debug, Default)]
pub struct Counts {
    pub read: u64,
    pub skipped: u64,
}

impl Counts {
    /// Adds another part's counts.
    pub fn add(&mut self, o: Counts) {
        self.read += o.read;
        self.skipped += o.skipped;
    }
}

/// Reads lines, validates them and hands each valid row to `f`, honouring `on_bad`.
/// `line_base` is added to local line numbers in errors. Stops after `max_rows` data lines.
pub fn for_each_row<R: std::io::BufRead>(
    path: &Path,
    reader: &mut LineReader<R>,
    parser: &mut LineParser,
    on_bad: OnBadRow,
    line_base: u64,
    max_rows: u64,
    mut f: impl FnMut(&RowRef<'_>),
) -> Result<Counts, RunError> {
    let mut c = Counts::default();
    while c.read + c.skipped < max_rows {
        let Some((line_no, line)) = reader
            .next_line()
            .with_context(|| format!("{}: read failed", path.display()))?
        else {
            break;
        };
        match parser.parse(line) {
            Ok(row) => {
                f(&row);
                c.read += 1;
            }
            Err(bad) => match on_bad {
                OnBadRow::Fail => {
                    return Err(InputError::at_line(path, line_base + line_no, bad.reason).into());
                }
                OnBadRow::Skip => c.skipped += 1,
            },
        }
    }
    Ok(c)
}

/// Hands every remaining valid line to `sink`.
pub fn fold_all<R: std::io::BufRead>(
    path: &Path,
    reader: &mut LineReader<R>,
    parser: &mut LineParser,
    on_bad: OnBadRow,
    sink: &mut (impl RowSink + ?Sized),
) -> Result<Counts, RunError> {
    for_each_row(path, reader, parser, on_bad, 0, u64::MAX, |row| {
        sink.add(row)
    })
}

/// The first bad row of a CSV file as the hand-written strategies report it, if any. Engines
/// that cannot name a line call this when they detect bad input, so every strategy gives the
/// same error.
pub fn locate_first_bad_row(path: &Path) -> Result<Option<InputError>, RunError> {
    let (mut reader, mut parser) = match open_csv(path) {
        Ok(x) => x,
        Err(RunError::Input(e)) => return Ok(Some(e)),
        Err(e) => return Err(e),
    };
    match for_each_row(
        path,
        &mut reader,
        &mut parser,
        OnBadRow::Fail,
        0,
        u64::MAX,
        |_| {},
    ) {
        Ok(c) if c.read == 0 => Ok(Some(InputError::file(
            path,
            "has a header but no data rows",
        ))),
        Ok(_) => Ok(None),
        Err(RunError::Input(e)) => Ok(Some(e)),
        Err(e) => Err(e),
    }
}

/// A row materialised on the heap, the way a DataFrame of Python objects holds it: what the
/// `load-all` and `chunked` strategies keep in memory.
#[derive(Clone, Debug)]
pub struct OwnedRow {
    pub order_id: i64,
    pub order_date: String,
    pub customer_id: i64,
    pub region: String,
    pub category: String,
    pub product_id: i64,
    pub quantity: i64,
    pub price_cents: i64,
    pub discount_cents: Option<i64>,
    pub note: String,
}

impl OwnedRow {
    /// Copies a parsed row.
    pub fn from_row(r: &RowRef<'_>) -> Self {
        OwnedRow {
            order_id: r.order_id,
            order_date: r.order_date.to_owned(),
            customer_id: r.customer_id,
            region: r.region.to_owned(),
            category: r.category.to_owned(),
            product_id: r.product_id,
            quantity: r.quantity,
            price_cents: r.price_cents,
            discount_cents: r.discount_cents,
            note: r.note.to_owned(),
        }
    }

    /// Borrows it back as a kernel row.
    pub fn as_row(&self) -> RowRef<'_> {
        RowRef {
            order_id: self.order_id,
            order_date: &self.order_date,
            customer_id: self.customer_id,
            region: &self.region,
            category: &self.category,
            product_id: self.product_id,
            quantity: self.quantity,
            price_cents: self.price_cents,
            discount_cents: self.discount_cents,
            note: &self.note,
        }
    }
}
