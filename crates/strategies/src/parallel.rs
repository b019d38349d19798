//! `parallel`: the file is split into byte ranges on record boundaries, found exactly from the
//! quote state at each range start (`csv_split`; row groups for Parquet),
//! processed on `--threads` workers, and the partial results merged (seed 000 §7, seed 004 §2).
//! Memory ≈ workers × one worker's buffers.
//!
//! `etl` must write rows in input order, so it runs as an ordered pipeline instead: the file is
//! cut into many small units (1 MiB of CSV, or one row group), workers clean and encode units in
//! parallel, and the one writer appends them in unit order. At most `threads` units are ahead
//! of the writer, so memory stays bounded by the unit size, not the file.

use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::Context;
use membench_kernel::{Accumulator, COLUMNS};
use rayon::prelude::*;

use crate::checkpoint::Position;
use crate::csv_io::{Counts, Decoding, fold_all, open_csv_with};
use crate::csv_split::{
    CsvSpan, Range, csv_span, cut, fold_range, ranges, rebase, speculation_held, speculative_ranges,
};
use crate::etl_out::{EtlBatch, EtlEncoder};
use crate::parquet_io::{Projection, fold_frame, read_slice, row_groups};
use crate::pipeline::ordered;
use crate::{Compression, Format, Outcome, Output, Params, RunError, Strategy, etl_target, format_of};

pub struct Parallel;

/// One worker's result over its byte range.
struct Part {
    acc: Accumulator,
    counts: Counts,
    lines: u64,
    error: Option<RunError>,
    /// Where the range's first record began, and where the next range's should.
    first: u64,
    next: u64,
}

impl Strategy for Parallel {
    fn run(&self, p: &Params) -> Result<Outcome, RunError> {
        if !Compression::of_path(&p.input).is_none() {
            return run_compressed(p);
        }
        if !p.workload.is_aggregate() {
            return run_etl(p);
        }
        match format_of(&p.input)? {
            Format::Csv => rayon::ThreadPoolBuilder::new()
                .num_threads(p.threads.max(1))
                .build()
                .context("starting the worker pool")?
                .install(|| run_csv(p)),
            Format::Parquet => run_parquet(p),
        }
    }
}

/// A compressed stream cannot be cut into byte ranges: one thread decompresses while this one
/// parses and folds (or writes), so the two overlap (`overlap::Overlapped`).
fn run_compressed(p: &Params) -> Result<Outcome, RunError> {
    let (mut reader, mut parser) =
        open_csv_with(&p.input, &COLUMNS, p.max_record_bytes, Decoding::Overlapped)?;
    // `open` refuses --checkpoint-every here (a compressed stream cannot be resumed).
    let (mut out, _) = Output::open(p, "parallel")?;
    let counts = fold_all(&p.input, &mut reader, &mut parser, p.on_bad_row, &mut out)?;
    out.finish(&p.input, counts)
}

fn run_csv(p: &Params) -> Result<Outcome, RunError> {
    let path = &p.input;
    let span = csv_span(p)?;
    let workers = p.threads.max(1) as u64;
    let size = (span.len - span.data_start).div_ceil(workers).max(1);
    let pieces = cut(span.data_start, span.len, size);
    // First assume no cut falls inside a quoted field (no pass over the file to find out); if
    // a range did not begin where the one before it ended, redo them all from the exact start
    // states.
    let parts = fold_ranges(p, &span, &speculative_ranges(&pieces));
    let bounds: Vec<(u64, u64)> = parts.iter().map(|x| (x.first, x.next)).collect();
    let parts = if speculation_held(&bounds) {
        parts
    } else {
        fold_ranges(p, &span, &ranges(path, &pieces, p.threads)?)
    };
    let mut acc = Accumulator::new(p.workload);
    let mut counts = Counts::default();
    // After the header's lines, each range's local line numbers follow the lines of earlier
    // ranges.
    let mut line_base = span.header_lines;
    for part in parts {
        if let Some(err) = part.error {
            return Err(rebase(err, line_base));
        }
        line_base += part.lines;
        counts.add(part.counts);
        acc.merge(part.acc);
    }
    Output::Fold(acc).finish(path, counts)
}

/// Folds each range on the worker pool.
fn fold_ranges(p: &Params, span: &CsvSpan, ranges: &[Range]) -> Vec<Part> {
    ranges
        .par_iter()
        .map(|&range| {
            let mut acc = Accumulator::new(p.workload);
            let f = fold_range(p, span, range, &mut acc);
            let (counts, error) = match f.result {
                Ok(c) => (c, None),
                Err(e) => (Counts::default(), Some(e)),
            };
            Part {
                acc,
                counts,
                lines: f.lines,
                error,
                first: f.first,
                next: f.next,
            }
        })
        .collect()
}

