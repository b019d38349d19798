//! The runner's command line → one [`CellJob`] (the protocol's: `--job JSON` as the driver and
//! the tests pass it, or the same options as flags for a person at a shell, parsed once here)
//! → a validated [`Job`]: everything the execution needs, with no string left to interpret.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Parser;
use membench_protocol::{CellJob, DateRange, DbJob, OnBadRow, Profiler, Workload};
use membench_strategies::{Entry, Format, Params, find, format_of, names};

use crate::selftest::SelfTest;

/// Run one measured cell and print its JSON record on stdout.
#[derive(Parser, Debug)]
#[command(name = "membench-runner", version, after_help = AFTER_HELP)]
pub struct Args {
    /// The whole cell as JSON (`membench_protocol::CellJob`), as the driver passes it; the
    /// flags below are the same options for a person at a shell.
    #[arg(long, conflicts_with_all = ["strategy", "list"])]
    pub job: Option<String>,
    /// Strategy (see `cargo xtask list`), or `calibrate` / `selftest-sleep` / `selftest-panic` /
    /// `selftest-abort` (harness self-tests).
    #[arg(long, required_unless_present_any = ["list", "job"])]
    pub strategy: Option<String>,
    /// Print the registered strategies' metadata as JSON lines and exit.
    #[arg(long)]
    pub list: bool,
    /// Workload: top-n, group-by, etl or join.
    #[arg(long, default_value = "top-n", value_parser = Workload::parse)]
    pub workload: Workload,
    /// join: the `order_items` file (`--input` is the `orders` file; `cargo xtask gen --schema
    /// orders` writes both).
    #[arg(long)]
    pub items: Option<PathBuf>,
    /// join: the orders' `order_date` range, both ends included.
    #[arg(long, default_value = "2023-01-01..2023-12-31", value_parser = DateRange::parse)]
    pub dates: DateRange,
    /// Where strategies that spill (merge-join, grace) write their temporary files (default:
    /// the system's temp folder); each uses a private folder it removes.
    #[arg(long)]
    pub scratch: Option<PathBuf>,
    /// etl: the output file. Without it, a temporary file is written and removed afterwards.
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// etl: output format, csv or parquet (default: the input's format).
    #[arg(long, value_parser = parse_format)]
    pub output_format: Option<Format>,
    /// Input file (.csv or .parquet); for join, the `orders` file. With `--query`: a user's
    /// table, `NAME=PATH` (repeatable; PATH a file, folder or glob of CSV or Parquet parts).
    #[arg(long)]
    pub input: Vec<String>,
    /// A user's SQL query over the `--input` tables, `[name=]SQL` (typed, planned and run by
    /// the strategy through the generic operators; `membench run --query` runs many).
    #[arg(long, conflicts_with = "workload")]
    pub query: Option<membench_query::QueryArg>,
    /// `--query`: override column types, `col:type,…`.
    #[arg(long, requires = "query")]
    pub schema: Option<membench_protocol::SchemaOverride>,
    /// `--query`: the field texts that mean null, comma-separated.
    #[arg(long, requires = "query", default_value = ",NA,N/A,NULL,null")]
    pub nulls: membench_protocol::NullTokens,
    /// `--query`: the field delimiter, one character or `tab` (default: tab for `.tsv`, else
    /// a comma).
    #[arg(long, requires = "query", value_parser = membench_query::user::parse_delimiter)]
    pub delimiter: Option<u8>,
    /// Heap budget (e.g. 512MiB): the allocation that would cross it ends the process (status oom).
    #[arg(long, value_parser = membench_protocol::parse_size)]
    pub memory_limit: Option<u64>,
    /// Kernel cap on address space (RLIMIT_AS), for memory that is not heap (mmap).
    #[arg(long, value_parser = membench_protocol::parse_size)]
    pub address_space_limit: Option<u64>,
    /// Worker threads (parallel strategy; also sets POLARS_MAX_THREADS).
    #[arg(long, default_value_t = CellJob::DEFAULT_THREADS)]
    pub threads: usize,
    /// Rows per chunk for the chunked strategy.
    #[arg(long, default_value_t = CellJob::DEFAULT_CHUNK_ROWS)]
    pub chunk_rows: usize,
    /// The longest CSV record accepted (e.g. 16MiB): a longer one stops every strategy with
    /// `file:line: record longer than N bytes`, before it is read whole.
    #[arg(long, default_value = "16MiB", value_parser = membench_protocol::parse_size)]
    pub max_record_bytes: u64,
    /// What to do with a malformed row: fail or skip.
    #[arg(long, default_value = "fail", value_parser = OnBadRow::parse)]
    pub on_bad_row: OnBadRow,
    /// etl (streaming, chunked, adaptive, parallel): durably record progress every ROWS rows
    /// read (`<output>.checkpoint.json`, written atomically after the output is synced). Needs
    /// `--output` (CSV).
    #[arg(long, value_name = "ROWS")]
    pub checkpoint_every: Option<u64>,
    /// etl: continue from the checkpoint of `--output` if there is one (else start afresh): after
    /// a kill, the same command finishes the output, byte-identical to an uninterrupted run.
    #[arg(long, requires = "checkpoint_every")]
    pub resume_etl: bool,
    /// top-n, group-by (streaming, parallel): run incrementally against the state FILE — fold
    /// only the files (and the rows appended to CSV files) that are new since the run that
    /// wrote it, into the aggregate it saved, then save the new aggregate and watermark
    /// atomically. A missing FILE starts one.
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// Include the full answer in the JSON.
    #[arg(long)]
    pub emit_answer: bool,
    /// After the measured run, repeat the cell's work N times in this process and record the
    /// heap retained after each (a leak shows as a slope; counting allocator only).
    #[arg(long, value_name = "N")]
    pub soak: Option<u32>,
    /// calibrate: bytes to allocate and touch; selftest-leak: bytes leaked per run.
    #[arg(long, default_value_t = 0)]
    pub bytes: usize,
    /// selftest-sleep: milliseconds to sleep (default 60000); calibrate: milliseconds to hold
    /// the bytes before freeing them (default 0).
    #[arg(long)]
    pub sleep_ms: Option<u64>,
    /// Heap profiler: `dhat` writes a dhat-heap.json (needs membench-runner-dhat).
    #[arg(long, value_parser = parse_profiler)]
    pub profile: Option<Profiler>,
    /// Where `--profile dhat` writes its file.
    #[arg(long, default_value = CellJob::DEFAULT_PROFILE_OUT)]
    pub profile_out: PathBuf,
    /// Database strategies: the folder for SQLite files (default: the system's temp folder).
    #[arg(long)]
    pub db_dir: Option<PathBuf>,
    /// Database strategies: keep the loaded data for later cells on the same input; a cell that
    /// finds it loaded runs only the query phase.
    #[arg(long)]
    pub db_reuse: bool,
    /// sqlite: keep the database file after the cell.
    #[arg(long)]
    pub keep_db: bool,
    /// postgres: the server (libpq connection string or postgresql:// URL). Read from the
    /// environment by default: a command line is visible to every local user.
    #[arg(long, env = "MEMBENCH_POSTGRES_URL", hide_env_values = true)]
    pub postgres_url: Option<String>,
    /// postgres: the schema to work in (created if missing; nothing outside it is touched).
    #[arg(long, default_value = CellJob::DEFAULT_POSTGRES_SCHEMA)]
    pub postgres_schema: String,
}

