//! `membench run --soak N`: each counting-allocator repetition repeats its work N times in its
//! runner; the run prints each cell's retained heap per iteration and passes when none leaks.

use std::process::Command;

#[test]
fn a_soaked_run_reports_each_cells_retained_heap_per_iteration() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_membench"))
        .args([
            "run",
            "--strategy",
            "streaming,load-all",
            "--workload",
            "top-n",
        ])
        .args([
            "--format", "csv", "--rows", "2k", "--repeat", "1", "--soak", "20",
        ])
        .arg("--no-report")
        .arg("--datasets")
        .arg(dir.path().join("datasets"))
        .arg("--out")
        .arg(dir.path().join("run"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    for s in ["streaming", "load-all"] {
        assert!(
            err.contains(&format!(
                "soak {s} · top-n · csv · 2k rows: retains 0 B per iteration over 20 runs"
            )),
            "{err}"
        );
    }
    assert!(!err.contains("LEAK"), "{err}");
    // Too few iterations to fit a slope: refused at the edge.
    let few = Command::new(env!("CARGO_BIN_EXE_membench"))
        .args(["run", "--soak", "2"])
        .output()
        .unwrap();
    assert!(!few.status.success());
    assert!(String::from_utf8_lossy(&few.stderr).contains("--soak"));
}
