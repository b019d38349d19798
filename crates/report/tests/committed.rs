//! The committed reports are their records' reports: re-rendered from their `results.jsonl`
//! with today's code (records of version 1, read by today's `Record`), every file is
//! byte-identical; and the committed baseline still loads. A change of the record format or of
//! a report that would alter them fails here first.

use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn rerender_and_compare(name: &str, baseline: Option<&str>, min_files: usize) {
    let committed = repo().join("reports").join(name);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join(name);
    std::fs::create_dir(&dir).unwrap();
    std::fs::copy(committed.join("results.jsonl"), dir.join("results.jsonl")).unwrap();
    let baseline_path = baseline.map(|b| repo().join(b));
    let written =
        membench_report::write_report_with(&dir, baseline_path.as_deref()).expect("re-rendered");
    assert!(!written.is_empty());
    let mut compared = 0;
    for entry in std::fs::read_dir(&committed).unwrap() {
        let path = entry.unwrap().path();
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        // The records, and what the run wrote beside them (not the report's).
        if ["results.jsonl", "README.md", "settings.json"].contains(&file.as_str()) {
            continue;
        }
        let want = std::fs::read_to_string(&path).unwrap();
        let mut got = std::fs::read_to_string(dir.join(&file))
            .unwrap_or_else(|_| panic!("{name}/{file} was not written again"));
        if let (Some(b), Some(p)) = (baseline, &baseline_path) {
            // The page names its baseline by the path it was given.
            got = got.replace(&p.display().to_string(), b);
        }
        assert!(
            got == want,
            "reports/{name}/{file} differs when re-rendered"
        );
        compared += 1;
    }
    assert!(compared >= min_files, "{compared} files compared");
}

#[test]
fn the_example_report_re_renders_byte_identically() {
    rerender_and_compare("example", Some("reports/baseline.json"), 10);
}

#[test]
fn the_peers_report_re_renders_byte_identically() {
    rerender_and_compare("peers", None, 10);
}

#[test]
fn the_incremental_report_re_renders_byte_identically() {
    // REPORT.md, index.html, summary.csv, summary.json and the two benchmark exports: an
    // incremental run has no matrix cells, so no charts.
    rerender_and_compare("incremental", None, 6);
}

#[test]
fn the_committed_baseline_loads() {
    let text = std::fs::read_to_string(repo().join("reports/baseline.json")).unwrap();
    let b: membench_report::gate::Baseline = serde_json::from_str(&text).unwrap();
    assert!(b.cells.len() > 100, "{} cells", b.cells.len());
}
