//! One record parser for the `sales` CSV, shared by every hand-written strategy.
//!
//! Framing is by line: membench's datasets never put a newline inside a field, so a line is a
//! record, line numbers in errors are exact, and one malformed line (even an unterminated quote)
//! can never swallow the lines after it. Empty lines carry no record and are ignored by every
//! strategy (as the `csv` crate and Polars both do); they are not counted as rows.

use std::fmt;

use crate::bad::{BadKind, BadRow};
use crate::record::{QuoteState, Record, Scanner, Split};
use crate::schema::{COLUMNS, N_COLUMNS};

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
    /// Its reader knows that no text of it holds a quote, a comma, a carriage return or a line
    /// feed (a CSV record split 64 bytes at a time without quotes): written as CSV, no field
    /// needs quoting, and the writer does not look. `false` when not known.
    pub unquoted: bool,
}

/// Why a numeric field did not parse.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NumError {
    /// Not a number of the expected form.
    Malformed,
    /// A well-formed number outside the 64-bit range (for money: in cents).
    OutOfRange,
}

/// Parses a signed decimal integer (ASCII digits, optional leading `-`) with checked arithmetic:
/// every value of `i64` parses, a larger one is [`NumError::OutOfRange`].
#[inline]
pub fn parse_int(b: &[u8]) -> Result<i64, NumError> {
    let (neg, digits) = match b.first() {
        Some(b'-') => (true, &b[1..]),
        _ => (false, b),
    };
    if digits.is_empty() {
        return Err(NumError::Malformed);
    }
    // Up to 18 digits cannot overflow: one pass, no checked arithmetic.
    if digits.len() <= 18 {
        let mut v: i64 = 0;
        for &c in digits {
            let d = c.wrapping_sub(b'0');
            if d > 9 {
                return Err(NumError::Malformed);
            }
            v = v * 10 + i64::from(d);
        }
        return Ok(if neg { -v } else { v });
    }
    if !digits.iter().all(u8::is_ascii_digit) {
        return Err(NumError::Malformed);
    }
    let mut v: i64 = 0;
    for &c in digits {
        let d = i64::from(c - b'0');
        // Accumulate negatively, so i64::MIN parses too.
        v = v
            .checked_mul(10)
            .and_then(|v| v.checked_sub(d))
            .ok_or(NumError::OutOfRange)?;
    }
    if neg {
        Ok(v)
    } else {
        v.checked_neg().ok_or(NumError::OutOfRange)
    }
}

/// [`parse_int`] as an `Option`.
pub fn parse_i64(b: &[u8]) -> Option<i64> {
    parse_int(b).ok()
}

/// Parses a decimal with at most two fractional digits into exact cents (`"12.3"` → 1230),
/// with checked arithmetic.
#[inline]
pub fn parse_money(b: &[u8]) -> Result<i64, NumError> {
    // Up to 16 bytes (the money of every real file): one pass, and no value can overflow
    // (at most 16 digits, times 100). Longer text takes the checked path.
    if b.len() > 16 {
        return parse_money_checked(b);
    }
    let (neg, d) = match b.first() {
        Some(b'-') => (true, &b[1..]),
        _ => (false, b),
    };
    let (mut v, mut dot) = (0i64, usize::MAX);
    for (i, &c) in d.iter().enumerate() {
        let x = c.wrapping_sub(b'0');
        if x <= 9 {
            v = v * 10 + i64::from(x);
        } else if c == b'.' && dot == usize::MAX {
            dot = i;
        } else {
            return Err(NumError::Malformed);
        }
    }
    let (whole, frac) = match dot {
        usize::MAX => (d.len(), 0),
        i => (i, d.len() - i - 1),
    };
    // `12`, `12.3`, `12.34`, `.5`, `12.`; never a lone `.`, never more than two decimals.
    if frac > 2 || (whole == 0 && frac == 0) {
        return Err(NumError::Malformed);
    }
    let cents = v * [100, 10, 1][frac];
    Ok(if neg { -cents } else { cents })
}

