//! The regression gate on synthetic runs: equal passes, a 20 % heap increase fails and names
//! the cell, time noise never fails, a bounded strategy growing linearly fails the scaling check.

use membench_protocol::{Growth, Status};
use membench_protocol::{InputFormat, Workload};
use membench_report::gate::{
    Tolerances, Verdict, check, declared_growth, make_baseline, markdown, scaling,
};
use membench_report::record::Record;

mod common;
use common::rec;

/// streaming (bounded) and load-all (linear) at two sizes, three repetitions each.
fn run() -> Vec<Record> {
    let mut v = Vec::new();
    for rep in 1..=3 {
        for (rows, f) in [(100_000u64, 10u64), (1_000_000, 100)] {
            v.push(rec("streaming", rows, rep, 262_144, 3 * f, Status::Ok));
            v.push(rec("load-all", rows, rep, 300 * rows, 8 * f, Status::Ok));
        }
    }
    v
}

#[test]
fn a_run_equal_to_its_baseline_passes() {
    let records = run();
    let out = check(&make_baseline(&records), &records, &Tolerances::default());
    assert_eq!(out.compared, 4);
    assert_eq!(out.regressions(), 0, "{}", markdown(&out));
    assert!(out.rows.iter().all(|r| r.verdict == Verdict::Pass));
    assert_eq!(out.scaling.len(), 2);
}

#[test]
fn one_cell_with_20_percent_more_heap_fails_and_is_named() {
    let records = run();
    let baseline = make_baseline(&records);
    let mut worse = records.clone();
    for r in worse
        .iter_mut()
        .filter(|r| r.strategy == "load-all" && r.rows == 100_000)
    {
        r.measure.peak_heap_bytes = r.measure.peak_heap_bytes.map(|h| h * 12 / 10);
    }
    let out = check(&baseline, &worse, &Tolerances::default());
    assert_eq!(out.regressions(), 1);
    let bad: Vec<_> = out
        .rows
        .iter()
        .filter(|r| r.verdict == Verdict::Regression)
        .collect();
    assert_eq!(bad[0].cell, "top-n · csv · load-all · 100k");
    assert_eq!(bad[0].metric, "peak_heap_bytes");
    assert_eq!(bad[0].change, "+20.0%");
    let md = markdown(&out);
    assert!(
        md.contains("| top-n · csv · load-all · 100k | peak_heap_bytes |")
            && md.contains("**REGRESSION**"),
        "{md}"
    );
}

#[test]
fn one_unlucky_repetition_passes_but_every_repetition_higher_fails() {
    // A timing-bound cell (its peak depends on how much was in flight) may peak high once; a
    // regression moves every repetition.
    let records = run();
    let baseline = make_baseline(&records);
    let cell = |r: &Record| r.strategy == "load-all" && r.rows == 100_000;
    for (raised, want) in [(1usize, 0usize), (2, 0), (3, 1)] {
        let mut now = records.clone();
        for r in now.iter_mut().filter(|r| cell(r)).take(raised) {
            r.measure.peak_heap_bytes = r.measure.peak_heap_bytes.map(|h| h * 13 / 10);
        }
        let out = check(&baseline, &now, &Tolerances::default());
        assert_eq!(
            out.regressions(),
            want,
            "{raised} of 3 raised: {}",
            markdown(&out)
        );
        let row = out
            .rows
            .iter()
            .find(|r| r.cell == "top-n · csv · load-all · 100k" && r.metric == "peak_heap_bytes")
            .unwrap();
        // The spread is shown with the median when the repetitions differ.
        assert_eq!(row.now.contains('–'), raised < 3, "{}", row.now);
    }
}

#[test]
fn time_noise_never_fails_and_slowness_only_warns_by_default() {
    let records = run();
    let baseline = make_baseline(&records);
    for factor in [0.7, 1.2, 1.45, 3.0] {
        let mut noisy = records.clone();
        for r in &mut noisy {
            r.measure.wall_ns = r.measure.wall_ns.map(|t| (t as f64 * factor) as u64);
        }
        let out = check(&baseline, &noisy, &Tolerances::default());
        assert_eq!(out.regressions(), 0, "time ×{factor} must not fail");
        let warned = out.rows.iter().any(|r| r.verdict == Verdict::Warn);
        assert_eq!(warned, factor > 1.5, "time ×{factor}");
        let strict = check(
            &baseline,
            &noisy,
            &Tolerances {
                fail_on_time: true,
                ..Tolerances::default()
            },
        );
        assert_eq!(strict.regressions() > 0, factor > 1.5);
    }
}

