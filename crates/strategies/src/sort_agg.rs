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
use membench_query::scan::{scan_rows, wanted};
use membench_query::text::Value;

use crate::adaptive::Gauge;
use crate::io::join::query::{eval_error, spilling};
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
        spilling(p, q, |spill| aggregate(p, q, spill))
    }
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
    let keys = plan.group.as_ref().map_or(&[][..], |g| &g.keys[..]);
    // Where the merge finds a row's key: among its values when every key is a column, else
    // carried after them (a computed key).
    let in_row: Option<Vec<usize>> = keys
        .iter()
        .map(|k| match k.expr {
            membench_protocol::Expr::Col(i) => Some(i),
            _ => None,
        })
        .collect();
    let key_at: Vec<usize> = in_row
        .clone()
        .unwrap_or_else(|| (width..width + keys.len()).collect());
    let mut runs = Runs::new(run_bytes);
    let (mut rows, mut sorting) = (0u64, false);
    let mut carried: Vec<Value> = Vec::new();
    let rows_read = scan_rows(tables[0], &columns, |row, _, _| {
        rows += 1;
        if !sorting && rows.is_multiple_of(CHECK_ROWS) && gauge.bytes() > limit {
            sorting = true;
        }
        if let Some(key) = exec.push_held(row, !sorting).map_err(eval_error)? {
            if in_row.is_some() {
                runs.push(key, row, spill)?;
            } else {
                carried.clear();
                carried.extend_from_slice(row);
                carried.extend_from_slice(key);
                runs.push(key, &carried, spill)?;
            }
        }
        Ok::<(), RunError>(())
    })?;
    exec.settle_groups().map_err(eval_error)?;
    if !runs.is_empty() {
        if runs.spilled() {
            p.phase("merge");
        }
        let mut sorted = runs.sorted(spill, key_at.clone())?;
        // One group at a time: settled when the key changes.
        let mut one = exec.fork();
        let mut current: Option<Vec<Value>> = None;
        let mut key: Vec<Value> = Vec::with_capacity(key_at.len());
        while let Some(r) = sorted.next()? {
            key.clear();
            key.extend(key_at.iter().map(|&i| r[i].clone()));
            match &current {
                Some(c) if keys_cmp(c, &key).is_eq() => {}
                Some(_) => {
                    one.settle_groups().map_err(eval_error)?;
                    current = Some(key.clone());
                }
                None => current = Some(key.clone()),
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
