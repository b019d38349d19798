//! `membench compare`: two identical commands show no difference over 20 interleaved runs; a
//! command 10 % slower is found slower, and `--fail-on-regression` turns that into exit 1.
//! The sides are `sleep` for 50 and 55 ms: exact durations, so the test measures the method,
//! not this machine's load.

use std::process::{Command, Output};

fn compare(a: &str, b: &str, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_membench"))
        .args(["compare", "--runs", "20", "--command", a, "--command", b])
        .args(extra)
        .output()
        .unwrap()
}

#[test]
fn identical_commands_do_not_differ_and_a_ten_percent_slower_one_does() {
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
