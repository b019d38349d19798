//! `load-all-polars`: Polars' eager reader loads the whole file, then the in-memory engine
//! computes (the closest thing to `pd.read_csv` followed by pandas operations).

use polars::prelude::*;

use crate::polars::{
    EtlFrames, engine, etl_plan, outcome, plans, precheck, read_input, without_empty_lines,
};
use crate::{Outcome, Params, RunError, Strategy, format_of};

pub struct LoadAllPolars;

impl Strategy for LoadAllPolars {
    fn query(&self, _: &Params, q: &crate::QueryParams) -> Result<Outcome, RunError> {
        crate::polars::query::run(q, crate::polars::join::Read::Eager)
    }

    fn run(&self, p: &Params) -> Result<Outcome, RunError> {
        if p.workload.is_join() {
            return crate::polars::join::run(p, crate::polars::join::Read::Eager);
        }
        let format = format_of(&p.input)?;
        // membench's checks before the engine (for an aggregate over a plain CSV file, every
        // row through the kernel's parser and rules; else the framing), timed apart from the
        // engine's own work so the report can show the engine alone.
        p.phase("validate");
        let input = precheck(p, format)?.for_eager();
        p.phase("compute");
        if !p.workload.is_aggregate() {
            // Read everything, transform everything, then write (`read_csv` → ops → `to_csv`).
            let mut frames = EtlFrames::new(p)?;
            let result = engine(|| {
                read_input(&input)
                    .and_then(|df| etl_plan(without_empty_lines(df.lazy(), &input)).collect())
                    .and_then(|df| frames.push(&df).map(|_| ()))
            });
            return frames.finish(&input, result);
        }
        let result = engine(|| {
            read_input(&input).and_then(|df| {
                let (stats, answer) = plans(
                    without_empty_lines(df.lazy(), &input),
                    &p.workload,
                    input.rows.as_ref(),
                );
                Ok((stats.map(LazyFrame::collect).transpose()?, answer.collect()?))
            })
        });
        outcome(&input, &p.workload, result)
    }
}
