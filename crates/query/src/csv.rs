//! Records of a delimited text file (CSV, TSV, any one-byte delimiter), RFC 4180 quoting. Lines
//! that are whole in the read buffer and simple (no escaped quote, no line break inside a
//! field, no stray carriage return) are found and split where they lie, a batch at a time, by
//! the kernel's structural index (`membench_kernel::structural`: 64 bytes at a time, the quote
//! state by prefix XOR); a simple line the index does not take is split with `memchr`; any
//! other record is read by `csv-core` into one reused buffer. Memory stays bounded by the longest record (at
//! most [`MAX_RECORD`] bytes) plus the reader's buffer, whatever the file holds. Every record
//! knows the physical line it starts on, so an error can name it.

use std::fmt;
use std::io::{self, BufRead};

use csv_core::{ReadRecordResult, Reader, ReaderBuilder};
use membench_kernel::structural::{Level, plain_lines};

/// The longest record read (longer is an error, not an allocation).
pub const MAX_RECORD: usize = 64 << 20;

/// Why the next record could not be read.
#[derive(Debug)]
pub enum ReadError {
    Io(io::Error),
    /// The record starting at `line` is longer than [`MAX_RECORD`] bytes.
    TooLong {
        line: u64,
    },
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::Io(e) => write!(f, "read failed: {e}"),
            ReadError::TooLong { line } => {
                write!(f, "line {line}: a record longer than {MAX_RECORD} bytes")
            }
        }
    }
}

impl From<io::Error> for ReadError {
    fn from(e: io::Error) -> Self {
        ReadError::Io(e)
    }
}

/// One record: its fields (quotes removed, `""` unescaped) and the line it starts on.
#[derive(Debug)]
pub struct Record<'a> {
    /// The physical line the record starts on (1-based).
    pub line: u64,
    /// Where it starts: bytes from where the reader began.
    pub start: u64,
    /// Every byte of it is known to be ASCII (`false`: not looked at).
    pub ascii: bool,
    data: &'a [u8],
    /// Where the fields are in `data`: `(start, end)` each.
    spans: &'a [(usize, usize)],
}

impl<'a> Record<'a> {
    /// How many fields it has.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// Whether it has no field (never true for a record read from a file).
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// Field `i`'s bytes.
    #[inline]
    pub fn field(&self, i: usize) -> &'a [u8] {
        let (start, end) = self.spans[i];
        &self.data[start..end]
    }

    /// The fields in order.
    pub fn fields(&self) -> impl Iterator<Item = &'a [u8]> + '_ {
        (0..self.len()).map(|i| self.field(i))
    }
}

/// Reads records from a `BufRead`.
pub struct CsvReader<R> {
    inner: R,
    core: Reader,
    out: Vec<u8>,
    ends: Vec<usize>,
    started: bool,
    /// Line feeds consumed so far.
    newlines: u64,
    delimiter: u8,
    /// The record's field spans, and the bytes of a line still to consume.
    spans: Vec<(usize, usize)>,
    /// The fields of a record with escaped quotes, unescaped.
    unescaped: Vec<u8>,
    pending: usize,
    /// Bytes consumed from `inner` so far.
    consumed: u64,
    /// Lines found by the structural index in the buffer, served one by one.
    batch: Batch,
    /// The index's level (`None`: a delimiter it cannot take).
    level: Option<Level>,
}

/// Simple lines found at the start of the read buffer: each record's place, and the field spans
/// of all of them (each relative to its record's start).
#[derive(Default)]
struct Batch {
    recs: Vec<BatchRec>,
    spans: Vec<(usize, usize)>,
    next: usize,
}

#[derive(Clone, Copy)]
struct BatchRec {
    /// Blank lines just before it.
    blanks: u64,
    start: usize,
    len: usize,
    /// Where the next line starts.
    next: usize,
    spans: (usize, usize),
    ascii: bool,
    /// A quoted field holds escaped quotes (`""`), unescaped when the record is handed out.
    escaped: bool,
}

/// The most field spans one batch holds (a record of more still gets a batch of its own).
const BATCH_SPANS: usize = 256;

impl Batch {
    /// Finds the simple lines at the start of `data` (a record start).
    fn fill(&mut self, data: &[u8], delim: u8, level: Level) {
        self.recs.clear();
        self.spans.clear();
        self.next = 0;
        let (recs, spans) = (&mut self.recs, &mut self.spans);
        let mut blanks = 0;
        plain_lines::<true>(data, delim, MAX_RECORD, level, spans, true, |l, _| {
            if l.len == 0 {
                blanks += 1;
                return true;
            }
            recs.push(BatchRec {
                blanks,
                start: l.start,
                len: l.len,
                next: l.lf + 1,
                spans: l.fields,
                ascii: l.ascii,
                escaped: l.escaped,
            });
            blanks = 0;
            l.fields.1 < BATCH_SPANS
        });
    }
}

