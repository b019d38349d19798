//! `parallel`: the file is split into byte ranges on line boundaries (row groups for Parquet),
//! processed on `--threads` workers, and the partial results merged (seed 000 §7, seed 004 §2).
//! Memory ≈ workers × one worker's buffers.

use std::fs::File;
use std::io::{BufReader, Seek, SeekFrom};
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::Context;
use membench_kernel::{Accumulator, InputError, LineParser, LineReader};
use rayon::prelude::*;

use crate::csv_io::{Counts, READ_BUF, finish, fold_all, open_csv};
use crate::parquet_io::{fold_frame, read_slice, row_groups};
use crate::{Format, Growth, Outcome, Params, RunError, Strategy};

pub struct Parallel;

/// One worker's result over its byte range.
struct Part {
    acc: Accumulator,
    counts: Counts,
    lines: u64,
    error: Option<RunError>,
}

impl Strategy for Parallel {
    fn name(&self) -> &'static str {
        "parallel"
    }
    fn describe(&self) -> &'static str {
        "byte ranges (Parquet: row groups) on --threads workers, partial results merged"
    }
    fn growth(&self, _format: Format) -> Growth {
        Growth::Constant
    }
    fn run(&self, p: &Params) -> Result<Outcome, RunError> {
        match Format::of(&p.input)? {
            Format::Csv => rayon::ThreadPoolBuilder::new()
                .num_threads(p.threads.max(1))
                .build()
                .context("starting the worker pool")?
                .install(|| run_csv(p)),
            Format::Parquet => run_parquet(p),
        }
    }
}

fn run_csv(p: &Params) -> Result<Outcome, RunError> {
    let path = &p.input;
    // The header is checked once; the data starts after it.
    let (header_reader, _) = open_csv(path)?;
    let data_start = header_reader.position();
    let len = std::fs::metadata(path)
        .with_context(|| format!("{}: cannot stat", path.display()))?
        .len();
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
            let mut part = Part {
                acc: Accumulator::new(p.workload),
                counts: Counts::default(),
                lines: 0,
                error: None,
            };
            let res = (|| -> Result<(), RunError> {
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
                let lines_before_range = reader.lines_read();
                let mut parser = LineParser::new();
                let r = fold_all(path, &mut reader, &mut parser, p.on_bad_row, &mut part.acc);
                part.lines = reader.lines_read() - lines_before_range;
                part.counts = r?;
                Ok(())
            })();
            part.error = res.err();
            part
        })
        .collect();
    let mut acc = Accumulator::new(p.workload);
    let mut counts = Counts::default();
    // Header is line 1; each range's local line numbers follow the lines of earlier ranges.
    let mut line_base = 1;
    for part in parts {
        if let Some(err) = part.error {
            return Err(match err {
                RunError::Input(InputError {
                    path,
                    line: Some(l),
                    reason,
                }) => InputError::at_line(path, line_base + l, reason).into(),
                other => other,
            });
        }
        line_base += part.lines;
        counts.add(part.counts);
        acc.merge(part.acc);
    }
    finish(path, acc, counts)
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
    finish(&p.input, acc, counts)
}