/// Row groups are handed out one at a time to `--threads` plain scoped threads. Not rayon tasks:
/// a rayon worker that blocks inside Polars (which runs on its own rayon pool) steals more tasks
/// of this pool while it waits, so far more row groups than workers end up in memory at once
/// (measured: peak heap grew with the file, 14 MB at 200k rows to 60 MB at 1M).
fn run_parquet(p: &Params) -> Result<Outcome, RunError> {
    let groups = row_groups(&p.input)?;
    let projection = Projection::of(&p.input, p.workload)?;
    let next = AtomicUsize::new(0);
    let worker = || -> Result<(Accumulator, Counts), RunError> {
        let mut acc = Accumulator::new(p.workload);
        let mut c = Counts::default();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(&(offset, len)) = groups.get(i) else {
                break;
            };
            let df = read_slice(&p.input, offset, len, &projection)?;
            c.add(fold_frame(&p.input, &df, offset, p.on_bad_row, &mut acc)?);
        }
        Ok((acc, c))
    };
    let parts: Vec<Result<(Accumulator, Counts), RunError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..p.threads.max(1)).map(|_| scope.spawn(worker)).collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(RunError::Other(anyhow::anyhow!("a worker panicked"))))
            })
            .collect()
    });
    let mut acc = Accumulator::new(p.workload);
    let mut counts = Counts::default();
    let mut first_error: Option<RunError> = None;
    for part in parts {
        match part {
            Ok((a, c)) => {
                acc.merge(a);
                counts.add(c);
            }
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    if let Some(e) = first_error {
        return Err(e);
    }
    Output::Fold(acc).finish(&p.input, counts)
}

/// Bytes of CSV per `etl` unit: many more units than workers, so the writer can keep them in
/// order with a small window.
const ETL_CSV_UNIT_BYTES: u64 = 1 << 20;

/// A piece of the input one `etl` worker handles.
#[derive(Clone, Copy, Debug)]
enum Unit {
    /// A byte range of a CSV file.
    Bytes(Range),
    /// A Parquet row group: first row, rows.
    RowGroup(usize, usize),
}

impl Unit {
    /// Its first byte (CSV) or row (Parquet).
    fn start(&self) -> u64 {
        match self {
            Unit::Bytes(r) => r.start,
            Unit::RowGroup(o, _) => *o as u64,
        }
    }

    /// Where the next unit starts.
    fn end(&self) -> u64 {
        match self {
            Unit::Bytes(r) => r.end,
            Unit::RowGroup(o, n) => (o + n) as u64,
        }
    }
}

/// One `etl` unit, cleaned and encoded by a worker.
struct EtlPart {
    batch: EtlBatch,
    counts: Counts,
    lines: u64,
}

fn run_etl(p: &Params) -> Result<Outcome, RunError> {
    let path = &p.input;
    let (_, out_format) = etl_target(p)?;
    let threads = p.threads.max(1);
    let input_format = format_of(path)?;
    // Units: byte ranges (CSV) or row groups (Parquet). Checked before the output is created.
    let (mut units, span): (Vec<Unit>, Option<CsvSpan>) = match input_format {
        Format::Csv => {
            let span = csv_span(p)?;
            let pieces = cut(span.data_start, span.len, ETL_CSV_UNIT_BYTES);
            let units = ranges(path, &pieces, threads)?
                .into_iter()
                .map(Unit::Bytes)
                .collect();
            (units, Some(span))
        }
        Format::Parquet => (
            row_groups(path)?
                .into_iter()
                .map(|(o, n)| Unit::RowGroup(o, n))
                .collect(),
            None,
        ),
    };
    let (mut out, mut ck) = Output::open(p, "parallel")?;
    // A resumed run leaves out the units before the checkpoint (it is taken between units).
    let (start, mut counts) = ck.as_ref().map(|c| (c.start, c.counts)).unwrap_or_default();
    units.retain(|u| u.start() >= start.offset);
    let work = |i: usize| -> Result<EtlPart, RunError> {
        let mut enc = EtlEncoder::new(out_format);
        let (counts, lines) = match (units[i], &span) {
            (Unit::Bytes(range), Some(span)) => {
                let f = fold_range(p, span, range, &mut enc);
            let (r, lines) = (f.result, f.lines);
                (r?, lines)
            }
            (Unit::RowGroup(offset, len), _) => {
                let df = read_slice(path, offset, len, &Projection::all())?;
                (fold_frame(path, &df, offset, p.on_bad_row, &mut enc)?, 0)
            }
            (Unit::Bytes(_), None) => unreachable!("CSV units come with their span"),
        };
        Ok(EtlPart {
            batch: enc.take(),
            counts,
            lines,
        })
    };
    // After the header's lines, each unit's local line numbers follow the lines of earlier units.
    let mut line_base = match (start.offset, &span) {
        (0, Some(s)) => s.header_lines,
        _ => start.lines,
    };
    let mut next = 0;
    ordered(units.len(), threads, threads, work, |part| match part {
        Ok(part) => {
            line_base += part.lines;
            counts.add(part.counts);
            let Output::Etl(sink) = &mut out else {
                unreachable!("etl makes an etl output")
            };
            sink.append(part.batch);
            let at = Position {
                offset: units[next].end(),
                lines: line_base,
            };
            next += 1;
            out.tick(&mut ck, part.counts.read + part.counts.skipped, at, counts)
        }
        Err(e) => Err(rebase(e, line_base)),
    })?;
    out.finish_checkpointed(path, counts, ck)
}