#[test]
fn a_bounded_strategy_whose_heap_grows_linearly_fails_the_scaling_check() {
    let mut records = run();
    for r in records.iter_mut().filter(|r| r.strategy == "streaming") {
        r.measure.peak_heap_bytes = Some(r.rows * 40);
    }
    let rows = scaling(&records);
    let streaming = rows.iter().find(|r| r.cell.contains("streaming")).unwrap();
    assert_eq!(streaming.declared, Growth::Constant);
    assert!((streaming.slope - 1.0).abs() < 1e-9);
    assert_eq!(streaming.verdict, Verdict::Regression);
    let load_all = rows.iter().find(|r| r.cell.contains("load-all")).unwrap();
    assert_eq!(
        load_all.verdict,
        Verdict::Pass,
        "linear is what load-all declares"
    );
    // And check() fails on it even against a baseline that already had it.
    let out = check(&make_baseline(&records), &records, &Tolerances::default());
    assert_eq!(out.regressions(), 1);
}

#[test]
fn a_cell_that_stopped_working_is_a_regression() {
    let records = run();
    let baseline = make_baseline(&records);
    let mut broken = records.clone();
    for r in broken
        .iter_mut()
        .filter(|r| r.strategy == "streaming" && r.rows == 1_000_000)
    {
        r.status = Status::Oom;
    }
    let out = check(&baseline, &broken, &Tolerances::default());
    assert_eq!(out.regressions(), 1);
    assert!(
        out.rows
            .iter()
            .any(|r| r.metric == "status" && r.now == "oom")
    );
}

#[test]
fn declared_growth_is_per_format() {
    // adaptive: bounded on CSV, linear on Parquet. A CSV cell that grows linearly must fail even
    // when the Parquet records (declared linear) come last.
    let mut records = Vec::new();
    for (format, declared) in [("csv", Growth::Constant), ("parquet", Growth::Linear)] {
        for (rows, rep) in [(100_000u64, 1), (1_000_000, 1)] {
            let mut r = rec("adaptive", rows, rep, rows * 40, 10, Status::Ok);
            r.format = InputFormat::parse(format).unwrap();
            r.dataset = format!("datasets/sales-{rows}-s42.{format}");
            r.measure.declared_growth = Some(declared);
            records.push(r);
        }
    }
    let rows = scaling(&records);
    let csv = rows.iter().find(|r| r.cell.contains("csv")).unwrap();
    assert_eq!(csv.declared, Growth::Constant);
    assert_eq!(csv.verdict, Verdict::Regression);
    let pq = rows.iter().find(|r| r.cell.contains("parquet")).unwrap();
    assert_eq!(pq.declared, Growth::Linear);
    assert_eq!(pq.verdict, Verdict::Pass);
}

#[test]
fn a_strategy_without_baseline_cells_is_listed_as_not_gated() {
    let records = run();
    let baseline = make_baseline(&records);
    let mut now = records.clone();
    for r in records.iter().filter(|r| r.strategy == "streaming") {
        let mut n = r.clone();
        n.strategy = "brand-new".into();
        now.push(n);
    }
    let out = check(&baseline, &now, &Tolerances::default());
    assert_eq!(out.not_gated, vec![("brand-new".to_string(), 2)]);
    assert_eq!(out.regressions(), 0);
    let md = markdown(&out);
    assert!(
        md.contains("`brand-new`: **not gated** (2 cells ran"),
        "{md}"
    );
}

#[test]
fn the_registry_declares_growth_and_records_fill_in_for_unknown_strategies() {
    let mut records = run();
    // The records of a registered strategy cannot override its registry metadata.
    for r in records.iter_mut().filter(|r| r.strategy == "streaming") {
        r.measure.declared_growth = Some(Growth::Linear);
    }
    assert_eq!(
        declared_growth(&records, "streaming", &Workload::TOP_N, InputFormat::CSV),
        Some(Growth::Constant)
    );
    assert_eq!(
        declared_growth(&records, "lazy", &Workload::TOP_N, InputFormat::PARQUET),
        Some(Growth::Linear)
    );
    let mut other = records[0].clone();
    other.strategy = "external-tool".into();
    other.measure.declared_growth = Some(Growth::Linear);
    records.push(other);
    assert_eq!(
        declared_growth(
            &records,
            "external-tool",
            &Workload::TOP_N,
            InputFormat::CSV
        ),
        Some(Growth::Linear)
    );
    assert_eq!(
        declared_growth(&records, "nobody", &Workload::TOP_N, InputFormat::CSV),
        None
    );
    // Per workload family: streaming is bounded on one file, grows with the orders in a join;
    // a join-only strategy declares nothing for the sales workloads.
    assert_eq!(
        declared_growth(&records, "streaming", &Workload::JOIN, InputFormat::CSV),
        Some(Growth::Linear)
    );
    assert_eq!(
        declared_growth(
            &records,
            "merge-join",
            &Workload::JOIN,
            InputFormat::PARQUET
        ),
        Some(Growth::Constant)
    );
    assert_eq!(
        declared_growth(&records, "merge-join", &Workload::TOP_N, InputFormat::CSV),
        None
    );
}
