//! RFC 4180 record framing: a record ends at a line feed outside quotes, so a quoted field may
//! hold line feeds, carriage returns, commas and escaped quotes (`""`). Line numbers count
//! physical lines, as an editor shows them.
//!
//! Quotes follow the rules every RFC 4180 reader shares (the `csv` crate, Polars): a quote opens
//! a quoted field only at the start of a field; inside one, `""` is a literal quote and a lone
//! `"` closes it; a quote elsewhere is a literal character. A record that reaches the end of the
//! input inside quotes is unterminated. A record longer than the reader's maximum is an error as
//! soon as the maximum is passed, before the rest of it is read: memory stays bounded by the
//! maximum plus one read buffer, whatever the file holds.

use std::fmt;
use std::io::{self, BufRead};

use crate::structural::Level;

/// Where a record scanner is, between two bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum QuoteState {
    /// Outside quotes; `at_field_start` when the last byte ended a field or a record.
    Out { at_field_start: bool },
    /// Inside a quoted field.
    In,
    /// Just after the quote that closed a quoted field (a quote right here is an escaped one).
    Closed,
}

impl QuoteState {
    /// The state at the start of a record.
    pub const START: QuoteState = QuoteState::Out {
        at_field_start: true,
    };

    /// The state after one byte. Only `"`, `,` and `\n` change anything.
    #[inline]
    pub fn step(self, b: u8) -> QuoteState {
        use QuoteState::*;
        match (self, b) {
            (In, b'"') => Closed,
            (In, _) => In,
            (Closed, b'"') => In,
            (
                Out {
                    at_field_start: true,
                },
                b'"',
            ) => In,
            (_, b',' | b'\n') => Out {
                at_field_start: true,
            },
            _ => Out {
                at_field_start: false,
            },
        }
    }

    /// Whether a line feed seen in this state ends the record.
    #[inline]
    pub fn ends_record(self) -> bool {
        self != QuoteState::In
    }
}

/// Scans bytes for the end of a record, remembering its state across calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Scanner {
    pub state: QuoteState,
    /// Line feeds seen inside quotes (the record's extra physical lines).
    pub quoted_newlines: u64,
    /// Commas outside quotes (field separators), when counting them.
    pub commas: Option<u64>,
    /// A quote inside an unquoted field, or text after a closing quote, was seen (RFC 4180
    /// forbids both; lenient readers differ on what they mean).
    pub bad_quote: bool,
    /// A quote was seen at all (a record without one splits on commas alone).
    pub quotes: bool,
}

impl Scanner {
    /// A scanner at the start of a record.
    pub fn new(state: QuoteState) -> Scanner {
        Scanner {
            state,
            quoted_newlines: 0,
            commas: None,
            bad_quote: false,
            quotes: false,
        }
    }

    /// A scanner that also counts field separators.
    pub fn counting_fields(state: QuoteState) -> Scanner {
        Scanner {
            commas: Some(0),
            ..Scanner::new(state)
        }
    }

    /// A run of bytes holding no quote and no line feed.
    #[inline]
    fn gap(&mut self, gap: &[u8]) {
        let Some(&last) = gap.last() else { return };
        // After a closing quote only a separator (or the CR of a CRLF) may follow.
        if self.state == QuoteState::Closed && !(gap[0] == b',' || gap == b"\r") {
            self.bad_quote = true;
        }
        if let Some(c) = self.commas.as_mut()
            && self.state != QuoteState::In
        {
            *c += memchr::memchr_iter(b',', gap).count() as u64;
        }
        self.state = self.state.step_over(last);
    }

    /// Scans `data`; returns the index of the line feed that ends the record, if it is in
    /// `data`. Jumps from quote to quote and line feed to line feed (`memchr2`); the bytes in
    /// between only matter through the byte just before a quote.
    pub fn find_end(&mut self, data: &[u8]) -> Option<usize> {
        let mut i = 0;
        while let Some(k) = memchr::memchr2(b'"', b'\n', &data[i..]) {
            let j = i + k;
            // The bytes between the last event and this one move an Out/Closed state to
            // "inside an unquoted field" unless the last of them ended a field.
            self.gap(&data[i..j]);
            if self.event(data[j]) {
                return Some(j);
            }
            i = j + 1;
        }
        self.gap(&data[i..]);
        None
    }

    /// A quote or a line feed; returns whether it ended the record.
    #[inline]
    fn event(&mut self, b: u8) -> bool {
        if b == b'\n' {
            if self.state.ends_record() {
                self.state = QuoteState::START;
                return true;
            }
            self.quoted_newlines += 1;
            return false;
        }
        self.quotes = true;
        if self.state
            == (QuoteState::Out {
                at_field_start: false,
            })
        {
            self.bad_quote = true;
        }
        self.state = self.state.step(b'"');
        false
    }
}

impl QuoteState {
    /// The state after a run of bytes holding no quote and no line feed, whose last byte is
    /// `last`.
    #[inline]
    fn step_over(self, last: u8) -> QuoteState {
        match self {
            QuoteState::In => QuoteState::In,
            _ => QuoteState::Out {
                at_field_start: last == b',',
            },
        }
    }
}

