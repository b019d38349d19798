//! The composite action's steps, run here as GitHub would run them: each `run:` script of
//! `.github/actions/membench/action.yml` under `bash -eo pipefail`, its `env:` expressions filled
//! in (an expression this test does not know fails it, so a new input is noticed), the installed
//! membench being this build, `gh` a stub that records its calls and a local git server holding
//! `membench` (the revision is resolved against it). Steps that `uses:` another action, and the
//! install the cache makes unnecessary, are not run.
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

/// What one step's script did: its exit, its `$GITHUB_OUTPUT` lines, its stdout and stderr.
struct Ran {
    ok: bool,
    outputs: BTreeMap<String, String>,
    log: String,
}

/// Runs one step's script in `work` as GitHub would.
fn run_step(s: &Step, work: &Path, bin: &Path, known: &BTreeMap<&'static str, String>) -> Ran {
    let output = work.join("github-output");
    std::fs::write(&output, "").unwrap();
    let mut cmd = Command::new("bash");
    cmd.args(["--noprofile", "--norc", "-eo", "pipefail", "-c", &s.script])
        .current_dir(work)
        .env(
            "PATH",
            format!("{}:{}", bin.display(), std::env::var("PATH").unwrap()),
        )
        .env("GITHUB_OUTPUT", &output)
        .env("GITHUB_STEP_SUMMARY", work.join("step-summary"))
        .env("GITHUB_PATH", work.join("github-path"))
        .env("HOME", work.join("home"))
        .env("RUNNER_TEMP", work.join("runner-temp"));
    for (k, v) in &s.env {
        cmd.env(k, fill(v, known));
    }
    let res = cmd.output().unwrap();
    let outputs = std::fs::read_to_string(&output)
        .unwrap()
        .lines()
        .map(|line| {
            let (k, v) = line.split_once('=').unwrap();
            (k.to_string(), v.to_string())
        })
        .collect();
    Ran {
        ok: res.status.success(),
        outputs,
        log: format!(
            "{}\n{}",
            String::from_utf8_lossy(&res.stdout),
            String::from_utf8_lossy(&res.stderr)
        ),
    }
}

fn action_steps() -> Vec<Step> {
    let action =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.github/actions/membench/action.yml");
    steps(&std::fs::read_to_string(action).unwrap())
}

/// Runs the action's steps in `work`; returns the step outputs.
fn job(
    work: &Path,
    bin: &Path,
    known: &mut BTreeMap<&'static str, String>,
    pull_request: bool,
) -> BTreeMap<String, String> {
    let all = action_steps();
    assert!(all.len() >= 6, "{all:?}");
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
        let ran = run_step(s, work, bin, known);
        assert!(ran.ok, "step {:?} failed: {}", s.name, ran.log);
        for (k, v) in ran.outputs {
            if k == "report" {
                known.insert("steps.run.outputs.report", v.clone());
            }
            outputs.insert(k, v);
        }
    }
    outputs
}

/// A git server holding `someone/membench`: `main` two commits long, the annotated tag `v1` on
/// its first. Returns the server's URL, `main`'s commit and `v1`'s.
fn membench_repo(dir: &Path) -> (String, String, String) {
    let repo = dir.join("srv/someone/membench");
    std::fs::create_dir_all(&repo).unwrap();
    let git = |args: &[&str]| {
        let out = Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
            .args(args)
            .current_dir(&repo)
            .output()
            .unwrap();
        assert!(out.status.success(), "git {args:?}: {out:?}");
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    };
    git(&["init", "-q", "-b", "main"]);
    git(&["commit", "-q", "--allow-empty", "-m", "one"]);
    git(&["tag", "-a", "v1", "-m", "the first"]);
    git(&["commit", "-q", "--allow-empty", "-m", "two"]);
    let url = format!("file://{}", dir.join("srv").display());
    (
        url,
        git(&["rev-parse", "main"]),
        git(&["rev-parse", "v1^{}"]),
    )
}

