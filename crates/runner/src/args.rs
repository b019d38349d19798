//! Command-line arguments, and their validation into a [`Job`]: everything the execution needs,
//! already parsed (no strings left to interpret).

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Parser;
use membench_kernel::{OnBadRow, Workload};
use membench_strategies::{Entry, Format, Params, find, format_of, names};

use crate::selftest::SelfTest;

/// Run one measured cell and print its JSON record on stdout.
#[derive(Parser, Debug)]
#[command(name = "membench-runner", version, after_help = AFTER_HELP)]
pub struct Args {
    /// Strategy (see `cargo xtask list`), or `calibrate` / `selftest-sleep` / `selftest-panic` /
    /// `selftest-abort` (harness self-tests).
    #[arg(long, required_unless_present = "list", default_value = "")]
    pub strategy: String,
    /// Print the registered strategies' metadata as JSON lines and exit.
    #[arg(long)]
    pub list: bool,
    /// Workload: top-n, group-by, etl or join.
    #[arg(long, default_value = "top-n")]
    pub workload: String,
    /// join: the `order_items` file (`--input` is the `orders` file; `cargo xtask gen --schema
    /// orders` writes both).
    #[arg(long)]
    pub items: Option<PathBuf>,
    /// join: the orders' `order_date` range, both ends included.
    #[arg(long, default_value = "2023-01-01..2023-12-31")]
    pub dates: String,
    /// Where strategies that spill (merge-join, grace) write their temporary files (default:
    /// the system's temp folder); each uses a private folder it removes.
    #[arg(long)]
    pub scratch: Option<PathBuf>,
    /// etl: the output file. Without it, a temporary file is written and removed afterwards.
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// etl: output format, csv or parquet (default: the input's format).
    #[arg(long)]
    pub output_format: Option<String>,
    /// Input file (.csv or .parquet); for join, the `orders` file.
    #[arg(long)]
    pub input: Option<PathBuf>,
    /// Heap budget (e.g. 512MiB): the allocation that would cross it ends the process (status oom).
    #[arg(long)]
    pub memory_limit: Option<String>,
    /// Kernel cap on address space (RLIMIT_AS), for memory that is not heap (mmap).
    #[arg(long)]
    pub address_space_limit: Option<String>,
    /// Worker threads (parallel strategy; also sets POLARS_MAX_THREADS).
    #[arg(long, default_value_t = 2)]
    pub threads: usize,
    /// Rows per chunk for the chunked strategy.
    #[arg(long, default_value_t = 100_000)]
    pub chunk_rows: usize,
    /// The longest CSV record accepted (e.g. 16MiB): a longer one stops every strategy with
    /// `file:line: record longer than N bytes`, before it is read whole.
    #[arg(long, default_value = "16MiB")]
    pub max_record_bytes: String,
    /// What to do with a malformed row: fail or skip.
    #[arg(long, default_value = "fail")]
    pub on_bad_row: String,
    /// etl (streaming, chunked, adaptive, parallel): durably record progress every ROWS rows
    /// read (`<output>.checkpoint.json`, written atomically after the output is synced). Needs
    /// `--output` (CSV).
    #[arg(long, value_name = "ROWS")]
    pub checkpoint_every: Option<u64>,
    /// etl: continue from the checkpoint of `--output` if there is one (else start afresh): after
    /// a kill, the same command finishes the output, byte-identical to an uninterrupted run.
    #[arg(long, requires = "checkpoint_every")]
    pub resume_etl: bool,
    /// Include the full answer in the JSON.
    #[arg(long)]
    pub emit_answer: bool,
    /// calibrate: bytes to allocate and touch.
    #[arg(long, default_value_t = 0)]
    pub bytes: usize,
    /// selftest-sleep: milliseconds to sleep (default 60000); calibrate: milliseconds to hold
    /// the bytes before freeing them (default 0).
    #[arg(long)]
    pub sleep_ms: Option<u64>,
    /// Heap profiler: `dhat` writes a dhat-heap.json (needs membench-runner-dhat).
    #[arg(long)]
    pub profile: Option<String>,
    /// Where `--profile dhat` writes its file.
    #[arg(long, default_value = "dhat-heap.json")]
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
    /// postgres: the server (libpq connection string or postgresql:// URL).
    #[arg(long, env = "MEMBENCH_POSTGRES_URL", hide_env_values = true)]
    pub postgres_url: Option<String>,
    /// postgres: the schema to work in (created if missing; nothing outside it is touched).
    #[arg(long, default_value = "membench")]
    pub postgres_schema: String,
}

