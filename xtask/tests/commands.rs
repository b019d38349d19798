//! Any program as a strategy (`run --command`), end to end: the answer checked against the
//! reference (right, wrong, none printed), the whole process tree measured, a hanging program
//! timed out, a budget enforced by the kernel, a missing program refused before anything runs.

use std::path::{Path, PathBuf};
use std::process::Output;

use membench_report::record::{Record, read_records};

fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().unwrap().parent().unwrap().to_path_buf()
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn xtask(tmp: &Path, extra: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args([
            "run",
            "--workload",
            "top-n",
            "--format",
            "csv",
            "--rows",
            "10k",
        ])
        .args(["--repeat", "1", "--no-report", "--datasets"])
        .arg(tmp.join("datasets"))
        .arg("--out")
        .arg(tmp.join("run"))
        .args(extra)
        .current_dir(repo())
        .env("MEMBENCH_BIN_DIR", bin_dir())
        .output()
        .unwrap()
}

fn records(tmp: &Path) -> Vec<Record> {
    read_records(&tmp.join("run/results.jsonl")).unwrap()
}

fn one<'a>(rs: &'a [Record], strategy: &str) -> &'a Record {
    let mine: Vec<&Record> = rs.iter().filter(|r| r.strategy == strategy).collect();
    assert_eq!(mine.len(), 1, "{strategy}: {mine:?}");
    mine[0]
}

/// `sh` starting the system-allocator runner's calibrate cell (allocates, touches and holds
/// 200 MB) in the background: the memory is a child's, not the command's own process. The
/// shell exits with its child's status (a command that swallowed its child's failure and
/// exited 0 would be `ok`: the status comes from the exit code).
fn forking_200mb() -> String {
    let sys = bin_dir().join("membench-runner-sys");
    format!(
        "forks=sh -c '\"$0\" --strategy calibrate --bytes 200000000 --sleep-ms 300 >/dev/null & wait $!' {}",
        sys.display()
    )
}

#[test]
fn answers_are_checked_trees_are_measured_and_hangs_time_out() {
    let tmp = tempfile::tempdir().unwrap();
    let liar = r#"liar=printf %s\n '{"workload":"top-n","rows":[]}'"#;
    let out = xtask(
        tmp.path(),
        &[
            "--command",
            "pygen=python3 peers/python_generators.py {input} {workload}",
            "--command",
            liar,
            "--command",
            "silent=true",
            "--command",
            &forking_200mb(),
            "--command",
            "hangs=sleep 300",
            "--timeout",
            "2",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rs = records(tmp.path());
    // Only the commands ran (no --strategy), each once, under the system allocator: no heap.
    assert_eq!(rs.len(), 5, "{rs:?}");
    assert!(rs.iter().all(|r| r.measure.peak_heap_bytes.is_none()));
    let s = |name: &str| {
        let r = one(&rs, name);
        (r.status.name(), r.answer_unchecked)
    };
    assert_eq!(
        s("pygen"),
        ("ok", false),
        "the Python peer's answer is right"
    );
    assert_eq!(s("liar"), ("wrong-answer", false));
    assert_eq!(s("silent"), ("ok", true), "no answer: unchecked, not wrong");
    assert_eq!(s("forks"), ("ok", true));
    assert_eq!(s("hangs").0, "timeout");
    let forks = one(&rs, "forks");
    assert!(forks.process.peak_rss_bytes >= 200_000_000, "{forks:?}");
    assert!(
        forks.process.peak_pss_bytes.unwrap() >= 190_000_000,
        "{forks:?}"
    );
    assert!(forks.process.max_processes.unwrap() >= 2);
}

#[test]
fn a_budget_is_a_kernel_limit_on_the_whole_command() {
    let tmp = tempfile::tempdir().unwrap();
    let out = xtask(
        tmp.path(),
        &[
            "--command",
            &forking_200mb(),
            "--strategy",
            "load-all,streaming",
            "--rows",
            "10k,100k",
            "--memory-limit",
            "16MiB",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rs = records(tmp.path());
    for r in rs.iter().filter(|r| r.strategy == "forks") {
        assert_eq!(r.status.name(), "oom", "{r:?}");
        assert!(
            matches!(
                r.limit_applied.as_deref(),
                Some("RLIMIT_DATA" | "cgroup-v2 memory.max")
            ),
            "{r:?}"
        );
    }
    // Built-in strategies: the heap budget (counting allocator), and the kernel limit on the
    // system-allocator repetitions of the cells that fitted it.
    let load_all_100k = rs
        .iter()
        .find(|r| r.strategy == "load-all" && r.rows == 100_000)
        .unwrap();
    assert_eq!(load_all_100k.status.name(), "oom");
    assert_eq!(
        load_all_100k.limit_applied.as_deref(),
        Some("counting allocator")
    );
    let streaming_sys: Vec<&Record> = rs
        .iter()
        .filter(|r| r.strategy == "streaming" && r.allocator.name() == "system")
        .collect();
    assert!(!streaming_sys.is_empty());
    for r in streaming_sys {
        assert_eq!(r.status.name(), "ok", "{r:?}");
        assert_ne!(r.limit_applied.as_deref(), Some("counting allocator"));
        assert!(r.limit_applied.is_some());
    }
}

#[test]
fn a_missing_program_or_placeholder_is_refused_before_anything_runs() {
    let tmp = tempfile::tempdir().unwrap();
    for (spec, says) in [
        ("x=no-such-program-anywhere {input}", "not found"),
        ("x=sh {inptu}", "unknown placeholder {inptu}"),
        ("streaming=sh", "built-in strategy"),
    ] {
        let out = xtask(tmp.path(), &["--command", spec]);
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{spec}: {err}");
        assert!(!tmp.path().join("run/results.jsonl").exists());
    }
}

/// Pids of processes whose command line is exactly `needle` (e.g. `sleep 777`).
fn processes_running(needle: &str) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).replace('\0', " ").trim() == needle)
        })
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .is_ok_and(|s| !s[s.rfind(')').unwrap() + 1..].trim_start().starts_with('Z'))
        })
        .collect()
}

