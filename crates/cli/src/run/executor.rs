//! Running one cell: the [`Executor`] trait, and the real one that starts a runner process per
//! repetition (hyperfine's `Executor`/`MockExecutor` split: the driver's logic is tested with a
//! fake, without processes or timing). A runner is always asked through a
//! [`CellJob`](membench_protocol::CellJob).

use std::path::{Path, PathBuf};

use membench_harness::{CellCommand, Measured, run_cell};
use membench_protocol::{Allocator, CellJob, DbJob, ErrorKind, RunnerError, Workload};

use super::cell::Cell;
use super::config::RunConfig;
use super::external::{AnswerCheck, External, as_runner_record};

/// The environment variable that carries the PostgreSQL server to a runner.
pub const POSTGRES_URL_VAR: &str = "MEMBENCH_POSTGRES_URL";

/// Runs one repetition of a cell under the runner built with `allocator`.
pub trait Executor {
    fn execute(&mut self, cell: &Cell, allocator: Allocator) -> Measured;
    /// Reads a group's input files into the page cache before its cells run.
    fn warm_inputs(&mut self, dataset: &super::cell::Dataset) {
        warm_inputs(dataset);
    }
}

/// Reads a group's input files through once (into the page cache), so the first measured run
/// of every cell finds them where the later ones do. Errors are left to the runs to report.
fn warm_inputs(dataset: &super::cell::Dataset) {
    let mut paths = vec![dataset.path.clone()];
    paths.extend(dataset.items.clone());
    let mut files = Vec::new();
    for p in paths {
        match std::fs::read_dir(&p) {
            Ok(dir) => files.extend(dir.flatten().map(|e| e.path()).filter(|f| f.is_file())),
            Err(_) => files.push(p),
        }
    }
    let mut buf = vec![0u8; 1 << 20];
    for f in files {
        if let Ok(mut file) = std::fs::File::open(&f) {
            while matches!(std::io::Read::read(&mut file, &mut buf), Ok(n) if n > 0) {}
        }
    }
}

/// The real executor: a fresh runner process per repetition.
pub struct RunnerExecutor {
    bins: PathBuf,
    config: RunConfig,
    scratch: PathBuf,
    /// The database strategies' options.
    db: DbJob,
    /// The PostgreSQL server, handed to runners in their environment only (never in argv,
    /// where every local user can read it).
    postgres_url: Option<String>,
    /// `run --incremental`: the state file the next cells run against (`--state`).
    pub state: Option<PathBuf>,
}

impl RunnerExecutor {
    /// Runners from `bins`; `etl` outputs go to `scratch`.
    pub fn new(bins: &Path, config: &RunConfig, scratch: &Path) -> RunnerExecutor {
        RunnerExecutor {
            bins: bins.to_path_buf(),
            config: config.clone(),
            scratch: scratch.to_path_buf(),
            db: DbJob::default(),
            postgres_url: None,
            state: None,
        }
    }

    /// Database cells connect to `d`'s server and keep SQLite files in `db_dir`.
    pub fn with_databases(mut self, d: &super::database::Databases, db_dir: &Path) -> Self {
        self.db = DbJob {
            dir: Some(db_dir.to_path_buf()),
            reuse: self.config.db_reuse,
            keep: self.config.keep_db,
            postgres_schema: d.schema.clone(),
        };
        self.postgres_url = d.postgres_url.clone();
        self
    }

    /// An external program's cell: its process tree under the timeout and, with a budget, a
    /// kernel limit; its last output line read as its answer.
    fn external(&self, e: &External, c: &Cell, output: Option<&Path>) -> Measured {
        // The server's password is the runners' alone: not in an external program's
        // environment.
        // A user's query: its spec (SQL, tables, types) in a file of the run's private scratch.
        let spec = self.user_query(c).map(|(plan, tables)| {
            let file = self
                .scratch
                .join(format!("query-{}.json", c.workload.name()));
            let spec = membench_query::user::peer_spec(&plan.sql, &tables);
            let _ = std::fs::write(&file, spec.to_string());
            file
        });
        let mut cmd = e
            .command(c, self.config.threads, output, spec.as_deref())
            .env_remove(POSTGRES_URL_VAR)
            .timeout(self.config.timeout);
        if let Some(b) = &self.config.budget {
            cmd = cmd.kernel_limit(b.bytes);
        }
        let mut m = run_cell(&cmd);
        let (mut r, check) = as_runner_record(&m, c);
        match check {
            AnswerCheck::Checked => {}
            AnswerCheck::Unchecked => m.answer_unchecked = true,
            AnswerCheck::Unreadable(why) => {
                r.measure.error = Some(RunnerError {
                    kind: ErrorKind::Other,
                    message: format!("{}: its last output line is not an answer: {why}", e.name),
                });
            }
        }
        m.runner = Some(r);
        m
    }