impl<R> fmt::Debug for CsvReader<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CsvReader")
            .field("newlines", &self.newlines)
            .finish()
    }
}

impl<R: BufRead> CsvReader<R> {
    /// A reader splitting fields on `delimiter`.
    pub fn new(inner: R, delimiter: u8) -> Self {
        CsvReader {
            inner,
            core: ReaderBuilder::new().delimiter(delimiter).build(),
            out: vec![0; 4096],
            ends: vec![0; 64],
            started: false,
            newlines: 0,
            delimiter,
            spans: Vec::with_capacity(64),
            unescaped: Vec::new(),
            pending: 0,
            consumed: 0,
            batch: Batch::default(),
            level: (!matches!(delimiter, b'"' | b'\r' | b'\n')).then(Level::best),
        }
    }

    /// The index's level (tests compare them).
    #[cfg(test)]
    fn at_level(mut self, level: Option<Level>) -> Self {
        self.level = level;
        self
    }

    /// A reader starting at a record start inside a file (no byte-order mark is looked for).
    pub fn mid_file(inner: R, delimiter: u8) -> Self {
        let mut r = CsvReader::new(inner, delimiter);
        r.started = true;
        r
    }

    /// Where the next record (or blank line) starts: bytes from where the reader began.
    pub fn position(&self) -> u64 {
        self.consumed + self.pending as u64
    }

    /// Consumes `n` bytes of the read buffer.
    #[inline]
    fn eat(&mut self, n: usize) {
        self.inner.consume(n);
        self.consumed += n as u64;
    }

    /// The reader it reads from (the last record consumed).
    pub fn into_inner(mut self) -> R {
        self.inner.consume(self.pending);
        self.inner
    }

    /// The next record, or `None` at the end of the input. A UTF-8 byte-order mark at the start
    /// is skipped.
    ///
    /// A line that is whole in the read buffer and holds no quote and no carriage return
    /// before its end is split where it lies, with `memchr` (most lines of most files); any
    /// other record goes through `csv-core`. Both give the same fields: without quotes, RFC
    /// 4180 fields are the bytes between delimiters.
    pub fn next_record(&mut self) -> Result<Option<Record<'_>>, ReadError> {
        if !self.started {
            self.started = true;
            let buf = self.inner.fill_buf()?;
            if buf.starts_with(b"\xEF\xBB\xBF") {
                self.eat(3);
            }
        }
        if self.batch.next < self.batch.recs.len() {
            return self.next_of_batch();
        }
        if self.pending > 0 {
            let n = std::mem::take(&mut self.pending);
            self.eat(n);
        }
        if let Some(level) = self.level {
            let buf = self.inner.fill_buf()?;
            self.batch.fill(buf, self.delimiter, level);
            if !self.batch.recs.is_empty() {
                return self.next_of_batch();
            }
        }
        loop {
            // Split a whole line in the buffer where it lies (the buffer's borrow ends with
            // this block).
            let (nl, len) = {
                let buf = self.inner.fill_buf()?;
                let Some(nl) = memchr::memchr(b'\n', buf) else {
                    break;
                };
                let line = &buf[..nl];
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                match memchr::memchr2(b'"', b'\r', line) {
                    None => {
                        // The common line: fields are the bytes between delimiters.
                        self.spans.clear();
                        let mut from = 0;
                        for d in memchr::memchr_iter(self.delimiter, line) {
                            self.spans.push((from, d));
                            from = d + 1;
                        }
                        self.spans.push((from, line.len()));
                    }
                    Some(_) if memchr::memchr(b'\r', line).is_some() => break,
                    Some(_) => {
                        if !split_line(line, self.delimiter, &mut self.spans) {
                            break;
                        }
                    }
                }
                (nl, line.len())
            };
            self.newlines += 1;
            if len == 0 {
                // A blank line is no record (as csv-core skips it).
                self.eat(nl + 1);
                continue;
            }
            self.pending = nl + 1;
            // Not consumed yet: the same bytes again.
            let buf = self.inner.fill_buf()?;
            return Ok(Some(Record {
                line: self.newlines,
                start: self.consumed,
                ascii: false,
                data: &buf[..len],
                spans: &self.spans,
            }));
        }
        // A record at record start: csv-core's state is fresh for it.
        self.core.reset();
        let (mut nout, mut nend) = (0, 0);
        // The record starts at its first byte that is not a line terminator (blank lines and
        // the rest of the previous record's `\r\n` come first).
        let mut start: Option<u64> = None;
        let mut start_byte = self.consumed;
        loop {
            let consumed = self.consumed;
            let input = self.inner.fill_buf()?;
            let (res, nin, o, e) =
                self.core
                    .read_record(input, &mut self.out[nout..], &mut self.ends[nend..]);
            let used = &input[..nin];
            if start.is_none()
                && let Some(i) = used.iter().position(|&c| c != b'\n' && c != b'\r')
            {
                let before = memchr::memchr_iter(b'\n', &used[..i]).count() as u64;
                start = Some(self.newlines + 1 + before);
                start_byte = consumed + i as u64;
            }
            self.newlines += memchr::memchr_iter(b'\n', used).count() as u64;
            self.eat(nin);
            nout += o;
            nend += e;
            match res {
                ReadRecordResult::InputEmpty => {}
                ReadRecordResult::OutputFull => {
                    if self.out.len() >= MAX_RECORD {
                        return Err(ReadError::TooLong {
                            line: start.unwrap_or(self.newlines + 1),
                        });
                    }
                    let n = (self.out.len() * 2).min(MAX_RECORD);
                    self.out.resize(n, 0);
                }
                ReadRecordResult::OutputEndsFull => {
                    let n = self.ends.len() * 2;
                    self.ends.resize(n, 0);
                }
                ReadRecordResult::Record => {
                    // csv-core writes the fields back to back.
                    self.spans.clear();
                    let mut from = 0;
                    for &end in &self.ends[..nend] {
                        self.spans.push((from, end));
                        from = end;
                    }
                    return Ok(Some(Record {
                        line: start.unwrap_or(self.newlines + 1),
                        start: start_byte,
                        ascii: false,
                        data: &self.out[..nout],
                        spans: &self.spans,
                    }));
                }
                ReadRecordResult::End => return Ok(None),
            }
        }
    }
}