/// [`parse_money`] for any length, with checked arithmetic.
fn parse_money_checked(b: &[u8]) -> Result<i64, NumError> {
    // Money fields are short: a plain search beats setting up a vectorised one.
    let (int_part, frac) = match b.iter().position(|&c| c == b'.') {
        Some(i) => (&b[..i], &b[i + 1..]),
        None => (b, &b[..0]),
    };
    // `12`, `12.3`, `12.34`, and as spreadsheets and Polars write them `.5` and `12.`; never
    // a lone `.`, and never more than two decimals (that would not be exact cents).
    let digits = |s: &[u8]| s.iter().all(u8::is_ascii_digit);
    let neg = int_part.first() == Some(&b'-');
    let whole_digits = if neg { &int_part[1..] } else { int_part };
    if frac.len() > 2 || !digits(frac) || (whole_digits.is_empty() && frac.is_empty()) {
        return Err(NumError::Malformed);
    }
    let whole = if whole_digits.is_empty() {
        0
    } else {
        parse_int(int_part)?
    };
    let mut f: i64 = 0;
    for &c in frac {
        f = f * 10 + i64::from(c - b'0');
    }
    if frac.len() == 1 {
        f *= 10;
    }
    let cents = whole.checked_mul(100).ok_or(NumError::OutOfRange)?;
    let total = if neg {
        cents.checked_sub(f)
    } else {
        cents.checked_add(f)
    };
    total.ok_or(NumError::OutOfRange)
}

/// [`parse_money`] as an `Option`.
pub fn parse_cents(b: &[u8]) -> Option<i64> {
    parse_money(b).ok()
}

const ZEROS: u64 = 0x3030_3030_3030_3030;

/// The value of the first `len` bytes of `word` (little-endian: its first byte first) when
/// `1 <= len <= 8` and every one of them is an ASCII digit; `None` otherwise. Eight digits at
/// once, without a branch per digit (the SWAR parse of simdjson and fast_float).
#[inline(always)]
fn swar_digits(word: u64, len: usize) -> Option<u64> {
    if !(1..=8).contains(&len) {
        return None;
    }
    // The digits moved to the high bytes, '0's in front of them.
    let pad = 8 * (8 - len as u32);
    let v = word.checked_shl(pad).unwrap_or(0) | ZEROS.checked_shr(64 - pad).unwrap_or(0);
    // Every byte 0x30..=0x39: its high nibble is 3, and so it is after adding 6.
    const HIGH: u64 = 0xF0F0_F0F0_F0F0_F0F0;
    if v & HIGH != ZEROS || v.wrapping_add(0x0606_0606_0606_0606) & HIGH != ZEROS {
        return None;
    }
    let v = v - ZEROS;
    let v = v.wrapping_mul(10).wrapping_add(v >> 8);
    const MASK: u64 = 0x0000_00FF_0000_00FF;
    let v = ((v & MASK).wrapping_mul(100 + (1_000_000 << 32)))
        .wrapping_add(((v >> 16) & MASK).wrapping_mul(1 + (10_000 << 32)))
        >> 32;
    Some(v)
}

/// [`parse_int`] of the first `len` bytes of `word`, for up to 8 digits and no sign; `None`
/// for anything else (the caller parses that exactly).
#[inline(always)]
fn swar_int(word: u64, len: usize) -> Option<i64> {
    swar_digits(word, len).map(|v| v as i64)
}

/// [`parse_money`] of the first `len` bytes of `word`, for up to 8 bytes without a sign: digits
/// with at most one `.` and at most two digits after it; `None` for anything else (the caller
/// parses that exactly).
#[inline(always)]
fn swar_money(word: u64, len: usize) -> Option<i64> {
    if !(1..=8).contains(&len) {
        return None;
    }
    // The first `.` among the `len` bytes: a zero byte of `word ^ "........"`.
    let x = word ^ 0x2E2E_2E2E_2E2E_2E2E;
    let zero = x.wrapping_sub(0x0101_0101_0101_0101) & !x & 0x8080_8080_8080_8080;
    let dot = (zero.trailing_zeros() / 8) as usize;
    if dot >= len {
        return swar_digits(word, len).map(|v| v as i64 * 100);
    }
    let frac = len - dot - 1;
    if frac > 2 || len == 1 {
        return None;
    }
    // The digits around the dot, joined.
    let below = word & (1u64 << (8 * dot)).wrapping_sub(1);
    let above = word.checked_shr(8 * (dot as u32 + 1)).unwrap_or(0);
    let joined = below | above.checked_shl(8 * dot as u32).unwrap_or(0);
    swar_digits(joined, len - 1).map(|v| v as i64 * [100, 10, 1][frac])
}

