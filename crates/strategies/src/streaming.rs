//! `streaming`: one record at a time through reused buffers; no allocation per row, so the heap
//! does not grow with the file (seed 000 §5 generators, seed 001). On Parquet the unit is one
//! row group.

use crate::csv_io::{Counts, fold_all, open_csv};
use crate::parquet_io::{fold_frame, read_slice, row_groups};
use crate::{Format, Outcome, Output, Params, RunError, Strategy, format_of};

pub struct Streaming;

impl Strategy for Streaming {
    fn run(&self, p: &Params) -> Result<Outcome, RunError> {
        let format = format_of(&p.input)?;
        let mut out = Output::new(p)?;
        let counts = match format {
            Format::Csv => {
                let (mut reader, mut parser) = open_csv(&p.input, p.max_record_bytes)?;
                fold_all(&p.input, &mut reader, &mut parser, p.on_bad_row, &mut out)?
            }
            Format::Parquet => {
                let mut c = Counts::default();
                for (offset, len) in row_groups(&p.input)? {
                    let df = read_slice(&p.input, offset, len, !p.workload.is_aggregate())?;
                    c.add(fold_frame(&p.input, &df, offset, p.on_bad_row, &mut out)?);
                }
                c
            }
        };
        out.finish(&p.input, counts)
    }
}
