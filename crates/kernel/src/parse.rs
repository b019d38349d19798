//! One record parser for the `sales` CSV, shared by every hand-written strategy.
//!
//! Framing is by line: membench's datasets never put a newline inside a field, so a line is a
//! record, line numbers in errors are exact, and one malformed line (even an unterminated quote)
//! can never swallow the lines after it. Empty lines carry no record and are ignored by every
//! strategy (as the `csv` crate and Polars both do); they are not counted as rows.

use std::fmt;
use std::io::{self, BufRead};

use crate::schema::{COLUMNS, N_COLUMNS};

/// Why a row is malformed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BadKind {
    /// Not exactly [`N_COLUMNS`] fields.
    FieldCount,
    /// A numeric field that does not parse.
    NotANumber,
    /// A value out of its domain (negative price or discount, quantity below 1).
    OutOfRange,
    /// An odd number of `"` characters: a quoted field that never closes.
    UnterminatedQuote,
    /// Bytes that are not UTF-8.
    InvalidUtf8,
}

impl BadKind {
    /// Short stable name, used in sidecars and reports.
    pub fn name(self) -> &'static str {
        match self {
            BadKind::FieldCount => "field_count",
            BadKind::NotANumber => "not_a_number",
            BadKind::OutOfRange => "out_of_range",
            BadKind::UnterminatedQuote => "unterminated_quote",
            BadKind::InvalidUtf8 => "invalid_utf8",
        }
    }
}

/// A malformed row: its kind and a human-readable reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadRow {
    /// Category of the problem.
    pub kind: BadKind,
    /// Human-readable reason, e.g. `quantity: "abc" is not an integer`.
    pub reason: String,
}

impl fmt::Display for BadRow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}

impl BadRow {
    pub(crate) fn new(kind: BadKind, reason: String) -> Self {
        BadRow { kind, reason }
    }
}

/// One parsed, validated `sales` row borrowing from the parser's buffers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RowRef<'a> {
    pub order_id: i64,
    pub order_date: &'a str,
    pub customer_id: i64,
    pub region: &'a str,
    pub category: &'a str,
    pub product_id: i64,
    pub quantity: i64,
    pub price_cents: i64,
    pub discount_cents: Option<i64>,
    pub note: &'a str,
}

/// Parses a signed decimal integer (ASCII digits, optional leading `-`), without overflow.
pub fn parse_i64(b: &[u8]) -> Option<i64> {
    let (neg, digits) = match b.first() {
        Some(b'-') => (true, &b[1..]),
        _ => (false, b),
    };
    if digits.is_empty() || digits.len() > 18 {
        return None;
    }
    let mut v: i64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + i64::from(c - b'0');
    }
    Some(if neg { -v } else { v })
}

/// Parses a decimal with at most two fractional digits into exact cents (`"12.3"` → 1230).
pub fn parse_cents(b: &[u8]) -> Option<i64> {
    let (int_part, frac) = match memchr::memchr(b'.', b) {
        Some(i) => (&b[..i], &b[i + 1..]),
        None => (b, &b[..0]),
    };
    if frac.len() > 2 || (b.len() > int_part.len() && frac.is_empty()) {
        return None;
    }
    let neg = int_part.first() == Some(&b'-');
    let whole = parse_i64(int_part)?;
    let mut f: i64 = 0;
    for &c in frac {
        if !c.is_ascii_digit() {
            return None;
        }
        f = f * 10 + i64::from(c - b'0');
    }
    if frac.len() == 1 {
        f *= 10;
    }
    let cents = whole.checked_mul(100)?;
    Some(if neg { cents - f } else { cents + f })
}

/// Parses and validates lines of the `sales` CSV, reusing its buffers (no allocation per row
/// after warm-up, except for the reason text of a bad row).
pub struct LineParser {
    rdr: csv_core::Reader,
    out: Vec<u8>,
    ends: Vec<usize>,
    ranges: Vec<(usize, usize)>,
}

impl Default for LineParser {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for LineParser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LineParser").finish_non_exhaustive()
    }
}

impl LineParser {
    /// A parser with small, growable buffers.
    pub fn new() -> Self {
        LineParser {
            rdr: csv_core::Reader::new(),
            out: vec![0; 1024],
            ends: vec![0; 32],
            ranges: Vec::with_capacity(32),
        }
    }

