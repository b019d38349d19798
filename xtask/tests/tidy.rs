//! Tidy tests (rust-analyzer's are the model): they fail when the docs and the code disagree,
//! and say how to fix it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn xtask(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "xtask {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The text between `<!-- name:start … -->` and `<!-- name:end -->`.
fn block<'a>(text: &'a str, name: &str) -> &'a str {
    let start = text
        .find(&format!("<!-- {name}:start"))
        .unwrap_or_else(|| panic!("no <!-- {name}:start --> marker"));
    let body = start + text[start..].find("-->").unwrap() + 3;
    let end = text
        .find(&format!("<!-- {name}:end -->"))
        .unwrap_or_else(|| panic!("no <!-- {name}:end --> marker"));
    text[body..end].trim()
}

#[test]
fn the_readme_strategy_table_is_the_registry() {
    let readme = read("README.md");
    let expected = xtask(&["list", "--markdown"]);
    assert_eq!(
        block(&readme, "strategies"),
        expected.trim(),
        "README.md's strategy table differs from crates/strategies/src/registry.rs: paste the \
         output of `cargo xtask list --markdown` between the strategies markers"
    );
}

#[test]
fn the_readme_excerpt_is_the_committed_report() {
    let readme = read("README.md");
    let report = read("reports/example/REPORT.md");
    let rows: Vec<&str> = block(&readme, "excerpt")
        .lines()
        .filter(|l| l.starts_with("| "))
        .collect();
    assert!(!rows.is_empty(), "the excerpt has no table");
    for row in rows {
        assert!(
            report.lines().any(|l| l == row),
            "README.md's excerpt row is not in reports/example/REPORT.md (re-rendered since?): \
             copy the table again\n{row}"
        );
    }
}

#[test]
fn list_json_has_every_strategy_with_growth_per_format() {
    let v: serde_json::Value = serde_json::from_str(&xtask(&["list", "--json"])).unwrap();
    let listed = v["strategies"].as_array().unwrap();
    assert_eq!(listed.len(), membench_protocol::STRATEGIES.len());
    for (s, info) in listed.iter().zip(membench_protocol::STRATEGIES) {
        assert_eq!(s["name"], info.name);
        for f in membench_protocol::Format::ALL {
            assert_eq!(
                s["growth"]["sales"][f.name()].as_str(),
                info.growth
                    .of(&membench_protocol::Workload::TOP_N, f)
                    .map(|g| g.name()),
                "{}",
                info.name
            );
            assert_eq!(
                s["growth"]["join"].as_str(),
                info.growth
                    .of(&membench_protocol::Workload::JOIN, f)
                    .map(|g| g.name()),
                "{}",
                info.name
            );
        }
    }
}

#[test]
fn the_docs_point_at_nothing_outside_the_repository() {
    for doc in ["README.md", "ARCHITECTURE.md"] {
        let text = read(doc);
        for bad in ["../shared", "](../", "shared/seeds"] {
            assert!(
                !text.contains(bad),
                "{doc} points outside the repository: {bad:?}"
            );
        }
    }
}

#[test]
fn the_readme_lists_every_claim_of_the_claims_file() {
    let readme = read("README.md");
    let claims: serde_json::Value = serde_json::from_str(&read("reports/claims.json")).unwrap();
    let claims = claims["claims"].as_array().unwrap();
    assert!(claims.len() >= 10);
    for c in claims {
        let id = c["id"].as_str().unwrap();
        assert!(
            readme.contains(&format!("`{id}`")),
            "README.md lacks claim {id}"
        );
    }
}

#[test]
fn the_architecture_code_map_names_every_crate() {
    let arch = read("ARCHITECTURE.md");
    for entry in std::fs::read_dir(root().join("crates")).unwrap() {
        let dir = entry.unwrap().file_name().into_string().unwrap();
        let manifest = read(&format!("crates/{dir}/Cargo.toml"));
        let package = manifest
            .lines()
            .find_map(|l| l.strip_prefix("name = "))
            .unwrap()
            .trim_matches('"');
        assert!(
            arch.contains(&format!("`crates/{dir}`")) && arch.contains(&format!("`{package}`")),
            "ARCHITECTURE.md's code map lacks crates/{dir} ({package})"
        );
    }
}

#[test]
fn every_lib_opens_with_what_it_does() {
    for entry in std::fs::read_dir(root().join("crates")).unwrap() {
        let dir = entry.unwrap().path();
        let lib = dir.join("src/lib.rs");
        if let Ok(text) = std::fs::read_to_string(&lib) {
            assert!(
                text.starts_with("//!"),
                "{} must open with a //! doc",
                lib.display()
            );
            assert!(
                text.contains("must not") || text.contains("must stay"),
                "{} must say what it must not do",
                lib.display()
            );
        }
    }
}

