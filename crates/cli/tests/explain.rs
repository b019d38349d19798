//! `explain` and `check --explain`: a cell's heap by call site at its peak (one run under the
//! dhat runner), and, for a heap regression against a baseline made with `--sites`, the sites
//! that changed. (The sites of a 10 MiB growth are named by file and line in the runner's
//! tests; here the plumbing: a regression whose code did not change explains as such.)

use std::process::Command;

fn membench(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_membench"))
        .args(args)
        .output()
        .unwrap()
}

/// `check --explain` of `dir/now` against `dir/baseline.json`, which must fail (exit 1): its
/// standard output.
fn failing_check_explain(dir: &std::path::Path) -> String {
    let d = |p: &str| dir.join(p).to_str().unwrap().to_string();
    let c = membench(&[
        "check",
        "--baseline",
        &d("baseline.json"),
        &d("now"),
        "--explain",
    ]);
    let out = String::from_utf8_lossy(&c.stdout).into_owned();
    assert_eq!(c.status.code(), Some(1), "{out}");
    out
}

#[test]
fn a_heap_regression_is_explained_by_call_site_against_a_baseline_with_sites() {
    let dir = tempfile::tempdir().unwrap();
    let d = |p: &str| dir.path().join(p).to_str().unwrap().to_string();
    let run = membench(&[
        "run",
        "--strategy",
        "load-all",
        "--workload",
        "top-n",
        "--format",
        "csv",
        "--rows",
        "20k",
        "--repeat",
        "1",
        "--no-report",
        "--datasets",
        &d("datasets"),
        "--out",
        &d("base"),
    ]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let b = membench(&[
        "baseline",
        &d("base"),
        "--out",
        &d("baseline.json"),
        "--sites",
    ]);
    assert!(b.status.success(), "{}", String::from_utf8_lossy(&b.stderr));
    let baseline: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d("baseline.json")).unwrap()).unwrap();
    let sites = baseline["cells"][0]["sites"].as_array().unwrap();
    assert!(
        sites[0]["location"]
            .as_str()
            .unwrap()
            .starts_with("crates/strategies/src/"),
        "{sites:?}"
    );

    // `explain` alone: the sites now, largest first.
    let dataset = std::fs::read_dir(d("datasets"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "csv"))
        .unwrap();
    let e = membench(&[
        "explain",
        "--strategy",
        "load-all",
        "--workload",
        "top-n",
        "--input",
        dataset.to_str().unwrap(),
    ]);
    let text = String::from_utf8_lossy(&e.stdout);
    assert!(e.status.success(), "{}", String::from_utf8_lossy(&e.stderr));
    assert!(
        text.contains("heap at the peak, by call site:") && text.contains("crates/strategies/src/"),
        "{text}"
    );

    // A run whose load-all reads 20 % more heap: check fails and explains it — the code is
    // the same, so no site moved.
    let now = dir.path().join("now");
    std::fs::create_dir_all(&now).unwrap();
    let grown: String = std::fs::read_to_string(dir.path().join("base/results.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
            if let Some(h) = v["peak_heap_bytes"].as_u64() {
                v["peak_heap_bytes"] = (h * 6 / 5).into();
            }
            v.to_string() + "\n"
        })
        .collect();
    std::fs::write(now.join("results.jsonl"), grown).unwrap();
    let out = failing_check_explain(dir.path());
    assert!(
        out.contains("### Why the heap of top-n · csv · load-all · 20k grew"),
        "{out}"
    );
    assert!(
        out.contains("no call site changed by 64 KiB or more"),
        "{out}"
    );
}

/// One repetition of an external program's cell, measured as a process tree: a driver and two
/// workers, the workers holding `worker_mib` MiB at the tree's RSS peak.
fn tree_record(repetition: u32, worker_mib: u64) -> String {
    let mib = 1u64 << 20;
    let driver = 100 * mib;
    let workers = worker_mib * mib;
    let timeline: Vec<[u64; 4]> = (0..10u64)
        .map(|i| {
            let rss = (driver + workers) * (10 - i.abs_diff(6)) / 10;
            [i * 10_000_000, rss, rss, 0]
        })
        .collect();
    let mut record = serde_json::json!({
        "run_id": "r", "strategy": "dask-peer", "workload": "group-by", "format": "csv",
        "rows": 10000, "dataset": "d", "input_bytes": 5, "repetition": repetition,
        "status": "ok", "allocator": "system", "peak_heap_bytes": null,
        "baseline_heap_bytes": null, "total_allocated_bytes": null, "n_allocs": null,
        "peak_rss_bytes": driver + workers, "peak_rss_anon_bytes": driver + workers,
        "peak_rss_file_bytes": 0, "wall_ns": 1_000_000, "process_wall_ns": 2_000_000,
        "user_ns": 1, "sys_ns": 1, "rows_read": 10000, "rows_skipped": 0,
    });
    let rest = serde_json::json!({
        "answer_digest": "a", "expected_digest": "a", "error": null, "exit_code": 0,
        "signal": null, "threads": 2, "chunk_rows": 100000, "on_bad_row": "fail",
        "memory_limit": null, "max_record_bytes": 16777216, "declared_growth": "linear",
        "heap_timeline": [], "timeline": timeline, "max_processes": 3,
        "context": {"git_rev": "g", "rustc": "r", "cpu": "c", "cores": 2,
                    "memory_bytes": 1, "os": "o", "started_at": "s"}
    });
    let processes = serde_json::json!([
        {"command": "dask-worker", "processes": 2, "rss_bytes": workers, "rss_anon_bytes": workers},
        {"command": "python3", "processes": 1, "rss_bytes": driver, "rss_anon_bytes": driver},
    ]);
    let map = record.as_object_mut().unwrap();
    map.extend(rest.as_object().unwrap().clone());
    map.insert("peak_processes".into(), processes);
    record.to_string() + "\n"
}

#[test]
fn an_rss_regression_of_a_process_tree_names_the_command_that_grew_and_the_samples_at_its_peak() {
    let dir = tempfile::tempdir().unwrap();
    let d = |p: &str| dir.path().join(p).to_str().unwrap().to_string();
    for (run, worker_mib) in [("base", 300), ("now", 420)] {
        std::fs::create_dir_all(d(run)).unwrap();
        let lines: String = (0..3).map(|i| tree_record(i, worker_mib)).collect();
        std::fs::write(dir.path().join(run).join("results.jsonl"), lines).unwrap();
    }
    let b = membench(&["baseline", &d("base"), "--out", &d("baseline.json")]);
    assert!(b.status.success(), "{}", String::from_utf8_lossy(&b.stderr));
    // The baseline keeps the commands at the peak.
    let baseline: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d("baseline.json")).unwrap()).unwrap();
    assert_eq!(
        baseline["cells"][0]["processes"][0]["command"], "dask-worker",
        "{baseline}"
    );
    let out = failing_check_explain(dir.path());
    let section = out
        .split("### Which process of ")
        .nth(1)
        .unwrap_or_else(|| panic!("no process explanation: {out}"));
    let rows: Vec<&str> = section
        .lines()
        .skip_while(|l| !l.starts_with("command "))
        .skip(1)
        .collect();
    // The workers grew by 120 MiB; the driver did not.
    assert!(
        rows[0].starts_with("dask-worker")
            && rows[0].contains("2→2")
            && rows[0].contains("+120 MiB"),
        "{section}"
    );
    assert!(
        rows[1].starts_with("python3") && rows[1].contains("+0 B"),
        "{section}"
    );
    assert!(section.contains("*       60 ms: 520 MiB"), "{section}");
}
