//! The throw-away PostgreSQL server of a run: killed mid-cell, the run leaves no server process
//! and no server folder behind, and `--resume` completes it; on a server the user started,
//! the run leaves no schema behind.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use membench_harness::postgres::{Cluster, ClusterConfig, find_bin_dir};

/// The runner and generator that `cargo test --release --workspace` built next to this test.
fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().unwrap().parent().unwrap().to_path_buf()
}

fn pg_bin() -> PathBuf {
    find_bin_dir()
        .expect("these tests run a real PostgreSQL server: install it (apt-get install postgresql)")
}

fn xtask(args: &[&str], data: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_xtask"));
    c.args(["run", "--rows", "20k", "--format", "csv", "--no-report"])
        .args(["--strategy", "postgres", "--datasets"])
        .arg(data)
        .args(args)
        .env("MEMBENCH_BIN_DIR", bin_dir())
        .env_remove("MEMBENCH_POSTGRES_URL")
        .stdout(Stdio::null());
    c
}

/// Processes whose command line mentions `needle` (the server's folder).
fn processes_mentioning(needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        if !e
            .file_name()
            .to_string_lossy()
            .chars()
            .all(|c| c.is_ascii_digit())
        {
            continue;
        }
        if let Ok(cmd) = std::fs::read(e.path().join("cmdline")) {
            let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
            if cmd.contains(needle) {
                found.push(format!("{}: {cmd}", e.file_name().to_string_lossy()));
            }
        }
    }
    found
}

fn wait_until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < limit, "{what} after {limit:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_killed_run_leaves_no_server_and_resumes() {
    pg_bin();
    let tmp = tempfile::tempdir().unwrap();
    let (out, data) = (tmp.path().join("run"), tmp.path().join("datasets"));
    let sales = ["--workload", "top-n,group-by,etl"];
    let mut child = xtask(&["--repeat", "5", "--out", out.to_str().unwrap()], &data)
        .args(sales)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The run names its server's folder on stderr.
    let (tx, rx) = std::sync::mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(rest) = line.split("throw-away server in ").nth(1) {
                let dir = rest.split(" (").next().unwrap().to_string();
                let _ = tx.send(dir);
            }
        }
    });
    let server_dir = rx
        .recv_timeout(Duration::from_secs(120))
        .expect("the run did not start a server");
    let results = out.join("results.jsonl");
    let records = || {
        std::fs::read_to_string(&results)
            .map(|t| t.lines().count())
            .unwrap_or(0)
    };
    // Kill it in the middle of the postgres cells.
    wait_until("no record", Duration::from_secs(120), || records() >= 3);
    assert!(
        child.try_wait().unwrap().is_none(),
        "the run ended too soon"
    );
    assert!(!processes_mentioning(&server_dir).is_empty());
    child.kill().unwrap(); // SIGKILL: no chance to clean up itself
    child.wait().unwrap();
    wait_until(
        "the server folder is still there",
        Duration::from_secs(30),
        || !Path::new(&server_dir).exists(),
    );
    wait_until("server processes are left", Duration::from_secs(30), || {
        processes_mentioning(&server_dir).is_empty()
    });
    let at_kill = records();
    assert!(at_kill < 3 * 5 * 2, "finished before the kill");

    let status = xtask(&["--repeat", "5", "--resume", out.to_str().unwrap()], &data)
        .args(sales)
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let text = std::fs::read_to_string(&results).unwrap();
    let mut keys = std::collections::BTreeSet::new();
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["status"], "ok", "{line}");
        assert!(v["server_peak_rss_bytes"].as_u64().is_some_and(|b| b > 0));
        let phases: Vec<&str> = v["phases"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        assert_eq!(phases, ["load", "index", "query"], "{line}");
        assert!(keys.insert((
            v["workload"].to_string(),
            v["allocator"].to_string(),
            v["repetition"].to_string()
        )));
    }
    assert_eq!(keys.len(), 3 * 5 * 2, "one record per repetition");
    assert!(
        processes_mentioning("membench-pg-")
            .iter()
            .all(|p| !p.contains(&server_dir)),
        "server processes left behind"
    );
}

#[test]
fn on_a_users_server_the_run_leaves_no_schema_behind() {
    let server = Cluster::start(&pg_bin(), &ClusterConfig::default()).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let status = xtask(
        &[
            "--repeat",
            "1",
            "--workload",
            "top-n,etl",
            "--db-reuse",
            "--postgres-url",
            server.url(),
            "--out",
            out.to_str().unwrap(),
        ],
        &tmp.path().join("datasets"),
    )
    .stderr(Stdio::null())
    .status()
    .unwrap();
    assert!(status.success());
    let text = std::fs::read_to_string(out.join("results.jsonl")).unwrap();
    let reused = text
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .inspect(|v| assert_eq!(v["status"], "ok"))
        .filter(|v| v["db_reused"] == true)
        .count();
    // The warm-up loads; every measured repetition finds the input loaded.
    assert_eq!(reused, 4, "{text}");
    let mut client = postgres::Client::connect(server.url(), postgres::NoTls).unwrap();
    let left: i64 = client
        .query_one(
            "SELECT count(*) FROM information_schema.schemata WHERE schema_name LIKE 'membench%'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(left, 0, "the run's schema is still there");
}