impl<R: BufRead> CsvReader<R> {
    /// The batch's next record (there is one); the buffer is consumed when the batch is done.
    #[inline]
    fn next_of_batch(&mut self) -> Result<Option<Record<'_>>, ReadError> {
        let r = self.batch.recs[self.batch.next];
        self.batch.next += 1;
        self.newlines += r.blanks + 1;
        self.pending = r.next;
        // Nothing consumed since the batch was found: the same bytes again.
        let buf = self.inner.fill_buf()?;
        let line = &buf[r.start..r.start + r.len];
        let spans = &self.batch.spans[r.spans.0..r.spans.1];
        if r.escaped {
            // Each `""` inside a quoted field's span is one quote.
            membench_kernel::structural::unescape_fields(
                line,
                spans,
                &mut self.unescaped,
                &mut self.spans,
            );
            return Ok(Some(Record {
                line: self.newlines,
                start: self.consumed + r.start as u64,
                ascii: r.ascii,
                data: &self.unescaped,
                spans: &self.spans,
            }));
        }
        Ok(Some(Record {
            line: self.newlines,
            start: self.consumed + r.start as u64,
            ascii: r.ascii,
            data: line,
            spans,
        }))
    }
}

/// Splits one line (no line terminator inside) into field spans, as RFC 4180 reads it, when it
/// is simple: unquoted fields without quotes, quoted fields without escaped quotes and closed
/// right before a delimiter or the end. `false` for anything else (csv-core reads it then).
fn split_line(line: &[u8], delim: u8, spans: &mut Vec<(usize, usize)>) -> bool {
    spans.clear();
    let mut i = 0;
    loop {
        if line.get(i) == Some(&b'"') {
            let start = i + 1;
            let Some(close) = memchr::memchr(b'"', &line[start..]).map(|c| c + start) else {
                return false;
            };
            spans.push((start, close));
            match line.get(close + 1) {
                None => return true,
                Some(&d) if d == delim => i = close + 2,
                Some(_) => return false,
            }
            if i == line.len() {
                // A delimiter right at the end: one more, empty field.
                spans.push((i, i));
                return true;
            }
        } else {
            let rest = &line[i..];
            let end = memchr::memchr(delim, rest).map_or(line.len(), |p| i + p);
            if memchr::memchr(b'"', &line[i..end]).is_some() {
                return false;
            }
            spans.push((i, end));
            if end == line.len() {
                return true;
            }
            i = end + 1;
            if i == line.len() {
                spans.push((i, i));
                return true;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(text: &[u8], delim: u8) -> Vec<(u64, Vec<String>)> {
        all_with(text, delim, 7)
            .into_iter()
            .map(|(line, _, f)| (line, f))
            .collect()
    }

    fn all_with(text: &[u8], delim: u8, capacity: usize) -> Vec<(u64, u64, Vec<String>)> {
        all_at(text, delim, capacity, Some(Level::best()))
    }

    /// Each record's line, start (bytes) and fields.
    fn all_at(
        text: &[u8],
        delim: u8,
        capacity: usize,
        level: Option<Level>,
    ) -> Vec<(u64, u64, Vec<String>)> {
        let mut r =
            CsvReader::new(io::BufReader::with_capacity(capacity, text), delim).at_level(level);
        let mut v = Vec::new();
        while let Some(rec) = r.next_record().unwrap() {
            let f = rec
                .fields()
                .map(|f| String::from_utf8_lossy(f).into_owned())
                .collect();
            v.push((rec.line, rec.start, f));
        }
        v
    }

    #[test]
    fn quoted_fields_lines_and_delimiters() {
        let got = all(
            b"\xEF\xBB\xBFa,b\n1,\"x, \"\"y\"\"\"\n2,\"two\nlines\"\r\n\n3,z",
            b',',
        );
        assert_eq!(
            got,
            vec![
                (1, vec!["a".into(), "b".into()]),
                (2, vec!["1".into(), "x, \"y\"".into()]),
                (3, vec!["2".into(), "two\nlines".into()]),
                (6, vec!["3".into(), "z".into()]),
            ]
        );
        let tsv = all(b"a\tb\n1\t2,3\n", b'\t');
        assert_eq!(tsv[1], (2, vec!["1".into(), "2,3".into()]));
        // Where each record starts, past blank lines and a CRLF's line feed.
        let text = b"a,b\n1,2\r\n\n\"3\",4\n5,6";
        let starts: Vec<u64> = all_with(text, b',', 1 << 16).iter().map(|r| r.1).collect();
        assert_eq!(starts, [0, 4, 10, 16]);
    }

    /// Lines of plain, quoted, escaped, multi-line, CRLF and blank records, `;` or `,`
    /// separated.
    fn random_text(seed: u64) -> Vec<u8> {
        let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        let mut next = |n: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % n
        };
        let sep = if seed.is_multiple_of(3) { b';' } else { b',' };
        let mut out = Vec::new();
        for _ in 0..40 {
            let fields = 1 + next(6);
            for f in 0..fields {
                if f > 0 {
                    out.push(sep);
                }
                match next(12) {
                    0 => out.extend_from_slice(b"\"quoted, with; seps\""),
                    1 => out.extend_from_slice(b"\"esc\"\"aped\""),
                    2 => out.extend_from_slice(b"\"two\nlines\""),
                    3 => out.extend_from_slice(b"stray\"quote"),
                    4 => out.extend_from_slice("ümlaut".as_bytes()),
                    5 => {}
                    _ => out.extend_from_slice(&b"value-of-some-length"[..next(20) as usize]),
                }
            }
            out.extend_from_slice(match next(10) {
                0 => b"\r\n",
                1 => b"\n\n",
                _ => b"\n",
            });
        }
        out
    }

    #[test]
    fn the_memchr_path_and_csv_core_give_the_same_records() {
        // A buffer of one byte never holds a whole line: csv-core reads everything. A large
        // one takes the memchr path wherever a line has no quote and no inner CR.
        let inputs: [&[u8]; 8] = [
            b"a,\"b,c\",\"\"\n\"x\"\"y\",2,\"\"\n\"open,1\n2\",3\n4,\"5\" ,6\n7,8\"9,0\n",
            b"\"a\",\n,\"b\"\n\"\",\"\"\n",
            b"q;\"r;s\";t\n\"u\"\";\"v\"\n",
            b"a,b,c\n1,2,3\n\n4,,6\r\n\"q,1\",x,y\n7,8,9",
            b"h\n\"multi\nline\"\nplain\n\r\n\"\"\n",
            b"x,y\r1,2\r\n3,4\n",
            b"a;b\n1;\"2;3\"\n4;5\n",
            b"\n\n,\n,,\n",
        ];
        // The structural index reads 64 bytes at a time: the same inputs again, long enough
        // for it, and random text of every kind of line.
        let long: Vec<Vec<u8>> = inputs.iter().map(|t| t.repeat(9)).collect();
        let random: Vec<Vec<u8>> = (0..200u64).map(random_text).collect();
        let all_inputs = inputs
            .iter()
            .copied()
            .chain(long.iter().map(Vec::as_slice))
            .chain(random.iter().map(Vec::as_slice));
        for text in all_inputs {
            let delim = if text.contains(&b';') { b';' } else { b',' };
            let slow = all_with(text, delim, 1);
            for cap in [2, 5, 16, 1 << 16] {
                for level in Level::available().into_iter().map(Some).chain([None]) {
                    assert_eq!(
                        all_at(text, delim, cap, level),
                        slow,
                        "{:?} with a {cap}-byte buffer, index {level:?}",
                        String::from_utf8_lossy(text)
                    );
                }
            }
        }
    }
}
