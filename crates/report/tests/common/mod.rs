//! Hand-made records shared by the report tests.

use membench_protocol::{
    Growth, InputFormat, OnBadRow, ProcessRecord, RunnerMeasure, Status, Workload,
};
use membench_report::record::{Record, RunContext};

/// One ok-or-not record of the top-n · csv cell of `strategy` at `rows`.
pub fn rec(strategy: &str, rows: u64, rep: u32, heap: u64, wall_ms: u64, status: Status) -> Record {
    Record {
        run_id: "test".into(),
        strategy: strategy.into(),
        workload: Workload::TOP_N,
        format: InputFormat::CSV,
        rows,
        dataset: format!("datasets/sales-{rows}-s42.csv"),
        input_bytes: rows * 200,
        repetition: rep,
        status,
        expected_digest: Some(if strategy == "broken" {
            "xyz".into()
        } else {
            "abc".into()
        }),
        threads: 2,
        chunk_rows: 100_000,
        on_bad_row: OnBadRow::Fail,
        process: ProcessRecord {
            peak_rss_bytes: heap + 8 * 1048576,
            peak_rss_anon_bytes: heap + 4 * 1048576,
            process_wall_ns: wall_ms * 1_000_000 + 5_000_000,
            timeline: (0..5)
                .map(|i| [i * 10_000_000, heap / 5 * (i + 1), heap / 5 * i, 1 << 20])
                .collect(),
            ..ProcessRecord::default()
        },
        measure: RunnerMeasure {
            peak_heap_bytes: Some(heap),
            wall_ns: Some(wall_ms * 1_000_000 + u64::from(rep) * 1_000_000),
            answer_digest: Some("abc".into()),
            heap_timeline: (0..3)
                .map(|i| [i * 10_000_000, heap / 3 * (i + 1)])
                .collect(),
            declared_growth: Some(if strategy == "load-all" {
                Growth::Linear
            } else {
                Growth::Constant
            }),
            ..RunnerMeasure::default()
        },
        context: RunContext {
            git_rev: "0123456789ab".into(),
            rustc: "rustc 1.95.0".into(),
            cpu: "Test CPU".into(),
            cores: 2,
            memory_bytes: 24 << 30,
            os: "Linux".into(),
            started_at: "2026-11-22T10:00:00Z".into(),
        },
        ..Record::default()
    }
}