/// Parses and validates lines of the `sales` CSV, reusing its buffers (no allocation per row
/// after warm-up, except for the reason text of a bad row).
pub struct LineParser {
    rdr: csv_core::Reader,
    out: Vec<u8>,
    ends: Vec<usize>,
    ranges: Vec<(usize, usize)>,
    /// Where each schema column is among the file's fields (the header's order).
    layout: [usize; MAX_COLUMNS],
    /// How many fields a record has (the header's count; extra columns are ignored).
    n_fields: usize,
    /// The schema's column names, for error messages.
    names: &'static [&'static str],
}

/// The most columns a schema read by [`LineParser`] has (`sales`: 10).
pub const MAX_COLUMNS: usize = N_COLUMNS;

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
            // Only a line feed ends a record (our framing strips a final CRLF): a lone CR is data,
            // as in the fast path and in Polars.
            rdr: csv_core::ReaderBuilder::new()
                .terminator(csv_core::Terminator::Any(b'\n'))
                .build(),
            out: vec![0; 1024],
            ends: vec![0; 32],
            ranges: Vec::with_capacity(32),
            layout: std::array::from_fn(|i| i),
            n_fields: N_COLUMNS,
            names: &COLUMNS,
        }
    }

    /// Reads records whose fields are laid out as `header` says (see [`header_layout`]).
    pub fn set_layout(&mut self, layout: &HeaderLayout) {
        self.layout = layout.positions;
        self.n_fields = layout.n_fields;
        self.names = layout.columns;
    }

    /// Splits a line that may hold quotes into field byte ranges (a line known to hold none
    /// goes through [`split_plain`]). Returns whether the ranges index `self.out` (unquoted by
    /// csv_core) rather than the line itself.
    fn split(&mut self, line: &[u8]) -> bool {
        self.ranges.clear();
        // Quoted fields without escaped quotes need no unquoting: their ranges are the text
        // between the quotes, in the line itself.
        if split_simply_quoted(line, &mut self.ranges) {
            return false;
        }
        self.ranges.clear();
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
        let line = check_utf8(line)?;
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

    /// Parses and validates one data line (without its line terminator), finding out itself
    /// whether it ends inside quotes.
    pub fn parse<'a>(&'a mut self, line: &'a [u8]) -> Result<RowRef<'a>, BadRow> {
        let mut scan = Scanner::new(QuoteState::START);
        scan.find_end(line);
        let flags = RecordFlags {
            unterminated: scan.state == QuoteState::In,
            bad_quote: scan.bad_quote,
            quotes: Quotes::of(scan.quotes),
            split: None,
        };
        self.parse_framed(line, flags)
    }

    /// Parses and validates one framed record (see [`crate::RecordReader`]).
    #[inline(always)]
    pub fn parse_record<'a>(&'a mut self, rec: &Record<'a>) -> Result<RowRef<'a>, BadRow> {
        self.parse_framed(rec.bytes, RecordFlags::of(rec))
    }

    /// Checks one framed record of any schema (the layout set from its header with
    /// [`header_layout_for`]) and returns its fields, for the caller to read by column.
    #[inline]
    pub fn fields_of<'a>(&'a mut self, rec: &Record<'a>) -> Result<Fields<'a>, BadRow> {
        self.split_framed(rec.bytes, RecordFlags::of(rec))
    }

    /// Checks a framed record's quoting, UTF-8 and field count and splits it into fields.
    /// A record the reader already split (most) is handled inline in the caller; the others
    /// out of line ([`Self::split_unsplit`]).
    #[inline(always)]
    fn split_framed<'a>(
        &'a mut self,
        line: &'a [u8],
        flags: RecordFlags<'a>,
    ) -> Result<Fields<'a>, BadRow> {
        // Split by the reader: a plain record, its fields found 64 bytes at a time.
        if let Some(split) = flags.split {
            if !split.ascii {
                check_utf8(line)?;
            }
            self.check_count(split.ranges.len())?;
            if split.escaped {
                return Ok(self.unescape(line, split.ranges));
            }
            return Ok(Fields {
                src: line,
                ranges: split.ranges,
                layout: &self.layout,
                names: self.names,
            });
        }
        self.split_unsplit(line, flags)
    }

    /// The fields of a record split by its reader, a quoted field of which holds escaped
    /// quotes: every field copied into the parser's buffer, each `""` as one quote (inside a
    /// split field's range a quote only ever comes as such a pair).
    #[inline(never)]
    fn unescape<'a>(&'a mut self, line: &[u8], ranges: &[(usize, usize)]) -> Fields<'a> {
        crate::structural::unescape_fields(line, ranges, &mut self.out, &mut self.ranges);
        Fields {
            src: &self.out,
            ranges: &self.ranges,
            layout: &self.layout,
            names: self.names,
        }
    }

    /// [`Self::split_framed`] of a record its reader did not split.
    #[inline(never)]
    fn split_unsplit<'a>(
        &'a mut self,
        line: &'a [u8],
        flags: RecordFlags<'a>,
    ) -> Result<Fields<'a>, BadRow> {
        let RecordFlags {
            unterminated,
            bad_quote,
            quotes,
            split: _,
        } = flags;
        if unterminated {
            return Err(BadRow::new(
                BadKind::UnterminatedQuote,
                "unterminated quoted field".into(),
            ));
        }
        if bad_quote {
            return Err(BadRow::new(
                BadKind::MalformedQuote,
                "malformed quoting: a quote inside an unquoted field, or text after a closing \
                 quote"
                    .into(),
            ));
        }
        let quoted = match quotes {
            // One pass finds the commas and whether the line is ASCII; only a line that is not
            // is validated as UTF-8 (before its field count, as on the quoted path).
            Quotes::Absent => {
                self.ranges.clear();
                if !split_plain(line, &mut self.ranges) {
                    check_utf8(line)?;
                }
                false
            }
            Quotes::Possible => {
                check_utf8(line)?;
                self.split(line)
            }
        };
        self.check_count(self.ranges.len())?;
        let src: &'a [u8] = if quoted { &self.out } else { line };
        Ok(Fields {
            src,
            ranges: &self.ranges,
            layout: &self.layout,
            names: self.names,
        })
    }

    /// A record of `found` fields has the header's count.
    #[inline(always)]
    fn check_count(&self, found: usize) -> Result<(), BadRow> {
        if found == self.n_fields {
            return Ok(());
        }
        Err(self.count_error(found))
    }

    #[cold]
    #[inline(never)]
    fn count_error(&self, found: usize) -> BadRow {
        BadRow::new(
            BadKind::FieldCount,
            format!("expected {} fields, found {found}", self.n_fields),
        )
    }

    /// Parses and validates one framed `sales` record.
    #[inline(always)]
    fn parse_framed<'a>(
        &'a mut self,
        line: &'a [u8],
        flags: RecordFlags<'a>,
    ) -> Result<RowRef<'a>, BadRow> {
        let unquoted = flags.split.is_some() && flags.quotes == Quotes::Absent;
        let f = self.split_framed(line, flags)?;
        let order_id = f.int(0)?;
        let customer_id = f.int(2)?;
        let product_id = f.int(5)?;
        let quantity = f.int(6)?;
        let price_cents = f.cents(7)?;
        let discount_cents = f.opt_cents(8)?;
        crate::rules::check_values(quantity, price_cents, discount_cents)?;
        Ok(RowRef {
            order_id,
            order_date: f.text(1),
            customer_id,
            region: f.text(3),
            category: f.text(4),
            product_id,
            quantity,
            price_cents,
            discount_cents,
            note: f.text(9),
            unquoted,
        })
    }
}

