//! The harness on programs that are not runners: a process tree measured whole, a timeout that
//! kills the whole process group, a missing program, and a kernel memory limit (the budget
//! for memory the counting allocator does not see). The grandchild that allocates is the
//! system-allocator runner's `calibrate` cell (allocates and touches exactly N bytes).

use std::time::Duration;

use membench_harness::limit::LimitKind;
use membench_harness::{CellCommand, Scope, Status, run_cell};

const SYS: &str = env!("CARGO_BIN_EXE_membench-runner-sys");

/// `sh`, which starts the calibrate runner in the background (holding its bytes for 300 ms,
/// so that the 10 ms sampler sees them) and waits for it.
fn shell_forking_calibrate(bytes: u64) -> CellCommand {
    CellCommand::new("/bin/sh").args([
        "-c".to_string(),
        format!("\"$0\" --strategy calibrate --bytes {bytes} --sleep-ms 300 & wait"),
        SYS.to_string(),
    ])
}

#[test]
fn a_forked_child_is_measured_with_its_parent() {
    let tree = run_cell(&shell_forking_calibrate(200_000_000).scope(Scope::Tree));
    assert_eq!(tree.status, Status::Ok, "{}", tree.stderr_tail);
    assert!(
        tree.peak_rss_bytes >= 200_000_000,
        "tree peak RSS {}",
        tree.peak_rss_bytes
    );
    assert!(tree.peak_pss_bytes.unwrap() >= 190_000_000, "{tree:?}");
    assert!(tree.max_processes.unwrap() >= 2);
    assert!(tree.peak_rss_anon_bytes >= 190_000_000, "{tree:?}");
    // The same command sampled as one process sees the shell alone.
    let alone = run_cell(&shell_forking_calibrate(200_000_000));
    assert!(
        alone.peak_rss_anon_bytes < 50_000_000,
        "{}",
        alone.peak_rss_anon_bytes
    );
}

fn gone_or_zombie(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat[stat.rfind(')').unwrap() + 1..]
            .trim_start()
            .starts_with('Z'),
    }
}

#[test]
fn a_timeout_kills_the_whole_process_group() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("pid");
    let cmd = CellCommand::new("/bin/sh")
        .args([
            "-c".to_string(),
            format!("sleep 300 & echo $! > {}; wait", pidfile.display()),
        ])
        .scope(Scope::Tree)
        .timeout(Duration::from_millis(500));
    let m = run_cell(&cmd);
    assert_eq!(m.status, Status::Timeout);
    let pid: u32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    // The grandchild was in the group: killed with it, not left running.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while !gone_or_zombie(pid) && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(gone_or_zombie(pid), "sleep {pid} outlived its cell");
}

#[test]
fn a_missing_program_is_a_clear_error() {
    let m = run_cell(&CellCommand::new("/no/such/program").scope(Scope::Tree));
    assert_eq!(m.status, Status::Error);
    assert!(
        m.stderr_tail.contains("cannot start /no/such/program"),
        "{}",
        m.stderr_tail
    );
}

#[test]
fn a_kernel_limit_below_the_need_is_oom_and_says_which_limit() {
    let calibrate = |bytes: u64, limit: u64| {
        run_cell(
            &CellCommand::new(SYS)
                .args(["--strategy", "calibrate", "--bytes", &bytes.to_string()])
                .kernel_limit(limit),
        )
    };
    let over = calibrate(200_000_000, 64 << 20);
    assert_eq!(over.status, Status::Oom, "{}", over.stderr_tail);
    let applied = over.kernel_limit.unwrap();
    assert_eq!(applied.bytes, 64 << 20);
    // This machine delegates no cgroup v2 (cgroup v1 only): RLIMIT_DATA, with the reason.
    if applied.kind == LimitKind::RlimitData {
        assert!(applied.fallback_reason.is_some());
    }
    let under = calibrate(20_000_000, 64 << 20);
    assert_eq!(under.status, Status::Ok, "{}", under.stderr_tail);
}
