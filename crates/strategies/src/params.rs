//! What a strategy is asked to do ([`Params`], [`DbParams`]) and the [`Observer`] it tells its
//! phases, settings and server processes, for the runner to measure.

use std::path::{Path, PathBuf};

use membench_kernel::{OnBadRow, Workload};
use membench_protocol::Format;

/// What a strategy is asked to do.
#[derive(Clone, Debug)]
pub struct Params {
    pub workload: Workload,
    /// The input file; for `join`, the `orders` table.
    pub input: PathBuf,
    /// `join`: the `order_items` table.
    pub items: Option<PathBuf>,
    /// Where strategies that spill (`merge-join`, `grace`) put their temporary files (a private
    /// folder each, removed when the strategy ends).
    pub scratch: PathBuf,
    pub on_bad_row: OnBadRow,
    /// Rows per chunk for `chunked`.
    pub chunk_rows: usize,
    /// Worker threads for `parallel` (and Polars' pool, set by the runner).
    pub threads: usize,
    /// `etl`: the file to write (written as `<output>.tmp`, renamed when complete).
    pub output: Option<PathBuf>,
    /// `etl`: the output format; `None` means the input's format.
    pub output_format: Option<Format>,
    /// The longest CSV record accepted: a longer one stops every strategy with an error at its
    /// first line, before it is read whole (`--max-record-bytes`).
    pub max_record_bytes: usize,
    /// The heap budget the runner enforces (`--memory-limit`): engines with knobs of their own
    /// (the databases) size them to fit.
    pub memory_budget_bytes: Option<u64>,
    /// The database strategies' options.
    pub db: DbParams,
    /// `etl`: `--checkpoint-every` / `--resume-etl` (the strategies in
    /// [`Role::Resumable`](crate::Role::Resumable)).
    pub checkpoint: Option<CheckpointParams>,
    /// `top-n`, `group-by`: the incremental state file (`--state`; the strategies in
    /// [`Role::Incremental`](crate::Role::Incremental)): fold only what is new since the run that
    /// wrote it.
    pub state: Option<PathBuf>,
    /// Told of phases and server processes, for the runner to measure (strategies never do).
    pub observer: Option<&'static dyn Observer>,
    /// A user's query ([`Workload::Query`]): its typed tables and plan.
    pub query: Option<QueryParams>,
}

/// A user's query as a strategy runs it: the tables, typed by the driver, in the plan's input
/// order, and the typed plan.
#[derive(Clone, Debug)]
pub struct QueryParams {
    pub tables: Vec<membench_query::Table>,
    pub plan: membench_protocol::Plan,
    /// Where the result goes instead of the answer (`--output`: CSV, or Parquet by its name).
    pub output: Option<std::path::PathBuf>,
}

impl QueryParams {
    /// The result file, created, when the result is written (`output`).
    pub fn result_file(
        &self,
    ) -> Result<Option<membench_query::output::ResultFile>, crate::RunError> {
        let Some(path) = &self.output else {
            return Ok(None);
        };
        let visible: Vec<&membench_protocol::Output> =
            self.plan.output.iter().filter(|o| !o.hidden).collect();
        let columns: Vec<String> = visible.iter().map(|o| o.name.clone()).collect();
        let types: Vec<_> = visible.iter().map(|o| o.ty).collect();
        membench_query::output::ResultFile::create(path, &columns, &types)
            .map(Some)
            .map_err(|e| crate::RunError::Other(anyhow::anyhow!(e)))
    }

    /// The tables, as the generic operators take them.
    pub fn tables(&self) -> Vec<&membench_query::Table> {
        self.tables.iter().collect()
    }
}

/// Options of the database strategies (`sqlite`, `postgres`).
#[derive(Clone, Debug)]
pub struct DbParams {
    /// Where SQLite database files go (the run's scratch folder).
    pub dir: PathBuf,
    /// Keep a loaded database for later cells on the same input (`--db-reuse`): a cell that
    /// finds its input loaded runs only the `query` phase.
    pub reuse: bool,
    /// Keep the SQLite file after the cell (`--keep-db`).
    pub keep: bool,
    /// The PostgreSQL server (`--postgres-url`, a libpq connection string or URL).
    pub postgres_url: Option<String>,
    /// The schema membench creates on that server and works in; nothing outside it is touched.
    pub postgres_schema: String,
}

