//! `parallel`: the file is split into byte ranges on line boundaries (row groups for Parquet),
//! processed on `--threads` workers, and the partial results merged (seed 000 §7, seed 004 §2).
//! Memory ≈ workers × one worker's buffers.
//!
//! `etl` must write rows in input order, so it runs as an ordered pipeline instead: the file is
//! cut into many small units (1 MiB of CSV, or one row group), workers clean and encode units in
//! parallel, and the one writer appends them in unit order. At most `threads` units are ahead
//! of the writer, so memory stays bounded by the unit size, not the file.

use std::fs::File;
use std::io::{BufReader, Seek, SeekFrom};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::Context;
use membench_kernel::{Accumulator, InputError, LineParser, LineReader, OnBadRow};
use rayon::prelude::*;

use crate::csv_io::{Counts, READ_BUF, fold_all, open_csv};
use crate::etl_out::{EtlBatch, EtlEncoder};
use crate::parquet_io::{fold_frame, read_slice, row_groups};
use crate::pipeline::ordered;
use crate::{Format, Outcome, Output, Params, RowSink, RunError, Strategy, etl_target, format_of};

pub struct Parallel;

/// One worker's result over its byte range.
struct Part {
    acc: Accumulator,
    counts: Counts,
    lines: u64,
    error: Option<RunError>,
}

impl Strategy for Parallel {
    fn run(&self, p: &Params) -> Result<Outcome, RunError> {
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

/// Folds the lines that *start* in `[start, end)` of a CSV file whose data begins at
/// `data_start`. Returns the counts, and how many lines the range held (so that the caller can
/// turn the range's local line numbers into file line numbers).
fn fold_range(
    path: &Path,
    data_start: u64,
    start: u64,
    end: u64,
    on_bad: OnBadRow,
    sink: &mut (impl RowSink + ?Sized),
) -> (Result<Counts, RunError>, u64) {
    let mut lines = 0;
    let r = (|| -> Result<Counts, RunError> {
        let mut file =
            File::open(path).with_context(|| format!("{}: cannot open", path.display()))?;
        // Start one byte early: if that byte is a newline we are on a line boundary.
        let from = start.saturating_sub(1).max(data_start);
        file.seek(SeekFrom::Start(from)).context("seek")?;
        let mut reader =
            LineReader::with_range(BufReader::with_capacity(READ_BUF, file), from, end);
        if from < start {
            // Skip to the first line that starts at or after `start`.
            reader.skip_partial_line().context("read")?;
        }
        let r = fold_all(path, &mut reader, &mut LineParser::new(), on_bad, sink);
        lines = reader.lines_read();
        r
    })();
    (r, lines)
}

/// An input error at a range-local line, moved to the file's line numbering.
fn rebase(e: RunError, line_base: u64) -> RunError {
    match e {
        RunError::Input(InputError {
            path,
            line: Some(l),
            reason,
        }) => InputError::at_line(path, line_base + l, reason).into(),
        other => other,
    }
}

/// The header is checked once; returns where the data starts and the file length.
fn csv_data_span(path: &Path) -> Result<(u64, u64), RunError> {
    let (header_reader, _) = open_csv(path)?;
    let len = std::fs::metadata(path)
        .with_context(|| format!("{}: cannot stat", path.display()))?
        .len();
    Ok((header_reader.position(), len))
}

fn run_csv(p: &Params) -> Result<Outcome, RunError> {
    let path = &p.input;
    let (data_start, len) = csv_data_span(path)?;
    let workers = p.threads.max(1) as u64;
    let span = (len - data_start).div_ceil(workers).max(1);
    let bounds: Vec<(u64, u64)> = (0..workers)
        .map(|i| {
            (
                data_start + i * span,
                (data_start + (i + 1) * span).min(len),
            )
        })
        .filter(|(s, e)| s < e)
        .collect();
    let parts: Vec<Part> = bounds
        .par_iter()
        .map(|&(start, end)| {
            let mut acc = Accumulator::new(p.workload);
            let (r, lines) = fold_range(path, data_start, start, end, p.on_bad_row, &mut acc);
            let (counts, error) = match r {
                Ok(c) => (c, None),
                Err(e) => (Counts::default(), Some(e)),
            };
            Part {
                acc,
                counts,
                lines,
                error,
            }
        })
        .collect();
    let mut acc = Accumulator::new(p.workload);
    let mut counts = Counts::default();
    // Header is line 1; each range's local line numbers follow the lines of earlier ranges.
    let mut line_base = 1;
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

/// Row groups are handed out one at a time to `--threads` plain scoped threads. Not rayon tasks:
/// a rayon worker that blocks inside Polars (which runs on its own rayon pool) steals more tasks
/// of this pool while it waits, so far more row groups than workers end up in memory at once
/// (measured: peak heap grew with the file, 14 MB at 200k rows to 60 MB at 1M).
fn run_parquet(p: &Params) -> Result<Outcome, RunError> {
    let groups = row_groups(&p.input)?;
    let next = AtomicUsize::new(0);
    let worker = || -> Result<(Accumulator, Counts), RunError> {
        let mut acc = Accumulator::new(p.workload);
        let mut c = Counts::default();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(&(offset, len)) = groups.get(i) else {
                break;
            };
            let df = read_slice(&p.input, offset, len, false)?;
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
    let (units, data_start): (Vec<(u64, u64)>, u64) = match input_format {
        Format::Csv => {
            let (data_start, len) = csv_data_span(path)?;
            let units = (data_start..len)
                .step_by(ETL_CSV_UNIT_BYTES as usize)
                .map(|s| (s, (s + ETL_CSV_UNIT_BYTES).min(len)))
                .collect();
            (units, data_start)
        }
        Format::Parquet => (
            row_groups(path)?
                .into_iter()
                .map(|(o, n)| (o as u64, n as u64))
                .collect(),
            0,
        ),
    };
    let work = |i: usize| -> Result<EtlPart, RunError> {
        let (a, b) = units[i];
        let mut enc = EtlEncoder::new(out_format);
        let (counts, lines) = match input_format {
            Format::Csv => {
                let (r, lines) = fold_range(path, data_start, a, b, p.on_bad_row, &mut enc);
                (r?, lines)
            }
            Format::Parquet => {
                let df = read_slice(path, a as usize, b as usize, true)?;
                (
                    fold_frame(path, &df, a as usize, p.on_bad_row, &mut enc)?,
                    0,
                )
            }
        };
        Ok(EtlPart {
            batch: enc.take(),
            counts,
            lines,
        })
    };
    let mut out = Output::new(p)?;
    let Output::Etl(sink) = &mut out else {
        unreachable!("etl makes an etl output")
    };
    let mut counts = Counts::default();
    // Header is line 1; each unit's local line numbers follow the lines of earlier units.
    let mut line_base = 1;
    ordered(units.len(), threads, threads, work, |part| match part {
        Ok(part) => {
            line_base += part.lines;
            counts.add(part.counts);
            sink.append(part.batch);
            Ok(())
        }
        Err(e) => Err(rebase(e, line_base)),
    })?;
    out.finish(path, counts)
}