const AFTER_HELP: &str = "Prints one JSON object (membench_protocol::RunnerRecord): strategy, workload, \
allocator, input, rows_read, rows_skipped, peak_heap_bytes, baseline_heap_bytes, \
total_allocated_bytes, n_allocs, wall_ns, answer_digest, ... \
Exit codes: 0 ok, 2 strategy or usage error (the record has `error`), 97 heap budget exceeded.";

/// Parses `512MiB`, `1GB`, `4096` ([`membench_protocol::parse_size`]).
pub fn parse_size(s: &str) -> Result<u64> {
    membench_protocol::parse_size(s).map_err(anyhow::Error::msg)
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
    /// `None` for the harness's self-test cells.
    pub strategy: Option<&'static Entry>,
    pub selftest: Option<SelfTest>,
    /// The name as given (for the record).
    pub name: String,
    pub params: Option<Params>,
    pub workload: Workload,
    pub threads: usize,
    pub chunk_rows: usize,
    pub on_bad_row: OnBadRow,
    pub budget_bytes: Option<u64>,
    pub address_space_bytes: Option<u64>,
    pub emit_answer: bool,
    /// `etl` without `--output`: the private folder of the temporary output, removed (with
    /// it) after the run.
    pub temporary_output: Option<tempfile::TempDir>,
    pub profile: Option<Profile>,
    pub input_bytes: Option<u64>,
}

/// A heap profiler to run under.
#[derive(Debug, Clone)]
pub enum Profile {
    Dhat { out: PathBuf },
}

impl Args {
    /// Validates the arguments into a job.
    pub fn job(&self) -> Result<Job> {
        if self.list {
            return Ok(Job::List);
        }
        let on_bad_row = OnBadRow::parse(&self.on_bad_row).with_context(|| {
            format!(
                "--on-bad-row must be fail or skip, got {:?}",
                self.on_bad_row
            )
        })?;
        let workload = Workload::parse(&self.workload).with_context(|| {
            format!(
                "unknown workload {:?} (known: {})",
                self.workload,
                Workload::ALL.map(|w| w.name()).join(", ")
            )
        })?;
        let profile = match self.profile.as_deref() {
            None => None,
            Some("dhat") => Some(Profile::Dhat {
                out: self.profile_out.clone(),
            }),
            Some(p) => bail!("unknown profiler {p:?} (supported: dhat)"),
        };
        let selftest = SelfTest::parse(&self.strategy, self.bytes, self.sleep_ms);
        let (strategy, params, temporary_output) = match &selftest {
            Some(_) => (None, None, None),
            None => {
                let (s, p, t) = self.strategy_params(workload, on_bad_row)?;
                (Some(s), Some(p), t)
            }
        };
        Ok(Job::Measure(Box::new(StrategyCell {
            strategy,
            selftest,
            name: self.strategy.clone(),
            input_bytes: params.as_ref().and_then(|p| {
                // A folder or glob: the sum of its files.
                let size = |f: &PathBuf| -> Option<u64> {
                    let files = membench_strategies::input_files(f).ok()?;
                    files
                        .iter()
                        .map(|f| std::fs::metadata(f).ok().map(|m| m.len()))
                        .sum()
                };
                Some(size(&p.input)? + p.items.as_ref().map_or(Some(0), size)?)
            }),
            params,
            workload,
            threads: self.threads,
            chunk_rows: self.chunk_rows,
            on_bad_row,
            budget_bytes: self.memory_limit.as_deref().map(parse_size).transpose()?,
            address_space_bytes: self
                .address_space_limit
                .as_deref()
                .map(parse_size)
                .transpose()?,
            emit_answer: self.emit_answer,
            temporary_output,
            profile,
        })))
    }

