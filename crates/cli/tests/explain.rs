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
    let c = membench(&[
        "check",
        "--baseline",
        &d("baseline.json"),
        &d("now"),
        "--explain",
    ]);
    let out = String::from_utf8_lossy(&c.stdout);
    assert_eq!(c.status.code(), Some(1), "{out}");
    assert!(
        out.contains("### Why the heap of top-n · csv · load-all · 20k grew"),
        "{out}"
    );
    assert!(
        out.contains("no call site changed by 64 KiB or more"),
        "{out}"
    );
}
