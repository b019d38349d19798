//! `parallel`: the file is split into byte ranges on record boundaries, found exactly from the
//! quote state at each range start (`io::split`; row groups for Parquet),
//! processed on `--threads` workers, and the partial results merged (seed 000 §7, seed 004 §2).
//! Memory ≈ workers × one worker's buffers.
//!
//! `etl` must write rows in input order, so it runs as an ordered pipeline instead: the file is
//! cut into many small units (1 MiB of CSV, or one row group), workers clean and encode units in
//! parallel, and the one writer appends them in unit order. At most `threads` units are ahead
//! of the writer, so memory stays bounded by the unit size, not the file.

use std::sync::atomic::{AtomicUsize, Ordering};

use membench_kernel::{Accumulator, COLUMNS};
use rayon::prelude::*;

use crate::io::checkpoint::Position;
use crate::io::fold::{Columns, fold_input};
use crate::outcome::Counts;
use crate::io::csv::{Decoding, fold_all, open_csv_with};
use crate::io::split::{
    CsvSpan, Range, csv_span, cut, fold_range, ranges, rebase, speculation_held, speculative_ranges,
};
use crate::io::etl_out::{EtlBatch, EtlEncoder};
use crate::io::parquet::{Projection, fold_frame, read_slice_pooled, row_groups};
use crate::io::pipeline::ordered;
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
        if let Some(state) = &p.state {
            // New files handed out whole to the workers, as a folder is read.
            return crate::io::incremental::run(p, state, p.threads.max(1));
        }
        if crate::is_multi_file(&p.input) && p.workload.is_aggregate() {
            return run_files(p);
        }
        if !Compression::of_path(&p.input).is_none() {
            return run_compressed(p);
        }
        if !p.workload.is_aggregate() {
            return run_etl(p);
        }
        match format_of(&p.input)? {
            Format::Csv => crate::io::threads::rayon_pool(p.threads.max(1))?.install(|| run_csv(p)),
            Format::Parquet => run_parquet(p),
        }
    }

    /// `--threads` workers each read a byte range of a CSV file (its record boundaries proved
    /// afterwards, else one thread frames the records for the workers), partials merged.
    fn query(&self, p: &Params, q: &crate::QueryParams) -> Result<Outcome, RunError> {
        crate::io::query::generic(q, membench_query::scan::Reading::Parallel(p.threads))
    }
}

/// A folder (or glob) of files: whole files handed out to `--threads` workers, each streamed
/// through the kernel (seed 004 §2's parallel file reading). The error reported is the first
/// file's in name order, as a sequential read would meet it.
fn run_files(p: &Params) -> Result<Outcome, RunError> {
    let files = crate::input_files(&p.input)?;
    let next = AtomicUsize::new(0);
    type Done = (Accumulator, Counts, Vec<(usize, RunError)>);
    let worker = || -> Done {
        let mut acc = Accumulator::new(&p.workload);
        let (mut c, mut errors) = (Counts::default(), Vec::new());
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(f) = files.get(i) else {
                break;
            };
            match fold_input(&p.with_input(f), Columns::WorkloadNeeds, &mut acc) {
                Ok(n) => c.add(n),
                Err(e) => errors.push((i, e)),
            }
        }
        (acc, c, errors)
    };
    let parts: Vec<Done> = crate::io::threads::scoped(p.threads.max(1), |_| worker())?
        .into_iter()
        .map(|r| {
            r.unwrap_or_else(|e| (Accumulator::new(&p.workload), Counts::default(), vec![(0, e)]))
        })
        .collect();
    let mut out = Output::new(p)?;
    let mut counts = Counts::default();
    let mut first: Option<(usize, RunError)> = None;
    for (acc, c, errors) in parts {
        if let Output::Fold(total) = &mut out {
            total.merge(acc);
        }
        counts.add(c);
        for (i, e) in errors {
            if first.as_ref().is_none_or(|f| i < f.0) {
                first = Some((i, e));
            }
        }
    }
    if let Some((_, e)) = first {
        return Err(e);
    }
    out.finish(&p.input, counts)
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
    let mut acc = Accumulator::new(&p.workload);
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
            let mut acc = Accumulator::new(&p.workload);
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
/// (the peak heap grew with the file: README, "Design choices, measured once").
fn run_parquet(p: &Params) -> Result<Outcome, RunError> {
    let groups = row_groups(&p.input)?;
    let projection = Projection::of(&p.input, &p.workload)?;
    let next = AtomicUsize::new(0);
    let worker = || -> Result<(Accumulator, Counts), RunError> {
        let mut acc = Accumulator::new(&p.workload);
        let mut c = Counts::default();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(&(offset, len)) = groups.get(i) else {
                break;
            };
            let df = read_slice_pooled(&p.input, offset, len, &projection)?;
            c.add(fold_frame(&p.input, &df, offset, p.on_bad_row, &mut acc)?);
        }
        Ok((acc, c))
    };
    let parts: Vec<Result<(Accumulator, Counts), RunError>> =
        crate::io::threads::scoped(p.threads.max(1), |_| worker())?
            .into_iter()
            .map(|r| r.and_then(|x| x))
            .collect();
    let mut acc = Accumulator::new(&p.workload);
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
/// One file of an `etl` input and its CSV span.
struct FileUnits {
    p: Params,
    span: Option<CsvSpan>,
}

