//! The composite action's steps, run here as GitHub would run them: each `run:` script of
//! `.github/actions/membench/action.yml` under `bash -eo pipefail`, its `env:` expressions filled
//! in (an expression this test does not know fails it, so a new input is noticed), the installed
//! membench being this build and `gh` a stub that records its calls. Steps that `uses:` another
//! action, and the install the cache makes unnecessary, are not run.
//!
//! First job: no baseline yet — the run writes one to commit. Second job, with that baseline
//! committed, on a pull request: the gate passes, writes the comment with its marker, and the
//! comment step posts it (no earlier comment) through `gh api`.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

/// One step: its name, condition, environment (raw values) and script.
#[derive(Debug, Default)]
struct Step {
    name: String,
    condition: String,
    uses: bool,
    env: Vec<(String, String)>,
    script: String,
}

fn indent(l: &str) -> usize {
    l.len() - l.trim_start().len()
}

/// The steps of the action file (a line-based reading of its plain YAML).
fn steps(text: &str) -> Vec<Step> {
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.iter().position(|l| l.trim() == "steps:").unwrap() + 1;
    let mut out: Vec<Step> = Vec::new();
    let mut i = start;
    while i < lines.len() {
        let l = lines[i];
        let t = l.trim();
        if let Some(name) = t.strip_prefix("- name: ") {
            out.push(Step {
                name: name.to_string(),
                ..Step::default()
            });
        } else if let Some(step) = out.last_mut() {
            if let Some(c) = t.strip_prefix("if: ") {
                step.condition = c.to_string();
            } else if t.starts_with("uses: ") {
                step.uses = true;
            } else if t == "env:" {
                let base = indent(l);
                while i + 1 < lines.len() && indent(lines[i + 1]) > base {
                    i += 1;
                    let (k, v) = lines[i].trim().split_once(": ").unwrap();
                    step.env.push((k.to_string(), v.to_string()));
                }
            } else if let Some(rest) = t.strip_prefix("run: ") {
                if rest == "|" {
                    let base = indent(l);
                    let mut body = Vec::new();
                    while i + 1 < lines.len()
                        && (lines[i + 1].trim().is_empty() || indent(lines[i + 1]) > base)
                    {
                        i += 1;
                        body.push(lines[i].get(base + 2..).unwrap_or(""));
                    }
                    step.script = body.join("\n") + "\n";
                } else {
                    step.script = rest.to_string() + "\n";
                }
            }
        }
        i += 1;
    }
    out
}

/// `${{ expr }}` values filled in from `known`; an unknown expression fails the test.
fn fill(value: &str, known: &BTreeMap<&str, String>) -> String {
    let mut out = String::new();
    let mut rest = value;
    while let Some(at) = rest.find("${{") {
        out.push_str(&rest[..at]);
        let end = rest[at..].find("}}").unwrap() + at;
        let expr = rest[at + 3..end].trim();
        let v = known
            .get(expr)
            .unwrap_or_else(|| panic!("the test does not know the expression {expr:?}"));
        out.push_str(v);
        rest = &rest[end + 2..];
    }
    out.push_str(rest);
    out
}

