//! `chunked`: `--chunk-rows` rows at a time are materialised, reduced to a partial result and
//! merged (seed 000's `chunksize` pattern; top-n keeps only the best 100 of each chunk; `etl`
//! transforms and appends each chunk to the output, like `to_csv(mode="a")`).
//! Memory is proportional to the chunk, not the file.

use crate::io::checkpoint::{Checkpoints, CsvCursor, Position};
use crate::outcome::Counts;
use crate::io::csv::OwnedRow;
use crate::io::parquet::{Projection, fold_frame, read_slice, row_groups};
use crate::{Format, Outcome, Output, Params, RunError, Strategy, format_of};

pub struct Chunked;

impl Strategy for Chunked {
    fn run(&self, p: &Params) -> Result<Outcome, RunError> {
        let (mut total, mut ck) = Output::open(p, "chunked")?;
        let counts = crate::io::files::per_file(p, |file| chunks(file, &mut total, &mut ck))?;
        total.finish_checkpointed(&p.input, counts, ck)
    }

    /// `--chunk-rows` rows materialised at a time, each chunk a partial result, merged.
    fn query(&self, p: &Params, q: &crate::QueryParams) -> Result<Outcome, RunError> {
        crate::io::query::generic(q, membench_query::scan::Reading::Chunked(p.chunk_rows))
    }
}

/// Folds one file a chunk at a time (from the checkpoint's position when resumed).
fn chunks(p: &Params, total: &mut Output, ck: &mut Option<Checkpoints>) -> Result<Counts, RunError> {
        let chunk = p.chunk_rows.max(1);
        let format = format_of(&p.input)?;
        let (start, mut counts) = ck.as_ref().map(|c| (c.start, c.counts)).unwrap_or_default();
        match format {
            Format::Csv => {
                let mut csv = CsvCursor::open(p, start)?;
                let mut rows: Vec<OwnedRow> = Vec::with_capacity(chunk);
                loop {
                    rows.clear();
                    let c = csv.rows(chunk as u64, |r| rows.push(OwnedRow::from_row(r)))?;
                    if c.read + c.skipped == 0 {
                        break;
                    }
                    counts.add(c);
                    total.part(|part| {
                        for r in &rows {
                            part.add(&r.as_row());
                        }
                    });
                    let at = csv.position();
                    total.tick(ck, c.read + c.skipped, at, counts)?;
                }
            }
            Format::Parquet => {
                let projection = Projection::of(&p.input, &p.workload)?;
                let n_rows: usize = row_groups(&p.input)?.iter().map(|g| g.1).sum();
                let mut offset = start.offset as usize;
                while offset < n_rows {
                    let len = chunk.min(n_rows - offset);
                    let df = read_slice(&p.input, offset, len, &projection)?;
                    let c =
                        total.part(|part| fold_frame(&p.input, &df, offset, p.on_bad_row, part))?;
                    counts.add(c);
                    offset += len;
                    let at = Position {
                        offset: offset as u64,
                        lines: 0,
                    };
                    total.tick(ck, c.read + c.skipped, at, counts)?;
                }
            }
        }
        Ok(counts)
}
