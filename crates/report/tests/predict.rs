//! `recommend` on hand-made records: a linear and a constant strategy, ranked for a budget.

use membench_protocol::Growth;
use membench_protocol::{InputFormat, Status, Workload};
use membench_report::predict::{Fits, Shape, recommend};

mod common;
use common::rec;

#[test]
fn the_linear_strategy_is_excluded_and_the_constant_one_ranked_first() {
    let mut records = Vec::new();
    for rows in [10_000u64, 100_000, 1_000_000] {
        let mut l = rec("load-all", rows, 1, 300 * rows, rows / 2_000, Status::Ok);
        l.process.peak_rss_anon_bytes = 5_000_000 + 300 * rows;
        let mut s = rec("streaming", rows, 1, 70_000, rows / 5_000, Status::Ok);
        s.process.peak_rss_anon_bytes = 9_000_000;
        records.extend([l, s]);
    }
    let (ranked, left_out) = recommend(&records, &top_n_csv(), 50_000_000, 8 << 30);
    assert!(left_out.is_empty());
    assert_eq!(ranked[0].strategy, "streaming");
    assert_eq!(ranked[0].fits, Fits::Yes);
    assert_eq!(ranked[0].memory_model, Shape::Bounded);
    let load_all = &ranked[1];
    assert_eq!(load_all.memory_model, Shape::Affine);
    assert_eq!(load_all.fits, Fits::No);
    // 5 MB + 300 B × 50M = 15.005 GB.
    assert!((load_all.memory_bytes.mid / 15.005e9 - 1.0).abs() < 1e-6);
    assert!(load_all.why.contains("does not fit"), "{}", load_all.why);
    // Time: 0.5 µs a row (wall_ms = rows / 2000 → 1M rows 500 ms, with the rep's +1 ms).
    assert!(
        (load_all.wall_ns.mid / 25.0e9 - 1.0).abs() < 0.01,
        "{:?}",
        load_all.wall_ns
    );
    // One size only: left out, with the reason.
    let one = vec![rec("lazy", 1_000_000, 1, 1, 1, Status::Ok)];
    let (ranked, left_out) = recommend(&one, &top_n_csv(), 50_000_000, 8 << 30);
    assert!(ranked.is_empty() && left_out[0].contains("fewer than two sizes"));
}

#[test]
fn a_prediction_between_its_interval_ends_is_maybe() {
    let mut records = Vec::new();
    for rows in [10_000u64, 100_000, 1_000_000] {
        let mut l = rec("load-all", rows, 1, 100 * rows, 10, Status::Ok);
        l.process.peak_rss_anon_bytes = 100 * rows;
        l.measure.declared_growth = Some(Growth::Linear);
        records.push(l);
    }
    // 100 B × 10M = 1 GB predicted; its interval's top is above 1.05 GB.
    let (ranked, _) = recommend(&records, &top_n_csv(), 10_000_000, 1_050_000_000);
    assert_eq!(ranked[0].fits, Fits::Maybe);
}

#[test]
fn a_program_that_printed_no_answer_is_never_recommended() {
    let mut records = Vec::new();
    for (n, heap) in [(10_000u64, 1_000_000u64), (100_000, 1_000_000)] {
        let mut quick = rec("quick-but-silent", n, 1, heap, 1, Status::Ok);
        quick.answer_unchecked = true;
        records.push(quick);
        records.push(rec("streaming", n, 1, heap, 50, Status::Ok));
    }
    let (ranked, _) = recommend(&records, &top_n_csv(), 1_000_000, 1 << 30);
    assert_eq!(
        ranked
            .iter()
            .map(|c| c.strategy.as_str())
            .collect::<Vec<_>>(),
        ["streaming"]
    );
}

/// The group of the default table's top-n on CSV.
fn top_n_csv() -> membench_protocol::GroupKey {
    membench_protocol::GroupKey {
        workload: Workload::TOP_N,
        format: InputFormat::CSV,
        shape: Default::default(),
    }
}