/// Runs the action's steps in `work`; returns the step outputs.
fn job(
    work: &Path,
    bin: &Path,
    known: &mut BTreeMap<&'static str, String>,
    pull_request: bool,
) -> BTreeMap<String, String> {
    let action =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.github/actions/membench/action.yml");
    let all = steps(&std::fs::read_to_string(action).unwrap());
    assert!(all.len() >= 6, "{all:?}");
    let output = work.join("github-output");
    let summary = work.join("step-summary");
    let mut outputs = BTreeMap::new();
    for s in &all {
        if s.uses || s.script.is_empty() {
            continue;
        }
        // The cache restored the binaries: the install is skipped, as GitHub would.
        if s.condition.contains("cache-hit != 'true'") {
            continue;
        }
        if s.condition.contains("github.event_name == 'pull_request'") && !pull_request {
            continue;
        }
        std::fs::write(&output, "").unwrap();
        let mut cmd = Command::new("bash");
        cmd.args(["--noprofile", "--norc", "-eo", "pipefail", "-c", &s.script])
            .current_dir(work)
            .env(
                "PATH",
                format!("{}:{}", bin.display(), std::env::var("PATH").unwrap()),
            )
            .env("GITHUB_OUTPUT", &output)
            .env("GITHUB_STEP_SUMMARY", &summary)
            .env("GITHUB_PATH", work.join("github-path"))
            .env("HOME", work.join("home"))
            .env("RUNNER_TEMP", work.join("runner-temp"));
        for (k, v) in &s.env {
            cmd.env(k, fill(v, known));
        }
        let res = cmd.output().unwrap();
        assert!(
            res.status.success(),
            "step {:?} failed: {}\n{}",
            s.name,
            String::from_utf8_lossy(&res.stdout),
            String::from_utf8_lossy(&res.stderr)
        );
        for line in std::fs::read_to_string(&output).unwrap().lines() {
            let (k, v) = line.split_once('=').unwrap();
            outputs.insert(k.to_string(), v.to_string());
            if k == "report" {
                known.insert("steps.run.outputs.report", v.to_string());
            }
        }
    }
    outputs
}

#[test]
fn the_actions_steps_run_a_command_write_a_baseline_then_gate_and_comment() {
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    // The installed tools: this membench, and a `gh` that logs its calls.
    let bin = w.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_membench"), bin.join("membench")).unwrap();
    let gh_log = w.join("gh.log");
    std::fs::write(
        bin.join("gh"),
        format!("#!/bin/sh\necho \"$@\" >> '{}'\n", gh_log.display()),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(bin.join("gh"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut known: BTreeMap<&'static str, String> = [
        ("inputs.commands", "reader=cat {input}".to_string()),
        ("inputs.memory-limit", String::new()),
        ("inputs.rows", "2k".into()),
        ("inputs.workloads", "top-n".into()),
        ("inputs.formats", "csv".into()),
        ("inputs.repeat", "1".into()),
        ("inputs.datasets", ".membench/datasets".into()),
        ("inputs.baseline", "membench-baseline.json".into()),
        ("inputs.membench-version", "main".into()),
        ("github.run_id", "1".into()),
        ("github.token", "a-token".into()),
        ("github.repository", "someone/their-repo".into()),
        ("github.event.pull_request.number", "7".into()),
    ]
    .into_iter()
    .collect();

    // First job: no baseline — one is written to commit.
    let first = job(w, &bin, &mut known, false);
    let report = w.join(&first["report"]);
    assert!(report.join("results.jsonl").is_file());
    let written = report.join("membench-baseline.json");
    assert!(written.is_file(), "no baseline written");
    assert!(
        std::fs::read_to_string(w.join("step-summary"))
            .unwrap()
            .contains("commit")
    );

    // Committed; the second job, on a pull request, gates against it and comments.
    std::fs::copy(&written, w.join("membench-baseline.json")).unwrap();
    known.insert("github.run_id", "2".into());
    let second = job(w, &bin, &mut known, true);
    let comment = w.join(&second["report"]).join("comment.md");
    let text = std::fs::read_to_string(&comment).unwrap();
    assert!(text.starts_with("<!-- membench-check -->"), "{text}");
    assert!(text.contains("membench memory check: passed"), "{text}");
    let calls = std::fs::read_to_string(&gh_log).unwrap();
    let calls: Vec<&str> = calls.lines().collect();
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert!(calls[0].starts_with("api repos/someone/their-repo/issues/7/comments --paginate"));
    assert!(
        calls[1]
            .starts_with("api --method POST repos/someone/their-repo/issues/7/comments -F body=@")
            && calls[1].ends_with("comment.md"),
        "{calls:?}"
    );
}