    /// Splits a line into field byte ranges. Returns whether the ranges index `self.out`
    /// (quoted path) rather than the line itself (fast path).
    fn split(&mut self, line: &[u8]) -> bool {
        self.ranges.clear();
        if memchr::memchr(b'"', line).is_none() {
            let mut start = 0;
            for i in memchr::memchr_iter(b',', line) {
                self.ranges.push((start, i));
                start = i + 1;
            }
            self.ranges.push((start, line.len()));
            return false;
        }
        self.rdr.reset();
        let mut input = line;
        let (mut out_pos, mut end_pos) = (0, 0);
        loop {
            let (res, nin, nout, nend) =
                self.rdr
                    .read_record(input, &mut self.out[out_pos..], &mut self.ends[end_pos..]);
            input = &input[nin..];
            out_pos += nout;
            end_pos += nend;
            match res {
                csv_core::ReadRecordResult::InputEmpty => {}
                csv_core::ReadRecordResult::OutputFull => {
                    let n = self.out.len() * 2;
                    self.out.resize(n, 0);
                }
                csv_core::ReadRecordResult::OutputEndsFull => {
                    let n = self.ends.len() * 2;
                    self.ends.resize(n, 0);
                }
                csv_core::ReadRecordResult::Record | csv_core::ReadRecordResult::End => break,
            }
        }
        let mut start = 0;
        for &end in &self.ends[..end_pos] {
            self.ranges.push((start, end));
            start = end;
        }
        true
    }

    /// Splits a line into fields and returns them as strings, for the header.
    pub fn fields<'a>(&'a mut self, line: &'a [u8]) -> Result<Vec<&'a str>, BadRow> {
        let line = check_line(line)?;
        let quoted = self.split(line.as_bytes());
        let src: &[u8] = if quoted { &self.out } else { line.as_bytes() };
        self.ranges
            .iter()
            .map(|&(s, e)| {
                std::str::from_utf8(&src[s..e])
                    .map_err(|_| BadRow::new(BadKind::InvalidUtf8, "invalid UTF-8".into()))
            })
            .collect()
    }

    /// Parses and validates one data line (without its line terminator).
    pub fn parse<'a>(&'a mut self, line: &'a [u8]) -> Result<RowRef<'a>, BadRow> {
        let line = check_line(line)?;
        let quoted = self.split(line.as_bytes());
        if self.ranges.len() != N_COLUMNS {
            return Err(BadRow::new(
                BadKind::FieldCount,
                format!("expected {N_COLUMNS} fields, found {}", self.ranges.len()),
            ));
        }
        let src: &'a [u8] = if quoted { &self.out } else { line.as_bytes() };
        let r = &self.ranges;
        let field = |i: usize| &src[r[i].0..r[i].1];
        // Field boundaries are ASCII commas/quotes, so every field of a valid UTF-8 line is
        // valid UTF-8 too.
        let text = |i: usize| std::str::from_utf8(field(i)).unwrap_or_default();
        let int = |i: usize| {
            parse_i64(field(i)).ok_or_else(|| {
                BadRow::new(
                    BadKind::NotANumber,
                    format!("{}: {:?} is not an integer", COLUMNS[i], text(i)),
                )
            })
        };
        let cents = |i: usize| {
            parse_cents(field(i)).ok_or_else(|| {
                BadRow::new(
                    BadKind::NotANumber,
                    format!("{}: {:?} is not a decimal number", COLUMNS[i], text(i)),
                )
            })
        };
        let order_id = int(0)?;
        let customer_id = int(2)?;
        let product_id = int(5)?;
        let quantity = int(6)?;
        let price_cents = cents(7)?;
        let discount_cents = if field(8).is_empty() {
            None
        } else {
            Some(cents(8)?)
        };
        crate::rules::check_values(quantity, price_cents, discount_cents)?;
        Ok(RowRef {
            order_id,
            order_date: text(1),
            customer_id,
            region: text(3),
            category: text(4),
            product_id,
            quantity,
            price_cents,
            discount_cents,
            note: text(9),
        })
    }
}

fn check_line(line: &[u8]) -> Result<&str, BadRow> {
    if memchr::memchr_iter(b'"', line).count() % 2 == 1 {
        return Err(BadRow::new(
            BadKind::UnterminatedQuote,
            "unterminated quoted field".into(),
        ));
    }
    std::str::from_utf8(line).map_err(|e| {
        BadRow::new(
            BadKind::InvalidUtf8,
            format!("invalid UTF-8 at byte {} of the line", e.valid_up_to()),
        )
    })
}

/// Checks a header line against the `sales` schema.
pub fn validate_header(parser: &mut LineParser, line: &[u8]) -> Result<(), String> {
    let fields = parser.fields(line).map_err(|e| format!("header: {e}"))?;
    for col in COLUMNS {
        if !fields.contains(&col) {
            return Err(format!(
                "header: missing column {col:?} (found {})",
                fields.join(",")
            ));
        }
    }
    if fields != COLUMNS {
        return Err(format!(
            "header: expected columns {} in this order, found {}",
            COLUMNS.join(","),
            fields.join(",")
        ));
    }
    Ok(())
}

/// Reads lines from a `BufRead` into one reused buffer, counting line numbers and byte offsets,
/// skipping empty lines and stripping `\n` / `\r\n`.
pub struct LineReader<R> {
    inner: R,
    buf: Vec<u8>,
    line_no: u64,
    pos: u64,
    limit: u64,
}

impl<R> fmt::Debug for LineReader<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LineReader")
            .field("line_no", &self.line_no)
            .field("pos", &self.pos)
            .finish()
    }
}

