//! `lazy`: a Polars `LazyFrame` scan executed by the streaming engine
//! (`collect_all_with_engine(.., Engine::Streaming, ..)`; `.with_streaming(true).collect()` does
//! not stream in Polars 0.55). Only the needed columns are read. For `etl`, the cleaned rows are
//! streamed out of the engine in order (`sink_batches`) into the shared output writer.

use std::sync::{Arc, Mutex};

use polars::prelude::*;

use crate::polars::{
    EtlFrames, PolarsInput, engine, etl_plan, outcome, plans, precheck, scan, without_empty_lines,
};
use crate::{Outcome, Params, RunError, Strategy, format_of};

pub struct Lazy;

impl Strategy for Lazy {
    fn query(&self, _: &Params, q: &crate::QueryParams) -> Result<Outcome, RunError> {
        crate::polars::query::run(q, crate::polars::join::Read::Scan)
    }

    fn run(&self, p: &Params) -> Result<Outcome, RunError> {
        if p.workload.is_join() {
            return crate::polars::join::run(p, crate::polars::join::Read::Scan);
        }
        let format = format_of(&p.input)?;
        // membench's checks before the engine (for an aggregate over a plain CSV file, every
        // row through the kernel's parser and rules; else the framing), timed apart from the
        // engine's own work so the report can show the engine alone.
        p.phase("validate");
        let input = precheck(p, format)?;
        p.phase("compute");
        if !p.workload.is_aggregate() {
            return run_etl(p, &input);
        }
        let result = engine(|| {
            scan(&input).and_then(|lf| {
                let (stats, answer) = plans(
                    without_empty_lines(lf, &input),
                    &p.workload,
                    input.rows.as_ref(),
                );
                let Some(stats) = stats else {
                    let answer = answer.collect_with_engine(Engine::Streaming)?;
                    return Ok((None, answer.unwrap_single()));
                };
                let mut out = LazyFrame::collect_all_with_engine(
                    vec![stats.logical_plan, answer.logical_plan],
                    Engine::Streaming,
                    OptFlags::default(),
                )?;
                let answer = out.pop().expect("two results");
                let stats = out.pop().expect("two results");
                Ok((Some(stats), answer))
            })
        });
        outcome(&input, &p.workload, result)
    }
}

/// `etl`: the plan's output streamed in order (`sink_batches`, order maintained) into the shared
/// writer, one engine batch at a time.
fn run_etl(p: &Params, input: &PolarsInput) -> Result<Outcome, RunError> {
    let frames = Arc::new(Mutex::new(Some(EtlFrames::new(p)?)));
    let shared = frames.clone();
    let result = engine(|| {
        scan(input).and_then(|lf| {
            let callback = PlanCallback::new(move |df: DataFrame| {
                let mut guard = shared.lock().unwrap_or_else(|e| e.into_inner());
                let frames = guard
                    .as_mut()
                    .expect("frames are taken only after the query");
                // `true` asks the engine to stop.
                Ok(!frames.push(&df)?)
            });
            etl_plan(without_empty_lines(lf, input))
                .sink_batches(callback, true, None)?
                .collect_with_engine(Engine::Streaming)
                .map(|_| ())
        })
    });
    let frames = frames
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .take()
        .expect("taken once");
    frames.finish(input, result)
}
