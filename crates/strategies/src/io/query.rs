//! A user's query ([`membench_kernel::Workload::Query`]) through the generic operators of
//! `membench-query`, read the way a kernel strategy reads ([`Reading`]): its answer as the
//! kernel's canonical [`Answer::Query`].

use membench_kernel::Answer;
use membench_query::scan::{
    Batcher, Open, QueryError, Ran, Reading, run_batched, run_opened, run_to,
};

use crate::{Outcome, QueryParams, RunError};

/// Runs the plan over the tables, read `reading`'s way.
pub fn generic(q: &QueryParams, reading: Reading) -> Result<Outcome, RunError> {
    outcome(run_to(&q.plan, &q.tables(), reading, q.result_file()?))
}

/// Runs the plan with the `FROM` input folded in the batches `batcher` cuts.
pub fn batched(q: &QueryParams, batcher: &mut dyn Batcher) -> Result<Outcome, RunError> {
    outcome(run_batched(&q.plan, &q.tables(), batcher, q.result_file()?))
}

/// Runs the plan streaming, every file read through `open`.
pub fn opened(q: &QueryParams, open: Open) -> Result<Outcome, RunError> {
    outcome(run_opened(&q.plan, &q.tables(), open, q.result_file()?))
}

fn outcome(ran: Result<Ran, QueryError>) -> Result<Outcome, RunError> {
    let ran = ran?;
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
    let eval = |error| RunError::Query(QueryError::Eval { at: None, error });
    let mut answer = membench_query::exec::answer_from_rows(&q.plan, rows).map_err(eval)?;
    if let Some(file) = q.result_file()? {
        let io = |e: String| RunError::Other(anyhow::anyhow!(e));
        for r in std::mem::take(&mut answer.rows) {
            file.write(&r).map_err(io)?;
        }
        answer.written = file.finish().map_err(io)?;
    }
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
        written: json.get("written").cloned(),
    }
}
