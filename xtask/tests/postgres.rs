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
        // An `etl` run ends with membench's hash of its output, a phase of its own.
        let want: &[&str] = match v["workload"].as_str() {
            Some("etl") => &["load", "index", "query", "digest"],
            _ => &["load", "index", "query"],
        };
        assert_eq!(phases, want, "{line}");
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

/// The server's password reaches the runners in their environment only: not in any process's
/// argv (every local user can read those), not on the terminal, not in the records or the
/// report, not in an external program's environment — neither the user's server's nor the
/// throw-away server's.
#[test]
fn the_servers_password_is_never_shown() {
    let server = Cluster::start(&pg_bin(), &ClusterConfig::default()).unwrap();
    let password = server
        .url()
        .split_whitespace()
        .find_map(|kv| kv.strip_prefix("password="))
        .unwrap()
        .to_string();
    let tmp = tempfile::tempdir().unwrap();
    // Runners behind wrappers that log their arguments.
    let bins = tmp.path().join("bins");
    std::fs::create_dir(&bins).unwrap();
    let argv_log = tmp.path().join("argv.log");
    for b in [
        "membench-runner",
        "membench-runner-sys",
        "membench-runner-mi",
    ] {
        let wrapper = bins.join(b);
        std::fs::write(
            &wrapper,
            format!(
                "#!/bin/sh\necho \"$@\" >> '{}'\nexec '{}' \"$@\"\n",
                argv_log.display(),
                bin_dir().join(b).display()
            ),
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    std::os::unix::fs::symlink(bin_dir().join("membench-gen"), bins.join("membench-gen")).unwrap();
    let env_log = tmp.path().join("env.log");
    let spy = format!("spy=sh -c 'env > {}'", env_log.display());
    // A URL whose server is unreachable: its error lands in the records.
    let bad_url = format!(
        "host={} port=5432 user=membench password={password}",
        tmp.path().join("nowhere").display()
    );
    for (i, url) in [server.url().to_string(), bad_url].iter().enumerate() {
        let out = tmp.path().join(format!("run{i}"));
        let o = Command::new(env!("CARGO_BIN_EXE_xtask"))
            .args([
                "run",
                "--rows",
                "10k",
                "--format",
                "csv",
                "--workload",
                "top-n",
            ])
            .args(["--strategy", "postgres", "--repeat", "1", "--command", &spy])
            .arg("--datasets")
            .arg(tmp.path().join("datasets"))
            .arg("--out")
            .arg(&out)
            .env("MEMBENCH_BIN_DIR", &bins)
            .env("MEMBENCH_POSTGRES_URL", url)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let shown = format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(!shown.contains(&password), "on the terminal: {shown}");
        for f in ["results.jsonl", "REPORT.md", "summary.json", "index.html"] {
            let text = std::fs::read_to_string(out.join(f)).unwrap_or_default();
            assert!(!text.contains(&password), "in {f} of run {i}: {text}");
        }
        if i == 1 {
            let text = std::fs::read_to_string(out.join("results.jsonl")).unwrap();
            assert!(
                text.contains("password=***"),
                "the error names the server: {text}"
            );
        }
    }
    let argv = std::fs::read_to_string(&argv_log).unwrap();
    assert!(argv.contains(r#""strategy":"postgres""#), "{argv}");
    assert!(!argv.contains(&password), "in a runner's argv: {argv}");
    let env = std::fs::read_to_string(&env_log).unwrap();
    assert!(
        !env.contains(&password),
        "in an external program's environment"
    );
    // Under the throw-away server too.
    let out = tmp.path().join("throwaway");
    let o = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args([
            "run",
            "--rows",
            "10k",
            "--format",
            "csv",
            "--workload",
            "top-n",
        ])
        .args(["--strategy", "postgres", "--repeat", "1", "--command", &spy])
        .arg("--datasets")
        .arg(tmp.path().join("datasets"))
        .arg("--out")
        .arg(&out)
        .env("MEMBENCH_BIN_DIR", &bins)
        .env_remove("MEMBENCH_POSTGRES_URL")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    // The server is gone when the run returns, not a moment later.
    let server_dir = stderr
        .split("throw-away server in ")
        .nth(1)
        .and_then(|r| r.split(" (").next())
        .expect("the run names its server's folder");
    assert!(
        !Path::new(server_dir).exists(),
        "{server_dir} is still there"
    );
    assert!(
        processes_mentioning(server_dir).is_empty(),
        "{:?}",
        processes_mentioning(server_dir)
    );
    let argv = std::fs::read_to_string(&argv_log).unwrap();
    let env = std::fs::read_to_string(&env_log).unwrap();
    for text in [
        &argv,
        &env,
        &std::fs::read_to_string(out.join("results.jsonl")).unwrap(),
    ] {
        assert!(!text.contains("password="), "a throw-away password: {text}");
    }
}