    /// The database options, the schema name checked (it is spliced into SQL).
    fn db_params(&self) -> Result<membench_strategies::DbParams> {
        let schema = &self.postgres_schema;
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
        let mut db = membench_strategies::DbParams {
            reuse: self.db_reuse,
            keep: self.keep_db,
            postgres_url: self.postgres_url.clone(),
            postgres_schema: schema.clone(),
            ..Default::default()
        };
        if let Some(dir) = &self.db_dir {
            db.dir = dir.clone();
        }
        Ok(db)
    }

    /// The strategy, its parameters and (etl without `--output`) a temporary output path.
    fn strategy_params(
        &self,
        workload: Workload,
        on_bad_row: OnBadRow,
    ) -> Result<(&'static Entry, Params, Option<tempfile::TempDir>)> {
        let strategy = find(&self.strategy).with_context(|| {
            format!(
                "unknown strategy {:?} (known: {}, calibrate)",
                self.strategy,
                names().join(", ")
            )
        })?;
        let input = self
            .input
            .clone()
            .with_context(|| format!("--input is required for strategy {}", self.strategy))?;
        let output_format = self
            .output_format
            .as_deref()
            .map(|f| {
                Format::parse(f)
                    .with_context(|| format!("--output-format must be csv or parquet, got {f:?}"))
            })
            .transpose()?;
        let mut p = Params::new(workload, input);
        p.on_bad_row = on_bad_row;
        p.chunk_rows = self.chunk_rows;
        p.threads = self.threads;
        p.output_format = output_format;
        p.output = self.output.clone();
        p.items = self.items.clone();
        p.dates = membench_kernel::DateRange::parse(&self.dates)
            .map_err(|e| anyhow::anyhow!("--dates {e}"))?;
        if let Some(dir) = &self.scratch {
            p.scratch = dir.clone();
        }
        if workload == Workload::Join && p.items.is_none() {
            bail!(
                "--workload join needs --items ORDER_ITEMS (with --input ORDERS; `cargo xtask gen \
                 --schema orders` writes both)"
            );
        }
        p.memory_budget_bytes = self.memory_limit.as_deref().map(parse_size).transpose()?;
        p.db = self.db_params()?;
        p.observer = Some(&crate::observe::OBSERVER);
        p.max_record_bytes = usize::try_from(parse_size(&self.max_record_bytes)?)
            .context("--max-record-bytes is too large")?;
        anyhow::ensure!(
            p.max_record_bytes > 0,
            "--max-record-bytes must be at least 1"
        );
        if let Some(every) = self.checkpoint_every {
            anyhow::ensure!(
                workload == Workload::Etl && p.output.is_some(),
                "--checkpoint-every is for --workload etl with --output FILE (a temporary output \
                 cannot be resumed)"
            );
            anyhow::ensure!(every > 0, "--checkpoint-every must be at least 1 row");
            p.checkpoint = Some(membench_strategies::checkpoint::CheckpointParams {
                every_rows: every,
                resume: if self.resume_etl {
                    membench_strategies::checkpoint::Resume::FromCheckpoint
                } else {
                    membench_strategies::checkpoint::Resume::Fresh
                },
            });
        }
        let mut temporary = None;
        if workload == Workload::Etl && p.output.is_none() {
            let ext = match output_format {
                Some(f) => f,
                None => format_of(&p.input).unwrap_or(Format::Csv),
            };
            let dir = membench_safefs::private_dir(&std::env::temp_dir(), "membench-etl-")
                .context("creating a folder for the temporary etl output")?;
            p.output = Some(dir.path().join(format!("output.{ext}")));
            temporary = Some(dir);
        }
        Ok((strategy, p, temporary))
    }
}