/// The fields of one framed record, by schema column (the header's layout applied), with the
/// schema's typed readers: the one place a field becomes a number, with the one error text.
#[derive(Clone, Copy, Debug)]
pub struct Fields<'a> {
    src: &'a [u8],
    ranges: &'a [(usize, usize)],
    layout: &'a [usize; MAX_COLUMNS],
    names: &'static [&'static str],
}

impl<'a> Fields<'a> {
    /// The raw bytes of schema column `i`.
    #[inline(always)]
    pub fn bytes(&self, i: usize) -> &'a [u8] {
        let (s, e) = self.ranges[self.layout[i]];
        &self.src[s..e]
    }

    /// Schema column `i` as text.
    #[inline(always)]
    pub fn text(&self, i: usize) -> &'a str {
        // Field boundaries are ASCII commas/quotes, and unquoting removes only ASCII quotes, so
        // every field of a line that passed `check_utf8` is valid UTF-8 too: it is not checked
        // again (that was a second pass over most of the line).
        let f = self.bytes(i);
        debug_assert!(std::str::from_utf8(f).is_ok());
        // SAFETY: a slice of valid UTF-8 between ASCII bytes (see above).
        unsafe { std::str::from_utf8_unchecked(f) }
    }

    /// A numeric field: a CR right after a number is read as a line end by Polars, so it is
    /// not part of it.
    #[inline(always)]
    fn num(&self, i: usize) -> &'a [u8] {
        let f = self.bytes(i);
        f.strip_suffix(b"\r").unwrap_or(f)
    }

    fn num_error(&self, i: usize, e: NumError, what: &str) -> BadRow {
        match e {
            NumError::Malformed => BadRow::new(
                BadKind::NotANumber,
                format!("{}: {:?} is not {what}", self.names[i], self.text(i)),
            ),
            NumError::OutOfRange => BadRow::new(
                BadKind::OutOfRange,
                format!(
                    "{}: {:?} is out of range (64-bit)",
                    self.names[i],
                    self.text(i)
                ),
            ),
        }
    }

    /// The 8 bytes of the record from where schema column `i` starts, and the column's length
    /// as a number (see [`Self::num`]), when the record holds those 8 bytes.
    #[inline(always)]
    fn word(&self, i: usize) -> Option<(u64, usize)> {
        let (s, e) = self.ranges[self.layout[i]];
        let w = self.src.get(s..s + 8)?;
        let len = e - s - usize::from(e > s && self.src[e - 1] == b'\r');
        Some((u64::from_le_bytes(w.try_into().ok()?), len))
    }

    /// Schema column `i` as a 64-bit integer. The eight-digit fast path is inlined into the
    /// row parser; the exact parse (and its error) is out of line, so a row's numbers stay in
    /// registers instead of coming back through a `Result` in memory (the profile's
    /// `Fields::int` and `Fields::cents` were 20–25 % of `streaming` top-n as calls).
    #[inline(always)]
    pub fn int(&self, i: usize) -> Result<i64, BadRow> {
        if let Some((w, len)) = self.word(i)
            && let Some(v) = swar_int(w, len)
        {
            return Ok(v);
        }
        self.int_exact(i)
    }

    #[cold]
    #[inline(never)]
    fn int_exact(&self, i: usize) -> Result<i64, BadRow> {
        parse_int(self.num(i)).map_err(|e| self.num_error(i, e, "an integer"))
    }

    /// Schema column `i` as money, in exact cents (fast path inlined as in [`Self::int`]).
    #[inline(always)]
    pub fn cents(&self, i: usize) -> Result<i64, BadRow> {
        if let Some((w, len)) = self.word(i)
            && let Some(v) = swar_money(w, len)
        {
            return Ok(v);
        }
        self.cents_exact(i)
    }

    #[cold]
    #[inline(never)]
    fn cents_exact(&self, i: usize) -> Result<i64, BadRow> {
        parse_money(self.num(i)).map_err(|e| self.num_error(i, e, "a decimal number"))
    }

    /// An optional money column: empty is `None`.
    #[inline(always)]
    pub fn opt_cents(&self, i: usize) -> Result<Option<i64>, BadRow> {
        if self.num(i).is_empty() {
            Ok(None)
        } else {
            self.cents(i).map(Some)
        }
    }
}

