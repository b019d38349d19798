//! CSV reading shared by the hand-written strategies: open (decompressing `.csv.gz` and
//! `.csv.zst` as it reads), check the header (columns by name, any order), fold RFC 4180
//! records.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use anyhow::Context;
use membench_kernel::{
    COLUMNS, HeaderLayout, InputError, LineParser, OnBadRow, ReadError, RecordReader, Records,
    RowRef, header_layout_for,
};

use crate::outcome::{Counts, RunError};
use crate::{Compression, RowSink};

/// Buffer size for sequential reads: 64 KiB stays in the L2 cache while it is parsed (larger
/// buffers were slower: README, "Design choices, measured once").
pub const READ_BUF: usize = 64 * 1024;

/// A reader of a CSV file's records (the bytes decompressed where the file is compressed).
pub type CsvReader = RecordReader<BufReader<Box<dyn Read + Send>>>;

/// Where a compressed file is decompressed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decoding {
    /// On the reading thread, one buffer at a time.
    Inline,
    /// On a thread of its own, a few buffers ahead of the reader (`parallel`).
    Overlapped,
}

/// The file's bytes, decompressed as they are read when its name says `.gz` or `.zst`.
pub fn open_bytes(path: &Path, decoding: Decoding) -> Result<Box<dyn Read + Send>, RunError> {
    let file = File::open(path).with_context(|| format!("{}: cannot open", path.display()))?;
    let decoded: Box<dyn Read + Send> = match Compression::of_path(path) {
        Compression::None => return Ok(Box::new(file)),
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(BufReader::with_capacity(
            READ_BUF, file,
        ))),
        Compression::Zstd => Box::new(
            zstd::stream::read::Decoder::new(file)
                .with_context(|| format!("{}: cannot start zstd", path.display()))?,
        ),
    };
    Ok(match decoding {
        Decoding::Inline => decoded,
        Decoding::Overlapped => Box::new(crate::io::overlap::Overlapped::spawn(decoded)?),
    })
}

/// Opens a CSV file, checks its header, and returns a reader positioned after it and a parser
/// set to the header's column layout.
pub fn open_csv(path: &Path, max_record_bytes: usize) -> Result<(CsvReader, LineParser), RunError> {
    open_csv_of(path, &COLUMNS, max_record_bytes)
}

/// [`open_csv`] for a file of another schema's `columns` (the `orders` tables).
pub fn open_csv_of(
    path: &Path,
    columns: &'static [&'static str],
    max_record_bytes: usize,
) -> Result<(CsvReader, LineParser), RunError> {
    open_csv_with(path, columns, max_record_bytes, Decoding::Inline)
}

/// [`open_csv_of`], decompressing where `decoding` says.
pub fn open_csv_with(
    path: &Path,
    columns: &'static [&'static str],
    max_record_bytes: usize,
    decoding: Decoding,
) -> Result<(CsvReader, LineParser), RunError> {
    let bytes = open_bytes(path, decoding)?;
    let mut reader = RecordReader::new(BufReader::with_capacity(READ_BUF, bytes), max_record_bytes);
    let mut parser = LineParser::new();
    check_header_of(path, &mut reader, &mut parser, columns)?;
    Ok((reader, parser))
}

/// A read error as the error every strategy reports: a record over the maximum is an input
/// error at its first line (never skipped: its end is not known without reading it all).
pub(crate) fn read_error(path: &Path, line_base: u64, e: ReadError) -> RunError {
    match e {
        ReadError::TooLong { line, max } => InputError::at_line(
            path,
            line_base + line,
            format!("record longer than {max} bytes (--max-record-bytes)"),
        )
        .into(),
        // A damaged or truncated compressed stream is bad input, like a damaged Parquet file.
        ReadError::Io(e)
            if !Compression::of_path(path).is_none()
                && matches!(
                    e.kind(),
                    std::io::ErrorKind::InvalidData
                        | std::io::ErrorKind::InvalidInput
                        | std::io::ErrorKind::UnexpectedEof
                        | std::io::ErrorKind::Other
                ) =>
        {
            InputError::file(path, format!("not a readable compressed file: {e}")).into()
        }
        ReadError::Io(e) => {
            RunError::Other(anyhow::anyhow!("{}: read failed: {e}", path.display()))
        }
    }
}

/// Reads and validates the header record; sets `parser` to its layout and returns it.
pub fn check_header(
    path: &Path,
    reader: &mut impl Records,
    parser: &mut LineParser,
) -> Result<HeaderLayout, RunError> {
    check_header_of(path, reader, parser, &COLUMNS)
}

