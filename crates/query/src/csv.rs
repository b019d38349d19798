//! Records of a delimited text file (CSV, TSV, any one-byte delimiter), RFC 4180 quoting, read
//! with `csv-core` into one reused buffer: memory stays bounded by the longest record (at most
//! [`MAX_RECORD`] bytes) plus the reader's buffer, whatever the file holds. Every record knows
//! the physical line it starts on, so an error can name it.

use std::fmt;
use std::io::{self, BufRead};

use csv_core::{ReadRecordResult, Reader, ReaderBuilder};

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
    data: &'a [u8],
    ends: &'a [usize],
}

impl<'a> Record<'a> {
    /// How many fields it has.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether it has no field (never true for a record read from a file).
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Field `i`'s bytes.
    #[inline]
    pub fn field(&self, i: usize) -> &'a [u8] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.data[start..self.ends[i]]
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
        }
    }

    /// The reader it reads from.
    pub fn into_inner(self) -> R {
        self.inner
    }

    /// The next record, or `None` at the end of the input. A UTF-8 byte-order mark at the start
    /// is skipped.
    pub fn next_record(&mut self) -> Result<Option<Record<'_>>, ReadError> {
        if !self.started {
            self.started = true;
            let buf = self.inner.fill_buf()?;
            if buf.starts_with(b"\xEF\xBB\xBF") {
                self.inner.consume(3);
            }
        }
        let (mut nout, mut nend) = (0, 0);
        // The record starts at its first byte that is not a line terminator (blank lines and
        // the rest of the previous record's `\r\n` come first).
        let mut start: Option<u64> = None;
        loop {
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
            }
            self.newlines += memchr::memchr_iter(b'\n', used).count() as u64;
            self.inner.consume(nin);
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
                    return Ok(Some(Record {
                        line: start.unwrap_or(self.newlines + 1),
                        data: &self.out[..nout],
                        ends: &self.ends[..nend],
                    }));
                }
                ReadRecordResult::End => return Ok(None),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(text: &[u8], delim: u8) -> Vec<(u64, Vec<String>)> {
        let mut r = CsvReader::new(io::BufReader::with_capacity(7, text), delim);
        let mut v = Vec::new();
        while let Some(rec) = r.next_record().unwrap() {
            let f = rec
                .fields()
                .map(|f| String::from_utf8_lossy(f).into_owned())
                .collect();
            v.push((rec.line, f));
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
    }
}
