//! `membench peers setup`: the background articles' own Python code as external strategies.
//! Writes the peer scripts (compiled into this binary, so it works from any directory) and a
//! virtual environment with the pinned packages (`python3 -m venv` + pip) into one folder;
//! `run --preset peers` then adds each peer as a `--command`.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};

/// The Python peers: set up their environment, or list them.
#[derive(Args, Debug)]
pub struct PeersArgs {
    #[command(subcommand)]
    command: PeersCommand,
}

#[derive(Subcommand, Debug)]
enum PeersCommand {
    /// Create (or update) the peers' folder: scripts and a venv with the pinned packages.
    Setup(SetupArgs),
    /// List the peers and the commands `run --preset peers` adds.
    List(SetupArgs),
}

#[derive(Args, Debug)]
struct SetupArgs {
    /// The peers' folder (scripts/ and venv/ inside).
    #[arg(long, default_value = DEFAULT_DIR)]
    dir: PathBuf,
    /// The Python that creates the venv.
    #[arg(long, default_value = "python3")]
    python: String,
    /// Also install Spark (`pyspark`, pinned in SPARK_REQUIREMENTS; needs a JRE: `java` on
    /// PATH or JAVA_HOME, e.g. Debian's `default-jre-headless`): a user's run then adds
    /// `spark-sql`, the query on a local standalone Spark cluster.
    #[arg(long)]
    spark: bool,
}

/// Where `peers setup` puts its folder unless told otherwise (under the working directory).
pub const DEFAULT_DIR: &str = ".membench/peers";

const REQUIREMENTS: &str = include_str!("../../../peers/requirements.txt");

/// What `peers setup --spark` adds (its file in the peers' folder marks Spark as installed).
const SPARK_REQUIREMENTS: &str = "pyspark==3.5.3\npy4j==0.10.9.7\n";
const SPARK_MARKER: &str = "requirements-spark.txt";

const SCRIPTS: &[(&str, &str)] = &[
    (
        "membench_answer.py",
        include_str!("../../../peers/membench_answer.py"),
    ),
    (
        "pandas_load_all.py",
        include_str!("../../../peers/pandas_load_all.py"),
    ),
    (
        "pandas_chunked.py",
        include_str!("../../../peers/pandas_chunked.py"),
    ),
    (
        "python_generators.py",
        include_str!("../../../peers/python_generators.py"),
    ),
    (
        "polars_lazy.py",
        include_str!("../../../peers/polars_lazy.py"),
    ),
    (
        "duckdb_peer.py",
        include_str!("../../../peers/duckdb_peer.py"),
    ),
    ("dask_peer.py", include_str!("../../../peers/dask_peer.py")),
    (
        "sql_duckdb.py",
        include_str!("../../../peers/sql_duckdb.py"),
    ),
    (
        "sql_polars.py",
        include_str!("../../../peers/sql_polars.py"),
    ),
    ("sql_spark.py", include_str!("../../../peers/sql_spark.py")),
];

/// The peers of a user's run (`--input`, `--query`): engines with an SQL front end, given the
/// query's spec. (strategy name, script, arguments).
const SQL_PEERS: &[(&str, &str, &str)] = &[
    ("duckdb-sql", "sql_duckdb.py", "{query} {threads}"),
    ("polars-py-sql", "sql_polars.py", "{query}"),
];

/// Spark SQL on a local standalone cluster (`peers setup --spark`), a user's run's peer.
const SPARK_PEER: (&str, &str, &str) = ("spark-sql", "sql_spark.py", "{query} {threads}");

/// (strategy name, script, arguments after `{input} {workload}`).
const PEERS: &[(&str, &str, &str)] = &[
    ("pandas-load-all", "pandas_load_all.py", ""),
    ("pandas-chunked", "pandas_chunked.py", ""),
    ("py-generators", "python_generators.py", ""),
    ("polars-py-lazy", "polars_lazy.py", ""),
    ("duckdb", "duckdb_peer.py", "{threads}"),
    ("dask", "dask_peer.py", "--workers 2"),
];

