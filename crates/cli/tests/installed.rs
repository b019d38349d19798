//! The installed `membench` command, from a directory outside the repository: it finds the
//! runner binaries next to itself, runs a user's program as a strategy, and gates it against a
//! baseline made from that run — then fails the gate when the program's memory grows.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn membench(cwd: &Path, args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_membench"))
        .args(args)
        .current_dir(cwd)
        .env_remove("MEMBENCH_BIN_DIR")
        .output()
        .unwrap();
    eprintln!(
        "membench {args:?}:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[test]
fn membench_runs_a_command_outside_the_repository_and_gates_it() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    let peer = repo().join("peers/python_generators.py");
    let command = format!("pygen=python3 {} {{input}} {{workload}}", peer.display());
    let run = |command: &str, out: &str| {
        let o = membench(
            cwd,
            &[
                "run",
                "--command",
                command,
                "--rows",
                "100k",
                "--workload",
                "top-n",
                "--format",
                "csv",
                "--repeat",
                "1",
                "--out",
                out,
            ],
        );
        assert!(o.status.success());
    };
    run(&command, "first");
    // Datasets and reports land in the working directory, not the repository.
    assert!(cwd.join("datasets/sales-100k-s42.csv").is_file());
    assert!(cwd.join("first/REPORT.md").is_file());
    let o = membench(cwd, &["baseline", "first", "--out", "baseline.json"]);
    assert!(o.status.success());
    let o = membench(cwd, &["check", "--baseline", "baseline.json", "first"]);
    assert!(o.status.success(), "a run passes against its own baseline");
    // The same command, now holding 300 MB more (a child of it allocates): a regression.
    let bins = PathBuf::from(env!("CARGO_BIN_EXE_membench"))
        .parent()
        .unwrap()
        .to_path_buf();
    let heavier = format!(
        "pygen=sh -c 'python3 \"$0\" \"$1\" \"$2\" & \"$3\" --strategy calibrate --bytes 300000000 \
         --sleep-ms 500 >/dev/null; wait' {} {{input}} {{workload}} {}",
        peer.display(),
        bins.join("membench-runner-sys").display()
    );
    run(&heavier, "second");
    let o = membench(cwd, &["check", "--baseline", "baseline.json", "second"]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "the RSS regression fails the gate"
    );
    assert!(String::from_utf8_lossy(&o.stdout).contains("REGRESSION"));
}
