//! A measured repetition as a raw record of `results.jsonl`: the cell and the run's settings,
//! what the harness measured of the process, and what the runner measured inside — the last
//! two embedded whole (`membench_protocol::Record`), never copied field by field.

use membench_harness::Measured;
use membench_protocol::{
    Allocator, ErrorKind, RECORD_VERSION, Record, RunContext, RunnerError, Status,
};

use super::cell::Cell;
use super::config::RunConfig;

/// Everything a record needs besides the measurement itself.
pub struct RecordContext<'a> {
    pub run_id: &'a str,
    pub config: &'a RunConfig,
    pub context: &'a RunContext,
}

/// How the budget applied: the counting allocator's heap budget, or the kernel limit the
/// harness applied to a system-allocator repetition.
fn limit_applied(c: &RunConfig, allocator: Allocator, m: &Measured) -> Option<String> {
    c.budget.as_ref()?;
    match (&m.kernel_limit, allocator) {
        (Some(k), _) => Some(k.kind.name().to_string()),
        (None, Allocator::Counting) => Some("counting allocator".into()),
        (None, _) => None,
    }
}

/// The answer every cell of a group is compared with, and whose it is.
#[derive(Clone, Debug, PartialEq)]
pub struct Reference {
    pub strategy: String,
    pub digest: String,
    /// A user's query: the answer itself, for engines whose floats differ in the last bits
    /// (compared within `membench_query::compare::FLOAT_TOLERANCE`).
    pub answer: Option<serde_json::Value>,
}

/// Whether an answer whose digest differs from the reference's still agrees: a user's query
/// whose answer, compared value by value, differs only within the float tolerance.
fn agrees_within_tolerance(
    cell: &Cell,
    measured: Option<&serde_json::Value>,
    r: &Reference,
) -> bool {
    cell.workload.query().is_some()
        && match (measured, &r.answer) {
            (Some(a), Some(b)) => membench_query::compare::agree(a, b).is_ok(),
            _ => false,
        }
}

/// The record of one repetition; `wrong-answer` when its digest differs from the reference's.
pub fn make(
    cx: &RecordContext<'_>,
    cell: &Cell,
    allocator: Allocator,
    repetition: u32,
    m: &Measured,
    reference: Option<&Reference>,
) -> Record {
    let mut measure = m.runner.clone().unwrap_or_default().measure;
    let expected = reference.map(|r| &r.digest);
    let mut status = m.status;
    if status == Status::Ok
        && !m.answer_unchecked
        && expected.is_some()
        && measure.answer_digest.as_ref() != expected
        && !reference.is_some_and(|r| agrees_within_tolerance(cell, measure.answer.as_ref(), r))
    {
        status = Status::WrongAnswer;
    }
    // A failed process without a runner's word keeps the end of its stderr as its error.
    if measure.error.is_none() && m.status != Status::Ok {
        measure.error = Some(RunnerError {
            kind: ErrorKind::Process,
            message: m.stderr_tail.clone(),
        });
    }
    if let Some(e) = &mut measure.error {
        e.message = membench_protocol::redact(&e.message);
    }
    // Keep the timeline small: at most ~200 evenly spaced samples.
    let mut process = m.process.clone();
    let step = process.timeline.len().div_ceil(200).max(1);
    process.timeline = process.timeline.into_iter().step_by(step).collect();
    let c = cx.config;
    Record {
        record_version: RECORD_VERSION,
        run_id: cx.run_id.to_string(),
        strategy: cell.strategy.clone(),
        workload: cell.workload.clone(),
        format: cell.dataset.format,
        rows: cell.dataset.rows,
        shape: cell.dataset.shape,
        dataset: cell.dataset.path.display().to_string(),
        input_bytes: cell.dataset.bytes,
        items: cell.dataset.items.as_ref().map(|p| p.display().to_string()),
        repetition,
        status,
        allocator,
        threads: c.threads,
        chunk_rows: c.chunk_rows,
        on_bad_row: c.on_bad_row,
        memory_limit: c.budget.as_ref().map(|b| b.text.clone()),
        limit_applied: limit_applied(c, allocator, m),
        expected_digest: expected.cloned(),
        reference_strategy: reference
            .filter(|r| r.strategy != membench_protocol::reference_strategy())
            .map(|r| r.strategy.clone()),
        answer_unchecked: m.answer_unchecked,
        incremental: None,
        process,
        measure,
        context: cx.context.clone(),
    }
}
