//! `streaming`: one record at a time through reused buffers; no allocation per row, so the heap
//! does not grow with the file (seed 000 §5 generators, seed 001). On Parquet the unit is one
//! row group.

use membench_kernel::Accumulator;

use crate::csv_io::{Counts, finish, fold_all, open_csv};
use crate::parquet_io::{fold_frame, read_slice, row_groups};
use crate::{Format, Growth, Outcome, Params, RunError, Strategy};

pub struct Streaming;

impl Strategy for Streaming {
    fn name(&self) -> &'static str {
        "streaming"
    }
    fn describe(&self) -> &'static str {
        "one record at a time, reused buffers (Parquet: one row group at a time)"
    }
    fn growth(&self, _format: Format) -> Growth {
        Growth::Constant
    }
    fn run(&self, p: &Params) -> Result<Outcome, RunError> {
        let mut acc = Accumulator::new(p.workload);
        let counts = match Format::of(&p.input)? {
            Format::Csv => {
                let (mut reader, mut parser) = open_csv(&p.input)?;
                fold_all(&p.input, &mut reader, &mut parser, p.on_bad_row, &mut acc)?
            }
            Format::Parquet => {
                let mut c = Counts::default();
                for (offset, len) in row_groups(&p.input)? {
                    let df = read_slice(&p.input, offset, len, false)?;
                    c.add(fold_frame(&p.input, &df, offset, p.on_bad_row, &mut acc)?);
                }
                c
            }
        };
        finish(&p.input, acc, counts)
    }
}