/// [`check_header`] for another schema's `columns`.
pub fn check_header_of(
    path: &Path,
    reader: &mut impl Records,
    parser: &mut LineParser,
    columns: &'static [&'static str],
) -> Result<HeaderLayout, RunError> {
    let rec = reader
        .next_record()
        .map_err(|e| read_error(path, 0, e))?
        .ok_or_else(|| InputError::file(path, "file is empty (no header line)"))?;
    let line = rec.line;
    let bytes = rec.bytes.to_vec();
    let layout = header_layout_for(parser, &bytes, columns)
        .map_err(|r| InputError::at_line(path, line, r))?;
    parser.set_layout(&layout);
    Ok(layout)
}

/// Only the header check, for engines that read the data themselves; returns the layout.
pub fn check_csv_header_only(
    path: &Path,
    columns: &'static [&'static str],
    max_record_bytes: usize,
) -> Result<HeaderLayout, RunError> {
    let bytes = open_bytes(path, Decoding::Inline)?;
    let mut reader = RecordReader::new(BufReader::with_capacity(READ_BUF, bytes), max_record_bytes);
    check_header_of(path, &mut reader, &mut LineParser::new(), columns)
}

/// How deep [`check_csv_framing`] looks before an engine reads a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Depth {
    /// The framing only: the engine's plan checks the values.
    Framing,
    /// Every `sales` row parsed and checked by the kernel's rules, counted and summed (a plain
    /// file; a compressed one gets [`Depth::Framing`]): the engine then runs the bare query.
    Rows,
}

/// What [`check_csv_framing`] found in a file it accepted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Checked {
    /// Lines that hold no record of their own: empty lines, or (from a [`Depth::Rows`] check,
    /// which does not tell them apart) the further lines of multi-line records. Polars' eager
    /// reader makes an empty line a row of nulls, so any means "filter those out".
    pub lines_without_record: u64,
    /// From a [`Depth::Rows`] check: every row the kernel accepted.
    pub rows: Option<RowTotals>,
}

/// Every row of a file, counted and summed as the kernel read them. The rules make each term of
/// both sums non-negative (quantity ≥ 1, price ≥ 0), so a sum over all rows bounds every group's.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct RowTotals {
    pub rows: u64,
    pub quantity: i128,
    pub total_cents: i128,
    /// The largest row total (quantity × price in cents; the rules keep it within 64 bits): no
    /// engine that read the same rows can answer a larger one.
    pub max_total_cents: i64,
}

impl RowTotals {
    #[inline]
    fn add_row(&mut self, row: &RowRef<'_>) {
        // The rules refused a row whose product overflows 64 bits.
        let total = row.quantity.wrapping_mul(row.price_cents);
        self.quantity += i128::from(row.quantity);
        self.total_cents += i128::from(total);
        self.max_total_cents = self.max_total_cents.max(total);
    }

    pub(crate) fn add(&mut self, o: RowTotals) {
        self.rows += o.rows;
        self.quantity += o.quantity;
        self.total_cents += o.total_cents;
        self.max_total_cents = self.max_total_cents.max(o.max_total_cents);
    }

    /// Whether every group's sums fit 64 bits (so an engine may sum them plainly).
    pub(crate) fn sums_fit_i64(&self) -> bool {
        self.quantity <= i128::from(i64::MAX) && self.total_cents <= i128::from(i64::MAX)
    }
}

/// Checks a CSV file before an engine that reads the file itself (Polars) sees it, so that it
/// refuses the same files as the kernel's reader. [`Depth::Framing`]: a record over
/// `max_record_bytes`, a record without the header's field count, or a quote left open at the
/// end; when one is found, the error is the kernel's first error in the file (an earlier bad row
/// comes first), exactly as the hand-written strategies report it. [`Depth::Rows`]: every row
/// through the kernel's parser and rules, its first error reported.
///
/// A plain file is mapped (every page at once), checked on `threads` threads in parts
/// ([`membench_kernel::check_framing_parallel`], or [`check_rows`]) and its mapping returned, so
/// the engine reads the very bytes that were checked without mapping the file a second time; a
/// compressed one is decompressed through a buffer (framing only) and `None` returned.
pub(crate) fn check_csv_framing(
    path: &Path,
    layout: &HeaderLayout,
    (max_record_bytes, threads, depth): (usize, usize, Depth),
    locate: &dyn Fn() -> Result<Option<InputError>, RunError>,
) -> Result<(Checked, Option<crate::io::files::Mapped>), RunError> {
    let (verdict, mapped) = match Compression::of_path(path) {
        Compression::None => {
            let mapped = crate::io::files::Mapped::open_with(path, true)?;
            if depth == Depth::Rows {
                let checked = check_rows(path, mapped.bytes(), layout, max_record_bytes, threads)?;
                return Ok((checked, Some(mapped)));
            }
            let verdict = membench_kernel::check_framing_parallel(
                mapped.bytes(),
                max_record_bytes,
                layout.n_fields,
                threads,
            );
            (verdict, Some(mapped))
        }
        _ => (
            membench_kernel::check_framing(
                BufReader::with_capacity(READ_BUF, open_bytes(path, Decoding::Inline)?),
                max_record_bytes,
                layout.n_fields,
            ),
            None,
        ),
    };
    match verdict {
        Ok(framing) => Ok((
            Checked {
                lines_without_record: framing.empty_lines,
                rows: None,
            },
            mapped,
        )),
        Err(membench_kernel::FramingError::Read(e @ ReadError::Io(_))) => {
            Err(read_error(path, 0, e))
        }
        Err(_) => Err(match locate()? {
            Some(e) => e.into(),
            None => InputError::file(path, "the CSV framing is broken (no row-level cause found)")
                .into(),
        }),
    }
}

