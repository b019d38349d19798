//! `load-all`: read the whole file into memory as rows, then compute (the seeds' `pd.read_csv`
//! baseline; for `etl`, `read_csv` → transform → `to_csv`). Memory grows with the file.

use crate::csv_io::{Counts, OwnedRow, for_each_row, open_csv};
use crate::parquet_io::{fold_frame, read_all};
use crate::{Format, Outcome, Output, Params, RowSink, RunError, Strategy, format_of};

pub struct LoadAll;

impl Strategy for LoadAll {
    fn run(&self, p: &Params) -> Result<Outcome, RunError> {
        let format = format_of(&p.input)?;
        let mut out = Output::new(p)?;
        let counts = match format {
            Format::Csv => {
                let (mut reader, mut parser) = open_csv(&p.input, p.max_record_bytes)?;
                let mut rows: Vec<OwnedRow> = Vec::new();
                let c = for_each_row(
                    &p.input,
                    &mut reader,
                    &mut parser,
                    p.on_bad_row,
                    0,
                    u64::MAX,
                    |r| rows.push(OwnedRow::from_row(r)),
                )?;
                for r in &rows {
                    out.add(&r.as_row());
                }
                c
            }
            Format::Parquet => {
                let df = read_all(&p.input)?;
                let mut c = Counts::default();
                c.add(fold_frame(&p.input, &df, 0, p.on_bad_row, &mut out)?);
                c
            }
        };
        out.finish(&p.input, counts)
    }
}