/// One record as read.
#[derive(Debug)]
pub struct Record<'a> {
    /// The physical line it starts on (1-based, relative to where reading started).
    pub line: u64,
    /// Its bytes without the final line terminator (`\n` or `\r\n`).
    pub bytes: &'a [u8],
    /// The input ended inside a quoted field.
    pub unterminated: bool,
    /// It holds a quote inside an unquoted field, or text after a closing quote.
    pub bad_quote: bool,
    /// It holds a quote at all (without one, its fields are split on commas alone).
    pub quotes: bool,
    /// Its fields, when the reader already split it (a plain record found 64 bytes at a time).
    pub split: Option<Split<'a>>,
}

impl<'a> Record<'a> {
    /// A plain line of `data` found by the structural pass, starting on physical line `line`,
    /// with its field ranges.
    #[inline(always)]
    fn plain(
        line: u64,
        data: &'a [u8],
        l: &crate::structural::PlainLine,
        ranges: &'a [(usize, usize)],
    ) -> Record<'a> {
        Record {
            line,
            bytes: &data[l.start..l.start + l.len],
            unterminated: false,
            bad_quote: false,
            quotes: l.quotes,
            split: Some(Split {
                ranges,
                ascii: l.ascii,
                escaped: l.escaped,
            }),
        }
    }
}

/// A record's fields as its reader found them (a record on one line, its fields unquoted or
/// quoted): what splitting it again would give, but for escaped quotes ([`Split::escaped`]).
#[derive(Clone, Copy, Debug)]
pub struct Split<'a> {
    /// Each field's byte range in the record.
    pub ranges: &'a [(usize, usize)],
    /// Every byte of the record is ASCII.
    pub ascii: bool,
    /// A quoted field holds an escaped quote: its range spans the escaped text (each `""`
    /// one quote), for the field's reader to unescape.
    pub escaped: bool,
}

/// Why a record could not be read.
#[derive(Debug)]
pub enum ReadError {
    Io(io::Error),
    /// The record starting at `line` is longer than `max` bytes.
    TooLong {
        line: u64,
        max: usize,
    },
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::Io(e) => write!(f, "read failed: {e}"),
            ReadError::TooLong { max, .. } => write!(f, "record longer than {max} bytes"),
        }
    }
}

impl From<io::Error> for ReadError {
    fn from(e: io::Error) -> Self {
        ReadError::Io(e)
    }
}

/// The default maximum record size (`--max-record-bytes`).
pub const DEFAULT_MAX_RECORD_BYTES: usize = 16 << 20;

/// Reads records from a `BufRead` into one reused buffer, counting physical lines and byte
/// offsets and skipping empty lines.
pub struct RecordReader<R> {
    inner: R,
    buf: Vec<u8>,
    line_no: u64,
    pos: u64,
    limit: u64,
    max: usize,
    /// How plain records are found in the buffer (`None`: every record by the byte-exact
    /// scanner, copied into `buf`).
    level: Option<Level>,
    batch: Batch,
    /// Bytes of the last record returned from `inner`'s buffer, consumed at the next call.
    pending: usize,
}

/// Plain records found 64 bytes at a time in `inner`'s buffer, handed out one by one without
/// copying (the bytes stay in the buffer until the next call).
#[derive(Default)]
struct Batch {
    recs: Vec<PlainRec>,
    /// Every record's field ranges, relative to the record's start.
    ranges: Vec<(usize, usize)>,
    /// The next record to hand out.
    next: usize,
    /// Bytes of the buffer the batch was found in consumed since.
    consumed: usize,
}

/// One plain record of a [`Batch`]: positions in the buffer the batch was found in.
#[derive(Clone, Copy)]
struct PlainRec {
    /// Empty lines before it, and their bytes.
    empty_lines: u64,
    empty_bytes: usize,
    start: usize,
    len: usize,
    /// Just past its line feed.
    next: usize,
    /// Its ranges in [`Batch::ranges`].
    fields: (usize, usize),
    ascii: bool,
    quotes: bool,
    escaped: bool,
}

impl Batch {
    /// Finds the plain records at the start of `data` (a record start), at most
    /// [`BATCH_RANGES`] fields' worth.
    fn fill(&mut self, data: &[u8], max: usize, level: Level) {
        self.recs.clear();
        self.ranges.clear();
        // Small and sized once: the reader's heap is part of what a strategy is measured by.
        if self.ranges.capacity() == 0 {
            self.ranges.reserve_exact(BATCH_RANGES + 16);
            self.recs.reserve_exact(BATCH_RANGES / 4);
        }
        (self.next, self.consumed) = (0, 0);
        let (mut after, mut empties) = (0usize, 0u64);
        let (recs, ranges) = (&mut self.recs, &mut self.ranges);
        crate::structural::plain_lines::<true>(data, b',', max, level, ranges, true, |l, _| {
            if l.len == 0 {
                empties += 1;
                return true;
            }
            recs.push(PlainRec {
                empty_lines: empties,
                empty_bytes: l.start - after,
                start: l.start,
                len: l.len,
                next: l.lf + 1,
                fields: l.fields,
                ascii: l.ascii,
                quotes: l.quotes,
                escaped: l.escaped,
            });
            (after, empties) = (l.lf + 1, 0);
            l.fields.1 < BATCH_RANGES
        });
    }

    /// The split of record `r`.
    #[inline]
    fn split(&self, r: &PlainRec) -> Split<'_> {
        Split {
            ranges: &self.ranges[r.fields.0..r.fields.1],
            ascii: r.ascii,
            escaped: r.escaped,
        }
    }
}

