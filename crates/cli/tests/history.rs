//! `membench history`: runs added to one SQLite file, once each; `import` finds run folders;
//! `show` prints a cell's figures commit by commit with the change, one series per machine —
//! a run of another machine is never mixed in; `check` fails on a new heap step and names its
//! commits; `report` charts every series and lists the step; `--history-url` keeps the same in
//! PostgreSQL.

use std::path::Path;
use std::process::{Command, Output};

fn membench(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_membench"))
        .args(args)
        .output()
        .unwrap()
}

fn ok(res: Output) -> String {
    assert!(
        res.status.success(),
        "{}",
        String::from_utf8_lossy(&res.stderr)
    );
    String::from_utf8_lossy(&res.stdout).into_owned()
}

fn small_run(data: &Path, out: &Path) {
    ok(membench(&[
        "run",
        "--strategy",
        "streaming",
        "--strategy",
        "load-all",
        "--workload",
        "top-n",
        "--format",
        "csv",
        "--rows",
        "2k",
        "--repeat",
        "1",
        "--no-report",
        "--datasets",
        data.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]));
}

#[test]
fn runs_are_added_once_found_by_import_and_shown_commit_by_commit_per_machine() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("datasets");
    let (one, two) = (dir.path().join("runs/one"), dir.path().join("runs/two"));
    small_run(&data, &one);
    small_run(&data, &two);
    let history = dir.path().join("h/history.sqlite");
    let h = history.to_str().unwrap();
    let add = |run: &Path, commit: &str| {
        membench(&[
            "history",
            "--history",
            h,
            "add",
            run.to_str().unwrap(),
            "--commit",
            commit,
        ])
    };
    let first = add(&one, "c1");
    assert!(String::from_utf8_lossy(&first.stderr).contains("added"));
    // The same run again adds nothing.
    let again = add(&one, "c1");
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("already in the history"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    ok(add(&two, "c2"));
    // A copy of the second run from another machine: its own series.
    let other = dir.path().join("elsewhere/three");
    std::fs::create_dir_all(&other).unwrap();
    let text = std::fs::read_to_string(two.join("results.jsonl")).unwrap();
    let moved: String = text
        .lines()
        .map(|l| {
            let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["context"]["cpu"] = "Another CPU".into();
            v["run_id"] = "another-run".into();
            v.to_string() + "\n"
        })
        .collect();
    std::fs::write(other.join("results.jsonl"), moved).unwrap();
    // import finds it (and the two runs already there are not added again).
    let imported = membench(&[
        "history",
        "--history",
        h,
        "import",
        dir.path().join("runs").to_str().unwrap(),
        dir.path().join("elsewhere").to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&imported.stderr);
    assert!(imported.status.success(), "{err}");
    assert_eq!(err.matches("added").count(), 1, "{err}");
    assert_eq!(err.matches("already in the history").count(), 2, "{err}");

    let shown = ok(membench(&[
        "history",
        "--history",
        h,
        "show",
        "--strategy",
        "load-all",
        "--metric",
        "heap",
    ]));
    // Two machines; on the first, commits c1 then c2 with the change between them.
    assert_eq!(shown.matches("machine: ").count(), 2, "{shown}");
    let first_machine = shown.split("machine: ").nth(1).unwrap();
    let c1 = first_machine.find("c1").expect("c1 shown");
    let c2 = first_machine.find("c2").expect("c2 shown");
    assert!(c1 < c2, "{shown}");
    assert!(
        first_machine.contains("load-all · top-n · csv · 2k rows"),
        "{shown}"
    );
    assert!(first_machine.contains(" %)"), "{shown}");
    assert!(
        !shown.contains("streaming"),
        "filtered by strategy: {shown}"
    );
    // Time is followed too.
    let time = ok(membench(&[
        "history",
        "--history",
        h,
        "show",
        "--metric",
        "time",
    ]));
    assert!(time.contains("streaming · top-n"), "{time}");
    // check: between c1 and c2 nothing grew; a commit whose load-all holds 20 % more heap
    // fails it, naming the cell and the two commits.
    let checked = membench(&["history", "--history", h, "check"]);
    assert!(
        checked.status.success(),
        "{}",
        String::from_utf8_lossy(&checked.stdout)
    );
    let grown = dir.path().join("runs/grown");
    std::fs::create_dir_all(&grown).unwrap();
    let bigger: String = text
        .lines()
        .map(|l| {
            let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["run_id"] = "grown-run".into();
            v["context"]["started_at"] = "2099-01-01T00:00:00Z".into();
            if v["strategy"] == "load-all"
                && let Some(h) = v["peak_heap_bytes"].as_u64()
            {
                v["peak_heap_bytes"] = (h * 6 / 5).into();
            }
            v.to_string() + "\n"
        })
        .collect();
    std::fs::write(grown.join("results.jsonl"), bigger).unwrap();
    ok(add(&grown, "c3"));
    let failed = membench(&["history", "--history", h, "check"]);
    let out = String::from_utf8_lossy(&failed.stdout);
    assert_eq!(failed.status.code(), Some(1), "{out}");
    assert!(
        out.contains("REGRESSION load-all · top-n · csv · 2k rows: peak heap")
            && out.contains("(+20.0 %) from c2 to c3"),
        "{out}"
    );
    assert!(!out.contains("streaming"), "{out}");
    // A reference that measured nothing here is refused, named.
    let no_ref = membench(&["history", "--history", h, "check", "--reference", "pinned"]);
    assert_eq!(no_ref.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&no_ref.stderr)
            .contains("--reference pinned: no cell of that strategy or command has a time"),
        "{}",
        String::from_utf8_lossy(&no_ref.stderr)
    );
    // Relative to streaming's time, the heap regression is found as before.
    let relative = membench(&[
        "history",
        "--history",
        h,
        "check",
        "--reference",
        "streaming",
    ]);
    let rel_out = String::from_utf8_lossy(&relative.stdout);
    assert_eq!(relative.status.code(), Some(1), "{rel_out}");
    assert!(rel_out.contains("(+20.0 %) from c2 to c3"), "{rel_out}");

    // The history page charts every series and lists the step with its first commit.
    let page = dir.path().join("page");
    let printed = ok(membench(&[
        "history",
        "--history",
        h,
        "report",
        "--out",
        page.to_str().unwrap(),
    ]));
    assert!(printed.contains("12 series, 1 change points"), "{printed}");
    let html = std::fs::read_to_string(page.join("index.html")).unwrap();
    assert_eq!(html.matches("<section class=\"series\"").count(), 12);
    assert_eq!(html.matches("class=\"change\"").count(), 1, "{html}");
    let changes = std::fs::read_to_string(page.join("CHANGES.md")).unwrap();
    assert!(
        changes.contains("| load-all · top-n · csv · 2k rows | peak heap | c3 |")
            && changes.contains("| +20.0 % | deterministic |"),
        "{changes}"
    );
    assert_eq!(std::fs::read_dir(page.join("charts")).unwrap().count(), 12);

    // Nothing under a path is an error that says what was looked for.
    let none = membench(&["history", "--history", h, "import", data.to_str().unwrap()]);
    assert!(!none.status.success());
    assert!(String::from_utf8_lossy(&none.stderr).contains("no run folder"));
}