/// What the workspace defines, for checking the names the docs use.
struct Workspace {
    root: PathBuf,
    /// Type, trait and alias names defined in any Rust file (and names re-exported `as` one).
    types: BTreeSet<String>,
    /// Every identifier that occurs in any Rust file (enum variants, constants, functions).
    words: BTreeSet<String>,
    /// Package names and binary names.
    binaries: BTreeSet<String>,
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        let name = e.file_name();
        if name == "target" || name.to_string_lossy().starts_with('.') {
            continue;
        }
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

fn identifiers(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
}

impl Workspace {
    fn read(root: &Path) -> Workspace {
        let mut files = Vec::new();
        for dir in ["crates", "xtask", "benches"] {
            rust_files(&root.join(dir), &mut files);
        }
        let mut types = std::collections::BTreeSet::new();
        let mut words = std::collections::BTreeSet::new();
        let mut binaries = std::collections::BTreeSet::new();
        // This file names missing things on purpose (the checker's own test).
        files.retain(|f| !f.ends_with("xtask/tests/tidy.rs"));
        for f in &files {
            let text = std::fs::read_to_string(f).unwrap();
            let ids: Vec<&str> = identifiers(&text).collect();
            for w in ids.windows(2) {
                if ["struct", "enum", "trait", "type", "union", "as"].contains(&w[0]) {
                    types.insert(w[1].to_string());
                }
            }
            words.extend(ids.iter().map(|s| s.to_string()));
            if f.parent().is_some_and(|d| d.ends_with("src/bin")) {
                binaries.insert(f.file_stem().unwrap().to_string_lossy().into_owned());
            }
        }
        for dir in ["crates", "xtask", "benches"] {
            let mut manifests = vec![root.join(dir).join("Cargo.toml")];
            if let Ok(entries) = std::fs::read_dir(root.join(dir)) {
                manifests.extend(entries.flatten().map(|e| e.path().join("Cargo.toml")));
            }
            for m in manifests {
                let Ok(text) = std::fs::read_to_string(&m) else {
                    continue;
                };
                for line in text.lines() {
                    if let Some(v) = line.trim().strip_prefix("name = ") {
                        binaries.insert(v.trim_matches('"').to_string());
                    }
                }
            }
        }
        Workspace {
            root: root.to_path_buf(),
            types,
            words,
            binaries,
        }
    }

    /// The problems of one document: every path, type and binary it names in backticks that
    /// does not exist. A path resolves against the repository root, or the folder named by the
    /// `###` heading it sits under, or that folder's `src/`. Types are checked in the text
    /// before `types_until` (a heading), if given.
    fn check(&self, doc: &str, text: &str, types_until: Option<&str>) -> Vec<String> {
        self.check_and_resolve(doc, text, types_until).0
    }

    /// [`Workspace::check`], and every path the document named that exists.
    fn check_and_resolve(
        &self,
        doc: &str,
        text: &str,
        types_until: Option<&str>,
    ) -> (Vec<String>, std::collections::BTreeSet<PathBuf>) {
        let mut resolved = std::collections::BTreeSet::new();
        let doc_dir = Path::new(doc)
            .parent()
            .map(|d| self.root.join(d))
            .filter(|d| d != &self.root);
        let mut problems = Vec::new();
        let mut base: Option<PathBuf> = doc_dir.clone();
        // The last folder named in the paragraph: `export/` … `markdown.rs`.
        let mut folder: Option<PathBuf> = None;
        let mut check_types = true;
        for line in text.lines() {
            if types_until.is_some_and(|h| line.starts_with(h)) {
                check_types = false;
            }
            if line.starts_with('#') {
                base = doc_dir.clone();
            }
            if line.trim().is_empty() {
                folder = None;
            }
            let tokens: Vec<&str> = line.split('`').skip(1).step_by(2).collect();
            if line.starts_with("### ") {
                base = tokens
                    .first()
                    .map(|t| self.root.join(t.trim_end_matches('/')))
                    .filter(|p| p.is_dir())
                    .or(doc_dir.clone());
            }
            for t in tokens {
                let bases: Vec<&Path> = [base.as_deref(), folder.as_deref()]
                    .into_iter()
                    .flatten()
                    .collect();
                match self.problem(t, &bases, check_types) {
                    Err(p) => problems.push(format!("{doc}: `{t}` {p}")),
                    Ok(Some(path)) => {
                        if t.ends_with('/') {
                            folder = Some(path.clone());
                        }
                        resolved.insert(path);
                    }
                    Ok(None) => {}
                }
            }
        }
        (problems, resolved)
    }

