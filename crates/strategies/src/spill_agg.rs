//! `spill-agg`: a user's `GROUP BY` whose groups may not fit in memory — the partitioned hash
//! aggregation databases use (hybrid: nothing spills while memory suffices).
//!
//! The input is folded into groups held in memory, as `streaming` does, while the live heap
//! (the counting allocator's, else the RSS) stays within a quarter of the budget
//! (`--memory-limit`; without one nothing spills, every group is held) above where it started: a hash table that grows doubles,
//! holding its old and new tables at once, and the output rows and spill buffers need room. Once it does not, the groups held so far stay held and
//! keep taking their rows, and a row of any other group is hash-partitioned on its group key
//! into a spill file (encoded compactly, [`membench_query::text::Value::encode`]). After the
//! scan the held groups are finished into output rows; then each partition is aggregated the
//! same way on its own — its groups are disjoint from every other's — and a partition that
//! still does not fit spills again, partitioned on another hash, up to [`MAX_DEPTH`] levels
//! (beyond that a partition is held whole: one group larger than the budget cannot be split,
//! and is `oom` as in every other strategy). The output rows of all partitions are ordered and
//! limited by the same executor, so the answer is `streaming`'s bit for bit.
//!
//! It runs only a query of one input with `GROUP BY` keys (the registry's `Queries::Groups`);
//! an expression's error is reported as streaming reports it (the plan re-run streaming to
//! locate it, paid only on failure).

use std::hash::{Hash, Hasher};

use membench_query::exec::Executor;
use membench_query::scan::{scan_rows, wanted};
use membench_query::text::Value;

use crate::adaptive::Gauge;
use crate::io::join::query::{eval_error, file_bytes, spilling};
use crate::io::join::spill::{decode_row, encode_row};
use crate::io::join::spill::{SpillDir, SpillFile, SpillWriter};
use crate::{Outcome, Params, QueryParams, RunError, Strategy};

pub struct SpillAgg;

/// How many times a partition that does not fit is partitioned again.
pub const MAX_DEPTH: u32 = 4;
/// The most partitions one overflow makes.
const MAX_PARTITIONS: u64 = 64;
/// Held bytes per stored byte of a row, estimated (as the spilling joins do).
const EXPANSION: u64 = 4;
/// Rows between two readings of the memory gauge.
const CHECK_ROWS: u64 = 1024;

impl Strategy for SpillAgg {
    fn run(&self, _: &Params) -> Result<Outcome, RunError> {
        Err(RunError::Unsupported(
            "spill-agg runs a user's GROUP BY query only (`run --input … --query …`)".into(),
        ))
    }

    fn query(&self, p: &Params, q: &QueryParams) -> Result<Outcome, RunError> {
        spilling(p, q, |spill| aggregate(p, q, spill))
    }
}

/// The partition of a group key, on the hash of level `depth`.
fn partition(key: &[Value], depth: u32, n: usize) -> usize {
    let mut h = rustc_hash::FxHasher::default();
    depth.hash(&mut h);
    key.hash(&mut h);
    (h.finish() >> 32) as usize % n
}

/// Folds rows into `exec`'s held groups while the gauge stays under `limit`; after that, the
/// rows of groups not held go to `n` partitions (made when first needed) on the hash of
/// level `depth`. `admit_all`: the last level, where every group is held.
struct Folder<'s> {
    spill: &'s mut SpillDir,
    gauge: Gauge,
    limit: u64,
    n: usize,
    depth: u32,
    admit_all: bool,
    parts: Vec<SpillWriter>,
    rows: u64,
    buf: Vec<u8>,
}

impl Folder<'_> {
    fn fold(&mut self, exec: &mut Executor<'_>, row: &[Value]) -> Result<(), RunError> {
        self.rows += 1;
        if !self.admit_all
            && self.parts.is_empty()
            && self.rows.is_multiple_of(CHECK_ROWS)
            && self.gauge.bytes() > self.limit
        {
            self.parts = (0..self.n)
                .map(|_| self.spill.create())
                .collect::<Result<_, _>>()?;
        }
        let admit = self.admit_all || self.parts.is_empty();
        if let Some(key) = exec.push_held(row, admit).map_err(eval_error)? {
            let part = partition(key, self.depth, self.n);
            encode_row(row, &mut self.buf);
            self.parts[part].record(&self.buf)?;
        }
        Ok(())
    }

    /// The spilled partitions, closed.
    fn finish(self) -> Result<Vec<SpillFile>, RunError> {
        let spill = self.spill;
        self.parts.into_iter().map(|w| spill.close(w)).collect()
    }
}

fn aggregate(p: &Params, q: &QueryParams, spill: &mut SpillDir) -> Result<Outcome, RunError> {
    let plan = &q.plan;
    let tables = q.tables();
    // Without a budget there is no reason to spill: every group is held.
    let budget = p.memory_budget_bytes.unwrap_or(u64::MAX / 2);
    let gauge = Gauge::detect();
    let held = file_bytes(tables[0]) * EXPANSION;
    let n = held
        .div_ceil((budget / 4).max(1))
        .clamp(2, MAX_PARTITIONS) as usize;
    p.setting(match p.memory_budget_bytes {
        Some(b) => format!(
            "groups held up to a quarter of {} MiB of {}, then {n} partitions a level, at most \
             {MAX_DEPTH} levels",
            b >> 20,
            gauge.name()
        ),
        None => "no --memory-limit: every group held, nothing spilled".into(),
    });
    let mut exec = match q.result_file()? {
        Some(f) => Executor::writing(plan, f),
        None => Executor::new(plan),
    };
    let mut folder = Folder {
        limit: gauge.bytes() + budget / 4,
        spill: &mut *spill,
        gauge,
        n,
        depth: 0,
        admit_all: false,
        parts: Vec::new(),
        rows: 0,
        buf: Vec::new(),
    };
    let rows_read = scan_rows(tables[0], &wanted(plan, 0), |row, _, _| {
        folder.fold(&mut exec, row)
    })?;
    let spilled = folder.finish()?;
    if !spilled.is_empty() {
        p.phase("partitions");
    }
    exec.settle_groups().map_err(eval_error)?;
    for part in spilled {
        aggregate_part(&mut exec, part, 1, (spill, gauge, budget, n))?;
    }
    let answer = exec.finish().map_err(eval_error)?;
    Ok(Outcome {
        answer: crate::io::query::as_answer(&answer),
        rows_read,
        rows_skipped: 0,
    })
}

/// Aggregates one spilled partition at level `depth` into `into`'s output rows; what does not
/// fit is partitioned again.
fn aggregate_part(
    into: &mut Executor<'_>,
    part: SpillFile,
    depth: u32,
    (spill, gauge, budget, n): (&mut SpillDir, Gauge, u64, usize),
) -> Result<(), RunError> {
    let mut exec = into.fork();
    let mut folder = Folder {
        limit: gauge.bytes() + budget / 4,
        spill: &mut *spill,
        gauge,
        n,
        depth,
        admit_all: depth >= MAX_DEPTH,
        parts: Vec::new(),
        rows: 0,
        buf: Vec::new(),
    };
    let mut row = Vec::new();
    part.for_each_record(|r| {
        decode_row(r, &mut row)?;
        folder.fold(&mut exec, &row)
    })?;
    part.delete();
    let again = folder.finish()?;
    exec.settle_groups().map_err(eval_error)?;
    into.merge(exec);
    for sub in again {
        aggregate_part(into, sub, depth + 1, (spill, gauge, budget, n))?;
    }
    Ok(())
}