/// Splits a line without quotes on its commas into `ranges`; returns whether it is all ASCII.
/// One pass of 16-byte compares (SSE2, always present on x86-64): a comma mask whose set bits
/// are the separators, and the high bits for the ASCII check.
fn split_plain(line: &[u8], ranges: &mut Vec<(usize, usize)>) -> bool {
    let mut start = 0;
    let mut i = 0;
    // High bits seen, kept in a general register (a vector accumulator is spilled around the
    // pushes).
    let mut high = 0u32;
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{
            __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_set1_epi8,
        };
        // SAFETY: SSE2 is part of x86-64; every load reads 16 bytes inside `line`.
        unsafe {
            let comma = _mm_set1_epi8(b',' as i8);
            while i + 16 <= line.len() {
                let v = _mm_loadu_si128(line.as_ptr().add(i).cast::<__m128i>());
                high |= _mm_movemask_epi8(v) as u32;
                let mut m = _mm_movemask_epi8(_mm_cmpeq_epi8(v, comma)) as u32;
                while m != 0 {
                    let j = i + m.trailing_zeros() as usize;
                    ranges.push((start, j));
                    start = j + 1;
                    m &= m - 1;
                }
                i += 16;
            }
        }
    }
    for (j, &b) in line.iter().enumerate().skip(i) {
        high |= u32::from(b & 0x80);
        if b == b',' {
            ranges.push((start, j));
            start = j + 1;
        }
    }
    ranges.push((start, line.len()));
    high == 0
}

