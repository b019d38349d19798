//! The spilling joins of a user's query (`grace`, `merge-join` on `--query … JOIN …`): both
//! inputs read once through `membench-query`'s typed scan, their rows spilled to the scratch
//! folder in a compact binary form ([`Value::encode`]), then joined a part at a time by the same
//! generic operators every other strategy folds into ([`HashJoin`], [`Executor`]), so the
//! answer is theirs bit for bit.
//!
//! - `grace`: both inputs hash-partitioned on the join key (the `FROM` key cast to the joined
//!   key's type, as the hash join compares them); each partition's joined rows held, its `FROM`
//!   rows streamed past. Partitions are sized from the heap budget.
//! - `merge-join`: both inputs sorted on the key by an external merge sort (runs of a bounded
//!   size, sorted and spilled, then merged), then read side by side: one key's joined rows held
//!   at a time.
//!
//! A `FROM` row whose key is NULL (or does not cast) never joins: it is folded at once (a left
//! join keeps it). An expression's error is reported as streaming reports it (the first in file
//! order): the plan is run again streaming to locate it, paid only on failure.

use std::hash::{Hash, Hasher};

use membench_protocol::{ColumnType, Plan};
use membench_query::exec::{Executor, HashJoin};
use membench_query::scan::{QueryError, Reading, scan_rows, wanted};
use membench_query::text::Value;

use super::runs::Runs;
use super::spill::{SpillDir, SpillFile, SpillWriter, decode_row, encode_row};
use crate::{Outcome, Params, QueryParams, RunError};

/// The heap budget spilling is sized for when none is given.
const DEFAULT_BUDGET: u64 = 64 << 20;
/// The most grace partitions.
const MAX_PARTITIONS: u64 = 64;
/// Held bytes per stored byte of a row, estimated (a value is 32 bytes plus its text).
const EXPANSION: u64 = 4;

/// What both joins need to know of the plan.
struct Keys {
    /// Where the key is among each input's scanned columns.
    left: usize,
    right: usize,
    /// The joined key's type, which the `FROM` key is cast to.
    ty: ColumnType,
}

impl Keys {
    fn of(plan: &Plan) -> Result<Self, RunError> {
        let j = plan
            .join
            .ok_or_else(|| RunError::Unsupported("this query joins no two inputs".into()))?;
        let hj = HashJoin::new(plan);
        let pos = |input: usize, key: usize| {
            hj.columns_of(input)
                .iter()
                .position(|&c| c == key)
                .expect("the join key is scanned")
        };
        Ok(Keys {
            left: pos(0, j.left_key),
            right: pos(1, j.right_key),
            ty: plan.columns[j.right_key].ty,
        })
    }

    /// A `FROM` row's key as the joined rows hold it (NULL: it joins nothing).
    fn left_key(&self, row: &[Value]) -> Value {
        membench_query::eval::cast(row[self.left].clone(), self.ty).unwrap_or(Value::Null)
    }
}

/// The budget the spill is sized for, and the bytes of an input's files.
pub(crate) fn budget(p: &Params) -> u64 {
    p.memory_budget_bytes.unwrap_or(DEFAULT_BUDGET)
}

pub(crate) fn file_bytes(t: &membench_query::Table) -> u64 {
    t.files
        .iter()
        .map(|f| std::fs::metadata(f).map(|m| m.len()).unwrap_or(0))
        .sum()
}

/// Runs `join`; an expression's error is re-located as streaming finds it.
pub(crate) fn located(
    q: &QueryParams,
    join: impl FnOnce() -> Result<Outcome, RunError>,
) -> Result<Outcome, RunError> {
    match join() {
        Err(e @ RunError::Query(QueryError::Eval { .. })) => {
            match crate::io::query::generic(q, Reading::Streaming) {
                Ok(_) => Err(e),
                Err(located) => Err(located),
            }
        }
        other => other,
    }
}

/// A spilling strategy's run of a user's query: a private spill folder for `run`, its bytes
/// reported whatever happens, an expression's error located as streaming finds it.
pub(crate) fn spilling(
    p: &Params,
    q: &QueryParams,
    run: impl FnOnce(&mut SpillDir) -> Result<Outcome, RunError>,
) -> Result<Outcome, RunError> {
    located(q, || {
        let mut spill = SpillDir::new(&p.scratch)?;
        let r = run(&mut spill);
        p.spilled(spill.bytes_written);
        r
    })
}

/// An expression's error met while folding, located later by [`located`].
pub(crate) fn eval_error(error: membench_query::eval::EvalError) -> RunError {
    RunError::Query(QueryError::Eval { at: None, error })
}

/// `grace` on a user's join.
pub(crate) fn grace(p: &Params, q: &QueryParams) -> Result<Outcome, RunError> {
    spilling(p, q, |spill| grace_in(p, q, spill))
}

fn partition(key: &Value, n: usize) -> usize {
    let mut h = rustc_hash::FxHasher::default();
    key.hash(&mut h);
    (h.finish() >> 32) as usize % n
}