const AFTER_HELP: &str = "Prints one JSON object (membench_protocol::RunnerRecord): strategy, workload, \
allocator, input, rows_read, rows_skipped, peak_heap_bytes, baseline_heap_bytes, \
total_allocated_bytes, n_allocs, wall_ns, answer_digest, ... \
Exit codes: 0 ok, 2 strategy or usage error (the record has `error`), 97 out of memory (the heap \
budget, or an allocation or a thread the kernel refused under a limit).";

fn parse_format(s: &str) -> Result<Format, String> {
    Format::parse(s).ok_or_else(|| format!("csv or parquet, got {s:?}"))
}

fn parse_profiler(s: &str) -> Result<Profiler, String> {
    match s {
        "dhat" => Ok(Profiler::Dhat),
        _ => Err(format!("unknown profiler {s:?} (supported: dhat)")),
    }
}

/// What the process will do, validated.
#[derive(Debug)]
pub enum Job {
    /// Print the strategies' metadata.
    List,
    /// Measure one cell.
    Measure(Box<StrategyCell>),
}

/// One cell, ready to run.
#[derive(Debug)]
pub struct StrategyCell {
    /// The job as asked.
    pub job: CellJob,
    /// `None` for the harness's self-test cells.
    pub strategy: Option<&'static Entry>,
    pub selftest: Option<SelfTest>,
    pub params: Option<Params>,
    /// `etl` without `--output`: the private folder of the temporary output, removed (with
    /// it) after the run.
    pub temporary_output: Option<tempfile::TempDir>,
    pub input_bytes: Option<u64>,
}