/// The server `DbParams::default()` uses: set once by [`set_default_postgres_url`] (test
/// fixtures), else `MEMBENCH_POSTGRES_URL`.
static DEFAULT_POSTGRES_URL: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// Sets the server every later `DbParams::default()` connects to (once per process; a second
/// call is ignored).
pub fn set_default_postgres_url(url: &str) {
    let _ = DEFAULT_POSTGRES_URL.set(url.to_string());
}

impl Default for DbParams {
    fn default() -> Self {
        DbParams {
            dir: std::env::temp_dir(),
            reuse: false,
            keep: false,
            postgres_url: DEFAULT_POSTGRES_URL
                .get()
                .cloned()
                .or_else(|| std::env::var("MEMBENCH_POSTGRES_URL").ok()),
            postgres_schema: "membench".into(),
        }
    }
}

/// What a strategy tells the runner while it works, so the runner can measure the parts apart.
/// Strategies call it; they never measure.
pub trait Observer: Sync + std::fmt::Debug {
    /// A new phase starts now (`load`, `index`, `query`); the previous one ends.
    fn phase(&self, name: &'static str);
    /// A setting the strategy chose (`name=value (why)`).
    fn setting(&self, text: String);
    /// The server process serving this strategy's connection (PostgreSQL).
    fn server_backend(&self, pid: u32);
    /// The data was already loaded (`--db-reuse`): no `load` phase.
    fn reused(&self);
    /// Bytes written to spill files so far (strategies that spill call it as they go).
    fn spilled(&self, bytes: u64);
    /// An incremental run's input bytes past its watermarks, read (once, at its end).
    fn new_input(&self, bytes: u64);
    /// A batch is done (`adaptive`): its first row, its rows, the live heap at its end.
    fn batch(&self, first_row: u64, rows: u64, live_heap_bytes: u64);
}

impl Params {
    /// These parameters with `input` set to `file` (one file of a multi-file input).
    pub fn with_input(&self, file: &Path) -> Params {
        let mut q = self.clone();
        q.input = file.to_path_buf();
        q
    }

    /// Tells the observer, if any, that `name` starts.
    pub fn phase(&self, name: &'static str) {
        if let Some(o) = self.observer {
            o.phase(name);
        }
    }

    /// Tells the observer, if any, how many bytes have been spilled so far.
    pub fn spilled(&self, bytes: u64) {
        if let Some(o) = self.observer {
            o.spilled(bytes);
        }
    }

    /// Tells the observer, if any, how many input bytes past the watermarks were read.
    pub fn new_input(&self, bytes: u64) {
        if let Some(o) = self.observer {
            o.new_input(bytes);
        }
    }

    /// Tells the observer, if any, that a batch is done.
    pub fn batch(&self, first_row: u64, rows: u64, live_heap_bytes: u64) {
        if let Some(o) = self.observer {
            o.batch(first_row, rows, live_heap_bytes);
        }
    }

    /// Tells the observer, if any, of a chosen setting.
    pub fn setting(&self, text: String) {
        if let Some(o) = self.observer {
            o.setting(text);
        }
    }
}

impl Params {
    /// Defaults: fail on bad rows, 100,000-row chunks, 2 threads, no `etl` output path, records
    /// of at most 16 MiB, databases in a fresh table removed afterwards, no observer.
    pub fn new(workload: Workload, input: impl Into<PathBuf>) -> Self {
        Params {
            memory_budget_bytes: None,
            db: DbParams::default(),
            checkpoint: None,
            state: None,
            observer: None,
            query: None,
            workload,
            input: input.into(),
            items: None,
            scratch: std::env::temp_dir(),
            on_bad_row: OnBadRow::Fail,
            chunk_rows: 100_000,
            threads: 2,
            output: None,
            output_format: None,
            max_record_bytes: membench_kernel::DEFAULT_MAX_RECORD_BYTES,
        }
    }
}

/// `--checkpoint-every` and `--resume-etl`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CheckpointParams {
    /// Rows read between two checkpoints (at the strategy's next natural boundary: a record,
    /// a chunk, a batch, a unit).
    pub every_rows: u64,
    /// Continue from the checkpoint when there is one (else start afresh).
    pub resume: Resume,
}

/// Whether a run continues from an existing checkpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resume {
    /// Start afresh (an old checkpoint is replaced).
    Fresh,
    /// Continue from the checkpoint if there is one.
    FromCheckpoint,
}