fn grace_in(p: &Params, q: &QueryParams, spill: &mut SpillDir) -> Result<Outcome, RunError> {
    let plan = &q.plan;
    let keys = Keys::of(plan)?;
    let tables = q.tables();
    let held = file_bytes(tables[1]) * EXPANSION;
    let n = held
        .div_ceil((budget(p) / 4).max(1))
        .clamp(1, MAX_PARTITIONS) as usize;
    p.setting(format!(
        "partitions={n} (≈{} MiB of joined rows held over a quarter of {} MiB)",
        held >> 20,
        budget(p) >> 20
    ));
    let mut buf = Vec::new();
    // The joined input, partitioned (a NULL key joins nothing: dropped).
    let mut parts: Vec<SpillWriter> = (0..n).map(|_| spill.create()).collect::<Result<_, _>>()?;
    let mut rows_read = scan_rows(tables[1], &wanted(plan, 1), |row, _, _| {
        let key = &row[keys.right];
        if *key == Value::Null {
            return Ok(());
        }
        encode_row(row, &mut buf);
        parts[partition(key, n)].record(&buf)
    })?;
    let built: Vec<SpillFile> = parts
        .into_iter()
        .map(|w| spill.close(w))
        .collect::<Result<_, _>>()?;
    // The `FROM` input, partitioned; a row that joins nothing folded at once.
    let mut exec = match q.result_file()? {
        Some(f) => Executor::writing(plan, f),
        None => Executor::new(plan),
    };
    let none = HashJoin::new(plan);
    let mut joined = none.row_buffer();
    let mut parts: Vec<SpillWriter> = (0..n).map(|_| spill.create()).collect::<Result<_, _>>()?;
    rows_read += scan_rows(tables[0], &wanted(plan, 0), |row, _, _| {
        let key = keys.left_key(row);
        if key == Value::Null {
            return fold(&none, row, &mut joined, &mut exec);
        }
        encode_row(row, &mut buf);
        parts[partition(&key, n)].record(&buf)
    })?;
    let probed: Vec<SpillFile> = parts
        .into_iter()
        .map(|w| spill.close(w))
        .collect::<Result<_, _>>()?;
    // Each partition on its own.
    let mut row = Vec::new();
    for (b, pr) in built.into_iter().zip(probed) {
        let mut hj = HashJoin::new(plan);
        b.for_each_record(|r| {
            decode_row(r, &mut row)?;
            hj.build(std::mem::take(&mut row));
            Ok(())
        })?;
        b.delete();
        pr.for_each_record(|r| {
            decode_row(r, &mut row)?;
            fold(&hj, &row, &mut joined, &mut exec)
        })?;
        pr.delete();
    }
    finish(exec, rows_read)
}

/// Joins one `FROM` row and folds what it gives.
fn fold<'p>(
    hj: &HashJoin<'p>,
    row: &[Value],
    joined: &mut [Value],
    exec: &mut Executor<'p>,
) -> Result<(), RunError> {
    hj.probe_with(row, joined, &mut |r| exec.push(r))
        .map_err(|error| RunError::Query(QueryError::Eval { at: None, error }))
}

fn finish(exec: Executor<'_>, rows_read: u64) -> Result<Outcome, RunError> {
    let answer = exec
        .finish()
        .map_err(|error| RunError::Query(QueryError::Eval { at: None, error }))?;
    Ok(Outcome {
        answer: crate::io::query::as_answer(&answer),
        rows_read,
        rows_skipped: 0,
    })
}

/// `merge-join` on a user's join.
pub(crate) fn merge(p: &Params, q: &QueryParams) -> Result<Outcome, RunError> {
    spilling(p, q, |spill| merge_in(p, q, spill))
}

fn merge_in(p: &Params, q: &QueryParams, spill: &mut SpillDir) -> Result<Outcome, RunError> {
    let plan = &q.plan;
    let keys = Keys::of(plan)?;
    let tables = q.tables();
    let limit = (budget(p) / 8).clamp(1 << 20, 64 << 20) as usize;
    p.setting(format!("run={} MiB (an eighth of the budget)", limit >> 20));
    let mut exec = match q.result_file()? {
        Some(f) => Executor::writing(plan, f),
        None => Executor::new(plan),
    };
    let none = HashJoin::new(plan);
    let mut joined = none.row_buffer();
    // The joined input, sorted on its key (NULL keys dropped: they join nothing).
    let mut right = Runs::new(limit);
    let mut rows_read = scan_rows(tables[1], &wanted(plan, 1), |row, _, _| {
        let key = row[keys.right].clone();
        if key == Value::Null {
            return Ok(());
        }
        right.push(std::slice::from_ref(&key), row, spill)
    })?;
    // The `FROM` input sorted on its key cast to the joined key's type, carried after its
    // values; a row that joins nothing folded at once.
    let width = wanted(plan, 0).len();
    let mut left = Runs::new(limit);
    let mut carried = Vec::with_capacity(width + 1);
    rows_read += scan_rows(tables[0], &wanted(plan, 0), |row, _, _| {
        let key = keys.left_key(row);
        if key == Value::Null {
            return fold(&none, row, &mut joined, &mut exec);
        }
        carried.clear();
        carried.extend_from_slice(row);
        carried.push(key.clone());
        left.push(std::slice::from_ref(&key), &carried, spill)
    })?;
    let mut right = right.sorted(spill, vec![keys.right])?;
    let mut left = left.sorted(spill, vec![width])?;
    // Side by side: for each key, its joined rows held, its `FROM` rows probed past them.
    let mut r_next = right.next()?;
    let mut l_next = left.next()?;
    while let Some(l) = l_next.take() {
        let key = l[width].clone();
        while r_next
            .as_ref()
            .is_some_and(|r| r[keys.right].key_cmp(&key).is_lt())
        {
            r_next = right.next()?;
        }
        let mut hj = HashJoin::new(plan);
        while r_next
            .as_ref()
            .is_some_and(|r| r[keys.right].key_cmp(&key).is_eq())
        {
            hj.build(r_next.take().expect("a row"));
            r_next = right.next()?;
        }
        let mut cur = Some(l);
        while let Some(l) = cur.take() {
            if !l[width].key_cmp(&key).is_eq() {
                cur = Some(l);
                break;
            }
            fold(&hj, &l[..width], &mut joined, &mut exec)?;
            cur = left.next()?;
        }
        l_next = cur;
    }
    finish(exec, rows_read)
}