impl Args {
    /// The strategy named, as best known (for a usage error's record).
    pub fn strategy_name(&self) -> String {
        match &self.job {
            Some(j) => serde_json::from_str::<CellJob>(j)
                .map(|j| j.strategy)
                .unwrap_or_default(),
            None => self.strategy.clone().unwrap_or_default(),
        }
    }

    /// The cell the command line asks for.
    pub fn cell_job(&self) -> Result<CellJob> {
        if let Some(json) = &self.job {
            return serde_json::from_str(json).context("--job is not a membench CellJob");
        }
        let (workload, input, tables, plan) = match &self.query {
            Some(q) => {
                let inputs = self
                    .input
                    .iter()
                    .map(|s| s.parse())
                    .collect::<Result<Vec<membench_query::InputArg>, String>>()
                    .map_err(anyhow::Error::msg)?;
                let opts = membench_query::CsvOptions {
                    delimiter: self.delimiter,
                    nulls: self.nulls.clone(),
                    schema: self.schema.clone().unwrap_or_default(),
                    ..Default::default()
                };
                let run = membench_query::prepare(&inputs, std::slice::from_ref(q), &opts)?;
                let (spec, plan) = run.queries[0].clone();
                let tables = run.tables_of(&plan);
                let input = tables.first().map(|t| t.path.clone());
                (Workload::Query(Box::new(spec)), input, tables, Some(plan))
            }
            None => {
                anyhow::ensure!(
                    self.input.len() <= 1,
                    "--input is given {} times: several inputs are a user's tables, for --query",
                    self.input.len()
                );
                // `--dates` is the `join`'s parameter.
                let w = self.workload.clone().with_dates(&self.dates);
                (w, self.input.first().map(PathBuf::from), Vec::new(), None)
            }
        };
        Ok(CellJob {
            strategy: self.strategy.clone().unwrap_or_default(),
            workload,
            input,
            tables,
            plan,
            items: self.items.clone(),
            scratch: self.scratch.clone(),
            output: self.output.clone(),
            output_format: self.output_format,
            memory_limit_bytes: self.memory_limit,
            address_space_limit_bytes: self.address_space_limit,
            threads: self.threads,
            chunk_rows: self.chunk_rows,
            max_record_bytes: self.max_record_bytes,
            on_bad_row: self.on_bad_row,
            checkpoint_every: self.checkpoint_every,
            resume_etl: self.resume_etl,
            state: self.state.clone(),
            emit_answer: self.emit_answer,
            soak: self.soak,
            bytes: self.bytes,
            sleep_ms: self.sleep_ms,
            profile: self.profile,
            profile_out: self.profile_out.clone(),
            db: DbJob {
                dir: self.db_dir.clone(),
                reuse: self.db_reuse,
                keep: self.keep_db,
                postgres_schema: self.postgres_schema.clone(),
            },
        })
    }

    /// Validates the arguments into a job.
    pub fn job(&self) -> Result<Job> {
        if self.list {
            return Ok(Job::List);
        }
        let job = self.cell_job()?;
        validate(job, self.postgres_url.clone()).map(|c| Job::Measure(Box::new(c)))
    }
}

/// A cell job checked and turned into what the execution runs.
fn validate(job: CellJob, postgres_url: Option<String>) -> Result<StrategyCell> {
    if job.soak.is_some() && job.state.is_some() {
        bail!("--soak repeats the same work; an incremental state (--state) would change it");
    }
    let selftest = SelfTest::parse(&job.strategy, job.bytes, job.sleep_ms);
    let (strategy, params, temporary_output) = match &selftest {
        Some(_) => (None, None, None),
        None => {
            let (s, p, t) = strategy_params(&job, postgres_url)?;
            (Some(s), Some(p), t)
        }
    };
    // A folder or glob: the sum of its files.
    let input_bytes = params.as_ref().and_then(|p| {
        let size = |f: &PathBuf| -> Option<u64> {
            let files = membench_strategies::input_files(f).ok()?;
            files
                .iter()
                .map(|f| std::fs::metadata(f).ok().map(|m| m.len()))
                .sum()
        };
        Some(size(&p.input)? + p.items.as_ref().map_or(Some(0), size)?)
    });
    Ok(StrategyCell {
        job,
        strategy,
        selftest,
        params,
        temporary_output,
        input_bytes,
    })
}