    /// `Err` with the problem; `Ok(Some(path))` when `t` is a path that exists.
    fn problem(
        &self,
        t: &str,
        bases: &[&Path],
        check_types: bool,
    ) -> Result<Option<PathBuf>, &'static str> {
        // Written by membench at run time, or words that only look like paths.
        const NOT_IN_THE_REPOSITORY: [&str; 4] =
            ["datasets/", "reports/local/", ".membench/", "n/a"];
        if NOT_IN_THE_REPOSITORY.iter().any(|p| t.starts_with(p)) {
            return Ok(None);
        }
        let placeholder = |t: &str| {
            t.chars()
                .any(|c| c.is_whitespace() || "<>*${}|=#[]()\"',;%~!?@&+^".contains(c))
        };
        if t.is_empty() || placeholder(t) {
            return Ok(None);
        }
        let path_like = !t.starts_with('/')
            && !t.contains("://")
            && !t.contains("::")
            && (t.contains('/')
                || [".rs", ".py", ".toml", ".yml", ".js", ".sh"]
                    .iter()
                    .any(|x| t.ends_with(x)));
        if path_like {
            let rel = t.trim_end_matches('/');
            let mut candidates = vec![self.root.join(rel)];
            for b in bases {
                candidates.push(b.join(rel));
                candidates.push(b.join("src").join(rel));
            }
            return candidates
                .into_iter()
                .find(|c| c.exists())
                .map(Some)
                .ok_or("is a path that does not exist");
        }
        if t.starts_with("membench") && t.chars().all(|c| c.is_ascii_lowercase() || c == '-') {
            return match self.binaries.contains(t) {
                true => Ok(None),
                false => Err("is neither a package nor a binary of this workspace"),
            };
        }
        if !check_types {
            return Ok(None);
        }
        let is_type_name = |s: &str| {
            s.chars().next().is_some_and(|c| c.is_ascii_uppercase())
                && s.chars().all(|c| c.is_ascii_alphanumeric())
                && s.chars().any(|c| c.is_ascii_lowercase())
        };
        let mut parts = t.split("::");
        let first = parts.next().unwrap_or_default();
        if is_type_name(first) {
            if !self.types.contains(first) {
                return Err("is not a type, trait or alias defined in this workspace");
            }
            if parts.any(|p| !self.words.contains(p)) {
                return Err("names an item that does not occur in this workspace");
            }
        }
        Ok(None)
    }
}

