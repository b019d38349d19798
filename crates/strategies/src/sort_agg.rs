//! `sort-agg`: a user's `GROUP BY` whose groups may not fit in memory — sort-based aggregation
//! (hybrid: nothing is sorted while memory suffices).
//!
//! The input is folded into groups held in memory, as `streaming` and `spill-agg` do, while the
//! live heap stays within a quarter of the budget (`--memory-limit`; without one every group is
//! held) above where it started. Once it does not, the groups held so far keep taking their
//! rows, and a row of any other group goes, with its group key, into an external merge sort on
//! that key (merge-join's: runs of an eighth of the budget sorted and spilled, then merged
//! through a heap, [`crate::io::join::runs`]). After the scan the held groups are finished;
//! then the sorted rows are aggregated as they come, one group at a time — a group's rows are
//! adjacent — so the merge holds one row per run and one group, whatever the number of groups.
//! Unlike `spill-agg` nothing is read twice over when a partition would not fit; the price is
//! the sort's comparisons. The output rows are ordered and limited by the same executor, so
//! the answer is `streaming`'s bit for bit.
//!
//! It runs only a query of one input with `GROUP BY` keys (the registry's `Queries::Groups`);
//! an expression's error is reported as streaming reports it.

use membench_query::exec::Executor;
use membench_query::scan::{QueryError, scan_rows, wanted};
use membench_query::text::Value;

use crate::adaptive::Gauge;
use crate::io::join::query::located;
use crate::io::join::runs::{Runs, keys_cmp};
use crate::io::join::spill::SpillDir;
use crate::{Outcome, Params, QueryParams, RunError, Strategy};

pub struct SortAgg;

/// Rows between two readings of the memory gauge.
const CHECK_ROWS: u64 = 1024;

impl Strategy for SortAgg {
    fn run(&self, _: &Params) -> Result<Outcome, RunError> {
        Err(RunError::Unsupported(
            "sort-agg runs a user's GROUP BY query only (`run --input … --query …`)".into(),
        ))
    }

    fn query(&self, p: &Params, q: &QueryParams) -> Result<Outcome, RunError> {
        located(q, || {
            let mut spill = SpillDir::new(&p.scratch)?;
            let r = aggregate(p, q, &mut spill);
            p.spilled(spill.bytes_written);
            r
        })
    }
}

fn eval_error(error: membench_query::eval::EvalError) -> RunError {
    RunError::Query(QueryError::Eval { at: None, error })
}

fn aggregate(p: &Params, q: &QueryParams, spill: &mut SpillDir) -> Result<Outcome, RunError> {
    let plan = &q.plan;
    let tables = q.tables();
    let budget = p.memory_budget_bytes.unwrap_or(u64::MAX / 2);
    let gauge = Gauge::detect();
    let run_bytes = (budget / 8).clamp(1 << 20, 64 << 20) as usize;
    p.setting(match p.memory_budget_bytes {
        Some(b) => format!(
            "groups held up to a quarter of {} MiB of {}, then sorted in runs of {} MiB",
            b >> 20,
            gauge.name(),
            run_bytes >> 20
        ),
        None => "no --memory-limit: every group held, nothing sorted".into(),
    });
    let mut exec = match q.result_file()? {
        Some(f) => Executor::writing(plan, f),
        None => Executor::new(plan),
    };
    let limit = gauge.bytes() + budget / 4;
    let columns = wanted(plan, 0);
    let width = columns.len();
    let mut runs = Runs::new(run_bytes);
    let (mut rows, mut sorting) = (0u64, false);
    let mut carried: Vec<Value> = Vec::new();
    let rows_read = scan_rows(tables[0], &columns, |row, _, _| {
        rows += 1;
        if !sorting && rows.is_multiple_of(CHECK_ROWS) && gauge.bytes() > limit {
            sorting = true;
        }
        if let Some(key) = exec.push_held(row, !sorting).map_err(eval_error)? {
            // The row and its key after it: the merge orders by the key it carries.
            carried.clear();
            carried.extend_from_slice(row);
            carried.extend_from_slice(key);
            runs.push(&carried[width..], &carried, spill)?;
        }
        Ok::<(), RunError>(())
    })?;
    exec.settle_groups().map_err(eval_error)?;
    if !runs.is_empty() {
        if runs.spilled() {
            p.phase("merge");
        }
        let keys = plan.group.as_ref().map_or(0, |g| g.keys.len());
        let mut sorted = runs.sorted(spill, width..width + keys)?;
        // One group at a time: settled when the key changes.
        let mut one = exec.fork();
        let mut current: Option<Vec<Value>> = None;
        while let Some(r) = sorted.next()? {
            let key = &r[width..];
            if current
                .as_deref()
                .is_some_and(|c| keys_cmp(c, key).is_ne())
            {
                one.settle_groups().map_err(eval_error)?;
            }
            if current.as_deref().is_none_or(|c| keys_cmp(c, key).is_ne()) {
                current = Some(key.to_vec());
            }
            one.push_held(&r[..width], true).map_err(eval_error)?;
        }
        one.settle_groups().map_err(eval_error)?;
        exec.merge(one);
    }
    let answer = exec.finish().map_err(eval_error)?;
    Ok(Outcome {
        answer: crate::io::query::as_answer(&answer),
        rows_read,
        rows_skipped: 0,
    })
}
