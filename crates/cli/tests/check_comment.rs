//! The pull-request comment `check --comment` writes (the composite action posts it, updating
//! the one comment that opens with the marker): a golden file, from the committed example run
//! with `load-all`'s heap grown by 20 %, under an acknowledgement that allows it at 1m rows
//! (until 2099) and one that expired (in 2020, which fails the check by itself).
//! `MEMBENCH_BLESS=1` rewrites the golden file.

use std::path::Path;
use std::process::Command;

#[test]
fn the_pull_request_comment_matches_its_golden_file() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = tempfile::tempdir().unwrap();
    let now = dir.path().join("now");
    std::fs::create_dir(&now).unwrap();
    let grown: String = std::fs::read_to_string(repo.join("reports/example/results.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
            if v["strategy"] == "load-all"
                && let Some(h) = v["peak_heap_bytes"].as_u64()
            {
                v["peak_heap_bytes"] = (h * 6 / 5).into();
            }
            v.to_string() + "\n"
        })
        .collect();
    std::fs::write(now.join("results.jsonl"), grown).unwrap();
    let allow = dir.path().join("membench-allow.toml");
    std::fs::write(
        &allow,
        r#"[[allow]]
cell = "* · load-all · 1m"
metric = "peak_heap_bytes"
limit = "1GiB"
reason = "the row index is kept whole on purpose (#42)"
expires = "2099-12-31"

[[allow]]
cell = "etl · *"
metric = "wall_ns"
limit = "10s"
reason = "a slower writer while the new one lands"
expires = "2020-01-31"
"#,
    )
    .unwrap();
    let comment = dir.path().join("comment.md");
    let out = Command::new(env!("CARGO_BIN_EXE_membench"))
        .current_dir(dir.path())
        .arg("check")
        .arg("--baseline")
        .arg(repo.join("reports/baseline.json"))
        .arg(&now)
        .arg("--comment")
        .arg(&comment)
        .output()
        .unwrap();
    // The other sizes of load-all regress, and the expired acknowledgement fails by itself.
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&comment).unwrap();
    assert!(text.starts_with("<!-- membench-check -->\n"), "{text}");
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/check-comment.md");
    if std::env::var_os("MEMBENCH_BLESS").is_some() {
        std::fs::write(&golden, &text).unwrap();
    }
    let want =
        std::fs::read_to_string(&golden).expect("the golden file (MEMBENCH_BLESS=1 writes it)");
    assert_eq!(
        text, want,
        "the comment changed: review it, then MEMBENCH_BLESS=1"
    );
}
