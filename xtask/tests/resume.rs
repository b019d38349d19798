//! A run killed with SIGKILL mid-matrix and resumed with `--resume` ends with exactly one record
//! per repetition.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// The runner and generator that `cargo test --release --workspace` built next to this test.
fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap().parent().unwrap().to_path_buf();
    for b in ["membench-runner", "membench-runner-sys", "membench-gen"] {
        assert!(
            dir.join(b).exists(),
            "{} missing: run the tests with `cargo test --release --workspace --all-features`",
            dir.join(b).display()
        );
    }
    dir
}

#[test]
fn killed_run_resumes_without_losing_or_doubling() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let data = tmp.path().join("datasets");
    let args = |extra: &[&str]| {
        let mut v: Vec<String> = [
            "run",
            "--rows",
            "20k",
            "--format",
            "csv",
            "--repeat",
            "5",
            "--no-report",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        v.extend(
            ["--strategy", "streaming,chunked,load-all", "--datasets"]
                .iter()
                .map(|s| s.to_string()),
        );
        v.push(data.display().to_string());
        v.extend(extra.iter().map(|s| s.to_string()));
        v
    };
    let results = out.join("results.jsonl");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(args(&["--out", out.to_str().unwrap()]))
        .env("MEMBENCH_BIN_DIR", bin_dir())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let lines = |p: &PathBuf| {
        std::fs::read_to_string(p)
            .map(|t| t.lines().count())
            .unwrap_or(0)
    };
    while lines(&results) < 4 {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no records after 60 s"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "run ended before it could be killed"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let at_kill = lines(&results);
    // (3 strategies × the 3 sales workloads (top-n, group-by, etl) + the 2 of them that do the
    // default join) × 5 repetitions × 2 allocators (heap from the counting runner, time from
    // the system-allocator runner).
    let total = (3 * 3 + 2) * 5 * 2;
    assert!(
        at_kill < total,
        "the run finished before the kill ({at_kill} records)"
    );

    let status = std::process::Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(args(&["--resume", out.to_str().unwrap()]))
        .env("MEMBENCH_BIN_DIR", bin_dir())
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let text = std::fs::read_to_string(&results).unwrap();
    let mut seen: BTreeMap<(String, String, String, u64), u32> = BTreeMap::new();
    for line in text.lines() {
        let v: serde_json::Value =
            serde_json::from_str(line).expect("every line is a whole record");
        let key = (
            v["strategy"].as_str().unwrap().to_string(),
            v["workload"].as_str().unwrap().to_string(),
            v["allocator"].as_str().unwrap().to_string(),
            v["repetition"].as_u64().unwrap(),
        );
        *seen.entry(key).or_default() += 1;
        assert_eq!(v["status"], "ok", "{line}");
    }
    assert_eq!(seen.len(), total, "one record per repetition: {seen:?}");
    // etl's scratch outputs are gone once the run completes, even after the killed attempt.
    assert!(!out.join("scratch").exists(), "scratch outputs left behind");
    assert!(
        seen.values().all(|&n| n == 1),
        "no repetition doubled: {seen:?}"
    );
}

fn xtask(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args([
            "run",
            "--rows",
            "10k",
            "--format",
            "csv",
            "--workload",
            "top-n",
        ])
        .args(["--strategy", "streaming", "--no-report"])
        .args(if args.contains(&"--repeat") {
            &[][..]
        } else {
            &["--repeat", "1"][..]
        })
        .args(args)
        .env("MEMBENCH_BIN_DIR", bin_dir())
        .output()
        .unwrap()
}

/// `--out` never resumes or overwrites a run silently, never removes a folder of the user's,
/// and `--resume` refuses to mix settings.
#[test]
fn run_folders_are_never_reused_or_emptied_behind_the_users_back() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("datasets");
    let data = data.to_str().unwrap();
    // A folder of the user's with a scratch/ folder in it: refused, untouched.
    let mine = tmp.path().join("mine");
    std::fs::create_dir_all(mine.join("scratch")).unwrap();
    std::fs::write(mine.join("scratch/notes.txt"), "mine").unwrap();
    let o = xtask(&["--datasets", data, "--out", mine.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("not empty"));
    assert_eq!(
        std::fs::read_to_string(mine.join("scratch/notes.txt")).unwrap(),
        "mine"
    );
    // A run: its folder holds no scratch folder at the end.
    let run = tmp.path().join("run");
    let run_s = run.to_str().unwrap();
    let o = xtask(&["--datasets", data, "--out", run_s]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let names: Vec<String> = std::fs::read_dir(&run)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.contains("scratch")), "{names:?}");
    let results = std::fs::read_to_string(run.join("results.jsonl")).unwrap();
    // --out on it again: refused, nothing added.
    let o = xtask(&["--datasets", data, "--out", run_s]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("--resume"));
    // --resume with other settings: refused, naming them.
    let o = xtask(&["--datasets", data, "--resume", run_s, "--threads", "3"]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("--threads 2 → 3"), "{err}");
    assert_eq!(
        std::fs::read_to_string(run.join("results.jsonl")).unwrap(),
        results
    );
    // --resume with the same settings and more repetitions: allowed.
    let o = xtask(&["--datasets", data, "--resume", run_s, "--repeat", "2"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}
