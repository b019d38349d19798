//! Shared plumbing: the front end ([`Flavour`]), release binaries, run context.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use membench_report::record::RunContext;

/// Which front end runs: where it works and how it finds the runner binaries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavour {
    /// `cargo xtask`: works from the workspace root, builds the binaries there.
    Xtask,
    /// `membench`: works in the current directory, finds the binaries next to itself.
    Installed,
}

impl Flavour {
    /// The name `--help` shows.
    pub fn command_name(self) -> &'static str {
        match self {
            Flavour::Xtask => "cargo xtask",
            Flavour::Installed => "membench",
        }
    }
}

static FLAVOUR: std::sync::OnceLock<Flavour> = std::sync::OnceLock::new();

/// The workspace this code was built from (it may be gone for an installed `membench`).
fn source_workspace() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    std::fs::canonicalize(&p).unwrap_or(p)
}

/// Records the front end; `cargo xtask` changes into the workspace root, so default paths
/// (`datasets/`, `reports/`) resolve there.
pub fn set_flavour(f: Flavour) -> Result<()> {
    let _ = FLAVOUR.set(f);
    if f == Flavour::Xtask {
        let root = source_workspace();
        std::env::set_current_dir(&root).with_context(|| format!("entering {}", root.display()))?;
    }
    Ok(())
}

const NEEDED: [&str; 4] = [
    "membench-runner",
    "membench-runner-sys",
    "membench-runner-mi",
    "membench-gen",
];

/// Where the release binaries are: `MEMBENCH_BIN_DIR` if set (tests use it); for `membench`,
/// the folder it was started from when they are there (`cargo install` puts them side by
/// side); otherwise they are built now with `cargo build --release` in the source workspace.
pub fn binaries() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os("MEMBENCH_BIN_DIR") {
        return Ok(PathBuf::from(dir));
    }
    if FLAVOUR.get() == Some(&Flavour::Installed) {
        let exe = std::env::current_exe().context("locating the membench binary")?;
        let here = exe.parent().context("the membench binary's folder")?;
        if NEEDED.iter().all(|b| here.join(b).is_file()) {
            return Ok(here.to_path_buf());
        }
        if !source_workspace().join("Cargo.toml").is_file() {
            bail!(
                "{} not found next to {} and the membench sources it was built from are gone: \
                 install them beside it (cargo install --path crates/runner && cargo install \
                 --path crates/datagen, or the same with --git), or set MEMBENCH_BIN_DIR",
                NEEDED.join(", "),
                exe.display()
            );
        }
        eprintln!(
            "membench: {} are not next to {}: using a release build of the sources membench \
             was built from, {} (install them beside membench to skip this: cargo install \
             --path crates/runner && cargo install --path crates/datagen)",
            NEEDED.join(", "),
            exe.display(),
            source_workspace().display()
        );
    }
    build_in_workspace()
}

/// What `cargo xtask run` builds (after `cargo build --release`): the runners and the
/// generator, the dhat runner too (`check`'s explanations rerun a cell under it) — so the
/// runners are compiled as the tests' `--all-features` build compiles them, one build for both
/// (`xtask/tests/tidy.rs` checks that the two resolve every dependency alike).
pub const RUNNER_BUILD: [&str; 6] = [
    "-p",
    "membench-runner",
    "-p",
    "membench-datagen",
    "--features",
    "membench-runner/dhat-heap",
];

fn build_in_workspace() -> Result<PathBuf> {
    let ws = source_workspace();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(&cargo);
    without_cargo_run_env(&mut cmd);
    cmd.current_dir(&ws)
        .args(["build", "--release"])
        .args(RUNNER_BUILD);
    eprintln!(
        "building the runner and generator (release; the first build compiles Polars, 7–15 \
         minutes on 2 cores; later builds take seconds)…"
    );
    let status = cmd.status().context("running cargo build")?;
    if !status.success() {
        bail!("cargo build --release failed");
    }
    let out = Command::new(&cargo)
        .current_dir(&ws)
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .output()
        .context("running cargo metadata")?;
    let meta: serde_json::Value =
        serde_json::from_slice(&out.stdout).context("parsing cargo metadata")?;
    let target = meta["target_directory"]
        .as_str()
        .context("target_directory")?;
    Ok(Path::new(target).join("release"))
}

