//! The harness on programs that are not runners: a process tree measured whole, a timeout that
//! kills the whole process group, a missing program, and a kernel memory limit (the budget
//! for memory the counting allocator does not see). The grandchild that allocates is the
//! system-allocator runner's `calibrate` cell (allocates and touches exactly N bytes).

mod common;

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
        tree.process.peak_rss_bytes >= 200_000_000,
        "tree peak RSS {}",
        tree.process.peak_rss_bytes
    );
    assert!(
        tree.process.peak_pss_bytes.unwrap() >= 190_000_000,
        "{tree:?}"
    );
    assert!(tree.process.max_processes.unwrap() >= 2);
    // At the peak, by command: the runner holds the bytes, the shell does not (`comm` is the
    // program's name cut to 15 bytes).
    let by = |c: &str| tree.process.peak_processes.iter().find(|x| x.command == c);
    let runner = by("membench-runner").unwrap_or_else(|| panic!("{tree:?}"));
    assert!(runner.rss_anon_bytes >= 190_000_000, "{runner:?}");
    assert!(by("sh").unwrap().rss_bytes < 50_000_000, "{tree:?}");
    assert!(tree.process.peak_rss_anon_bytes >= 190_000_000, "{tree:?}");
    // The same command sampled as one process sees the shell alone.
    let alone = run_cell(&shell_forking_calibrate(200_000_000));
    assert!(
        alone.process.peak_rss_anon_bytes < 50_000_000,
        "{}",
        alone.process.peak_rss_anon_bytes
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
            &common::runner_job(
                SYS,
                ["--strategy", "calibrate", "--bytes", &bytes.to_string()],
            )
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

/// A process that leaves the group (`setsid`) and holds the output pipe no longer outlives its
/// cell or hangs the driver until it ends: it is found by the cell's mark and killed when the
/// cell's first process ends.
#[test]
fn an_escaped_process_is_killed_with_its_cell_and_does_not_hang_it() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("pid");
    let cmd = CellCommand::new("/bin/sh")
        .args([
            "-c".to_string(),
            format!(
                "setsid sh -c 'echo $$ > {}; exec sleep 40' & sleep 0.3; echo started",
                pidfile.display()
            ),
        ])
        .scope(Scope::Tree)
        .timeout(Duration::from_secs(5));
    let start = std::time::Instant::now();
    let m = run_cell(&cmd);
    assert!(
        start.elapsed() < Duration::from_secs(4),
        "the cell took {:?}",
        start.elapsed()
    );
    assert_eq!(m.status, Status::Ok, "{}", m.stderr_tail);
    assert_eq!(m.stdout_last_line, "started");
    assert_eq!(m.process.leftover_processes, 1, "{m:?}");
    let pid: u32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while !gone_or_zombie(pid) && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        gone_or_zombie(pid),
        "the escaped sleep {pid} outlived its cell"
    );
}

/// The same escaped process, with a timeout shorter than the program: the timeout covers the
/// whole cell.
#[test]
fn the_timeout_covers_an_escaped_process_too() {
    let cmd = CellCommand::new("/bin/sh")
        .args(["-c", "setsid sleep 41 & wait; sleep 41"])
        .scope(Scope::Tree)
        .timeout(Duration::from_secs(1));
    let start = std::time::Instant::now();
    let m = run_cell(&cmd);
    assert_eq!(m.status, Status::Timeout);
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
}

/// A program that prints without end costs the driver a bounded tail, not everything it wrote.
#[test]
fn endless_output_keeps_a_bounded_tail() {
    let m = run_cell(
        &CellCommand::new("yes")
            .scope(Scope::Tree)
            .timeout(Duration::from_secs(2)),
    );
    assert_eq!(m.status, Status::Timeout);
    assert_eq!(m.stdout_last_line, "y");
    let hwm = std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        .unwrap()
        * 1024;
    // `yes` writes gigabytes in 2 s; the driver keeps 16 MiB of it (twice that while reading).
    assert!(hwm < 400 << 20, "this test process grew to {hwm} bytes");
}