/// A file's `etl` units: byte ranges of about [`ETL_CSV_UNIT_BYTES`] on record boundaries
/// (CSV), or its row groups (Parquet).
fn units_of(p: &Params, threads: usize) -> Result<(Vec<Unit>, Option<CsvSpan>), RunError> {
    Ok(match format_of(&p.input)? {
        Format::Csv => {
            let span = csv_span(p)?;
            let pieces = cut(span.data_start, span.len, ETL_CSV_UNIT_BYTES);
            let units = ranges(&p.input, &pieces, threads)?
                .into_iter()
                .map(Unit::Bytes)
                .collect();
            (units, Some(span))
        }
        Format::Parquet => (
            row_groups(&p.input)?
                .into_iter()
                .map(|(o, n)| Unit::RowGroup(o, n))
                .collect(),
            None,
        ),
    })
}

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
    // Units: byte ranges (CSV) or row groups (Parquet) of each file in order. Checked before
    // the output is created.
    let mut files: Vec<FileUnits> = Vec::new();
    let mut units: Vec<(usize, Unit)> = Vec::new();
    for f in crate::input_files(path)? {
        let fp = p.with_input(&f);
        let (file_units, span) = units_of(&fp, threads)?;
        units.extend(file_units.into_iter().map(|u| (files.len(), u)));
        files.push(FileUnits { p: fp, span });
    }
    let (mut out, mut ck) = Output::open(p, "parallel")?;
    // A resumed run leaves out the units before the checkpoint (it is taken between units;
    // checkpoints are of one-file inputs).
    let (start, mut counts) = ck.as_ref().map(|c| (c.start, c.counts)).unwrap_or_default();
    units.retain(|u| u.1.start() >= start.offset);
    let work = |i: usize| -> Result<EtlPart, RunError> {
        let mut enc = EtlEncoder::new(out_format);
        let (file, unit) = units[i];
        let FileUnits { p: fp, span } = &files[file];
        let (counts, lines) = match (unit, span) {
            (Unit::Bytes(range), Some(span)) => {
                let f = fold_range(fp, span, range, &mut enc);
                (f.result?, f.lines)
            }
            (Unit::RowGroup(offset, len), _) => {
                let df = read_slice_pooled(&fp.input, offset, len, &Projection::all())?;
                (fold_frame(&fp.input, &df, offset, p.on_bad_row, &mut enc)?, 0)
            }
            (Unit::Bytes(_), None) => unreachable!("CSV units come with their span"),
        };
        Ok(EtlPart {
            batch: enc.take(),
            counts,
            lines,
        })
    };
    // After a file's header lines, each unit's local line numbers follow the lines of the
    // file's earlier units.
    let header_lines = |file: usize| files[file].span.as_ref().map_or(0, |s| s.header_lines);
    let mut line_base = match start.offset {
        0 => header_lines(0),
        _ => start.lines,
    };
    let mut next = 0;
    ordered(units.len(), threads, threads, work, |part| {
        let (file, unit) = units[next];
        if next > 0 && units[next - 1].0 != file {
            line_base = header_lines(file);
        }
        match part {
            Ok(part) => {
                line_base += part.lines;
                counts.add(part.counts);
                let Output::Etl(sink) = &mut out else {
                    unreachable!("etl makes an etl output")
                };
                sink.append(part.batch);
                let at = Position {
                    offset: unit.end(),
                    lines: line_base,
                };
                next += 1;
                out.tick(&mut ck, part.counts.read + part.counts.skipped, at, counts)
            }
            Err(e) => Err(rebase(e, line_base)),
        }
    })?;
    out.finish_checkpointed(path, counts, ck)
}
