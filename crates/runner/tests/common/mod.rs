//! Test fixtures shared by the runner's integration tests: the strategy registry with a
//! PostgreSQL server behind it, so that the `postgres` strategy is tested like every other.

#![allow(dead_code)]

use std::sync::OnceLock;

use membench_harness::postgres::{Cluster, ClusterConfig, find_bin_dir};
use membench_protocol::Workload;
use membench_strategies::{Entry, REGISTRY};

/// The server the tests' `postgres` cells use: `MEMBENCH_POSTGRES_URL`, or a throw-away server
/// started once per test process (removed when the process exits, by its guardian).
pub fn postgres_url() -> &'static str {
    static URL: OnceLock<String> = OnceLock::new();
    static CLUSTER: OnceLock<Cluster> = OnceLock::new();
    URL.get_or_init(|| {
        let url = match std::env::var("MEMBENCH_POSTGRES_URL") {
            Ok(u) => u,
            Err(_) => {
                let bin = find_bin_dir().expect(
                    "the postgres strategy is tested against a real server: install PostgreSQL \
                     (apt-get install postgresql) or set MEMBENCH_POSTGRES_URL",
                );
                let c = Cluster::start(&bin, &ClusterConfig::default())
                    .expect("starting a throw-away PostgreSQL server");
                CLUSTER.get_or_init(|| c).url().to_string()
            }
        };
        membench_strategies::set_default_postgres_url(&url);
        url
    })
}

/// Every strategy of the `sales` workloads, with the database ones ready to connect.
pub fn registry() -> Vec<&'static Entry> {
    doing(&Workload::TOP_N)
}

/// Every strategy of the `join` workload, with the database ones ready to connect.
pub fn join_registry() -> Vec<&'static Entry> {
    doing(&Workload::JOIN)
}

fn doing(workload: &Workload) -> Vec<&'static Entry> {
    postgres_url();
    REGISTRY.iter().filter(|e| e.info.does(workload)).collect()
}

/// The one error text every strategy must give for an input: the first seen, then the same.
#[derive(Debug, Default)]
pub struct OneVerdict(Option<String>);

impl OneVerdict {
    /// Checks `e` (from `who`) against the first error seen.
    pub fn check(&mut self, who: &str, e: String) {
        match &self.0 {
            None => self.0 = Some(e),
            Some(first) => assert_eq!(&e, first, "{who}"),
        }
    }
}

/// The command for a runner cell given as the runner's own flags (as a person would type them):
/// parsed here, by the runner's parser, into the `CellJob` the runner then receives whole
/// (`--job`) — the one way a runner is started.
pub fn runner_job<S: AsRef<std::ffi::OsStr>>(
    binary: &str,
    flags: impl IntoIterator<Item = S>,
) -> membench_harness::CellCommand {
    use clap::Parser;
    let argv: Vec<std::ffi::OsString> = std::iter::once("membench-runner".into())
        .chain(flags.into_iter().map(|f| f.as_ref().to_os_string()))
        .collect();
    let job = membench_runner::Args::try_parse_from(argv)
        .expect("the runner's flags")
        .cell_job()
        .expect("a cell job");
    membench_harness::CellCommand::new(binary).args(job.to_args())
}

/// [`runner_job`] of a cell that may use the tests' PostgreSQL server (given in the runner's
/// environment, as the driver gives it).
pub fn runner_job_pg<S: AsRef<std::ffi::OsStr>>(
    binary: &str,
    flags: impl IntoIterator<Item = S>,
) -> membench_harness::CellCommand {
    runner_job(binary, flags).env("MEMBENCH_POSTGRES_URL", postgres_url())
}

/// The runner's command for one cell, as a person would type it: `--strategy S --workload W
/// --input PATH` then `extra` flags, with the tests' PostgreSQL server.
pub fn cell(
    strategy: &str,
    workload: &Workload,
    input: &std::path::Path,
    extra: &[&str],
) -> membench_harness::CellCommand {
    let name = workload.name();
    let flags = ["--strategy", strategy, "--workload", &name, "--input"]
        .into_iter()
        .map(std::ffi::OsStr::new)
        .chain([input.as_os_str()])
        .chain(extra.iter().map(std::ffi::OsStr::new));
    runner_job_pg(env!("CARGO_BIN_EXE_membench-runner"), flags)
}

/// A generated `sales` dataset of `rows` rows in `dir` (`Csv` or `Parquet`), as `gen` writes it.
pub fn sales(
    dir: &std::path::Path,
    rows: u64,
    format: membench_datagen::Format,
) -> std::path::PathBuf {
    let spec = membench_datagen::GenSpec {
        rows,
        ..membench_datagen::GenSpec::default()
    };
    membench_datagen::generate(&spec, format, dir, false, &mut |_| {})
        .unwrap()
        .path
}