#[test]
fn every_path_type_and_binary_the_docs_name_exists() {
    let ws = Workspace::read(&root());
    let mut problems = ws.check(
        "ARCHITECTURE.md",
        &read("ARCHITECTURE.md"),
        Some("## Measurement notes"),
    );
    problems.extend(ws.check("README.md", &read("README.md"), None));
    problems.extend(ws.check("peers/README.md", &read("peers/README.md"), None));
    assert!(
        problems.is_empty(),
        "the docs name what does not exist (fix the doc, or the name):\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_doc_checker_finds_a_missing_path_type_and_binary() {
    let ws = Workspace::read(&root());
    let doc = "### `crates/kernel` — `membench-kernel`\n\
               `parse.rs` has `LineParser` and `Fields`; `membench-gen` writes.\n\
               `parse_old.rs` has `LineReader`; `membench-nothing` writes; `Workload::Nope`.\n";
    let problems = ws.check("test.md", doc, None);
    assert_eq!(problems.len(), 4, "{problems:#?}");
    for name in [
        "parse_old.rs",
        "LineReader",
        "membench-nothing",
        "Workload::Nope",
    ] {
        assert!(
            problems.iter().any(|p| p.contains(name)),
            "{name} not reported: {problems:#?}"
        );
    }
}

/// Every file the code map must name: sources (but crate roots and module lists), the xtask
/// tests, the benches, the peers' programs and the GitHub workflow and action files.
fn files_the_code_map_must_name() -> Vec<PathBuf> {
    let root = root();
    let mut files = Vec::new();
    for entry in std::fs::read_dir(root.join("crates")).unwrap().flatten() {
        rust_files(&entry.path().join("src"), &mut files);
    }
    rust_files(&root.join("xtask/tests"), &mut files);
    rust_files(&root.join("benches/benches"), &mut files);
    files.retain(|f| {
        let name = f.file_name().unwrap().to_string_lossy();
        !["lib.rs", "mod.rs", "main.rs"].contains(&name.as_ref())
    });
    for dir in ["peers", ".github/workflows", ".github/actions/membench"] {
        for e in std::fs::read_dir(root.join(dir)).unwrap().flatten() {
            let p = e.path();
            if p.extension().is_some_and(|x| x == "py" || x == "yml") {
                files.push(p);
            }
        }
    }
    files.sort();
    files
}

#[test]
fn the_architecture_code_map_names_every_source_file() {
    let ws = Workspace::read(&root());
    let (_, named) = ws.check_and_resolve("ARCHITECTURE.md", &read("ARCHITECTURE.md"), None);
    let missing: Vec<String> = files_the_code_map_must_name()
        .into_iter()
        .filter(|f| !named.contains(f))
        .map(|f| f.strip_prefix(root()).unwrap().display().to_string())
        .collect();
    assert!(
        missing.is_empty(),
        "ARCHITECTURE.md's code map does not name these files (add each to its crate's \
         paragraph):\n{}",
        missing.join("\n")
    );
}

/// Each package of a `cargo tree` as `name version` → the feature sets it is built with (a
/// package built for the host and for the target can have two), workspace members left out.
fn features_per_package(args: &[&str]) -> std::collections::BTreeMap<String, BTreeSet<String>> {
    let out = Command::new(env!("CARGO"))
        .current_dir(root())
        .arg("tree")
        .args(args)
        .args(["--prefix", "none", "-f", "{p}|{f}"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "cargo tree {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let member = format!("({}", root().display());
    let mut map = std::collections::BTreeMap::<String, BTreeSet<String>>::new();
    for line in String::from_utf8(out.stdout).unwrap().lines() {
        let line = line.trim_end_matches(" (*)");
        let Some((package, features)) = line.split_once('|') else {
            continue;
        };
        if !package.contains(&member) {
            map.entry(package.to_string())
                .or_default()
                .insert(features.to_string());
        }
    }
    map
}

/// README's timing of the two commands holds only if no dependency is compiled twice: the CLI's
/// build (`cargo xtask`, see `.cargo/config.toml`), the run's build of the runners and the
/// generator (`crates/cli/src/util.rs`) and the tests' build (the workspace, every feature,
/// dev-dependencies too) must resolve every shared dependency with the same features, or Cargo
/// compiles it (and, for the last two, Polars above it: 7–15 minutes) again.
#[test]
fn the_cli_build_the_run_build_and_the_test_build_compile_each_dependency_alike() {
    let builds = [
        (
            "cargo xtask's build",
            features_per_package(&["-p", "xtask", "-e", "normal,build"]),
        ),
        (
            "the run build",
            features_per_package(
                &[&membench_cli::RUNNER_BUILD[..], &["-e", "normal,build"]].concat(),
            ),
        ),
        (
            "the test build",
            features_per_package(&["--workspace", "--all-features", "-e", "normal,build,dev"]),
        ),
    ];
    assert!(
        builds[0].1.len() > 50,
        "cargo tree listed {} packages",
        builds[0].1.len()
    );
    assert!(
        builds[1].1.len() > 100,
        "cargo tree listed {} packages",
        builds[1].1.len()
    );
    let mut differ = Vec::new();
    for (i, (a_name, a)) in builds.iter().enumerate() {
        for (b_name, b) in &builds[i + 1..] {
            for (package, features) in a {
                if let Some(other) = b.get(package).filter(|other| *other != features) {
                    differ.push(format!(
                        "{package}: {a_name} {features:?}, {b_name} {other:?}"
                    ));
                }
            }
        }
    }
    assert!(
        differ.is_empty(),
        "these would be compiled again (keep `resolver.feature-unification = \"workspace\"` in \
         .cargo/config.toml, or add the dependency that turns the feature on to \
         membench-runner, as `csv` is there):\n{}",
        differ.join("\n")
    );
}

/// The `run:` scripts of the workflows and the composite action hold no `${{ … }}`: an input or
/// a matrix value interpolated into a script is shell code (a command line with `$(…)` in it
/// would run); they reach the shell as environment variables (`env:`).
#[test]
fn no_workflow_script_interpolates_an_expression() {
    let mut found = Vec::new();
    let mut files = Vec::new();
    for dir in [".github/workflows", ".github/actions/membench"] {
        for e in std::fs::read_dir(root().join(dir)).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "yml" || x == "yaml") {
                files.push(p);
            }
        }
    }
    assert!(files.len() >= 3, "{files:?}");
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let mut i = 0;
        while i < lines.len() {
            let l = lines[i];
            let trimmed = l.trim_start().trim_start_matches("- ");
            if let Some(rest) = trimmed.strip_prefix("run:") {
                let indent = l.len() - l.trim_start().len();
                let mut script = vec![(i, rest)];
                let mut j = i + 1;
                while j < lines.len()
                    && (lines[j].trim().is_empty()
                        || lines[j].len() - lines[j].trim_start().len() > indent)
                {
                    script.push((j, lines[j]));
                    j += 1;
                }
                for (n, s) in script {
                    if s.contains("${{") {
                        found.push(format!("{}:{}: {}", f.display(), n + 1, s.trim()));
                    }
                }
                i = j;
            } else {
                i += 1;
            }
        }
    }
    assert!(
        found.is_empty(),
        "expressions inside run: scripts:\n{}",
        found.join("\n")
    );
}
