//! Running one cell: the [`Executor`] trait, and the real one that starts a runner process per
//! repetition (hyperfine's `Executor`/`MockExecutor` split: the driver's logic is tested with a
//! fake, without processes or timing).

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use membench_harness::{CellCommand, Measured, run_cell};
use membench_protocol::{Allocator, ErrorKind, RunnerError};

use super::RunArgs;
use super::external::{AnswerCheck, External, as_runner_record};
use super::plan::Cell;

/// The environment variable that carries the PostgreSQL server to a runner.
pub const POSTGRES_URL_VAR: &str = "MEMBENCH_POSTGRES_URL";

/// Runs one repetition of a cell under the runner built with `allocator`.
pub trait Executor {
    fn execute(&mut self, cell: &Cell, allocator: Allocator) -> Measured;
}

/// The real executor: a fresh runner process per repetition.
pub struct RunnerExecutor {
    bins: PathBuf,
    args: RunArgs,
    scratch: PathBuf,
    /// Arguments of the database strategies (`--db-dir`, `--postgres-schema`, …).
    db_args: Vec<std::ffi::OsString>,
    /// The PostgreSQL server, handed to runners in their environment only (never in argv,
    /// where every local user can read it).
    postgres_url: Option<String>,
    /// External programs (`--command`), run instead of a runner for their cells.
    externals: Vec<External>,
}

impl RunnerExecutor {
    /// Runners from `bins`; `etl` outputs go to `scratch`.
    pub fn new(bins: &Path, args: &RunArgs, scratch: &Path) -> RunnerExecutor {
        RunnerExecutor {
            bins: bins.to_path_buf(),
            args: args.clone(),
            scratch: scratch.to_path_buf(),
            db_args: Vec::new(),
            postgres_url: None,
            externals: Vec::new(),
        }
    }

    /// Cells named after one of `externals` run that program.
    pub fn with_externals(mut self, externals: &[External]) -> Self {
        self.externals = externals.to_vec();
        self
    }

    fn budget_bytes(&self) -> Option<u64> {
        let m = self.args.memory_limit.as_deref()?;
        membench_protocol::parse_size(m).ok()
    }

    /// An external program's cell: its process tree under the timeout and, with a budget, a
    /// kernel limit; its last output line read as its answer.
    fn external(&self, e: &External, c: &Cell, output: Option<&Path>) -> Measured {
        // The server's password is the runners' alone: not in an external program's
        // environment.
        let mut cmd = e
            .command(c, self.args.threads, output)
            .env_remove(POSTGRES_URL_VAR)
            .timeout(Duration::from_secs(self.args.timeout));
        if let Some(bytes) = self.budget_bytes() {
            cmd = cmd.kernel_limit(bytes);
        }
        let mut m = run_cell(&cmd);
        let (mut r, check) = as_runner_record(&m);
        match check {
            AnswerCheck::Checked => {}
            AnswerCheck::Unchecked => m.answer_unchecked = true,
            AnswerCheck::Unreadable(why) => {
                r.error = Some(RunnerError {
                    kind: ErrorKind::Other,
                    message: format!("{}: its last output line is not an answer: {why}", e.name),
                });
            }
        }
        m.runner = Some(r);
        m
    }

    /// Database cells connect to `d`'s server and keep SQLite files in `db_dir`.
    pub fn with_databases(mut self, d: &super::database::Databases, db_dir: &Path) -> Self {
        let mut v: Vec<std::ffi::OsString> = vec!["--db-dir".into(), db_dir.into()];
        v.extend(["--postgres-schema".into(), d.schema.clone().into()]);
        self.postgres_url = d.postgres_url.clone();
        if self.args.db_reuse {
            v.push("--db-reuse".into());
        }
        if self.args.keep_db {
            v.push("--keep-db".into());
        }
        self.db_args = v;
        self
    }

    fn command(&self, c: &Cell, allocator: Allocator) -> CellCommand {
        let a = &self.args;
        let mut cmd = CellCommand::new(self.bins.join(allocator.runner_binary()))
            .args([
                "--strategy",
                &c.strategy,
                "--workload",
                &c.workload,
                "--input",
            ])
            .args([c.dataset.path.as_os_str()])
            .args(["--scratch".as_ref(), self.scratch.as_os_str()])
            .args(["--dates", &a.dates])
            .args(["--threads", &a.threads.to_string()])
            .args(["--chunk-rows", &a.chunk_rows.to_string()])
            .args(["--on-bad-row", &a.on_bad_row])
            .args(["--max-record-bytes", &a.max_record_bytes])
            .args(&self.db_args)
            .env_remove(POSTGRES_URL_VAR)
            .timeout(Duration::from_secs(a.timeout));
        if let Some(url) = &self.postgres_url {
            cmd = cmd.env(POSTGRES_URL_VAR, url);
        }
        // The heap budget is enforced by the counting allocator; a system-allocator repetition
        // (run after the counting ones fitted in it) runs under a kernel limit of the same size
        // instead, for the memory the allocator does not see (thread stacks, anonymous maps).
        // Both get the flag, so that engines that size their own knobs from it (the databases)
        // run with the same settings.
        if let Some(m) = &a.memory_limit {
            cmd = cmd.args(["--memory-limit", m]);
        }
        if let (Some(bytes), Allocator::System) = (self.budget_bytes(), allocator) {
            cmd = cmd.kernel_limit(bytes);
        }
        if let Some(m) = &a.address_space_limit {
            cmd = cmd.args(["--address-space-limit", m]);
        }
        if let Some(items) = &c.dataset.items {
            cmd = cmd.args([OsStr::new("--items"), items.as_os_str()]);
        }
        cmd
    }
}

impl Executor for RunnerExecutor {
    /// An `etl` cell writes to `scratch/etl-output.<ext>` (the input's format), removed
    /// afterwards whatever happened to the cell.
    fn execute(&mut self, c: &Cell, allocator: Allocator) -> Measured {
        let output = (c.workload == "etl").then(|| {
            self.scratch
                .join(format!("etl-output.{}", c.dataset.format))
        });
        let m = match self.externals.iter().find(|e| e.name == c.strategy) {
            Some(e) => self.external(e, c, output.as_deref()),
            None => {
                let mut cmd = self.command(c, allocator);
                if let Some(o) = &output {
                    cmd = cmd.args([OsStr::new("--output"), o.as_os_str()]);
                }
                run_cell(&cmd)
            }
        };
        if let Some(o) = output {
            let mut tmp = o.clone().into_os_string();
            tmp.push(".tmp");
            let _ = std::fs::remove_file(&o);
            let _ = std::fs::remove_file(tmp);
        }
        m
    }
}
