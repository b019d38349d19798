//! A measured repetition as a raw record of `results.jsonl`.

use membench_harness::Measured;
use membench_protocol::{Allocator, Status};
use membench_report::record::{Record, RunContext};

use super::RunArgs;
use super::plan::Cell;

/// Everything a record needs besides the measurement itself.
pub struct RecordContext<'a> {
    pub run_id: &'a str,
    pub args: &'a RunArgs,
    pub context: &'a RunContext,
}

/// How the budget applied: the counting allocator's heap budget, or the kernel limit the
/// harness applied to a system-allocator repetition.
fn limit_applied(a: &RunArgs, allocator: Allocator, m: &Measured) -> Option<String> {
    a.memory_limit.as_ref()?;
    match (&m.kernel_limit, allocator) {
        (Some(k), _) => Some(k.kind.name().to_string()),
        (None, Allocator::Counting) => Some("counting allocator".into()),
        (None, _) => None,
    }
}

/// The answer every cell of a group is compared with, and whose it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reference {
    pub strategy: String,
    pub digest: String,
}

/// The record of one repetition; `wrong-answer` when its digest differs from the reference's.
pub fn make(
    cx: &RecordContext<'_>,
    c: &Cell,
    allocator: Allocator,
    repetition: u32,
    m: &Measured,
    reference: Option<&Reference>,
) -> Record {
    let expected = reference.map(|r| &r.digest);
    let r = m.runner.clone().unwrap_or_default();
    let mut status = m.status;
    if status == Status::Ok
        && !m.answer_unchecked
        && expected.is_some()
        && r.answer_digest.as_ref() != expected
    {
        status = Status::WrongAnswer;
    }
    let error = r
        .error
        .as_ref()
        .map(|e| e.message.clone())
        .or_else(|| (m.status != Status::Ok).then(|| m.stderr_tail.clone()))
        .map(|e| membench_protocol::redact(&e));
    // Keep the timeline small: at most ~200 evenly spaced samples.
    let step = m.timeline.len().div_ceil(200).max(1);
    let a = cx.args;
    Record {
        run_id: cx.run_id.to_string(),
        strategy: c.strategy.clone(),
        workload: c.workload.clone(),
        format: c.dataset.format.clone(),
        rows: c.dataset.rows,
        dataset: c.dataset.path.display().to_string(),
        input_bytes: c.dataset.bytes,
        repetition,
        status,
        allocator,
        peak_heap_bytes: r.peak_heap_bytes,
        baseline_heap_bytes: r.baseline_heap_bytes,
        total_allocated_bytes: r.total_allocated_bytes,
        n_allocs: r.n_allocs,
        peak_rss_bytes: m.peak_rss_bytes,
        peak_rss_anon_bytes: m.peak_rss_anon_bytes,
        peak_rss_file_bytes: m.peak_rss_file_bytes,
        wall_ns: m.runner.as_ref().map(|r| r.wall_ns),
        process_wall_ns: m.wall_ns,
        user_ns: m.user_ns,
        sys_ns: m.sys_ns,
        rows_read: r.rows_read,
        rows_skipped: r.rows_skipped,
        answer_digest: r.answer_digest,
        expected_digest: expected.cloned(),
        reference_strategy: reference
            .filter(|r| r.strategy != super::drive::REFERENCE)
            .map(|r| r.strategy.clone()),
        error,
        exit_code: m.exit_code,
        signal: m.signal.clone(),
        threads: a.threads,
        chunk_rows: a.chunk_rows,
        on_bad_row: a.on_bad_row.clone(),
        memory_limit: a.memory_limit.clone(),
        limit_applied: limit_applied(a, allocator, m),
        answer_unchecked: m.answer_unchecked,
        peak_pss_bytes: m.peak_pss_bytes,
        max_processes: m.max_processes,
        max_record_bytes: r.max_record_bytes,
        declared_growth: r.declared_growth,
        heap_timeline: r.heap_timeline,
        phases: r.phases,
        server_peak_rss_bytes: r.server_peak_rss_bytes,
        server_backend_peak_rss_bytes: r.server_backend_peak_rss_bytes,
        server_timeline: r.server_timeline,
        db_settings: r.db_settings,
        db_reused: r.db_reused,
        items: r.items,
        spill_bytes: r.spill_bytes,
        batches: r.batches,
        leftover_processes: m.leftover_processes,
        timeline: m
            .timeline
            .iter()
            .step_by(step)
            .map(|s| [s.t_ns, s.rss_bytes, s.rss_anon_bytes, s.rss_file_bytes])
            .collect(),
        context: cx.context.clone(),
    }
}