/// The most field ranges one batch holds, about a dozen records of ten fields (a record of many
/// fields still gets a batch of one): a few KiB of heap, and a rescan of part of one block per
/// batch.
const BATCH_RANGES: usize = 128;

impl<R> fmt::Debug for RecordReader<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecordReader")
            .field("line_no", &self.line_no)
            .field("pos", &self.pos)
            .finish()
    }
}

impl<R: BufRead> RecordReader<R> {
    /// Reads the whole input, with records of at most `max` bytes.
    pub fn new(inner: R, max: usize) -> Self {
        Self::with_range(inner, 0, u64::MAX, max)
    }

    /// Reads the records that *start* before byte `limit`; `start` is the byte offset `inner` is
    /// at, which must be the start of a record.
    pub fn with_range(inner: R, start: u64, limit: u64, max: usize) -> Self {
        RecordReader {
            inner,
            buf: Vec::with_capacity(1024),
            line_no: 0,
            pos: start,
            limit,
            max,
            level: Some(Level::best()),
            batch: Batch::default(),
            pending: 0,
        }
    }

    /// Finds plain records at `level` (`None`: every record by the byte-exact scanner; the
    /// tests compare the two).
    pub fn with_level(mut self, level: Option<Level>) -> Self {
        self.level = level;
        self
    }

    /// Consumes the bytes of the record returned last, if they were borrowed from `inner`.
    #[inline]
    fn settle(&mut self) {
        if self.pending > 0 {
            self.inner.consume(self.pending);
            self.batch.consumed += self.pending;
            self.pending = 0;
        }
    }

    /// Finds the plain records at the start of `inner`'s buffer.
    fn fill_batch(&mut self, level: Level) -> io::Result<()> {
        self.batch.fill(self.inner.fill_buf()?, self.max, level);
        Ok(())
    }

    /// The next record of the batch (there is one).
    #[inline(always)]
    fn next_plain(&mut self) -> Result<Option<Record<'_>>, ReadError> {
        let r = self.batch.recs[self.batch.next];
        self.batch.next += 1;
        self.pos += r.empty_bytes as u64;
        self.line_no += r.empty_lines;
        if self.pos >= self.limit {
            // It starts in the next range: not this reader's.
            self.pending = r.start - self.batch.consumed;
            self.batch.recs.clear();
            self.batch.next = 0;
            return Ok(None);
        }
        self.pos += (r.next - r.start) as u64;
        self.line_no += 1;
        self.pending = r.next - self.batch.consumed;
        let at = r.start - self.batch.consumed;
        // Not consumed yet: the same bytes again (a `BufRead` returns what it holds).
        let data = &self.inner.fill_buf()?[at..at + r.len];
        Ok(Some(Record {
            line: self.line_no,
            bytes: data,
            unterminated: false,
            bad_quote: false,
            quotes: r.quotes,
            split: Some(self.batch.split(&r)),
        }))
    }

    /// Hands every remaining non-empty record to `f`, in order, until `f` returns `false` or the
    /// input (or the reader's range) ends: the records, line numbers, positions and errors of
    /// [`Self::next_record`] in a loop, but a plain record goes to `f` as the structural pass
    /// finds it, with its line's field ranges, one line at a time — no batch of records and
    /// ranges stored and read back (what a whole-file fold wants). A record `f` refuses is
    /// consumed.
    pub fn for_each_record(
        &mut self,
        mut f: impl FnMut(&Record<'_>) -> bool,
    ) -> Result<(), ReadError> {
        let Some(level) = self.level else {
            while let Some(rec) = self.next_record()? {
                if !f(&rec) {
                    break;
                }
            }
            return Ok(());
        };
        // Records a caller's `next_record` already found in a batch come first.
        loop {
            self.settle();
            if self.batch.next >= self.batch.recs.len() {
                break;
            }
            match self.next_plain()? {
                Some(rec) if f(&rec) => {}
                _ => return Ok(()),
            }
        }
        self.batch.recs.clear();
        self.batch.next = 0;
        let max = self.max;
        loop {
            if self.pos >= self.limit {
                return Ok(());
            }
            let data = self.inner.fill_buf()?;
            let (line_no, pos, limit) = (&mut self.line_no, &mut self.pos, self.limit);
            let (mut taken, mut go_on) = (0usize, true);
            let ranges = &mut self.batch.ranges;
            crate::structural::plain_lines::<true>(
                data,
                b',',
                max,
                level,
                ranges,
                false,
                |l, r| {
                    if l.len > 0 {
                        if *pos >= limit {
                            // It starts in the next range: not this reader's.
                            go_on = false;
                            return false;
                        }
                        *line_no += 1;
                        *pos += (l.lf + 1 - l.start) as u64;
                        taken = l.lf + 1;
                        go_on = f(&Record::plain(*line_no, data, l, r));
                        return go_on;
                    }
                    // An empty line: counted, no record.
                    *line_no += 1;
                    *pos += (l.lf + 1 - l.start) as u64;
                    taken = l.lf + 1;
                    true
                },
            );
            self.inner.consume(taken);
            if !go_on {
                return Ok(());
            }
            if taken == 0 {
                match self.next_exact()? {
                    Some(rec) if f(&rec) => {}
                    _ => return Ok(()),
                }
            }
        }
    }

    /// Physical lines consumed so far (empty ones included).
    pub fn lines_read(&self) -> u64 {
        self.line_no
    }

    /// Byte offset of the next record.
    pub fn position(&self) -> u64 {
        self.pos
    }

    /// Skips forward to the start of the next record, scanning from `state` (the quote state
    /// at the current position). Returns the bytes skipped. Used to align a byte range on a
    /// record boundary; the skipped lines are not counted (they belong to the range before).
    pub fn skip_to_record_start(&mut self, state: QuoteState) -> io::Result<u64> {
        self.settle();
        self.batch.recs.clear();
        self.batch.next = 0;
        let mut scanner = Scanner::new(state);
        let mut skipped = 0u64;
        while let Some(false) = piece(&mut self.inner, &mut scanner, |p| {
            skipped += p.len() as u64;
            Ok::<(), io::Error>(())
        })? {}
        self.pos += skipped;
        Ok(skipped)
    }

    /// The next non-empty record. A record of the current batch is handed out inline in the
    /// caller's loop (most records: no call, the record's fields in registers); a new batch
    /// and the byte-exact scanner are out of line.
    #[inline(always)]
    pub fn next_record(&mut self) -> Result<Option<Record<'_>>, ReadError> {
        if self.level.is_some() {
            self.settle();
            if self.batch.next < self.batch.recs.len() {
                return self.next_plain();
            }
        }
        self.next_record_refill()
    }

    /// [`Self::next_record`] when the batch is used up: a new batch, or the byte-exact
    /// scanner.
    #[inline(never)]
    fn next_record_refill(&mut self) -> Result<Option<Record<'_>>, ReadError> {
        if let Some(level) = self.level {
            if self.batch.next >= self.batch.recs.len() && self.pos < self.limit {
                self.fill_batch(level)?;
            }
            if self.batch.next < self.batch.recs.len() {
                return self.next_plain();
            }
        }
        self.next_exact()
    }

    /// The next non-empty record by the byte-exact scanner: a record the structural pass
    /// leaves to it (quotes over lines, a stray carriage return, …), one not wholly in the
    /// buffer, the end of the input.
    fn next_exact(&mut self) -> Result<Option<Record<'_>>, ReadError> {
        loop {
            if self.pos >= self.limit {
                return Ok(None);
            }
            self.buf.clear();
            let first_line = self.line_no + 1;
            let mut scanner = Scanner::new(QuoteState::START);
            let (buf, max) = (&mut self.buf, self.max);
            let mut ended = false;
            while let Some(done) = piece(&mut self.inner, &mut scanner, |p| {
                // The terminator (up to 2 bytes) does not count towards the maximum.
                if buf.len() + p.len() > max + 2 {
                    return Err(ReadError::TooLong {
                        line: first_line,
                        max,
                    });
                }
                grow_within(buf, p.len(), max + 2);
                buf.extend_from_slice(p);
                Ok(())
            })? {
                if done {
                    ended = true;
                    break;
                }
            }
            if self.buf.is_empty() {
                return Ok(None);
            }
            self.pos += self.buf.len() as u64;
            let scanned = Scanned::of(&self.buf, ended, &scanner, first_line);
            self.line_no += scanned.lines;
            if scanned.is_empty() {
                continue; // an empty line: no record
            }
            return scanned.record(&self.buf, self.max);
        }
    }
}