    /// The job of a cell: the run's settings and this cell's strategy, workload and files.
    pub fn job(&self, c: &Cell, output: Option<&Path>) -> CellJob {
        let (plan, tables) = self
            .user_query(c)
            .map_or((None, Vec::new()), |(p, t)| (Some(p), t));
        let cf = &self.config;
        CellJob {
            strategy: c.strategy.clone(),
            workload: c.workload.clone(),
            input: Some(c.dataset.path.clone()),
            items: c.dataset.items.clone(),
            scratch: Some(self.scratch.clone()),
            output: output.map(Path::to_path_buf),
            // The budget reaches every repetition, so that engines that size their own knobs
            // from it (the databases) run with the same settings; only the counting
            // allocator enforces it as a heap budget.
            memory_limit_bytes: cf.budget.as_ref().map(|b| b.bytes),
            address_space_limit_bytes: cf.address_space_limit.as_ref().map(|b| b.bytes),
            threads: cf.threads,
            chunk_rows: cf.chunk_rows,
            max_record_bytes: cf.max_record_bytes.bytes,
            on_bad_row: cf.on_bad_row,
            db: self.db.clone(),
            // A user's query keeps its answer in the record (bounded by the runner), so that
            // engines that sum floats in another order are compared value by value.
            emit_answer: cf.emit_answer || c.workload.query().is_some(),
            tables,
            plan,
            state: self.state.clone(),
            soak: cf.soak.map(|(n, _)| n),
            ..CellJob::default()
        }
    }

    /// A user's query cell: its plan and typed tables.
    fn user_query(
        &self,
        c: &Cell,
    ) -> Option<(membench_protocol::Plan, Vec<membench_protocol::UserTable>)> {
        let spec = c.workload.query()?;
        // The run whose tables this cell reads: a generated table's (`--query` alone) or a
        // twin's (`--scale`), found by the cell's paths, else the user's inputs.
        let paths: Vec<&Path> = std::iter::once(c.dataset.path.as_path())
            .chain(c.dataset.items.as_deref())
            .collect();
        let reads = |u: &membench_query::UserRun| {
            let (_, plan) = u.queries.iter().find(|(s, _)| s == spec)?;
            let tables = u.tables_of(plan);
            let same =
                tables.len() == paths.len() && tables.iter().zip(&paths).all(|(t, p)| t.path == *p);
            same.then(|| (plan.clone(), tables))
        };
        self.config
            .generated_runs
            .iter()
            .find_map(|u| reads(u))
            .or_else(|| {
                self.config.user.as_deref().and_then(|u| {
                    let (_, plan) = u.queries.iter().find(|(s, _)| s == spec)?;
                    Some((plan.clone(), u.tables_of(plan)))
                })
            })
    }

    fn command(&self, c: &Cell, allocator: Allocator, output: Option<&Path>) -> CellCommand {
        let mut cmd = CellCommand::new(self.bins.join(allocator.runner_binary()))
            .args(self.job(c, output).to_args())
            .env_remove(POSTGRES_URL_VAR)
            .timeout(self.config.timeout);
        if let Some(url) = &self.postgres_url {
            cmd = cmd.env(POSTGRES_URL_VAR, url);
        }
        // A system-allocator repetition (run after the counting ones fitted in the heap budget)
        // runs under a kernel limit of the same size, for the memory the allocator does not
        // see (thread stacks, anonymous maps).
        if let (Some(b), Allocator::System) = (&self.config.budget, allocator) {
            cmd = cmd.kernel_limit(b.bytes);
        }
        cmd
    }
}

impl Executor for RunnerExecutor {
    /// An `etl` cell writes to `scratch/etl-output.<format>` (the input's format), removed
    /// afterwards whatever happened to the cell.
    fn execute(&mut self, c: &Cell, allocator: Allocator) -> Measured {
        // A query's `--output`: this cell's copy in the scratch folder, left at the user's
        // file by the first cell that ends ok.
        let kept = c
            .workload
            .query()
            .and_then(|q| self.config.output_for(&q.name));
        let output = match &kept {
            Some(k) => Some(self.scratch.join(format!(
                "query-output.{}",
                if membench_query::output::OutputFormat::of(k)
                    == membench_query::output::OutputFormat::Parquet
                {
                    "parquet"
                } else {
                    "csv"
                }
            ))),
            None => (c.workload == Workload::Etl).then(|| {
                self.scratch
                    .join(format!("etl-output.{}", c.dataset.format.name()))
            }),
        };
        let m = match self.config.externals.iter().find(|e| e.name == c.strategy) {
            Some(e) => self.external(e, c, output.as_deref()),
            None => run_cell(&self.command(c, allocator, output.as_deref())),
        };
        if let (Some(o), Some(k)) = (&output, &kept)
            && m.status == membench_protocol::Status::Ok
            && !k.exists()
            && std::fs::rename(o, k).is_err()
        {
            let _ = std::fs::copy(o, k);
        }
        if let Some(o) = output {
            let mut tmp = o.clone().into_os_string();
            tmp.push(".tmp");
            let _ = std::fs::remove_file(&o);
            let _ = std::fs::remove_file(tmp);
        }
        m
    }
}
