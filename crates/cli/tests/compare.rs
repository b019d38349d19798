//! `membench compare`: two identical commands show no difference over 20 interleaved runs; a
//! command 10 % slower is found slower, and `--fail-on-regression` turns that into exit 1.
//! The sides are `sleep` for 50 and 55 ms: exact durations, so the test measures the method,
//! not this machine's load.

use std::process::{Command, Output};
use std::sync::Mutex;

/// The tests of this file measure time: one at a time, so that one's runners are not the
/// other's noise (two identical `sleep`s differed by 6 % with the runner test beside them).
static ALONE: Mutex<()> = Mutex::new(());

fn compare(a: &str, b: &str, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_membench"))
        .args(["compare", "--runs", "20", "--command", a, "--command", b])
        .args(extra)
        .output()
        .unwrap()
}

#[test]
fn identical_commands_do_not_differ_and_a_ten_percent_slower_one_does() {
    let _alone = ALONE.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("same.json");
    let same = compare(
        "a=sleep 0.05",
        "b=sleep 0.05",
        &["--fail-on-regression", "--json", json.to_str().unwrap()],
    );
    let out = String::from_utf8_lossy(&same.stdout);
    assert!(
        same.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&same.stderr)
    );
    assert!(out.contains("time: no significant difference"), "{out}");
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(doc["wall_ns"]["a"].as_array().unwrap().len(), 20);

    let slower = compare("a=sleep 0.05", "b=sleep 0.055", &["--fail-on-regression"]);
    let out = String::from_utf8_lossy(&slower.stdout);
    assert_eq!(slower.status.code(), Some(1), "{out}");
    let line = out.lines().find(|l| l.starts_with("time:")).unwrap();
    assert!(
        line.contains("b is") && line.contains("slower than a"),
        "{line}"
    );
    let pct: f64 = line
        .split("b is ")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .unwrap()
        .parse()
        .unwrap();
    assert!((5.0..15.0).contains(&pct), "{line}");

    // Refused before anything runs: one side, the same name twice, a placeholder.
    for (args, says) in [
        (vec!["--command", "a=sleep 0"], "exactly two"),
        (
            vec!["--command", "a=sleep 0", "--command", "a=sleep 0"],
            "different names",
        ),
        (
            vec!["--command", "a=cat {input}", "--command", "b=sleep 0"],
            "placeholders",
        ),
    ] {
        let res = Command::new(env!("CARGO_BIN_EXE_membench"))
            .arg("compare")
            .args(&args)
            .output()
            .unwrap();
        assert!(!res.status.success());
        let err = String::from_utf8_lossy(&res.stderr);
        assert!(err.contains(says), "{args:?}: {err}");
    }
}

#[test]
fn one_cell_compared_across_two_runner_folders_reports_time_rss_and_heap() {
    let _alone = ALONE.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let made = Command::new(env!("CARGO_BIN_EXE_membench"))
        .args(["gen", "--rows", "5k", "--format", "csv", "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let input = dir.path().join("sales-5k-s42.csv");
    // The runners next to this membench: the same build on both sides.
    let bins = std::path::Path::new(env!("CARGO_BIN_EXE_membench"))
        .parent()
        .unwrap()
        .display()
        .to_string();
    let both = format!("{bins},{bins}");
    let res = Command::new(env!("CARGO_BIN_EXE_membench"))
        .args([
            "compare",
            "--runs",
            "6",
            "--runners",
            &both,
            "--strategy",
            "streaming",
        ])
        .args(["--workload", "group-by", "--input"])
        .arg(&input)
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&res.stdout);
    assert!(
        res.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&res.stderr)
    );
    for metric in ["time:", "peak RSS:"] {
        assert!(
            out.lines().any(|l| l.starts_with(metric)),
            "{metric} missing: {out}"
        );
    }
    // The heap of one build's cell is the same run after run: no difference.
    let heap = out.lines().find(|l| l.starts_with("peak heap:")).unwrap();
    assert!(heap.contains("no significant difference"), "{heap}");
    // A cell that fails says so, naming the side and the runner's error.
    let res = Command::new(env!("CARGO_BIN_EXE_membench"))
        .args([
            "compare",
            "--runs",
            "5",
            "--runners",
            &both,
            "--strategy",
            "no-such",
        ])
        .arg("--input")
        .arg(&input)
        .output()
        .unwrap();
    assert!(!res.status.success());
    let err = String::from_utf8_lossy(&res.stderr);
    assert!(err.contains("no-such"), "{err}");
}