/// Splits a line whose quoted fields hold no escaped quote (`""`) into `ranges`, each quoted
/// field's range being the text between its quotes (what unquoting would give). Returns `false`
/// — `ranges` then partly filled — for anything else: an escaped quote, a quote inside an
/// unquoted field, text after a closing quote, or a quote left open; the general reader
/// handles those.
fn split_simply_quoted(line: &[u8], ranges: &mut Vec<(usize, usize)>) -> bool {
    let n = line.len();
    let mut i = 0;
    loop {
        if line.get(i) == Some(&b'"') {
            let Some(k) = memchr::memchr(b'"', &line[i + 1..]) else {
                return false;
            };
            let close = i + 1 + k;
            ranges.push((i + 1, close));
            match line.get(close + 1) {
                None => return true,
                Some(b',') => i = close + 2,
                Some(_) => return false,
            }
            if i == n {
                ranges.push((n, n));
                return true;
            }
            continue;
        }
        match memchr::memchr2(b',', b'"', &line[i..]) {
            Some(k) if line[i + k] == b',' => {
                ranges.push((i, i + k));
                i += k + 1;
            }
            Some(_) => return false,
            None => {
                ranges.push((i, n));
                return true;
            }
        }
    }
}

/// Whether a record may hold quotes (its framing saw none: it splits on commas alone).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Quotes {
    Absent,
    Possible,
}

impl Quotes {
    fn of(seen: bool) -> Quotes {
        if seen {
            Quotes::Possible
        } else {
            Quotes::Absent
        }
    }
}

/// What framing found out about a record.
#[derive(Clone, Copy, Debug)]
struct RecordFlags<'a> {
    unterminated: bool,
    bad_quote: bool,
    quotes: Quotes,
    /// The fields as the reader split them.
    split: Option<Split<'a>>,
}

impl<'a> RecordFlags<'a> {
    /// What the record reader found.
    #[inline]
    fn of(rec: &Record<'a>) -> RecordFlags<'a> {
        RecordFlags {
            unterminated: rec.unterminated,
            bad_quote: rec.bad_quote,
            quotes: Quotes::of(rec.quotes),
            split: rec.split,
        }
    }
}

fn check_utf8(line: &[u8]) -> Result<&str, BadRow> {
    // Most lines are ASCII: one vectorised check, then the full validation only for the rest.
    if line.is_ascii() {
        // SAFETY: ASCII is valid UTF-8.
        return Ok(unsafe { std::str::from_utf8_unchecked(line) });
    }
    std::str::from_utf8(line).map_err(|e| {
        BadRow::new(
            BadKind::InvalidUtf8,
            format!("invalid UTF-8 at byte {} of the line", e.valid_up_to()),
        )
    })
}

/// The UTF-8 byte-order mark some tools (Excel) write before the header.
pub const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// Where the schema's columns are in a file, from its header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeaderLayout {
    /// The schema's columns (`sales`: [`COLUMNS`]).
    pub columns: &'static [&'static str],
    /// `positions[i]`: the field index of schema column `columns[i]`.
    pub positions: [usize; MAX_COLUMNS],
    /// The header's field count (extra columns are read past and ignored).
    pub n_fields: usize,
    /// The header's column names, in file order.
    pub names: Vec<String>,
}

/// Reads a header line (a UTF-8 byte-order mark before it is skipped): every schema column must
/// be there, in any order; unknown extra columns are allowed and ignored.
pub fn header_layout(parser: &mut LineParser, line: &[u8]) -> Result<HeaderLayout, String> {
    header_layout_for(parser, line, &COLUMNS)
}

/// [`header_layout`] for another schema's `columns` (at most [`MAX_COLUMNS`]).
pub fn header_layout_for(
    parser: &mut LineParser,
    line: &[u8],
    columns: &'static [&'static str],
) -> Result<HeaderLayout, String> {
    assert!(
        columns.len() <= MAX_COLUMNS,
        "a schema of at most {MAX_COLUMNS} columns"
    );
    let line = line.strip_prefix(UTF8_BOM).unwrap_or(line);
    let fields = parser.fields(line).map_err(|e| format!("header: {e}"))?;
    let mut positions = [0; MAX_COLUMNS];
    for (i, col) in columns.iter().enumerate() {
        let found: Vec<usize> = (0..fields.len()).filter(|&k| fields[k] == *col).collect();
        match found[..] {
            [k] => positions[i] = k,
            [] => {
                return Err(format!(
                    "header: missing column {col:?} (found {})",
                    fields.join(",")
                ));
            }
            _ => return Err(format!("header: column {col:?} appears more than once")),
        }
    }
    Ok(HeaderLayout {
        columns,
        positions,
        n_fields: fields.len(),
        names: fields.iter().map(|s| s.to_string()).collect(),
    })
}

