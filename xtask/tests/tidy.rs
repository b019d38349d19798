//! Tidy tests (rust-analyzer's are the model): they fail when the docs and the code disagree,
//! and say how to fix it.

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
                    .of(&membench_protocol::Workload::TopN, f)
                    .map(|g| g.name()),
                "{}",
                info.name
            );
            assert_eq!(
                s["growth"]["join"].as_str(),
                info.growth
                    .of(&membench_protocol::Workload::Join, f)
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