/// The database options, the schema name checked (it is spliced into SQL).
fn db_params(db: &DbJob, postgres_url: Option<String>) -> Result<membench_strategies::DbParams> {
    let schema = &db.postgres_schema;
    let valid = !schema.is_empty()
        && schema.len() <= 63
        && schema.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && schema
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    anyhow::ensure!(
        valid,
        "--postgres-schema must be a lowercase SQL name (a-z, 0-9, _), got {schema:?}"
    );
    let mut p = membench_strategies::DbParams {
        reuse: db.reuse,
        keep: db.keep,
        postgres_url,
        postgres_schema: schema.clone(),
        ..Default::default()
    };
    if let Some(dir) = &db.dir {
        p.dir = dir.clone();
    }
    Ok(p)
}

/// The strategy, its parameters and (etl without `--output`) a temporary output folder.
fn strategy_params(
    job: &CellJob,
    postgres_url: Option<String>,
) -> Result<(&'static Entry, Params, Option<tempfile::TempDir>)> {
    let strategy = find(&job.strategy).with_context(|| {
        format!(
            "unknown strategy {:?} (known: {}, calibrate)",
            job.strategy,
            names().join(", ")
        )
    })?;
    let input = job
        .input
        .clone()
        .or_else(|| job.tables.first().map(|t| t.path.clone()))
        .with_context(|| format!("--input is required for strategy {}", job.strategy))?;
    let workload = job.workload.clone();
    let mut p = Params::new(workload.clone(), input);
    if let Workload::Query(_) = &workload {
        let plan = job
            .plan
            .clone()
            .context("a user's query needs its plan in the job")?;
        let tables = job
            .tables
            .iter()
            .map(membench_query::Table::from_user)
            .collect::<Result<Vec<_>, _>>()?;
        anyhow::ensure!(
            tables.len() == plan.inputs.len(),
            "the job carries {} tables for a plan over {}",
            tables.len(),
            plan.inputs.len()
        );
        p.items = tables.get(1).map(|t| t.path.clone());
        p.query = Some(membench_strategies::QueryParams {
            tables,
            plan,
            output: job.output.clone(),
        });
    }
    p.on_bad_row = job.on_bad_row;
    p.chunk_rows = job.chunk_rows;
    p.threads = job.threads;
    p.output_format = job.output_format;
    p.output = job.output.clone();
    p.items = job.items.clone();
    if let Some(dir) = &job.scratch {
        p.scratch = dir.clone();
    }
    if workload.is_join() && p.items.is_none() {
        bail!(
            "--workload join needs --items ORDER_ITEMS (with --input ORDERS; `cargo xtask gen \
             --schema orders` writes both)"
        );
    }
    p.memory_budget_bytes = job.memory_limit_bytes;
    p.db = db_params(&job.db, postgres_url)?;
    p.observer = Some(&crate::observe::OBSERVER);
    p.max_record_bytes =
        usize::try_from(job.max_record_bytes).context("--max-record-bytes is too large")?;
    anyhow::ensure!(
        p.max_record_bytes > 0,
        "--max-record-bytes must be at least 1"
    );
    if let Some(every) = job.checkpoint_every {
        anyhow::ensure!(
            workload == Workload::Etl && p.output.is_some(),
            "--checkpoint-every is for --workload etl with --output FILE (a temporary output \
             cannot be resumed)"
        );
        anyhow::ensure!(every > 0, "--checkpoint-every must be at least 1 row");
        p.checkpoint = Some(membench_strategies::CheckpointParams {
            every_rows: every,
            resume: if job.resume_etl {
                membench_strategies::Resume::FromCheckpoint
            } else {
                membench_strategies::Resume::Fresh
            },
        });
    }
    if let Some(state) = &job.state {
        anyhow::ensure!(
            workload.is_aggregate(),
            "--state is for --workload top-n or group-by (an incremental run folds new rows into \
             a saved aggregate; etl resumes with --checkpoint-every)"
        );
        p.state = Some(state.clone());
    }
    let mut temporary = None;
    if workload == Workload::Etl && p.output.is_none() {
        let ext = match job.output_format {
            Some(f) => f,
            None => format_of(&p.input).unwrap_or(Format::Csv),
        };
        let dir = membench_safefs::private_dir(&std::env::temp_dir(), "membench-etl-")
            .context("creating a folder for the temporary etl output")?;
        let output = dir.path().join(format!("output.{ext}"));
        // An out-of-memory end runs no destructor: it removes these itself (the writer's
        // `<output>.tmp`, the output, the folder).
        let mut staging = output.clone().into_os_string();
        staging.push(".tmp");
        membench_alloc::remove_at_oom_exit(&[std::path::Path::new(&staging), &output, dir.path()]);
        p.output = Some(output);
        temporary = Some(dir);
    }
    Ok((strategy, p, temporary))
}
