//! `run --incremental`: every strategy with an incremental mode is measured three times per
//! repetition and allocator (initial, increment, recompute), the increment's answer checked
//! against the recompute's; the report's "Incremental" section compares them and the matrix
//! tables do not count them; what cannot be measured incrementally is refused before anything
//! runs.

use std::process::{Command, Output};

fn membench(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_membench"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn an_incremental_run_records_three_steps_per_strategy_and_reports_them() {
    let dir = tempfile::tempdir().unwrap();
    let (data, out) = (dir.path().join("datasets"), dir.path().join("run"));
    let res = membench(&[
        "run",
        "--incremental",
        "--append",
        "2%",
        "--files",
        "3",
        "--rows",
        "30k",
        "--format",
        "csv",
        "--repeat",
        "1",
        "--datasets",
        data.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&res.stderr);
    assert!(res.status.success(), "{stderr}");
    let recs: Vec<serde_json::Value> = std::fs::read_to_string(out.join("results.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // 2 workloads × 3 strategies (streaming, parallel, sqlite) × 2 allocators × 3 steps.
    assert_eq!(recs.len(), 36, "{stderr}");
    for r in &recs {
        assert_eq!(r["status"], "ok", "{r}");
        let step = r["incremental"].as_str().unwrap();
        let rows = r["rows"].as_u64().unwrap();
        match step {
            "initial" => assert_eq!(rows, 30_000),
            "increment" => {
                assert_eq!(rows, 30_600);
                // Checked against the recompute, and it read only the new part file.
                assert!(r["expected_digest"].is_string(), "{r}");
                let new = r["new_input_bytes"].as_u64().unwrap();
                let all = r["input_bytes"].as_u64().unwrap();
                assert!(new * 20 < all, "{new} of {all} bytes read: {r}");
            }
            "recompute" => {
                assert_eq!(rows, 30_600);
                assert!(r.get("new_input_bytes").is_none(), "{r}");
            }
            other => panic!("unknown step {other}"),
        }
    }
    // The dataset folder itself is untouched: its three parts, no fourth.
    let folder = data.join("sales-30k-s42-files3.csv");
    assert_eq!(std::fs::read_dir(&folder).unwrap().count(), 3);
    let report = std::fs::read_to_string(out.join("REPORT.md")).unwrap();
    assert!(report.contains("## Incremental"), "{report}");
    for s in [
        "| top-n | csv | streaming | 30k + 600 |",
        "| group-by | csv | parallel | 30k + 600 |",
        "| group-by | csv | sqlite | 30k + 600 |",
    ] {
        assert!(report.contains(s), "{s} missing:\n{report}");
    }
    assert!(!report.contains("DIFFERENT"), "{report}");
    // The increments are not cells of the matrix.
    let summary = std::fs::read_to_string(out.join("summary.csv")).unwrap();
    assert!(summary.lines().count() <= 1, "{summary}");
}

#[test]
fn what_cannot_run_incrementally_is_refused_before_anything_runs() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("datasets");
    for (args, says) in [
        (
            vec!["--strategy", "chunked"],
            "chunked has no incremental mode",
        ),
        (vec!["--workload", "etl"], "etl is not an aggregate"),
        (vec!["--append", "0"], "at least one row"),
        (vec!["--append", "150%"], "at most 100%"),
    ] {
        let mut all = vec![
            "run",
            "--incremental",
            "--files",
            "2",
            "--rows",
            "1k",
            "--datasets",
            data.to_str().unwrap(),
        ];
        all.extend(args);
        let res = membench(&all);
        let stderr = String::from_utf8_lossy(&res.stderr);
        assert!(!res.status.success(), "{all:?} ran");
        assert!(stderr.contains(says), "{all:?}: {stderr}");
    }
    // Without --files there is no folder to grow.
    let res = membench(&["run", "--incremental", "--rows", "1k"]);
    assert!(!res.status.success());
    assert!(String::from_utf8_lossy(&res.stderr).contains("--files"));
    assert!(!data.exists(), "a dataset was generated before the refusal");
}