/// Stopping the driver in any way — Ctrl-C (SIGINT to it alone: the program's own process
/// group never sees the terminal's), SIGTERM, SIGKILL — ends every process of the running
/// cell, its grandchildren included.
#[test]
fn stopping_the_driver_ends_every_process_of_its_cells() {
    for (signal, seconds) in [
        (libc::SIGKILL, "771"),
        (libc::SIGTERM, "772"),
        (libc::SIGINT, "773"),
    ] {
        let tmp = tempfile::tempdir().unwrap();
        let needle = format!("sleep {seconds}");
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_xtask"));
        command
            .args([
                "run",
                "--workload",
                "top-n",
                "--format",
                "csv",
                "--rows",
                "10k",
            ])
            .args(["--repeat", "1", "--no-report", "--datasets"])
            .arg(tmp.path().join("datasets"))
            .arg("--out")
            .arg(tmp.path().join("run"))
            .args(["--command", &format!("sl=sh -c \"{needle} & {needle}\"")])
            .current_dir(repo())
            .env("MEMBENCH_BIN_DIR", bin_dir())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        // The driver as a terminal starts it: a shell that starts the tests in the background
        // (no job control) has them ignore SIGINT, and the driver rightly keeps a disposition
        // it inherits; a Ctrl-C at a terminal is what this test is about.
        // SAFETY: `signal` is async-signal-safe.
        unsafe {
            std::os::unix::process::CommandExt::pre_exec(&mut command, || {
                libc::signal(libc::SIGINT, libc::SIG_DFL);
                Ok(())
            });
        }
        let mut driver = command.spawn().unwrap();
        let start = std::time::Instant::now();
        while processes_running(&needle).len() < 2 {
            assert!(
                start.elapsed() < std::time::Duration::from_secs(60),
                "the cell never started"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        // SAFETY: signalling our own child.
        unsafe { libc::kill(driver.id() as libc::pid_t, signal) };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while driver.try_wait().unwrap().is_none() {
            if std::time::Instant::now() > deadline {
                let _ = driver.kill();
                panic!("signal {signal}: the driver did not end within 30 s");
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let stopped = std::time::Instant::now();
        while !processes_running(&needle).is_empty()
            && stopped.elapsed() < std::time::Duration::from_secs(10)
        {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let left = processes_running(&needle);
        for &pid in &left {
            // SAFETY: cleaning up after a failed assertion.
            unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
        }
        assert!(
            left.is_empty(),
            "signal {signal}: {needle} left running: {left:?}"
        );
    }
}
