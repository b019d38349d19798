//! Every valid row of an input, one file after another, to a [`RowSink`]: the plain fold that
//! `streaming`, `mmap`'s fallback, `parallel`'s single-thread path and the database loads share.

use crate::io::csv::{fold_all, open_csv};
use crate::io::parquet::{Projection, fold_frame, read_slice, row_groups};
use crate::outcome::Counts;
use crate::{Format, Params, RowSink, RunError, format_of};

/// Streams every valid row of the input to `sink`, validated by the kernel and honouring
/// `--on-bad-row`: CSV one record at a time, Parquet one row group at a time (`columns` says
/// which Parquet columns to decode). The database strategies load through this too.
pub(crate) fn fold_input(
    p: &Params,
    columns: Columns,
    sink: &mut (impl RowSink + ?Sized),
) -> Result<Counts, RunError> {
    crate::io::files::per_file(p, |file| fold_file(file, columns, sink))
}

/// [`fold_input`] of one file.
fn fold_file(
    p: &Params,
    columns: Columns,
    sink: &mut (impl RowSink + ?Sized),
) -> Result<Counts, RunError> {
    Ok(match format_of(&p.input)? {
        Format::Csv => {
            let (mut reader, mut parser) = open_csv(&p.input, p.max_record_bytes)?;
            fold_all(&p.input, &mut reader, &mut parser, p.on_bad_row, sink)?
        }
        Format::Parquet => {
            let projection = match columns {
                Columns::All => Projection::all(),
                Columns::WorkloadNeeds => Projection::of(&p.input, &p.workload)?,
            };
            let mut c = Counts::default();
            for (offset, len) in row_groups(&p.input)? {
                let df = read_slice(&p.input, offset, len, &projection)?;
                c.add(fold_frame(&p.input, &df, offset, p.on_bad_row, sink)?);
            }
            c
        }
    })
}

/// Which Parquet columns a fold decodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Columns {
    /// Only those the workload reads (text it does not read comes out empty).
    WorkloadNeeds,
    /// Every column: whole rows (to store them).
    All,
}
