//! `min-budget` against a cell whose peak is known: `calibrate` allocates and touches exactly
//! `--calibrate-bytes`, so its smallest budget is those bytes plus the runner's own baseline.

use std::path::PathBuf;

fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().unwrap().parent().unwrap().to_path_buf()
}

/// `xtask min-budget --json …` on 10k rows in a scratch dataset folder: its one JSON line.
fn min_budget_json(args: &[&str]) -> serde_json::Value {
    let tmp = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["min-budget", "--rows", "10k", "--json", "--datasets"])
        .arg(tmp.path())
        .args(args)
        .env("MEMBENCH_BIN_DIR", bin_dir())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(text.lines().find(|l| l.starts_with('{')).unwrap()).unwrap()
}

fn min_budget(extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["--strategy", "calibrate", "--calibrate-bytes", "30000000"];
    args.extend_from_slice(extra);
    min_budget_json(&args)
}

#[test]
fn the_smallest_budget_of_a_known_peak_is_that_peak() {
    const BYTES: f64 = 30_000_000.0;
    // Bisected to 5 %: between the allocation (plus the baseline) and 5 % above it.
    let b = min_budget(&["--bisect-all"]);
    assert_eq!(b["method"], "bisection");
    let min = b["min_budget_bytes"].as_u64().unwrap() as f64;
    let failed = b["failed_at_bytes"].as_u64().unwrap() as f64;
    assert!(min > BYTES && min <= BYTES * 1.12, "{b}");
    assert!(failed < min && (min - failed) <= 0.05 * min, "{b}");
    // Not bisected: the measured peak, checked at +1 % (ok) and -5 % (oom).
    let m = min_budget(&[]);
    assert_eq!(m["method"], "measured-peak");
    let peak = m["min_budget_bytes"].as_u64().unwrap() as f64;
    assert!(peak > BYTES && peak < BYTES * 1.12, "{m}");
    // The two methods agree within the bisection's precision.
    assert!((min - peak).abs() <= 0.05 * peak, "{min} vs {peak}");
}

#[test]
fn an_external_program_is_bisected_under_a_kernel_limit() {
    // `sh` running the system-allocator runner's calibrate cell: 30 MB allocated and touched
    // by a child process, under the limit `run` would give the command.
    let sys = bin_dir().join("membench-runner-sys");
    let command = format!(
        "forks=sh -c '\"$0\" --strategy calibrate --bytes 30000000 >/dev/null' {}",
        sys.display()
    );
    let m = min_budget_json(&["--command", &command]);
    assert_eq!(m["method"], "bisection");
    assert!(
        m["limit"] == "RLIMIT_DATA" || m["limit"] == "cgroup-v2 memory.max",
        "{m}"
    );
    let min = m["min_budget_bytes"].as_u64().unwrap() as f64;
    let failed = m["failed_at_bytes"].as_u64().unwrap() as f64;
    // The allocation plus the runner's own data (binary, stacks, allocator), within 5 %.
    assert!(min > 30_000_000.0 && min < 45_000_000.0, "{m}");
    assert!(failed < min && (min - failed) <= 0.05 * min, "{m}");
}
