//! `adaptive`: seed 001's memory guard. Like `chunked`, batches of rows are materialised,
//! reduced to a partial result and merged (or, for `etl`, written), but the batch size follows
//! memory pressure: above a high-water mark of the budget the batch ends early and the next one
//! is half as long; after a batch, below a low-water mark, the next one is twice as long.
//!
//! The pressure gauge is the live heap from membench's counting allocator, not the RSS (the
//! article reads RSS with psutil). The counter is exact and immediate: freed memory shows at
//! once, where RSS keeps pages the allocator has not returned and lags behind. It costs one
//! atomic load, and it is the very quantity `--memory-limit` enforces. Where the counting
//! allocator is not installed (a library user's binary), the gauge falls back to the RSS from
//! `/proc/self/statm`, as the article does.
//!
//! The budget is `--memory-limit`, else [`DEFAULT_BUDGET_BYTES`]. The batch starts at
//! `--chunk-rows`, never grows past [`MAX_GROWTH`] times that, and never shrinks below
//! [`MIN_BATCH_ROWS`] (CSV) or one row group (Parquet, whose decoding unit it is). So the guard
//! has a floor: on Parquet `etl`, one row group of input plus the output writer's row group
//! (above the default budget at 1M rows: the number is in the README, "Design choices, measured once") — a budget under
//! that floor is `oom`. Every batch (its first row, its length, the heap at its end) is
//! reported to the runner, which records the trace.

use crate::io::checkpoint::{Checkpoints, CsvCursor, Position};
use crate::outcome::Counts;
use crate::io::csv::OwnedRow;
use crate::io::parquet::{Projection, fold_frame, read_slice, row_groups};
use crate::{Format, Outcome, Output, Params, RunError, Strategy, format_of};

pub struct Adaptive;

/// The budget the guard keeps to without `--memory-limit` (the protocol's, which predictions
/// read).
pub const DEFAULT_BUDGET_BYTES: u64 = membench_protocol::GUARD_DEFAULT_BUDGET_BYTES;
/// A batch ends early when the live heap passes this share of the budget.
pub const HIGH_WATER: f64 = membench_protocol::GUARD_HIGH_WATER;
/// After a batch, the next one doubles when the live heap is under this share.
pub const LOW_WATER: f64 = 0.35;
/// The shortest batch.
pub const MIN_BATCH_ROWS: usize = 1024;
/// The longest batch, as a multiple of `--chunk-rows`.
pub const MAX_GROWTH: usize = membench_protocol::GUARD_MAX_GROWTH;
/// CSV rows are read in blocks of this many between two looks at the gauge.
const BLOCK_ROWS: usize = 1024;

impl Strategy for Adaptive {
    fn run(&self, p: &Params) -> Result<Outcome, RunError> {
        let mut guard = Guard::new(p);
        let (mut out, mut ck) = Output::open(p, "adaptive")?;
        let counts = crate::io::files::per_file(p, |file| match format_of(&file.input)? {
            Format::Csv => csv_batches(file, &mut guard, &mut out, &mut ck),
            Format::Parquet => parquet_batches(file, &mut guard, &mut out, &mut ck),
        })?;
        p.setting(format!(
            "batches={} (first {} rows, smallest {}, largest {}; {} shrinks)",
            guard.batches, guard.first, guard.smallest, guard.largest, guard.shrinks
        ));
        out.finish_checkpointed(&p.input, counts, ck)
    }

    /// The same guard over a user's query: a batch ends at the guard's length, or early (and
    /// the next is half as long) when the gauge passes the high-water mark.
    fn query(&self, p: &Params, q: &crate::QueryParams) -> Result<Outcome, RunError> {
        let mut guard = Guard::new(p);
        let out = crate::io::query::batched(q, &mut Guarded { guard: &mut guard, p });
        p.setting(format!(
            "batches={} (first {} rows, smallest {}, largest {}; {} shrinks)",
            guard.batches, guard.first, guard.smallest, guard.largest, guard.shrinks
        ));
        out
    }
}

/// The memory guard: the batch length and the water marks.
#[derive(Debug)]
struct Guard {
    rows: usize,
    max_rows: usize,
    high_bytes: u64,
    low_bytes: u64,
    gauge: Gauge,
    batches: u64,
    shrinks: u64,
    first: usize,
    smallest: usize,
    largest: usize,
}

impl Guard {
    fn new(p: &Params) -> Guard {
        let budget = p.memory_budget_bytes.unwrap_or(DEFAULT_BUDGET_BYTES) as f64;
        let rows = p.chunk_rows.max(MIN_BATCH_ROWS);
        let gauge = Gauge::detect();
        p.setting(format!(
            "guard budget={} bytes ({}), high-water {:.0} %, low-water {:.0} %, gauge {}",
            budget as u64,
            if p.memory_budget_bytes.is_some() {
                "--memory-limit"
            } else {
                "default"
            },
            HIGH_WATER * 100.0,
            LOW_WATER * 100.0,
            gauge.name()
        ));
        Guard {
            rows,
            max_rows: rows.saturating_mul(MAX_GROWTH),
            high_bytes: (budget * HIGH_WATER) as u64,
            low_bytes: (budget * LOW_WATER) as u64,
            gauge,
            batches: 0,
            shrinks: 0,
            first: rows,
            smallest: usize::MAX,
            largest: 0,
        }
    }

    fn pressed(&self) -> bool {
        self.gauge.bytes() > self.high_bytes
    }

    /// Halves the batch (the one being filled ended early).
    fn shrink(&mut self) {
        self.rows = (self.rows / 2).max(MIN_BATCH_ROWS);
        self.shrinks += 1;
    }