/// `--history-url`: the same history in PostgreSQL (a throw-away server) — runs added once,
/// and `show` and `check` print exactly what they print from the SQLite file.
#[test]
fn a_postgres_history_holds_and_shows_what_the_sqlite_file_does() {
    use membench_harness::postgres::{Cluster, ClusterConfig, find_bin_dir};
    let bin = find_bin_dir().expect(
        "the PostgreSQL history is tested against a real server: install PostgreSQL \
         (apt-get install postgresql)",
    );
    let server = Cluster::start(&bin, &ClusterConfig::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("datasets");
    let (one, two) = (dir.path().join("runs/one"), dir.path().join("runs/two"));
    small_run(&data, &one);
    small_run(&data, &two);
    let file = dir.path().join("history.sqlite");
    let f = file.to_str().unwrap();
    let both = |args: &[&str]| -> (Output, Output) {
        let sqlite: Vec<&str> = ["history", "--history", f]
            .iter()
            .chain(args)
            .copied()
            .collect();
        let pg: Vec<&str> = ["history", "--history-url", server.url()]
            .iter()
            .chain(args)
            .copied()
            .collect();
        (membench(&sqlite), membench(&pg))
    };
    for (run, commit) in [(&one, "c1"), (&two, "c2")] {
        let (a, b) = both(&["add", run.to_str().unwrap(), "--commit", commit]);
        ok(a);
        let err = String::from_utf8_lossy(&b.stderr).into_owned();
        assert!(b.status.success() && err.contains("added"), "{err}");
    }
    // Adding a run twice adds nothing, in PostgreSQL too.
    let (_, again) = both(&["add", one.to_str().unwrap(), "--commit", "c1"]);
    assert!(String::from_utf8_lossy(&again.stderr).contains("already in the history"));
    for metric in ["heap", "rss", "time"] {
        let (a, b) = both(&["show", "--metric", metric]);
        let (a, b) = (ok(a), ok(b));
        assert!(a.contains("load-all · top-n · csv · 2k rows"), "{a}");
        assert_eq!(a, b, "show --metric {metric}");
    }
    let (a, b) = both(&["check", "--all"]);
    assert_eq!(a.status.code(), b.status.code());
    assert_eq!(a.stdout, b.stdout);
    // The tables are plain SQL a team can query.
    let mut client = postgres::Client::connect(server.url(), postgres::NoTls).unwrap();
    let n: i64 = client
        .query_one("SELECT count(*) FROM runs", &[])
        .unwrap()
        .get(0);
    assert_eq!(n, 2);
}