/// An external program is `oom` by exit code 97 (or a kernel event), never by text: its
/// runtime's out-of-memory message on a failure is a hint beside `error`, and a quoted one (input
/// an error message repeats) is not even that.
#[test]
fn an_external_program_is_oom_by_its_exit_code_never_by_its_text() {
    let run = |script: &str| {
        run_cell(
            &CellCommand::new("/bin/sh")
                .args(["-c", script])
                .scope(Scope::Tree),
        )
    };
    let m = run("echo 'Traceback (most recent call last):' >&2; echo MemoryError >&2; exit 1");
    assert_eq!(m.status, Status::Error, "{}", m.stderr_tail);
    assert!(m.process.stderr_says_out_of_memory);
    let m = run(
        "echo \"ValueError: could not convert: 'memory allocation of 5 bytes failed'\" >&2; exit 1",
    );
    assert_eq!(m.status, Status::Error, "{}", m.stderr_tail);
    assert!(!m.process.stderr_says_out_of_memory);
    let m = run("echo MemoryError >&2; exit 0");
    assert_eq!(m.status, Status::Ok, "a program that succeeded is not oom");
    assert!(!m.process.stderr_says_out_of_memory);
    let m = run("exit 97");
    assert_eq!(m.status, Status::Oom, "the protocol's exit code");
}

/// The Python peers' shared module turns an uncaught out-of-memory exception, chosen by its
/// type, into exit 97; an exception whose text says `MemoryError` stays an error.
#[test]
fn a_python_peer_out_of_memory_exits_97_by_its_exception_type() {
    let peers = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../peers");
    let run = |raise: &str| {
        let script = format!(
            "import sys; sys.path.insert(0, {:?}); import membench_answer\n{raise}",
            peers.to_str().unwrap()
        );
        run_cell(
            &CellCommand::new("python3")
                .args(["-c", &script])
                .scope(Scope::Tree),
        )
    };
    let m = run("raise MemoryError('cannot allocate the frame')");
    assert_eq!(m.status, Status::Oom, "{}", m.stderr_tail);
    assert_eq!(m.process.exit_code, Some(membench_harness::OOM_EXIT_CODE));
    let m = run("class OutOfMemoryException(Exception): pass\nraise OutOfMemoryException('x')");
    assert_eq!(m.status, Status::Oom, "{}", m.stderr_tail);
    let m = run("raise ValueError('MemoryError')");
    assert_eq!(m.status, Status::Error, "{}", m.stderr_tail);
    assert_eq!(m.process.exit_code, Some(1));
}

/// A thread's stack counts against `RLIMIT_DATA`: 64 workers under 32 MiB cannot all start.
/// The kernel's refusal (`EAGAIN`) is the cell out of memory — `oom` from the runner's exit
/// code — not an error or a panic.
#[test]
fn a_thread_the_kernel_refuses_under_a_memory_limit_is_oom() {
    let dir = tempfile::tempdir().unwrap();
    let csv = common::sales(dir.path(), 10_000, membench_datagen::Format::Csv);
    let run = |limit: Option<u64>| {
        let flags = [
            "--strategy",
            "parallel",
            "--workload",
            "top-n",
            "--threads",
            "64",
        ]
        .into_iter()
        .map(std::ffi::OsStr::new)
        .chain(["--input".as_ref(), csv.as_os_str()]);
        let mut cmd = common::runner_job(SYS, flags);
        if let Some(l) = limit {
            cmd = cmd.kernel_limit(l);
        }
        run_cell(&cmd)
    };
    let limited = run(Some(32 << 20));
    assert_eq!(limited.status, Status::Oom, "{}", limited.stderr_tail);
    assert_eq!(
        limited.process.exit_code,
        Some(membench_harness::OOM_EXIT_CODE)
    );
    let free = run(None);
    assert_eq!(free.status, Status::Ok, "{}", free.stderr_tail);
}
