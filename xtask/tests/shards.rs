//! Sharded runs: two shards of a matrix, merged by `report DIR1 DIR2 --out`, give the same
//! report as the unsharded run — the same cells, statuses, answers checked, and (the counting
//! allocator being exact) the same peak heap per cell.

use std::path::{Path, PathBuf};

fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().unwrap().parent().unwrap().to_path_buf()
}

fn xtask(args: &[&str]) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        .env("MEMBENCH_BIN_DIR", bin_dir())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "xtask {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn run(tmp: &Path, out: &str, shard: Option<&str>) {
    let datasets = tmp.join("datasets");
    let out = tmp.join(out);
    let mut args = vec![
        "run",
        "--strategy",
        "streaming,chunked,load-all",
        "--workload",
        "top-n,group-by",
        "--format",
        "csv",
        "--rows",
        "10k,100k",
        "--repeat",
        "1",
        "--datasets",
        datasets.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    if let Some(s) = shard {
        args.extend(["--shard", s, "--no-report"]);
    }
    xtask(&args);
}

/// (cell, status, median peak heap) of a report's summary.json, sorted.
fn cells(dir: &Path) -> Vec<(String, String, String)> {
    let text = std::fs::read_to_string(dir.join("summary.json")).unwrap();
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut out: Vec<(String, String, String)> = doc["cells"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                format!(
                    "{} {} {} {}",
                    c["workload"], c["format"], c["strategy"], c["rows"]
                ),
                c["status"].to_string(),
                c["peak_heap_bytes"]["median"].to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn two_shards_merged_report_what_one_run_reports() {
    let tmp = tempfile::tempdir().unwrap();
    run(tmp.path(), "whole", None);
    run(tmp.path(), "shard1", Some("1/2"));
    run(tmp.path(), "shard2", Some("2/2"));
    let (s1, s2, merged) = (
        tmp.path().join("shard1"),
        tmp.path().join("shard2"),
        tmp.path().join("merged"),
    );
    xtask(&[
        "report",
        s1.to_str().unwrap(),
        s2.to_str().unwrap(),
        "--out",
        merged.to_str().unwrap(),
    ]);
    let whole = cells(&tmp.path().join("whole"));
    assert_eq!(whole.len(), 12);
    assert_eq!(cells(&merged), whole);
    // Each shard ran a part: neither alone has every cell.
    let count = |d: &Path| {
        std::fs::read_to_string(d.join("results.jsonl"))
            .unwrap()
            .lines()
            .count()
    };
    assert!(count(&s1) < count(&merged) && count(&s2) < count(&merged));
    assert_eq!(count(&s1) + count(&s2), count(&merged));
    // Merging a shard with itself is refused: the shards would overlap.
    let again = std::process::Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args([
            "report",
            s1.to_str().unwrap(),
            s1.to_str().unwrap(),
            "--out",
        ])
        .arg(tmp.path().join("twice"))
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("must not overlap"));
}
