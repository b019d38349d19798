//! The measurement core end to end: the runner binary under the parent-side harness.

use std::time::Duration;

use membench_harness::{CellCommand, Measured, Status, run_cell};
use membench_protocol::Allocator;

mod common;

fn runner(args: &[&str]) -> CellCommand {
    common::runner_job(env!("CARGO_BIN_EXE_membench-runner"), args)
}

fn heap(m: &Measured) -> u64 {
    m.runner.as_ref().unwrap().measure.peak_heap_bytes.unwrap()
}

#[test]
fn calibrate_peak_heap_is_exact_and_repeatable() {
    for _ in 0..3 {
        let m = run_cell(&runner(&["--strategy", "calibrate", "--bytes", "30000000"]));
        assert_eq!(m.status, Status::Ok, "{}", m.stderr_tail);
        assert_eq!(heap(&m), 30_000_000);
        // The pages were touched: resident memory holds them.
        assert!(
            m.process.peak_rss_bytes >= 30_000_000,
            "peak RSS {}",
            m.process.peak_rss_bytes
        );
        assert!(m.process.peak_rss_anon_bytes > 0 || m.process.timeline.is_empty());
    }
}

#[test]
fn peak_rss_matches_gnu_time() {
    let time = std::path::Path::new("/usr/bin/time");
    if !time.exists() {
        // .ci/run installs GNU time, so CI always runs this comparison.
        eprintln!("GNU time not installed (apt-get install time): comparison not run");
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must have /usr/bin/time"
        );
        return;
    }
    let bin = env!("CARGO_BIN_EXE_membench-runner");
    let args = ["--strategy", "calibrate", "--bytes", "100000000"];
    let ours = run_cell(&runner(&args)).process.peak_rss_bytes as f64;
    let out = std::process::Command::new(time)
        .arg("-v")
        .arg(bin)
        .args(args)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stderr);
    let kib: f64 = text
        .lines()
        .find(|l| l.contains("Maximum resident set size"))
        .and_then(|l| l.rsplit(':').next())
        .and_then(|v| v.trim().parse().ok())
        .expect("GNU time reports the maximum resident set size");
    let theirs = kib * 1024.0;
    assert!(
        (ours - theirs).abs() / theirs < 0.05,
        "ours {ours} vs GNU time {theirs}"
    );
}

#[test]
fn a_budget_below_the_need_is_oom_with_the_message() {
    let m = run_cell(&runner(&[
        "--strategy",
        "calibrate",
        "--bytes",
        "20000000",
        "--memory-limit",
        "10MB",
    ]));
    assert_eq!(m.status, Status::Oom);
    assert!(
        m.stderr_tail
            .contains("membench: heap budget exceeded: budget_bytes=10000000"),
        "{}",
        m.stderr_tail
    );
    assert!(
        m.stderr_tail.contains("requested_bytes=20000000"),
        "{}",
        m.stderr_tail
    );
}

#[test]
fn an_address_space_cap_turns_a_failed_allocation_into_oom() {
    let m = run_cell(&runner(&[
        "--strategy",
        "calibrate",
        "--bytes",
        "400000000",
        "--address-space-limit",
        "200MB",
    ]));
    assert_eq!(m.status, Status::Oom, "{}", m.stderr_tail);
    // The runner's allocator ends it with the protocol's exit code (the status comes from it).
    assert_eq!(m.process.exit_code, Some(membench_harness::OOM_EXIT_CODE));
    assert!(
        m.stderr_tail.contains(&format!(
            "{}: requested_bytes=400000000",
            membench_protocol::ALLOC_FAILED_MESSAGE_PREFIX
        )),
        "{}",
        m.stderr_tail
    );
}

#[test]
fn the_heap_timeline_is_sampled_without_disturbing_the_peak() {
    let m = run_cell(&runner(&[
        "--strategy",
        "selftest-sleep",
        "--sleep-ms",
        "200",
    ]));
    let r = m.runner.unwrap();
    let samples = &r.measure.heap_timeline;
    assert!(samples.len() >= 5, "{} samples", samples.len());
    // Only the cell's small JSON answer is allocated while measuring (the exact calibrate test
    // above runs with the sampler too).
    let peak = r.measure.peak_heap_bytes.unwrap();
    assert!(peak < 1024, "{peak}");
}

#[test]
fn a_sleeping_cell_past_its_timeout_is_timeout() {
    let m = run_cell(
        &runner(&["--strategy", "selftest-sleep", "--sleep-ms", "30000"])
            .timeout(Duration::from_millis(500)),
    );
    assert_eq!(m.status, Status::Timeout);
    assert!(m.process.process_wall_ns < 10_000_000_000);
}

#[test]
fn panics_are_errors_and_aborts_are_crashes() {
    let m = run_cell(&runner(&["--strategy", "selftest-panic"]));
    assert_eq!(m.status, Status::Error);
    assert!(
        m.stderr_tail.contains("a deliberate panic"),
        "{}",
        m.stderr_tail
    );
    let m = run_cell(&runner(&["--strategy", "selftest-abort"]));
    assert_eq!(m.status, Status::Crash);
    assert_eq!(m.process.signal.as_deref(), Some("SIGABRT"));
    let m = run_cell(&CellCommand::new("/nonexistent/membench-runner"));
    assert_eq!(m.status, Status::Error);
}

#[test]
fn rss_timeline_is_sampled() {
    let m = run_cell(&runner(&[
        "--strategy",
        "selftest-sleep",
        "--sleep-ms",
        "300",
    ]));
    assert_eq!(m.status, Status::Ok);
    assert!(
        m.process.timeline.len() >= 5,
        "{} samples",
        m.process.timeline.len()
    );
    assert!(m.process.timeline.iter().all(|s| s[1] >= s[2]));
    assert!(m.process.user_ns + m.process.sys_ns < m.process.process_wall_ns + 1_000_000_000);
}

#[cfg(feature = "dhat-heap")]
#[test]
fn dhat_profile_writes_a_valid_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("dhat-heap.json");
    let m = run_cell(&common::runner_job(
        env!("CARGO_BIN_EXE_membench-runner-dhat"),
        [
            "--strategy",
            "calibrate",
            "--bytes",
            "1000000",
            "--profile",
            "dhat",
            "--profile-out",
            out.to_str().unwrap(),
        ],
    ));
    assert_eq!(m.status, Status::Ok, "{}", m.stderr_tail);
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(v["dhatFileVersion"], 2);
    assert!(v["pps"].as_array().is_some_and(|a| !a.is_empty()));
    assert!(heap(&m) >= 1_000_000);
}

#[test]
fn the_system_allocator_runner_times_without_counting_and_says_so() {
    let sys = |args: &[&str]| common::runner_job(env!("CARGO_BIN_EXE_membench-runner-sys"), args);
    let m = run_cell(&sys(&["--strategy", "calibrate", "--bytes", "30000000"]));
    assert_eq!(m.status, Status::Ok, "{}", m.stderr_tail);
    let r = m.runner.unwrap();
    assert_eq!(r.allocator, Allocator::System);
    assert_eq!(
        r.measure.peak_heap_bytes, None,
        "no heap figures without the counter"
    );
    assert!(r.measure.heap_timeline.is_empty());
    assert!(r.measure.wall_ns > Some(0));
    assert!(
        m.process.peak_rss_bytes >= 30_000_000,
        "the pages were still touched"
    );
    let counted = run_cell(&runner(&["--strategy", "calibrate", "--bytes", "1000"]));
    assert_eq!(counted.runner.unwrap().allocator, Allocator::Counting);
}
