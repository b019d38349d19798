//! Splitting a CSV file into byte ranges that workers read on their own, exactly: a range owns
//! the records that *start* in it, and record boundaries are found from the true quote state at
//! each range start, never guessed from "the next line feed" (a quoted field may hold line
//! feeds).
//!
//! `parallel` first speculates: each range assumes its cut falls outside quotes, and afterwards
//! [`speculation_held`] checks that every range began where the one before it ended, which
//! proves the records are the exact ones. Only when it did not does the exact method run: the
//! quote state at each range start comes from a first pass over the ranges in parallel: each
//! range's scan gives its end state for every state it could start in (four), and a sequential
//! composition of those small tables gives every range's true start state.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use anyhow::Context;
use membench_kernel::record::{STATES, state_index, transitions};
use membench_kernel::{HeaderLayout, InputError, LineParser, QuoteState, RecordReader};

use crate::io::csv::{READ_BUF, check_header, fold_all};
use crate::outcome::Counts;
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
    let chunks: Vec<&[(u64, u64)]> = pieces.chunks(per).collect();
    let tables: Vec<Result<Vec<[QuoteState; 4]>, RunError>> =
        crate::io::threads::scoped(chunks.len(), |i| {
            chunks[i]
                .iter()
                .map(|&(a, b)| range_transitions(path, a, b))
                .collect()
        })?
        .into_iter()
        .map(|r| r.and_then(|x| x))
        .collect();
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

/// What folding one range did.
#[derive(Debug)]
pub struct Folded {
    pub result: Result<Counts, RunError>,
    /// Physical lines of the records folded (to turn local line numbers into file ones).
    pub lines: u64,
    /// Where its first record started, and where the record after its last one starts.
    pub first: u64,
    pub next: u64,
}

/// Folds the records that *start* in `range`. Returns the counts, how many physical lines
/// those records hold (so that the caller can turn local line numbers into file line numbers),
/// and where the range's records began and ended.
pub fn fold_range(
    p: &Params,
    span: &CsvSpan,
    range: Range,
    sink: &mut (impl RowSink + ?Sized),
) -> Folded {
    let path = &p.input;
    let (mut lines, mut first, mut next) = (0, range.start, range.start);
    let result = (|| -> Result<Counts, RunError> {
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
        first = reader.position();
        let mut parser = LineParser::new();
        parser.set_layout(&span.layout);
        let r = fold_all(path, &mut reader, &mut parser, p.on_bad_row, sink);
        lines = reader.lines_read();
        next = reader.position();
        r
    })();
    Folded {
        result,
        lines,
        first,
        next,
    }
}

/// Ranges that *assume* each cut falls outside quotes (no first pass over the file). Only the
/// first range's start state is known; [`speculation_held`] says afterwards whether the others
/// began on the record boundaries the exact method ([`ranges`]) would have found.
pub fn speculative_ranges(pieces: &[(u64, u64)]) -> Vec<Range> {
    pieces
        .iter()
        .map(|&(start, end)| Range {
            start,
            end,
            entry: QuoteState::START,
        })
        .collect()
}

/// Whether every range after the first began where the one before it ended: then each began
/// on a true record boundary (by induction from the first, which did) and folded exactly what
/// the exact method would have.
pub fn speculation_held(folds: &[(u64, u64)]) -> bool {
    folds.windows(2).all(|w| w[0].1 == w[1].0)
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

#[cfg(test)]
mod tests {
    use super::*;
    use membench_kernel::Workload;

    /// Folds `text` in two ranges cut at `cut` bytes into the data, speculatively; returns
    /// whether the speculation held and the rows each range read (a range that began
    /// mid-record may have failed: its result only counts when the speculation held).
    fn speculate(text: &str, cut_at: u64) -> (bool, Vec<Result<u64, RunError>>) {
        let path = std::env::temp_dir().join(format!(
            "membench-speculate-{}-{cut_at}.csv",
            std::process::id()
        ));
        std::fs::write(&path, text).unwrap();
        let p = Params::new(Workload::GroupBy, &path);
        let span = csv_span(&p).unwrap();
        let mid = span.data_start + cut_at;
        let ranges = speculative_ranges(&[(span.data_start, mid), (mid, span.len)]);
        let folds: Vec<Folded> = ranges
            .iter()
            .map(|&r| {
                fold_range(
                    &p,
                    &span,
                    r,
                    &mut membench_kernel::Accumulator::new(&p.workload),
                )
            })
            .collect();
        std::fs::remove_file(&path).unwrap();
        let bounds: Vec<(u64, u64)> = folds.iter().map(|f| (f.first, f.next)).collect();
        let rows = folds
            .into_iter()
            .map(|f| f.result.map(|c| c.read))
            .collect();
        (speculation_held(&bounds), rows)
    }

    const HEADER: &str =
        "order_id,order_date,customer_id,region,category,product_id,quantity,price,discount,note\n";

    #[test]
    fn a_cut_outside_quotes_holds_and_one_inside_a_quoted_line_feed_does_not() {
        let row = |id: u32, note: &str| format!("{id},2024-01-01,1,north,books,2,3,4.00,,{note}\n");
        let plain = format!("{HEADER}{}{}", row(1, "a"), row(2, "b"));
        // Any cut in a plain file lands the second range on the next record boundary.
        for cut in [1, 10, 30] {
            let (held, rows) = speculate(&plain, cut);
            assert!(held, "cut {cut}");
            assert_eq!(rows.into_iter().map(Result::unwrap).sum::<u64>(), 2);
        }
        // A cut just after a quoted line feed: assuming "outside quotes" starts the second
        // range mid-record, which the boundary check catches.
        let quoted = format!("{HEADER}{}{}", row(1, "\"x\ny,\nz\""), row(2, "b"));
        let inside = quoted[HEADER.len()..].find("y,").unwrap() as u64;
        let (held, _) = speculate(&quoted, inside);
        assert!(!held);
    }
}