/// Every row of a `sales` CSV file in memory through the kernel's reader, parser and rules, in
/// `threads` parts at once ([`membench_kernel::line_cuts`]). A part before the last ends with
/// a line feed; had it been inside a quoted field, that part's reader would have ended inside
/// quotes and failed, so parts that all pass are whole records and their rows the file's. On
/// any failure the whole file is read again in order, so the error (and its line) is exactly
/// the one every hand-written strategy reports.
fn check_rows(
    path: &Path,
    bytes: &[u8],
    layout: &HeaderLayout,
    max_record_bytes: usize,
    threads: usize,
) -> Result<Checked, RunError> {
    let cuts = membench_kernel::line_cuts(bytes, threads);
    let whole = || rows_of(path, bytes, None, max_record_bytes);
    let (totals, lines) = if cuts.len() <= 2 {
        whole()?
    } else {
        // The first part holds the header; the others are read with its layout.
        let parts = membench_kernel::in_parts(bytes, &cuts, |i, part| {
            rows_of(path, part, (i > 0).then_some(layout), max_record_bytes)
        });
        match parts.into_iter().collect::<Result<Vec<_>, _>>() {
            Ok(parts) => {
                parts
                    .into_iter()
                    .fold((RowTotals::default(), 0), |(mut t, l), (pt, pl)| {
                        t.add(pt);
                        (t, l + pl)
                    })
            }
            Err(_) => whole()?,
        }
    };
    Ok(Checked {
        // The header's line and one per row: any more are empty lines or multi-line records.
        lines_without_record: lines.saturating_sub(totals.rows + 1),
        rows: Some(totals),
    })
}

/// The rows of one part of a file (`layout`: a part after the first, which has no header),
/// and the lines read.
fn rows_of(
    path: &Path,
    bytes: &[u8],
    layout: Option<&HeaderLayout>,
    max_record_bytes: usize,
) -> Result<(RowTotals, u64), RunError> {
    let mut records = membench_kernel::SliceRecords::new(bytes, max_record_bytes);
    let mut parser = LineParser::new();
    match layout {
        Some(l) => parser.set_layout(l),
        None => {
            check_header(path, &mut records, &mut parser)?;
        }
    }
    let mut totals = RowTotals::default();
    let counts = for_each_row(
        path,
        &mut records,
        &mut parser,
        OnBadRow::Fail,
        0,
        u64::MAX,
        |row| totals.add_row(row),
    )?;
    totals.rows = counts.read;
    Ok((totals, records.lines_read()))
}

