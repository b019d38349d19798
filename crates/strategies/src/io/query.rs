//! A user's query ([`membench_kernel::Workload::Query`]) through the generic operators of
//! `membench-query`, read the way a kernel strategy reads ([`Reading`]): its answer as the
//! kernel's canonical [`Answer::Query`].

use membench_kernel::Answer;
use membench_query::scan::{Batcher, Open, QueryError, Ran, Reading, run, run_batched, run_opened};

use crate::{Outcome, QueryParams, RunError};

/// Runs the plan over the tables, read `reading`'s way.
pub fn generic(q: &QueryParams, reading: Reading) -> Result<Outcome, RunError> {
    outcome(run(&q.plan, &q.tables(), reading))
}

/// Runs the plan with the `FROM` input folded in the batches `batcher` cuts.
pub fn batched(q: &QueryParams, batcher: &mut dyn Batcher) -> Result<Outcome, RunError> {
    outcome(run_batched(&q.plan, &q.tables(), batcher))
}

/// Runs the plan streaming, every file read through `open`.
pub fn opened(q: &QueryParams, open: Open) -> Result<Outcome, RunError> {
    outcome(run_opened(&q.plan, &q.tables(), open))
}

fn outcome(ran: Result<Ran, QueryError>) -> Result<Outcome, RunError> {
    let ran = ran.map_err(|e| match e {
        QueryError::Thread(e) => RunError::Resources(e),
        e => RunError::Query(e),
    })?;
    Ok(Outcome {
        answer: as_answer(&ran.answer),
        rows_read: ran.rows_read,
        rows_skipped: 0,
    })
}

/// A database's result rows (every output of the plan, read by their types) as the outcome:
/// ordered, limited and typed as every strategy's answer is.
pub fn from_rows(
    q: &QueryParams,
    rows: Vec<Vec<membench_query::text::Value>>,
    rows_read: u64,
) -> Result<Outcome, RunError> {
    let answer = membench_query::exec::answer_from_rows(&q.plan, rows)
        .map_err(|error| RunError::Query(QueryError::Eval { at: None, error }))?;
    Ok(Outcome {
        answer: as_answer(&answer),
        rows_read,
        rows_skipped: 0,
    })
}

/// The canonical table as the kernel's answer.
pub fn as_answer(a: &membench_query::exec::QueryAnswer) -> Answer {
    let json = a.to_json();
    let rows = match &json["rows"] {
        serde_json::Value::Array(rows) => rows
            .iter()
            .map(|r| r.as_array().cloned().unwrap_or_default())
            .collect(),
        _ => Vec::new(),
    };
    Answer::Query {
        columns: a.columns.clone(),
        rows,
    }
}