/// A record's bytes as scanned (terminator included), before they become a [`Record`]: the
/// one place that counts its physical lines and strips its terminator, for every reader.
struct Scanned {
    first_line: u64,
    /// Physical lines the bytes span.
    lines: u64,
    /// The record's length without its terminator.
    end: usize,
    ended: bool,
    state: QuoteState,
    bad_quote: bool,
    quotes: bool,
}

impl Scanned {
    #[inline]
    fn of(bytes: &[u8], ended: bool, scanner: &Scanner, first_line: u64) -> Scanned {
        // Every line feed inside quotes ends a physical line of this record, and so does its
        // terminator; an unterminated record's last line counts unless it is empty (the input
        // ended right after a quoted line feed).
        let open_last_line = ended || bytes.last() != Some(&b'\n');
        let mut end = bytes.len();
        if ended {
            end -= 1;
            if end > 0 && bytes[end - 1] == b'\r' {
                end -= 1;
            }
        }
        Scanned {
            first_line,
            lines: scanner.quoted_newlines + u64::from(open_last_line),
            end,
            ended,
            state: scanner.state,
            bad_quote: scanner.bad_quote,
            quotes: scanner.quotes,
        }
    }

    /// An empty line: it holds no record.
    #[inline]
    fn is_empty(&self) -> bool {
        self.end == 0
    }

    /// The record over `bytes`, `None` for an empty line (no record).
    #[inline]
    fn record(self, bytes: &[u8], max: usize) -> Result<Option<Record<'_>>, ReadError> {
        if self.end == 0 {
            return Ok(None);
        }
        if self.end > max {
            return Err(ReadError::TooLong {
                line: self.first_line,
                max,
            });
        }
        Ok(Some(Record {
            line: self.first_line,
            bytes: &bytes[..self.end],
            unterminated: !self.ended && self.state == QuoteState::In,
            bad_quote: self.bad_quote,
            quotes: self.quotes,
            split: None,
        }))
    }
}

