//! Splitting a CSV file into byte ranges that workers read on their own, exactly: a range owns
//! the records that *start* in it, and record boundaries are found from the true quote state at
//! each range start, never guessed from "the next line feed" (a quoted field may hold line
//! feeds).
//!
//! The quote state at each range start comes from a first pass over the ranges in parallel:
//! each range's scan gives its end state for every state it could start in (four), and a
//! sequential composition of those small tables gives every range's true start state.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use anyhow::Context;
use membench_kernel::record::{STATES, state_index, transitions};
use membench_kernel::{HeaderLayout, InputError, LineParser, QuoteState, RecordReader};

use crate::csv_io::{Counts, READ_BUF, check_header, fold_all};
use crate::{Params, RowSink, RunError};

/// Where a CSV file's data is.
#[derive(Debug, Clone)]
pub struct CsvSpan {
    /// Byte offset of the first data record (after the header).
    pub data_start: u64,
    /// File length.
    pub len: u64,
    /// Physical lines of the header.
    pub header_lines: u64,
    pub layout: HeaderLayout,
    pub max_record_bytes: usize,
}

/// Checks the header once; returns where the data is.
pub fn csv_span(p: &Params) -> Result<CsvSpan, RunError> {
    let path = &p.input;
    let file = File::open(path).with_context(|| format!("{}: cannot open", path.display()))?;
    let len = file
        .metadata()
        .with_context(|| format!("{}: cannot stat", path.display()))?
        .len();
    let mut reader = RecordReader::new(BufReader::new(file), p.max_record_bytes);
    let layout = check_header(path, &mut reader, &mut LineParser::new())?;
    Ok(CsvSpan {
        data_start: reader.position(),
        len,
        header_lines: reader.lines_read(),
        layout,
        max_record_bytes: p.max_record_bytes,
    })
}

/// A byte range of the data and the quote state at its start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    pub start: u64,
    pub end: u64,
    pub entry: QuoteState,
}

/// `[start, end)` cut into pieces of `size` bytes (the last one shorter).
pub fn cut(start: u64, end: u64, size: u64) -> Vec<(u64, u64)> {
    let size = size.max(1);
    (start..end)
        .step_by(size as usize)
        .map(|s| (s, (s + size).min(end)))
        .collect()
}

/// The end state of `[start, end)` for each start state (indexed like `STATES`).
fn range_transitions(path: &Path, start: u64, end: u64) -> Result<[QuoteState; 4], RunError> {
    let mut file = File::open(path).with_context(|| format!("{}: cannot open", path.display()))?;
    file.seek(SeekFrom::Start(start)).context("seek")?;
    let mut reader = BufReader::with_capacity(READ_BUF, file.take(end - start));
    let mut cur = STATES;
    loop {
        let data = reader.fill_buf().context("read")?;
        if data.is_empty() {
            break;
        }
        let t = transitions(data);
        cur = cur.map(|s| t[state_index(s)]);
        let n = data.len();
        reader.consume(n);
    }
    Ok(cur)
}

/// The ranges with their true start states: transitions of every piece on `threads` threads,
/// then composed in order from the data start (a record start).
pub fn ranges(path: &Path, pieces: &[(u64, u64)], threads: usize) -> Result<Vec<Range>, RunError> {
    let per = pieces.len().div_ceil(threads.max(1)).max(1);
    let tables: Vec<Result<Vec<[QuoteState; 4]>, RunError>> = std::thread::scope(|s| {
        let handles: Vec<_> = pieces
            .chunks(per)
            .map(|chunk| {
                s.spawn(move || {
                    chunk
                        .iter()
                        .map(|&(a, b)| range_transitions(path, a, b))
                        .collect()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(RunError::Other(anyhow::anyhow!("a scan panicked"))))
            })
            .collect()
    });
    let mut state = QuoteState::START;
    let mut out = Vec::with_capacity(pieces.len());
    let tables = tables.into_iter().collect::<Result<Vec<_>, _>>()?;
    for (&(start, end), t) in pieces.iter().zip(tables.into_iter().flatten()) {
        out.push(Range {
            start,
            end,
            entry: state,
        });
        state = t[state_index(state)];
    }
    Ok(out)
}

/// Folds the records that *start* in `range`. Returns the counts, and how many physical lines
/// those records hold (so that the caller can turn local line numbers into file line numbers).
pub fn fold_range(
    p: &Params,
    span: &CsvSpan,
    range: Range,
    sink: &mut (impl RowSink + ?Sized),
) -> (Result<Counts, RunError>, u64) {
    let path = &p.input;
    let mut lines = 0;
    let r = (|| -> Result<Counts, RunError> {
        let mut file =
            File::open(path).with_context(|| format!("{}: cannot open", path.display()))?;
        let at_record_start = range.start == span.data_start
            || (range.entry != QuoteState::In && byte_before(&mut file, range.start)? == b'\n');
        file.seek(SeekFrom::Start(range.start)).context("seek")?;
        let mut reader = RecordReader::with_range(
            BufReader::with_capacity(READ_BUF, file),
            range.start,
            range.end,
            span.max_record_bytes,
        );
        if !at_record_start {
            // The rest of a record that started in an earlier range.
            reader.skip_to_record_start(range.entry).context("read")?;
        }
        let mut parser = LineParser::new();
        parser.set_layout(&span.layout);
        let r = fold_all(path, &mut reader, &mut parser, p.on_bad_row, sink);
        lines = reader.lines_read();
        r
    })();
    (r, lines)
}

fn byte_before(file: &mut File, pos: u64) -> Result<u8, RunError> {
    let mut b = [0u8; 1];
    file.seek(SeekFrom::Start(pos - 1)).context("seek")?;
    file.read_exact(&mut b).context("read")?;
    Ok(b[0])
}

/// An input error at a range-local line, moved to the file's line numbering.
pub fn rebase(e: RunError, line_base: u64) -> RunError {
    match e {
        RunError::Input(InputError {
            path,
            line: Some(l),
            reason,
        }) => InputError::at_line(path, line_base + l, reason).into(),
        other => other,
    }
}
