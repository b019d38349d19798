//! `--soak N`: the runner repeats a cell's work N times in one process and records the heap
//! retained after each. A cell planted to leak 1 KiB per run (`selftest-leak`) shows a slope of
//! 1 KiB per iteration; every built-in strategy, on top-n and group-by, retains nothing run
//! after run (below the leak threshold) and gives the same answer every time.

mod common;

use membench_harness::{Status, run_cell};
use membench_protocol::Workload;
use membench_report::soak::{DEFAULT_LEAK_BYTES_PER_ITERATION, retained_per_iteration};

#[test]
fn a_planted_leak_of_1_kib_per_run_is_its_slope_and_a_freeing_cell_has_none() {
    let run = |strategy: &str| {
        let m = run_cell(&common::runner_job(
            env!("CARGO_BIN_EXE_membench-runner"),
            ["--strategy", strategy, "--bytes", "1024", "--soak", "50"],
        ));
        assert_eq!(m.status, Status::Ok, "{}", m.stderr_tail);
        let soak = m.runner.unwrap().measure.soak;
        assert_eq!(soak.len(), 50);
        retained_per_iteration(&soak).unwrap()
    };
    let leak = run("selftest-leak");
    assert!((leak - 1024.0).abs() < 1.0, "{leak}");
    assert!(leak >= DEFAULT_LEAK_BYTES_PER_ITERATION);
    assert_eq!(run("calibrate"), 0.0);
}

#[test]
fn no_built_in_strategy_retains_heap_run_after_run() {
    let dir = tempfile::tempdir().unwrap();
    let spec = membench_datagen::GenSpec {
        rows: 2_000,
        ..membench_datagen::GenSpec::default()
    };
    let csv = membench_datagen::generate(
        &spec,
        membench_datagen::Format::Csv,
        dir.path(),
        false,
        &mut |_| {},
    )
    .unwrap();
    let mut report = Vec::new();
    let mut leaks = Vec::new();
    for e in common::registry() {
        for w in [Workload::TOP_N, Workload::GroupBy] {
            if !e.info.does(&w) {
                continue;
            }
            let m = run_cell(&common::cell(e.info.name, &w, &csv.path, &["--soak", "50"]));
            assert_eq!(
                m.status,
                Status::Ok,
                "{} {w:?}: {}",
                e.info.name,
                m.stderr_tail
            );
            let soak = m.runner.unwrap().measure.soak;
            assert_eq!(soak.len(), 50, "{}", e.info.name);
            let slope = retained_per_iteration(&soak).unwrap();
            report.push(format!(
                "{} {}: {slope:.0} B/iteration",
                e.info.name,
                w.name()
            ));
            if slope >= DEFAULT_LEAK_BYTES_PER_ITERATION {
                leaks.push(format!(
                    "{} {}: {slope} B/iteration, {soak:?}",
                    e.info.name,
                    w.name()
                ));
            }
        }
    }
    println!("{}", report.join("\n"));
    assert!(report.len() >= 20, "{report:?}");
    assert!(leaks.is_empty(), "{leaks:#?}");
}