/// A source of framed records: a [`RecordReader`] over a `BufRead` (each record copied into one
/// reused buffer) or a [`SliceRecords`] over bytes in memory (records borrowed, never copied).
pub trait Records {
    /// The next non-empty record.
    fn next_record(&mut self) -> Result<Option<Record<'_>>, ReadError>;

    /// Hands every remaining non-empty record to `f` until it returns `false` (see
    /// [`RecordReader::for_each_record`]); by default, [`Self::next_record`] in a loop.
    fn for_each_record(&mut self, mut f: impl FnMut(&Record<'_>) -> bool) -> Result<(), ReadError> {
        while let Some(rec) = self.next_record()? {
            if !f(&rec) {
                break;
            }
        }
        Ok(())
    }
}

impl<R: BufRead> Records for RecordReader<R> {
    #[inline(always)]
    fn next_record(&mut self) -> Result<Option<Record<'_>>, ReadError> {
        RecordReader::next_record(self)
    }

    #[inline]
    fn for_each_record(&mut self, f: impl FnMut(&Record<'_>) -> bool) -> Result<(), ReadError> {
        RecordReader::for_each_record(self, f)
    }
}

/// Records of bytes already in memory (a memory-mapped file): each record borrows the bytes,
/// so reading copies nothing; the same framing, line numbers and errors as [`RecordReader`].
pub struct SliceRecords<'a> {
    data: &'a [u8],
    pos: usize,
    line_no: u64,
    max: usize,
    /// As [`RecordReader`]'s: plain records found and split a window at a time.
    level: Option<Level>,
    batch: Batch,
    /// Where the batch's window starts.
    base: usize,
}

impl fmt::Debug for SliceRecords<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SliceRecords")
            .field("pos", &self.pos)
            .field("line_no", &self.line_no)
            .finish()
    }
}

/// The bytes [`SliceRecords`] looks at for one batch (a record longer than this is read by the
/// byte-exact scanner).
const SLICE_WINDOW: usize = 64 * 1024;

impl<'a> SliceRecords<'a> {
    /// Records of `data`, each of at most `max` bytes.
    pub fn new(data: &'a [u8], max: usize) -> Self {
        SliceRecords {
            data,
            pos: 0,
            line_no: 0,
            max,
            level: Some(Level::best()),
            batch: Batch::default(),
            base: 0,
        }
    }

    /// Finds plain records at `level` (`None`: every record by the byte-exact scanner).
    pub fn with_level(mut self, level: Option<Level>) -> Self {
        self.level = level;
        self
    }

    /// Physical lines consumed so far (empty ones included), as [`RecordReader::lines_read`].
    pub fn lines_read(&self) -> u64 {
        self.line_no
    }

    /// The next non-empty record: from the batch of plain records when there is one, else by
    /// the byte-exact scanner.
    #[inline]
    fn next_any(&mut self) -> Result<Option<Record<'_>>, ReadError> {
        if let Some(level) = self.level {
            if self.batch.next >= self.batch.recs.len() {
                self.base = self.pos;
                let end = (self.pos + SLICE_WINDOW).min(self.data.len());
                self.batch.fill(&self.data[self.pos..end], self.max, level);
            }
            if let Some(&r) = self.batch.recs.get(self.batch.next) {
                self.batch.next += 1;
                self.line_no += r.empty_lines + 1;
                self.pos = self.base + r.next;
                let at = self.base + r.start;
                return Ok(Some(Record {
                    line: self.line_no,
                    bytes: &self.data[at..at + r.len],
                    unterminated: false,
                    bad_quote: false,
                    quotes: r.quotes,
                    split: Some(self.batch.split(&r)),
                }));
            }
        }
        self.next_slice_record()
    }

    /// The next non-empty record by the byte-exact scanner, borrowing the bytes.
    #[inline]
    fn next_slice_record(&mut self) -> Result<Option<Record<'a>>, ReadError> {
        loop {
            let rest = &self.data[self.pos..];
            if rest.is_empty() {
                return Ok(None);
            }
            let mut scanner = Scanner::new(QuoteState::START);
            let (n, ended) = match scanner.find_end(rest) {
                Some(e) => (e + 1, true),
                None => (rest.len(), false),
            };
            let bytes = &rest[..n];
            self.pos += n;
            let scanned = Scanned::of(bytes, ended, &scanner, self.line_no + 1);
            self.line_no += scanned.lines;
            if let Some(rec) = scanned.record(bytes, self.max)? {
                return Ok(Some(rec));
            }
        }
    }
}

impl Records for SliceRecords<'_> {
    #[inline]
    fn next_record(&mut self) -> Result<Option<Record<'_>>, ReadError> {
        self.next_any()
    }

    /// As [`RecordReader::for_each_record`]: plain records straight from the structural pass,
    /// a window at a time.
    fn for_each_record(&mut self, mut f: impl FnMut(&Record<'_>) -> bool) -> Result<(), ReadError> {
        let Some(level) = self.level else {
            while let Some(rec) = self.next_any()? {
                if !f(&rec) {
                    break;
                }
            }
            return Ok(());
        };
        // Records a caller's `next_record` already found in a batch come first.
        while self.batch.next < self.batch.recs.len() {
            match self.next_any()? {
                Some(rec) if f(&rec) => {}
                _ => return Ok(()),
            }
        }
        self.batch.recs.clear();
        self.batch.next = 0;
        let (data, max) = (self.data, self.max);
        loop {
            if self.pos >= data.len() {
                return Ok(());
            }
            let window = &data[self.pos..(self.pos + SLICE_WINDOW).min(data.len())];
            let line_no = &mut self.line_no;
            let (mut taken, mut go_on) = (0usize, true);
            let ranges = &mut self.batch.ranges;
            crate::structural::plain_lines::<true>(
                window,
                b',',
                max,
                level,
                ranges,
                false,
                |l, r| {
                    *line_no += 1;
                    taken = l.lf + 1;
                    if l.len == 0 {
                        return true;
                    }
                    go_on = f(&Record::plain(*line_no, window, l, r));
                    go_on
                },
            );
            self.pos += taken;
            if !go_on {
                return Ok(());
            }
            if taken == 0 {
                match self.next_slice_record()? {
                    Some(rec) if f(&rec) => {}
                    _ => return Ok(()),
                }
            }
        }
    }
}

