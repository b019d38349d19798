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

/// Checks a CSV file's framing without buffering a record, for engines that read the file
/// themselves (Polars) but must refuse the same files as the kernel's reader: a record over
/// `max_record_bytes`, a record without the header's field count, or a quote left open at the
/// end. When either is found, the error is the
/// kernel's first error in the file (an earlier bad row comes first), exactly as the
/// hand-written strategies report it.
///
/// A plain file is mapped (every page at once), checked on `threads` threads in parts
/// ([`membench_kernel::check_framing_parallel`]) and its mapping returned, so the engine reads
/// the very bytes that were checked without mapping the file a second time; a compressed one is
/// decompressed through a buffer and `None` returned.
pub(crate) fn check_csv_framing(
    path: &Path,
    layout: &HeaderLayout,
    max_record_bytes: usize,
    threads: usize,
    locate: &dyn Fn() -> Result<Option<InputError>, RunError>,
) -> Result<(membench_kernel::Framing, Option<crate::io::files::Mapped>), RunError> {
    let (verdict, mapped) = match Compression::of_path(path) {
        Compression::None => {
            let mapped = crate::io::files::Mapped::open_with(path, true)?;
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
        Ok(framing) => Ok((framing, mapped)),
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
