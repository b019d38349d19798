//! `lazy`: a Polars `LazyFrame` scan executed by the streaming engine
//! (`collect_all_with_engine(.., Engine::Streaming, ..)`; `.with_streaming(true).collect()` does
//! not stream in Polars 0.55). Only the needed columns are read.

use polars::prelude::*;

use crate::polars_plan::{outcome, plans, precheck, scan};
use crate::{Format, Growth, Outcome, Params, RunError, Strategy};

pub struct Lazy;

impl Strategy for Lazy {
    fn name(&self) -> &'static str {
        "lazy"
    }
    fn describe(&self) -> &'static str {
        "Polars LazyFrame scan, streaming engine, column projection"
    }
    fn growth(&self, format: Format) -> Growth {
        match format {
            Format::Csv => Growth::Constant,
            // Measured, not hoped: Polars' streaming Parquet source held 24 MB at 200k rows and
            // 75 MB at 1M (slope 0.7), so only "no worse than linear" is declared.
            Format::Parquet => Growth::Linear,
        }
    }
    fn run(&self, p: &Params) -> Result<Outcome, RunError> {
        let format = Format::of(&p.input)?;
        precheck(p, format)?;
        let result = scan(&p.input, format).and_then(|lf| {
            let (stats, answer) = plans(lf, p.workload);
            let mut out = LazyFrame::collect_all_with_engine(
                vec![stats.logical_plan, answer.logical_plan],
                Engine::Streaming,
                OptFlags::default(),
            )?;
            let answer = out.pop().expect("two results");
            let stats = out.pop().expect("two results");
            Ok((stats, answer))
        });
        outcome(&p.input, format, p.workload, result)
    }
}