/// Checks the framing of `inner` without buffering any record: no record longer than `max`
/// bytes, every record with `fields` fields and well-formed quotes, and no quote left open at
/// the end (an engine may
/// accept each of these — Polars fills a short record with nulls; the kernel does not). For an engine that reads the file itself but must refuse the same
/// files. Lines are counted from 1 at the start of `inner`.
pub fn check_framing<R: BufRead>(
    inner: R,
    max: usize,
    fields: usize,
) -> Result<Framing, FramingError> {
    check_framing_at(inner, max, fields, Some(crate::structural::Level::best()))
}

/// [`check_framing`] with plain records found at `level` (`None`: every record by the
/// byte-exact scanner; the tests compare the two).
pub(crate) fn check_framing_at<R: BufRead>(
    mut inner: R,
    max: usize,
    fields: usize,
    level: Option<crate::structural::Level>,
) -> Result<Framing, FramingError> {
    let mut line = 1u64;
    let mut framing = Framing::default();
    loop {
        // Plain records (no quote) 64 bytes at a time; the byte-exact scanner below takes the
        // first record that is not plain or not wholly buffered, and says what is wrong, if
        // anything.
        while let Some(level) = level {
            let run = crate::structural::plain_records(inner.fill_buf()?, max, fields, level);
            if run.records == 0 {
                break;
            }
            framing.empty_lines += run.empty_lines;
            line += run.records;
            inner.consume(run.bytes);
        }
        let mut scanner = Scanner::counting_fields(QuoteState::START);
        let (mut len, mut last_two) = (0usize, [0u8; 2]);
        let mut only_separators = true;
        let too_long = |line| FramingError::Read(ReadError::TooLong { line, max });
        let mut ended = false;
        while let Some(done) = piece(&mut inner, &mut scanner, |p| {
            len += p.len();
            // Past the maximum plus a CRLF terminator: too long whatever follows.
            if len > max + 2 {
                return Err(too_long(line));
            }
            only_separators =
                only_separators && p.iter().all(|&b| matches!(b, b',' | b'"' | b'\r' | b'\n'));
            last_two = match p {
                [.., a, b] => [*a, *b],
                [b] => [last_two[1], *b],
                [] => last_two,
            };
            Ok(())
        })? {
            if done {
                ended = true;
                break;
            }
        }
        // The record's own bytes, as the `RecordReader` counts them: without `\n` or `\r\n`.
        let terminator = match (ended, last_two) {
            (false, _) => 0,
            (true, [b'\r', b'\n']) => 2,
            (true, _) => 1,
        };
        if len - terminator > max {
            return Err(too_long(line));
        }
        let empty = len == terminator;
        if !empty && scanner.commas.map(|c| c as usize + 1) != Some(fields) {
            return Err(FramingError::FieldCount { line });
        }
        if scanner.bad_quote {
            return Err(FramingError::BadQuote { line });
        }
        if !empty && only_separators {
            return Err(FramingError::NoValues { line });
        }
        if !ended {
            return match scanner.state {
                QuoteState::In => Err(FramingError::Unterminated { line }),
                _ => Ok(framing),
            };
        }
        framing.empty_lines += u64::from(empty);
        line += scanner.quoted_newlines + 1;
    }
}

/// [`check_framing`] of an input wholly in memory, on up to `threads` threads: the input is cut
/// just after a line end near each `1/threads` of it and the parts are checked at once. A part
/// before the last ends with a line end; if that line end were inside a quoted field, the part's
/// own check would report a quote left open, so parts that all pass are whole records of the
/// input and their verdict is the input's. On any error the whole input is checked again in
/// order, so the error (and its line) is exactly [`check_framing`]'s.
pub fn check_framing_parallel(
    bytes: &[u8],
    max: usize,
    fields: usize,
    threads: usize,
) -> Result<Framing, FramingError> {
    let cuts = line_cuts(bytes, threads);
    if cuts.len() <= 2 {
        return check_framing(bytes, max, fields);
    }
    let verdicts = in_parts(bytes, &cuts, |_, part| check_framing(part, max, fields));
    let mut framing = Framing::default();
    for verdict in verdicts {
        match verdict {
            Ok(part) => framing.empty_lines += part.empty_lines,
            Err(_) => return check_framing(bytes, max, fields),
        }
    }
    Ok(framing)
}