/// Removes the variables `cargo run` set for this process (`CARGO_MANIFEST_DIR`,
/// `CARGO_PKG_NAME`, …). Build scripts that read them (`ring`'s, through Polars' dependencies)
/// make cargo rebuild whenever they change, so inheriting them made the nested release build
/// differ from a direct `cargo build --release` and from one in a clone at another path: Polars
/// was rebuilt (≈ 6 minutes) on every switch.
fn without_cargo_run_env(cmd: &mut Command) {
    const SET_BY_CARGO_RUN: [&str; 7] = [
        "CARGO_MANIFEST_DIR",
        "CARGO_MANIFEST_PATH",
        "CARGO_MANIFEST_LINKS",
        "CARGO_CRATE_NAME",
        "CARGO_BIN_NAME",
        "CARGO_PRIMARY_PACKAGE",
        "OUT_DIR",
    ];
    for (key, _) in std::env::vars_os() {
        let k = key.to_string_lossy();
        if k.starts_with("CARGO_PKG_") || SET_BY_CARGO_RUN.contains(&k.as_ref()) {
            cmd.env_remove(&key);
        }
    }
}

/// A binary in `dir`, checked to exist.
pub fn bin(dir: &Path, name: &str) -> Result<PathBuf> {
    let p = dir.join(name);
    if !p.exists() {
        bail!(
            "{} not found (build it with cargo build --release)",
            p.display()
        );
    }
    Ok(p)
}

/// Generates (or reuses) one `sales` dataset of `rows` rows with the release `membench-gen`;
/// returns its path.
pub fn sales_dataset(
    bin_dir: &Path,
    out: &Path,
    rows: u64,
    format: membench_protocol::InputFormat,
    shape: &membench_protocol::Shape,
) -> Result<PathBuf> {
    let o = Command::new(bin(bin_dir, "membench-gen")?)
        .args([
            "--rows",
            &rows.to_string(),
            "--format",
            format.name(),
            "--json",
        ])
        .args(shape_args(shape))
        .arg("--out")
        .arg(out)
        .stderr(std::process::Stdio::inherit())
        .output()
        .context("running membench-gen")?;
    if !o.status.success() {
        bail!("membench-gen failed for {rows} rows of {format}");
    }
    let meta: membench_protocol::Sidecar = serde_json::from_str(
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .find(|l| l.starts_with('{'))
            .context("membench-gen printed no sidecar")?,
    )?;
    Ok(out.join(&meta.file))
}

fn cmd_out(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

/// Git revision, toolchain, CPU, cores, memory, OS, and the time.
pub fn run_context(started_at: &str) -> RunContext {
    let mut rev = cmd_out("git", &["rev-parse", "--short=12", "HEAD"]);
    if !cmd_out("git", &["status", "--porcelain", "--untracked-files=no"]).is_empty() {
        rev.push_str("-dirty");
    }
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_default();
    let mut sys = sysinfo::System::new();
    sys.refresh_memory();
    RunContext {
        git_rev: rev,
        rustc: cmd_out("rustc", &["-V"]),
        cpu,
        cores: std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
        memory_bytes: sys.total_memory(),
        os: sysinfo::System::long_os_version().unwrap_or_default(),
        started_at: started_at.to_string(),
    }
}

/// UTC now as `2026-11-22T10-00-00` (file-name safe) and RFC 3339.
pub fn now_stamp() -> (String, String) {
    let now = chrono::Utc::now();
    (
        now.format("%Y-%m-%dT%H-%M-%S").to_string(),
        now.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
    )
}

/// Free bytes on the file system holding `dir` (`df`'s figure, in 1 KiB blocks).
pub fn free_bytes(dir: &std::path::Path) -> Result<u64> {
    let out = Command::new("df")
        .args(["-Pk"])
        .arg(dir)
        .output()
        .context("running df")?;
    let text = String::from_utf8_lossy(&out.stdout);
    let avail: u64 = text
        .lines()
        .nth(1)
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|v| v.parse().ok())
        .context("reading df's output")?;
    Ok(avail * 1024)
}

/// `membench-gen`'s flags for `shape`.
pub(crate) fn shape_args(shape: &membench_protocol::Shape) -> Vec<String> {
    let mut a = Vec::new();
    let mut flag = |name: &str, v: String| {
        a.push(format!("--{name}"));
        a.push(v);
    };
    if let Some(k) = shape.key_cardinality {
        flag("key-cardinality", k.to_string());
    }
    if let Some(z) = shape.zipf {
        flag("skew", format!("zipf:{}", z.0));
    }
    if let Some(r) = shape.null_rate {
        flag("null-rate", r.0.to_string());
    }
    if let Some(b) = shape.text_bytes {
        flag("text-bytes", b.to_string());
    }
    if let Some(k) = shape.sorted_by {
        flag("sorted-by", k.name().to_string());
    }
    a
}