/// Checks a header line against the `sales` schema and sets `parser` to its layout.
pub fn validate_header(parser: &mut LineParser, line: &[u8]) -> Result<HeaderLayout, String> {
    let layout = header_layout(parser, line)?;
    parser.set_layout(&layout);
    Ok(layout)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_one_pass_money_parser_agrees_with_the_checked_one_on_every_short_text() {
        // Every text of up to 6 bytes over the bytes that matter, and random ones up to 16.
        let alphabet = b"-.09x+ 5";
        let mut texts: Vec<Vec<u8>> = vec![Vec::new()];
        let mut frontier = texts.clone();
        for _ in 0..6 {
            frontier = frontier
                .iter()
                .flat_map(|t| alphabet.iter().map(move |&c| [t.as_slice(), &[c]].concat()))
                .collect();
            texts.extend(frontier.iter().cloned());
        }
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        for _ in 0..200_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let len = (x % 17) as usize;
            let t: Vec<u8> = (0..len)
                .map(|i| b"0123456789.-"[((x >> (i * 3)) % 12) as usize])
                .collect();
            texts.push(t);
        }
        let mut ok = 0;
        for t in &texts {
            assert_eq!(
                parse_money(t),
                parse_money_checked(t),
                "{:?}",
                String::from_utf8_lossy(t)
            );
            ok += usize::from(parse_money(t).is_ok());
        }
        assert!(ok > 10_000, "{ok} of {} parsed", texts.len());
    }

    #[test]
    fn the_swar_number_parsers_agree_with_the_exact_ones_or_leave_the_text_to_them() {
        // Every text of up to 5 bytes over the bytes that matter and random ones up to 8,
        // followed by other bytes (the rest of the record).
        let alphabet = b"-.09x5\r";
        let mut texts: Vec<Vec<u8>> = vec![Vec::new()];
        let mut frontier = texts.clone();
        for _ in 0..5 {
            frontier = frontier
                .iter()
                .flat_map(|t| alphabet.iter().map(move |&c| [t.as_slice(), &[c]].concat()))
                .collect();
            texts.extend(frontier.iter().cloned());
        }
        let mut x = 0x2545_F491_4F6C_DD1Du64;
        for _ in 0..300_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let len = 6 + (x % 3) as usize;
            texts.push(
                (0..len)
                    .map(|i| b"0123456789.-/:"[((x >> (i * 4)) % 14) as usize])
                    .collect(),
            );
        }
        let (mut ints, mut moneys) = (0, 0);
        for t in &texts {
            for tail in [
                b"0,9.1\"x,".as_slice(),
                b"\xff\xff\xff\xff\xff\xff\xff\xff",
                b"........",
            ] {
                let padded = [t.as_slice(), tail].concat();
                let w = u64::from_le_bytes(padded[..8].try_into().unwrap());
                let shown = String::from_utf8_lossy(t);
                if let Some(v) = swar_int(w, t.len()) {
                    assert_eq!(parse_int(t), Ok(v), "int {shown:?}");
                    ints += 1;
                } else if (1..=8).contains(&t.len()) && t.iter().all(u8::is_ascii_digit) {
                    panic!("the digits {shown:?} were left to the exact parser");
                }
                if let Some(v) = swar_money(w, t.len()) {
                    assert_eq!(parse_money(t), Ok(v), "money {shown:?}");
                    moneys += 1;
                } else if t.len() <= 8 && !t.starts_with(b"-") && parse_money(t).is_ok() {
                    panic!("the money {shown:?} was left to the exact parser");
                }
            }
        }
        assert!(
            ints > 10_000 && moneys > 10_000,
            "{ints} ints, {moneys} moneys"
        );
    }

    #[test]
    fn cents_are_exact() {
        assert_eq!(parse_cents(b"12.34"), Some(1234));
        assert_eq!(parse_cents(b"12.3"), Some(1230));
        assert_eq!(parse_cents(b"12"), Some(1200));
        assert_eq!(parse_cents(b"-0.05"), Some(-5));
        assert_eq!(parse_cents(b"12."), Some(1200));
        assert_eq!(parse_cents(b".8"), Some(80));
        assert_eq!(parse_cents(b"-.05"), Some(-5));
        assert_eq!(parse_cents(b"."), None);
        assert_eq!(parse_cents(b"-"), None);
        assert_eq!(parse_cents(b"1.234"), None);
        assert_eq!(parse_cents(b"abc"), None);
        assert_eq!(parse_cents(b""), None);
        assert_eq!(parse_money(b"92233720368547758.07"), Ok(i64::MAX));
        assert_eq!(
            parse_money(b"92233720368547758.08"),
            Err(NumError::OutOfRange)
        );
        assert_eq!(parse_money(b"1e5"), Err(NumError::Malformed));
    }

    #[test]
    fn every_i64_parses_and_larger_values_are_out_of_range() {
        assert_eq!(parse_int(b"9223372036854775807"), Ok(i64::MAX));
        assert_eq!(parse_int(b"-9223372036854775808"), Ok(i64::MIN));
        assert_eq!(parse_int(b"9223372036854775808"), Err(NumError::OutOfRange));
        assert_eq!(
            parse_int(b"99999999999999999999999"),
            Err(NumError::OutOfRange)
        );
        assert_eq!(parse_int(b"12a"), Err(NumError::Malformed));
        assert_eq!(parse_int(b"-"), Err(NumError::Malformed));
        let mut p = LineParser::new();
        let e = p
            .parse(b"1,d,9,r,c,4,9223372036854775808,1.00,,x")
            .unwrap_err();
        assert_eq!(e.kind, BadKind::OutOfRange);
        assert_eq!(
            e.reason,
            "quantity: \"9223372036854775808\" is out of range (64-bit)"
        );
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
    fn records_with_escaped_quotes_split_by_the_reader_parse_as_the_exact_path_does() {
        let lines: [&str; 5] = [
            "5,2024-02-03,9,north,books,4,2,10.50,,\"a, \"\"b\"\" é\"",
            "6,\"2024-02-04\",10,\"so\"\"uth\",toys,5,\"3\",1.25,0.10,\"\"\"\"",
            "7,2024-02-05,11,\"\"\"west\"\"\",books,6,1,2.00,,\"\"\"x\"",
            "8,2024-02-06,12,east,\"b\"\"\"\"c\",7,4,0.99,0.01,\"\"",
            "9,2024-02-07,13,east,books,8,5,1.00,,\"\"\"\"\"\"\"\"\r",
        ];
        let mut data = Vec::new();
        for l in lines {
            data.extend_from_slice(l.as_bytes());
            data.push(b'\n');
        }
        // The reader splits whole 64-byte blocks; the tail is the exact scanner's.
        data.extend_from_slice(&b"1,2024-01-01,1,a,b,1,1,1.00,,x\n".repeat(4));
        let mut reader = crate::RecordReader::new(&data[..], 1 << 20);
        let (mut fast, mut exact) = (LineParser::new(), LineParser::new());
        for l in lines {
            let rec = reader.next_record().unwrap().expect("a record");
            let split = rec
                .split
                .unwrap_or_else(|| panic!("{l} not split by the reader"));
            assert!(split.escaped, "{l}");
            let row = fast.parse_record(&rec).unwrap();
            assert!(!row.unquoted, "{l}: its texts hold quotes");
            let got = format!("{:?}", Ok::<_, BadRow>(row));
            let want = format!("{:?}", exact.parse(l.trim_end_matches('\r').as_bytes()));
            assert!(want.starts_with("Ok("), "{want}");
            assert_eq!(got, want, "{l}");
        }
        // A plain record split by the reader: known to need no quoting.
        let rec = reader.next_record().unwrap().expect("a record");
        assert!(rec.split.is_some());
        assert!(fast.parse_record(&rec).unwrap().unquoted);
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
    fn headers_match_by_name_in_any_order_after_a_bom_with_extra_columns() {
        let mut p = LineParser::new();
        let mut names: Vec<&str> = COLUMNS.to_vec();
        names.reverse();
        names.insert(3, "extra");
        let header = format!("\u{feff}{}", names.join(","));
        let layout = validate_header(&mut p, header.as_bytes()).unwrap();
        assert_eq!(layout.n_fields, 11);
        assert_eq!(layout.positions[0], 10, "order_id is last");
        // note,discount,price,extra,quantity,product_id,category,region,customer_id,date,id
        let row = p
            .parse(b"\"a, note\",,10.50,whatever,2,4,books,north,9,2024-01-01,1")
            .unwrap();
        assert_eq!(
            (
                row.order_id,
                row.quantity,
                row.price_cents,
                row.category,
                row.note
            ),
            (1, 2, 1050, "books", "a, note")
        );
        let dup = validate_header(&mut p, (COLUMNS.join(",") + ",note").as_bytes()).unwrap_err();
        assert!(dup.contains("\"note\" appears more than once"), "{dup}");
    }
}