    /// A batch of `rows` starting at row `at` is done: report it and grow when memory is low.
    fn done(&mut self, p: &Params, at: u64, rows: usize) {
        let heap = self.gauge.bytes();
        p.batch(at, rows as u64, heap);
        self.batches += 1;
        self.smallest = self.smallest.min(rows);
        self.largest = self.largest.max(rows);
        if heap < self.low_bytes {
            self.rows = (self.rows * 2).min(self.max_rows);
        }
    }
}

/// The guard cutting a user's query into batches.
struct Guarded<'a> {
    guard: &'a mut Guard,
    p: &'a Params,
}

impl membench_query::scan::Batcher for Guarded<'_> {
    fn full(&mut self, rows: usize) -> bool {
        if rows >= self.guard.rows {
            return true;
        }
        // The gauge is read once a block, as for the built-in workloads.
        if rows.is_multiple_of(BLOCK_ROWS) && self.guard.pressed() {
            self.guard.shrink();
            return true;
        }
        false
    }

    fn done(&mut self, at: u64, rows: usize) {
        self.guard.done(self.p, at, rows);
    }
}

/// Where the guard reads memory pressure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Gauge {
    /// The counting allocator's live heap.
    Heap,
    /// `/proc/self/statm`'s resident pages.
    Rss,
}

impl Gauge {
    pub(crate) fn detect() -> Gauge {
        if membench_alloc::is_installed() {
            Gauge::Heap
        } else {
            Gauge::Rss
        }
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Gauge::Heap => "live heap (counting allocator)",
            Gauge::Rss => "RSS (/proc/self/statm)",
        }
    }

    pub(crate) fn bytes(self) -> u64 {
        match self {
            Gauge::Heap => membench_alloc::snapshot().live_bytes as u64,
            Gauge::Rss => rss_bytes().unwrap_or(0),
        }
    }
}

/// The resident set from `/proc/self/statm` (second field, in pages).
fn rss_bytes() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = text.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

/// CSV: a batch fills in blocks of rows until it is as long as the guard allows or the gauge
/// passes the high-water mark (then the batch ends early and the next is half as long).
fn csv_batches(
    p: &Params,
    guard: &mut Guard,
    out: &mut Output,
    ck: &mut Option<Checkpoints>,
) -> Result<Counts, RunError> {
    let (start, mut counts) = ck.as_ref().map(|c| (c.start, c.counts)).unwrap_or_default();
    let mut csv = CsvCursor::open(p, start)?;
    let mut at = counts.read + counts.skipped;
    loop {
        // Blocks of rows, not one vector: a growing vector would copy itself at every doubling,
        // briefly holding three times what it needs.
        let mut blocks: Vec<Vec<OwnedRow>> = Vec::new();
        let (mut rows, mut seen) = (0usize, 0u64);
        while rows < guard.rows {
            if rows > 0 && guard.pressed() {
                guard.shrink();
                break;
            }
            let want = BLOCK_ROWS.min(guard.rows - rows);
            let mut block = Vec::with_capacity(want);
            let c = csv.rows(want as u64, |r| block.push(OwnedRow::from_row(r)))?;
            seen += c.read + c.skipped;
            counts.add(c);
            rows += block.len();
            let end = c.read + c.skipped < want as u64;
            blocks.push(block);
            if end {
                break;
            }
        }
        if seen == 0 {
            return Ok(counts);
        }
        out.part(|part| {
            for r in blocks.iter().flatten() {
                part.add(&r.as_row());
            }
        });
        drop(blocks);
        guard.done(p, at, rows);
        at += seen;
        out.tick(ck, seen, csv.position(), counts)?;
    }
}

/// Parquet: a batch is whole row groups decoded at once, so the guard predicts: it measures the
/// heap one row costs from the batches so far and takes as many row groups as end under the
/// high-water mark (the first batch, one row group, is the probe). A row group is the smallest
/// batch: Parquet decodes no less.
fn parquet_batches(
    p: &Params,
    guard: &mut Guard,
    out: &mut Output,
    ck: &mut Option<Checkpoints>,
) -> Result<Counts, RunError> {
    let projection = Projection::of(&p.input, &p.workload)?;
    let groups = row_groups(&p.input)?;
    let (start, mut counts) = ck.as_ref().map(|c| (c.start, c.counts)).unwrap_or_default();
    let mut g = groups.partition_point(|&(o, _)| (o as u64) < start.offset);
    let mut row_bytes: Option<f64> = None;
    while g < groups.len() {
        let before = guard.gauge.bytes();
        // The rows this batch may hold: one row group to probe, then what the measured bytes
        // per row leave under the high-water mark.
        let allowed = match row_bytes {
            None => 0,
            Some(b) => {
                let room = guard.high_bytes.saturating_sub(before) as f64;
                let fits = (room / b.max(1.0)) as usize;
                if fits < guard.rows {
                    guard.shrinks += 1;
                }
                guard.rows.min(fits)
            }
        };
        // Whole row groups only (Parquet decodes a row group at a time: a slice inside one
        // would decode it again for every slice); at least one.
        let (offset, mut len, mut end) = (groups[g].0, groups[g].1, g + 1);
        while end < groups.len() && len + groups[end].1 <= allowed {
            len += groups[end].1;
            end += 1;
        }
        let df = read_slice(&p.input, offset, len, &projection)?;
        let held = guard.gauge.bytes().saturating_sub(before) as f64 / len as f64;
        row_bytes = Some(row_bytes.map_or(held, |b: f64| b.max(held)));
        let c = out.part(|part| fold_frame(&p.input, &df, offset, p.on_bad_row, part))?;
        counts.add(c);
        drop(df);
        guard.done(p, offset as u64, len);
        g = end;
        let at = Position {
            offset: (offset + len) as u64,
            lines: 0,
        };
        out.tick(ck, c.read + c.skipped, at, counts)?;
    }
    Ok(counts)
}