pub fn run(a: PeersArgs) -> Result<()> {
    match a.command {
        PeersCommand::Setup(s) => setup(&s),
        PeersCommand::List(s) => {
            for c in commands_in(&s.dir, false)
                .into_iter()
                .chain(commands_in(&s.dir, true))
            {
                println!("{c}");
            }
            Ok(())
        }
    }
}

fn venv_python(dir: &Path) -> PathBuf {
    dir.join("venv/bin/python")
}

fn quoted(p: &Path) -> String {
    format!("'{}'", p.display())
}

fn commands_in(dir: &Path, user: bool) -> Vec<String> {
    let dir = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
    let line = |name: &str, script: &str, args: String| {
        format!(
            "{name}={} {} {args}",
            quoted(&venv_python(&dir)),
            quoted(&dir.join("scripts").join(script))
        )
        .trim_end()
        .to_string()
    };
    match user {
        false => PEERS
            .iter()
            .map(|(name, script, extra)| {
                line(name, script, format!("{{input}} {{workload}} {extra}"))
            })
            .collect(),
        true => SQL_PEERS
            .iter()
            .chain(dir.join(SPARK_MARKER).is_file().then_some(&SPARK_PEER))
            .map(|(name, script, args)| line(name, script, args.to_string()))
            .collect(),
    }
}

/// The `--command`s of every peer in `dir` (`user`: those of a user's run, which take the
/// query); refuses when `peers setup` has not made it.
pub fn commands(dir: &Path, user: bool) -> Result<Vec<String>> {
    if !venv_python(dir).is_file() || !dir.join("scripts/membench_answer.py").is_file() {
        bail!(
            "{}: no peers there; run `membench peers setup` (or `cargo xtask peers setup`) first",
            dir.display()
        );
    }
    Ok(commands_in(dir, user))
}

fn step(cmd: &mut Command, what: &str) -> Result<()> {
    eprintln!("peers: {what}");
    let status = cmd
        .status()
        .with_context(|| format!("{what}: cannot start"))?;
    if !status.success() {
        bail!("{what}: failed ({status})");
    }
    Ok(())
}

fn setup(a: &SetupArgs) -> Result<()> {
    let scripts = a.dir.join("scripts");
    std::fs::create_dir_all(&scripts).with_context(|| format!("creating {}", scripts.display()))?;
    for (name, text) in SCRIPTS {
        std::fs::write(scripts.join(name), text)
            .with_context(|| format!("writing {}", scripts.join(name).display()))?;
    }
    let req = a.dir.join("requirements.txt");
    std::fs::write(&req, REQUIREMENTS).with_context(|| format!("writing {}", req.display()))?;
    let py = venv_python(&a.dir);
    if !py.is_file() {
        step(
            Command::new(&a.python)
                .args(["-m", "venv"])
                .arg(a.dir.join("venv")),
            &format!("{} -m venv {}", a.python, a.dir.join("venv").display()),
        )?;
    }
    step(
        Command::new(&py)
            .args(["-m", "pip", "install", "--disable-pip-version-check", "-r"])
            .arg(&req),
        "installing the pinned packages (pandas, pyarrow, polars, duckdb, dask[distributed])",
    )?;
    step(
        Command::new(&py).args([
            "-c",
            "import pandas, pyarrow, polars, duckdb, dask.dataframe, dask.distributed",
        ]),
        "checking the imports",
    )?;
    if a.spark {
        step(
            Command::new("java").arg("-version"),
            "checking for a JRE (`java -version`; Debian: apt-get install default-jre-headless)",
        )?;
        let req = a.dir.join(SPARK_MARKER);
        std::fs::write(&req, SPARK_REQUIREMENTS)
            .with_context(|| format!("writing {}", req.display()))?;
        let installed = step(
            Command::new(&py)
                .args(["-m", "pip", "install", "--disable-pip-version-check", "-r"])
                .arg(&req),
            "installing Spark (pyspark)",
        )
        .and_then(|()| {
            step(
                Command::new(&py).args(["-c", "import pyspark"]),
                "checking the import",
            )
        });
        if let Err(e) = installed {
            let _ = std::fs::remove_file(&req);
            return Err(e);
        }
    }
    eprintln!(
        "peers ready in {}: {}",
        a.dir.display(),
        PEERS
            .iter()
            .chain(SQL_PEERS)
            .map(|p| p.0)
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(())
}