/// The binaries are cached per commit: a branch or tag is resolved first (a cache keyed `main`
/// would restore the first build of `main` for ever), an unknown name fails with what it was.
#[test]
fn the_cache_is_keyed_by_the_commit_a_branch_or_tag_names() {
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let (url, main, v1) = membench_repo(w);
    let all = action_steps();
    let resolve = all
        .iter()
        .find(|s| s.env.iter().any(|(k, _)| k == "MEMBENCH_REV") && !s.script.contains("cargo"))
        .expect("a step resolving the revision");
    let mut known: BTreeMap<&'static str, String> = [
        ("github.server_url", url),
        (
            "github.action_repository || 'membench/membench'",
            "someone/membench".to_string(),
        ),
    ]
    .into_iter()
    .collect();
    let pinned = "0123456789abcdef0123456789abcdef01234567";
    for (rev, want) in [
        ("main", main.as_str()),
        ("v1", v1.as_str()),
        (pinned, pinned),
    ] {
        known.insert("inputs.membench-version", rev.to_string());
        let ran = run_step(resolve, w, Path::new("/nonexistent"), &known);
        assert!(ran.ok, "{rev}: {}", ran.log);
        assert_eq!(ran.outputs["sha"], want, "{rev}: {}", ran.log);
    }
    known.insert("inputs.membench-version", "no-such-branch".into());
    let ran = run_step(resolve, w, Path::new("/nonexistent"), &known);
    assert!(
        !ran.ok && ran.log.contains("'no-such-branch' is neither"),
        "{}",
        ran.log
    );

    // The cache step's key and the install use the resolved commit, never the input.
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.github/actions/membench/action.yml"),
    )
    .unwrap();
    let key = text.lines().find(|l| l.trim().starts_with("key:")).unwrap();
    assert!(key.contains("steps.rev.outputs.sha"), "{key}");
    let install = all
        .iter()
        .find(|s| s.condition.contains("cache-hit != 'true'"))
        .unwrap();
    assert!(
        install
            .env
            .iter()
            .all(|(_, v)| !v.contains("inputs.membench-version")),
        "{:?}",
        install.env
    );

    // The install, with `cargo` and `rustup` stubs: it checks out the resolved commit (`v1`,
    // not the branch's tip) and puts every `membench*` binary the build made in one folder.
    let stubs = w.join("stubs");
    std::fs::create_dir_all(&stubs).unwrap();
    let script = |name: &str, body: &str| {
        use std::os::unix::fs::PermissionsExt;
        let p = stubs.join(name);
        std::fs::write(&p, format!("#!/bin/sh\n{body}")).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    };
    script("rustup", "exit 0\n");
    script(
        "cargo",
        r#"set -e
git rev-parse HEAD > "$CARGO_TARGET_DIR.built-from"
mkdir -p "$CARGO_TARGET_DIR/release"
for b in membench membench-runner membench-gen; do
  printf '#!/bin/sh\necho %s 0.1.0\n' "$b" > "$CARGO_TARGET_DIR/release/$b"
  chmod +x "$CARGO_TARGET_DIR/release/$b"
done
touch "$CARGO_TARGET_DIR/release/membench.d"
"#,
    );
    known.insert(
        "steps.rev.outputs.repo",
        format!("{}/someone/membench", known["github.server_url"]),
    );
    known.insert("steps.rev.outputs.sha", v1.clone());
    let ran = run_step(install, w, &stubs, &known);
    assert!(ran.ok, "{}", ran.log);
    let built_from =
        std::fs::read_to_string(w.join("runner-temp/membench-target.built-from")).unwrap();
    assert_eq!(built_from.trim(), v1);
    let mut installed: Vec<String> = std::fs::read_dir(w.join("home/.membench-bin/bin"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    installed.sort();
    assert_eq!(installed, ["membench", "membench-gen", "membench-runner"]);
    assert!(ran.log.contains("membench 0.1.0"), "{}", ran.log);
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
    let (url, main, _) = membench_repo(w);
    let mut known: BTreeMap<&'static str, String> = [
        ("github.server_url", url),
        (
            "github.action_repository || 'membench/membench'",
            "someone/membench".to_string(),
        ),
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
    assert_eq!(first["sha"], main, "`main` resolved to its commit");
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