/// Where to cut `bytes` into about `parts` pieces of equal size, each cut just after a line
/// feed: `[0, c1, …, len]`, no piece empty (fewer pieces when the lines are too long). A cut may
/// fall inside a quoted field; a reader of the piece before it then ends inside quotes and says
/// so, which is how [`check_framing_parallel`] and the Polars strategies' row check know their
/// pieces were whole records.
pub fn line_cuts(bytes: &[u8], parts: usize) -> Vec<usize> {
    let mut cuts = vec![0];
    for k in 1..parts.max(1) {
        let from = (bytes.len() / parts * k).max(*cuts.last().expect("starts with 0"));
        match memchr::memchr(b'\n', &bytes[from..]) {
            Some(i) if from + i + 1 < bytes.len() => cuts.push(from + i + 1),
            _ => break,
        }
    }
    cuts.dedup();
    cuts.push(bytes.len());
    cuts
}

/// `f(i, piece)` for each piece of `bytes` between consecutive `cuts` (as [`line_cuts`] gives
/// them), the first on this thread and the others on threads of their own, all at once; the
/// results in piece order. A panic in a piece is resumed here.
pub fn in_parts<T: Send>(
    bytes: &[u8],
    cuts: &[usize],
    f: impl Fn(usize, &[u8]) -> T + Sync,
) -> Vec<T> {
    let f = &f;
    std::thread::scope(|s| {
        let rest: Vec<_> = cuts
            .windows(2)
            .enumerate()
            .skip(1)
            .map(|(i, w)| s.spawn(move || f(i, &bytes[w[0]..w[1]])))
            .collect();
        let first = cuts.get(1).map(|&end| f(0, &bytes[..end]));
        first
            .into_iter()
            .chain(rest.into_iter().map(|h| {
                h.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            }))
            .collect()
    })
}

/// What [`check_framing`] saw in a well-framed input.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Framing {
    /// Empty lines (they hold no record).
    pub empty_lines: u64,
}

/// What [`check_framing`] found.
#[derive(Debug)]
pub enum FramingError {
    Read(ReadError),
    /// The input ends inside the quoted field of the record starting at `line`.
    Unterminated {
        line: u64,
    },
    /// The record starting at `line` does not have the header's field count.
    FieldCount {
        line: u64,
    },
    /// The record starting at `line` has a quote inside an unquoted field, or text after a
    /// closing quote (engines disagree on what those mean; the kernel refuses them).
    BadQuote {
        line: u64,
    },
    /// The record starting at `line` holds separators and quotes only: every field is empty.
    /// (An engine may read it as it reads an empty line, a row of nulls.)
    NoValues {
        line: u64,
    },
}

impl From<io::Error> for FramingError {
    fn from(e: io::Error) -> Self {
        FramingError::Read(ReadError::Io(e))
    }
}

/// Hands the record's next piece to `take` (the bytes up to and including its terminating line
/// feed, or every byte buffered) and consumes it. Returns whether the record ended there, or
/// `None` at the end of the input.
fn piece<R: BufRead, E: From<io::Error>>(
    inner: &mut R,
    scanner: &mut Scanner,
    mut take: impl FnMut(&[u8]) -> Result<(), E>,
) -> Result<Option<bool>, E> {
    let data = inner.fill_buf()?;
    if data.is_empty() {
        return Ok(None);
    }
    let (n, done) = match scanner.find_end(data) {
        Some(e) => (e + 1, true),
        None => (data.len(), false),
    };
    take(&data[..n])?;
    inner.consume(n);
    Ok(Some(done))
}

/// Makes room for `more` bytes, doubling as usual but never past `cap` (the record maximum), so
/// the buffer of a record near the maximum holds at most the maximum, not twice it.
fn grow_within(buf: &mut Vec<u8>, more: usize, cap: usize) {
    let need = buf.len() + more;
    if need > buf.capacity() {
        let target = (buf.capacity() * 2).max(need).min(cap.max(need));
        buf.reserve_exact(target - buf.len());
    }
}

/// The quote state at the end of `data`, for each state it may have started in (a range of a
/// file scanned before the ranges before it are known). Indexed by [`state_index`].
pub fn transitions(data: &[u8]) -> [QuoteState; 4] {
    // The four scanners run in step until a line feed ends a record for all of them, which
    // leaves them in one state (usually on the first line); one scanner does the rest.
    let mut sc = STATES.map(Scanner::new);
    let mut i = 0;
    while let Some(k) = memchr::memchr2(b'"', b'\n', &data[i..]) {
        let j = i + k;
        for s in &mut sc {
            s.gap(&data[i..j]);
            s.event(data[j]);
        }
        i = j + 1;
        if data[j] == b'\n' && sc.iter().all(|s| s.state == sc[0].state) {
            let mut one = sc[0];
            let mut rest = &data[i..];
            while let Some(e) = one.find_end(rest) {
                rest = &rest[e + 1..];
            }
            return [one.state; 4];
        }
    }
    for s in &mut sc {
        s.gap(&data[i..]);
    }
    sc.map(|s| s.state)
}

/// Every quote state, in [`state_index`] order.
pub const STATES: [QuoteState; 4] = [
    QuoteState::Out {
        at_field_start: true,
    },
    QuoteState::Out {
        at_field_start: false,
    },
    QuoteState::In,
    QuoteState::Closed,
];

