//! `streaming`: one record at a time through reused buffers; no allocation per row, so the heap
//! does not grow with the file (seed 000 §5 generators, seed 001). On Parquet the unit is one
//! row group. `join`: the classic hash join — the keys of the orders in range (the small side)
//! in a hash table, the items streamed past it; memory grows with those orders, never with the
//! items.

use membench_kernel::JoinAcc;

use crate::io::checkpoint::{Checkpoints, CsvCursor, Position};
use crate::outcome::Counts;
use crate::io::fold::{Columns, fold_input};
use crate::io::join::JoinInput;
use crate::io::parquet::{Projection, fold_frame, read_slice, row_groups};
use crate::{Format, Outcome, Output, Params, RowSink, RunError, Strategy, format_of};

pub struct Streaming;

impl Strategy for Streaming {
    fn run(&self, p: &Params) -> Result<Outcome, RunError> {
        if p.workload.is_join() {
            return hash_join(p);
        }
        if let Some(state) = &p.state {
            return crate::io::incremental::run(p, state, 1);
        }
        let (mut out, mut ck) = Output::open(p, "streaming")?;
        let counts = match &ck {
            None => fold_input(p, Columns::WorkloadNeeds, &mut out)?,
            Some(_) => fold_checkpointed(p, &mut out, &mut ck)?,
        };
        out.finish_checkpointed(&p.input, counts, ck)
    }

    /// Each row folded as it is read; a join holds the joined table, streams the other.
    fn query(&self, _: &Params, q: &crate::QueryParams) -> Result<Outcome, RunError> {
        crate::io::query::generic(q, membench_query::scan::Reading::Streaming)
    }
}

/// [`fold_input`] for a checkpointed `etl`: from the checkpoint's position, with a checkpoint
/// due after every block of records (CSV) or row group (Parquet).
fn fold_checkpointed(
    p: &Params,
    out: &mut Output,
    ck: &mut Option<Checkpoints>,
) -> Result<Counts, RunError> {
    let (start, mut counts) = ck.as_ref().map(|c| (c.start, c.counts)).unwrap_or_default();
    match format_of(&p.input)? {
        Format::Csv => {
            let mut csv = CsvCursor::open(p, start)?;
            loop {
                let c = csv.rows(CHECK_BLOCK_ROWS, |r| out.add(r))?;
                if c.read + c.skipped == 0 {
                    return Ok(counts);
                }
                counts.add(c);
                out.tick(ck, c.read + c.skipped, csv.position(), counts)?;
            }
        }
        Format::Parquet => {
            let all = Projection::all();
            for (offset, len) in row_groups(&p.input)? {
                if (offset as u64) < start.offset {
                    continue;
                }
                let df = read_slice(&p.input, offset, len, &all)?;
                let c = fold_frame(&p.input, &df, offset, p.on_bad_row, out)?;
                counts.add(c);
                let at = Position {
                    offset: (offset + len) as u64,
                    lines: 0,
                };
                out.tick(ck, c.read + c.skipped, at, counts)?;
            }
            Ok(counts)
        }
    }
}

/// Records read between two looks at whether a checkpoint is due.
const CHECK_BLOCK_ROWS: u64 = 1024;

/// Builds a hash table of the orders in range, then streams the items past it.
fn hash_join(p: &Params) -> Result<Outcome, RunError> {
    let inp = JoinInput::of(p)?;
    p.phase("build");
    let (keys, mut counts) = inp.keys_in_range()?;
    p.phase("probe");
    let mut items = inp.items()?;
    let mut acc = JoinAcc::default();
    items.for_each(|item| {
        if let Some(&w) = keys.get(&item.order_id) {
            acc.add(&item, w);
        }
    })?;
    counts.add(items.counts);
    inp.finish(acc, counts)
}