/// Reads records, validates them and hands each valid row to `f`, honouring `on_bad`.
/// `line_base` is added to local line numbers in errors. Stops after `max_rows` data records.
pub fn for_each_row(
    path: &Path,
    reader: &mut impl Records,
    parser: &mut LineParser,
    on_bad: OnBadRow,
    line_base: u64,
    max_rows: u64,
    mut f: impl FnMut(&RowRef<'_>),
) -> Result<Counts, RunError> {
    let mut c = Counts::default();
    if max_rows == 0 {
        return Ok(c);
    }
    let mut failed = None;
    // Records as the reader finds them (a plain one straight from its structural pass).
    reader
        .for_each_record(|rec| {
            match parser.parse_record(rec) {
                Ok(row) => {
                    f(&row);
                    c.read += 1;
                }
                Err(bad) => match on_bad {
                    OnBadRow::Fail => {
                        failed = Some(InputError::at_line(path, line_base + rec.line, bad.reason));
                        return false;
                    }
                    OnBadRow::Skip => c.skipped += 1,
                },
            }
            c.read + c.skipped < max_rows
        })
        .map_err(|e| read_error(path, line_base, e))?;
    match failed {
        Some(e) => Err(e.into()),
        None => Ok(c),
    }
}

/// Hands every remaining valid record to `sink`.
pub fn fold_all(
    path: &Path,
    reader: &mut impl Records,
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
pub fn locate_first_bad_row(
    path: &Path,
    max_record_bytes: usize,
) -> Result<Option<InputError>, RunError> {
    let (mut reader, mut parser) = match open_csv(path, max_record_bytes) {
        Ok(x) => x,
        Err(RunError::Input(e)) => return Ok(Some(e)),
        Err(e) => return Err(e),
    };
    let mut acc = membench_kernel::Accumulator::new(&membench_kernel::Workload::GroupBy);
    match for_each_row(
        path,
        &mut reader,
        &mut parser,
        OnBadRow::Fail,
        0,
        u64::MAX,
        |row| acc.add(row),
    ) {
        Ok(c) if c.read == 0 => Ok(Some(InputError::file(
            path,
            "has a header but no data rows",
        ))),
        // Every row is valid; the sums may still be out of range.
        Ok(_) => Ok(acc.finish().err().map(|e| InputError::file(path, e))),
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
            unquoted: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str =
        "order_id,order_date,customer_id,region,category,product_id,quantity,price,discount,note\n";

    /// A `sales` file of `rows` rows (empty lines after every 11th, a two-line quoted note with
    /// an escaped quote on every 7th, a note of `long_note` lines on the middle row), and the
    /// rows, quantities and totals in cents it holds.
    fn sales(rows: u64, long_note: usize, bad_row: Option<u64>) -> (Vec<u8>, RowTotals) {
        let mut text = String::from(HEADER);
        let mut want = RowTotals::default();
        for i in 1..=rows {
            let q = if bad_row == Some(i) { 0 } else { 1 + i % 9 };
            let cents = 100 + (i * 37) % 5000;
            let note = if i == rows / 2 {
                format!("\"{}\"", "a long note\n".repeat(long_note))
            } else if i % 7 == 0 {
                "\"two lines,\nand \"\"quoted\"\"\"".to_string()
            } else {
                format!("note {i}")
            };
            text += &format!(
                "{i},2024-01-02,{},north,cat{},{},{q},{}.{:02},,{note}\n",
                i * 3,
                i % 4,
                i % 50,
                cents / 100,
                cents % 100
            );
            if i % 11 == 0 {
                text += "\n";
            }
            want.rows += 1;
            want.quantity += i128::from(q);
            want.total_cents += i128::from(q) * i128::from(cents);
            want.max_total_cents = want.max_total_cents.max((q * cents) as i64);
        }
        (text.into_bytes(), want)
    }

    fn check(bytes: &[u8], threads: usize) -> Result<Checked, String> {
        let path = Path::new("sales.csv");
        let layout = check_header(
            path,
            &mut membench_kernel::SliceRecords::new(bytes, 1 << 20),
            &mut LineParser::new(),
        )
        .map_err(|e| e.to_string())?;
        check_rows(path, bytes, &layout, 1 << 20, threads).map_err(|e| e.to_string())
    }

    #[test]
    fn rows_checked_in_parts_are_the_rows_read_in_order() {
        for (rows, long_note) in [(1, 0), (5, 0), (300, 0), (300, 400), (40, 2000)] {
            let (bytes, want) = sales(rows, long_note, None);
            let whole = check(&bytes, 1).unwrap();
            assert_eq!(
                whole.rows,
                Some(want),
                "{rows} rows, a note of {long_note} lines"
            );
            assert!(whole.lines_without_record > 0 || rows < 7);
            for threads in 2..=5 {
                assert_eq!(check(&bytes, threads).unwrap(), whole, "{threads} threads");
            }
        }
    }

    #[test]
    fn a_bad_row_in_any_part_is_reported_at_its_line_in_the_file() {
        // Row 280 of 300 sits in the last part; the long note across the middle puts a cut
        // inside quotes for two threads, where the parts cannot be trusted.
        for long_note in [0, 400] {
            let (bytes, _) = sales(300, long_note, Some(280));
            let line = 1 + String::from_utf8_lossy(&bytes)
                .split_inclusive('\n')
                .position(|l| l.starts_with("280,"))
                .unwrap();
            let whole = check(&bytes, 1).unwrap_err();
            assert!(
                whole.starts_with(&format!("sales.csv:{line}: quantity")),
                "{whole}"
            );
            for threads in 2..=5 {
                assert_eq!(
                    check(&bytes, threads).unwrap_err(),
                    whole,
                    "{threads} threads"
                );
            }
        }
    }
}