/// A state's index in [`STATES`].
pub fn state_index(s: QuoteState) -> usize {
    STATES
        .iter()
        .position(|&x| x == s)
        .expect("every state is listed")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The records of `data`, read by both readers, which must agree (a copying `BufRead`
    /// reader with a small buffer, and the borrowing slice reader).
    fn records(data: &[u8], max: usize) -> Vec<Result<(u64, String, bool), String>> {
        let copied = collect(&mut RecordReader::new(
            std::io::BufReader::with_capacity(7, data),
            max,
        ));
        let borrowed = collect(&mut SliceRecords::new(data, max));
        assert_eq!(copied, borrowed, "RecordReader and SliceRecords disagree");
        copied
    }

    fn collect(r: &mut impl Records) -> Vec<Result<(u64, String, bool), String>> {
        let mut out = Vec::new();
        loop {
            match r.next_record() {
                Ok(Some(rec)) => out.push(Ok((
                    rec.line,
                    String::from_utf8_lossy(rec.bytes).into_owned(),
                    rec.unterminated,
                ))),
                Ok(None) => break,
                Err(e) => {
                    out.push(Err(e.to_string()));
                    break;
                }
            }
        }
        out
    }

    #[test]
    fn quoted_line_feeds_stay_in_their_record_and_lines_are_physical() {
        let data = b"a,\"x\ny\",b\r\n\nc,\"\"\"q\"\"\",d\ne,\"1\r\n2\r\n3\"\nf";
        assert_eq!(
            records(data, 100),
            vec![
                Ok((1, "a,\"x\ny\",b".into(), false)),
                Ok((4, "c,\"\"\"q\"\"\",d".into(), false)),
                Ok((5, "e,\"1\r\n2\r\n3\"".into(), false)),
                Ok((8, "f".into(), false)),
            ]
        );
    }

    #[test]
    fn a_quote_inside_an_unquoted_field_is_a_literal() {
        let data = b"ab\"c,d\ne,f\n";
        assert_eq!(
            records(data, 100),
            vec![
                Ok((1, "ab\"c,d".into(), false)),
                Ok((2, "e,f".into(), false))
            ]
        );
    }

    #[test]
    fn an_open_quote_at_the_end_is_unterminated() {
        let data = b"a,b\nc,\"open\nd,e\n";
        assert_eq!(
            records(data, 100),
            vec![
                Ok((1, "a,b".into(), false)),
                Ok((2, "c,\"open\nd,e\n".into(), true))
            ]
        );
        let mut r = RecordReader::new(&data[..], 100);
        while r.next_record().unwrap().is_some() {}
        assert_eq!(r.lines_read(), 3, "three physical lines");
    }

    #[test]
    fn empty_lines_crlf_and_too_long_records_read_the_same_from_a_slice() {
        let data = b"\n\r\na,b\r\n\n\nc,\"x\r\n\ny\"\r\nlong,long,long\nd,e";
        assert_eq!(
            records(data, 100),
            vec![
                Ok((3, "a,b".into(), false)),
                Ok((6, "c,\"x\r\n\ny\"".into(), false)),
                Ok((9, "long,long,long".into(), false)),
                Ok((10, "d,e".into(), false)),
            ]
        );
        assert_eq!(
            records(data, 10).last(),
            Some(&Err("record longer than 10 bytes".to_string()))
        );
    }

    #[test]
    fn a_long_record_stops_early_with_its_first_line() {
        let mut data = b"a,b\n\"".to_vec();
        data.extend(std::iter::repeat_n(b'x', 10_000));
        let mut r = RecordReader::new(std::io::BufReader::with_capacity(64, &data[..]), 1000);
        assert!(r.next_record().unwrap().is_some());
        match r.next_record() {
            Err(ReadError::TooLong { line, max }) => assert_eq!((line, max), (2, 1000)),
            other => panic!("{other:?}"),
        }
        assert!(r.buf.capacity() < 2 * 1000, "buffered {}", r.buf.capacity());
    }

    #[test]
    fn record_sizes_are_checked_without_buffering() {
        let ok = b"a,b\nc,\"d\ne\"\n\nf,f\n";
        assert_eq!(
            check_framing(&ok[..], 7, 2).unwrap(),
            Framing { empty_lines: 1 }
        );
        assert!(check_framing(&ok[..], 6, 2).is_err());
        match check_framing(&ok[..], 7, 1) {
            Err(FramingError::FieldCount { line }) => assert_eq!(line, 1),
            other => panic!("{other:?}"),
        }
        let mut long = b"a,b\n\"x\ny\",1\n".to_vec();
        long.extend(std::iter::repeat_n(b'z', 100));
        match check_framing(&long[..], 10, 2) {
            Err(FramingError::Read(ReadError::TooLong { line, max })) => {
                assert_eq!((line, max), (4, 10))
            }
            other => panic!("{other:?}"),
        }
        match check_framing(&b"a,x\nb,\"c\nd"[..], 10, 2) {
            Err(FramingError::Unterminated { line }) => assert_eq!(line, 2),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn transitions_compose_like_one_scan() {
        let data: &[u8] = b"1,\"a\nb\",c\n2,\"x\"\"y\",z\n3,p\"q,\"r\ns\"\n";
        for cut in 0..data.len() {
            let (a, b) = data.split_at(cut);
            let ta = transitions(a);
            let tb = transitions(b);
            let whole = transitions(data);
            for s in 0..4 {
                assert_eq!(tb[state_index(ta[s])], whole[s], "cut {cut} state {s}");
            }
        }
    }
}