impl<R: BufRead> LineReader<R> {
    /// Reads the whole input.
    pub fn new(inner: R) -> Self {
        Self::with_range(inner, 0, u64::MAX)
    }

    /// Reads lines that *start* before byte `limit`; `start` is the byte offset `inner` is at.
    pub fn with_range(inner: R, start: u64, limit: u64) -> Self {
        LineReader {
            inner,
            buf: Vec::with_capacity(1024),
            line_no: 0,
            pos: start,
            limit,
        }
    }

    /// Number of lines consumed so far (including empty ones).
    pub fn lines_read(&self) -> u64 {
        self.line_no
    }

    /// Byte offset of the next line.
    pub fn position(&self) -> u64 {
        self.pos
    }

    /// Skips the rest of the current (partial) line; used to align a byte range on a line
    /// boundary. Returns the bytes skipped.
    pub fn skip_partial_line(&mut self) -> io::Result<u64> {
        self.buf.clear();
        let n = self.inner.read_until(b'\n', &mut self.buf)? as u64;
        self.pos += n;
        Ok(n)
    }

    /// The next non-empty line and its 1-based number (relative to where reading started).
    pub fn next_line(&mut self) -> io::Result<Option<(u64, &[u8])>> {
        loop {
            if self.pos >= self.limit {
                return Ok(None);
            }
            self.buf.clear();
            let n = self.inner.read_until(b'\n', &mut self.buf)?;
            if n == 0 {
                return Ok(None);
            }
            self.pos += n as u64;
            self.line_no += 1;
            let mut end = self.buf.len();
            if self.buf[end - 1] == b'\n' {
                end -= 1;
            }
            if end > 0 && self.buf[end - 1] == b'\r' {
                end -= 1;
            }
            if end > 0 {
                return Ok(Some((self.line_no, &self.buf[..end])));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cents_are_exact() {
        assert_eq!(parse_cents(b"12.34"), Some(1234));
        assert_eq!(parse_cents(b"12.3"), Some(1230));
        assert_eq!(parse_cents(b"12"), Some(1200));
        assert_eq!(parse_cents(b"-0.05"), Some(-5));
        assert_eq!(parse_cents(b"12."), None);
        assert_eq!(parse_cents(b"1.234"), None);
        assert_eq!(parse_cents(b"abc"), None);
        assert_eq!(parse_cents(b""), None);
    }

    #[test]
    fn parses_quoted_and_plain_lines_alike() {
        let mut p = LineParser::new();
        let plain = p
            .parse(b"5,2024-02-03,9,north,books,4,2,10.50,0.10,hello")
            .unwrap();
        assert_eq!(
            (plain.quantity, plain.price_cents, plain.discount_cents),
            (2, 1050, Some(10))
        );
        let quoted = p
            .parse("5,2024-02-03,9,north,books,4,2,10.50,,\"a, \"\"b\"\" é\"".as_bytes())
            .unwrap();
        assert_eq!(quoted.note, "a, \"b\" é");
        assert_eq!(quoted.discount_cents, None);
    }

    #[test]
    fn classifies_bad_rows() {
        let mut p = LineParser::new();
        let kind = |p: &mut LineParser, l: &[u8]| p.parse(l).unwrap_err().kind;
        assert_eq!(kind(&mut p, b"1,2,3"), BadKind::FieldCount);
        assert_eq!(
            kind(&mut p, b"1,d,9,r,c,4,2,10.50,,x,extra"),
            BadKind::FieldCount
        );
        assert_eq!(
            kind(&mut p, b"1,d,9,r,c,4,two,10.50,,x"),
            BadKind::NotANumber
        );
        assert_eq!(
            kind(&mut p, b"1,d,9,r,c,4,2,-10.50,,x"),
            BadKind::OutOfRange
        );
        assert_eq!(
            kind(&mut p, b"1,d,9,r,c,4,2,10.50,,\"open"),
            BadKind::UnterminatedQuote
        );
        assert_eq!(
            kind(&mut p, b"1,d,9,r,c,4,2,10.50,,\xff\xfe"),
            BadKind::InvalidUtf8
        );
    }

    #[test]
    fn header_errors_name_the_column() {
        let mut p = LineParser::new();
        assert!(validate_header(&mut p, COLUMNS.join(",").as_bytes()).is_ok());
        let err = validate_header(&mut p, b"order_id,order_date").unwrap_err();
        assert!(err.contains("missing column \"customer_id\""), "{err}");
    }

    #[test]
    fn line_reader_skips_empty_lines_and_counts_them() {
        let data = b"a\n\nb\r\nc";
        let mut r = LineReader::new(&data[..]);
        let mut seen = vec![];
        while let Some((n, l)) = r.next_line().unwrap() {
            seen.push((n, l.to_vec()));
        }
        assert_eq!(
            seen,
            vec![(1, b"a".to_vec()), (3, b"b".to_vec()), (4, b"c".to_vec())]
        );
    }
}
