//! The strategies membench compares: each reads a `sales` file its own way and computes a
//! workload's [`Answer`] through the shared kernel (`membench-kernel`).
//!
//! A strategy is one file and one line in [`REGISTRY`]. *How it reads* is the point; what it
//! computes is not its business: record validation and the folds come from the kernel (hand-written
//! strategies) or from one shared Polars query plan ([`polars_plan`]), and every strategy must
//! produce the same answer, the same `rows_read`/`rows_skipped` and the same bad-input error on the
//! same file.
//!
//! This crate must not measure anything (the runner does) and must not print.
//!
//! ```no_run
//! use membench_kernel::Workload;
//! use membench_strategies::{Params, find};
//! let p = Params::new(Workload::TopN, "datasets/sales-1m-s42.csv");
//! let out = find("streaming").unwrap().run(&p)?;
//! println!("{} rows, answer {}", out.rows_read, out.answer.digest());
//! # Ok::<(), membench_strategies::RunError>(())
//! ```

use std::path::{Path, PathBuf};

use membench_kernel::{Answer, DateRange, InputError, OnBadRow, Workload};
pub use membench_protocol::{
    Compression, Decompress, Engine, Format, Growth, Growths, PerFormat, Requirement, Role, Skip,
    StrategyInfo,
};
pub use output::{Output, RowSink, etl_target};

pub mod checkpoint;
mod csv_io;
mod csv_split;
mod db;
pub mod etl_out;
mod join;
mod output;
mod overlap;
mod parquet_io;
pub mod pipeline;
pub mod polars_plan;
pub mod threads;
pub use parquet_io::Projection;

/// The format a file name says, or the error that names the file. For a dataset folder (or a
/// glob), the format of its files.
pub fn format_of(path: &Path) -> Result<Format, RunError> {
    if is_multi_file(path) {
        let files = input_files(path)?;
        return format_of(&files[0]);
    }
    Format::of_path(path).ok_or_else(|| {
        RunError::Input(InputError::file(
            path,
            "unknown format: expected a .csv or .parquet file",
        ))
    })
}

/// Whether `--input` names several files: a folder, or a glob (`*`, `?` in the file name).
pub fn is_multi_file(path: &Path) -> bool {
    path.is_dir()
        || path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(is_glob)
}

fn is_glob(name: &str) -> bool {
    name.contains('*') || name.contains('?')
}

/// The files of `--input`: the file itself; a dataset folder's `.csv`/`.parquet` files (also
/// compressed CSV) in name order; or a glob's matches (`*` and `?` in the file name) in name
/// order. Every file of a folder or glob must be of one format, and there must be one.
pub fn input_files(path: &Path) -> Result<Vec<PathBuf>, RunError> {
    if !is_multi_file(path) {
        return Ok(vec![path.to_path_buf()]);
    }
    let (dir, pattern) = if path.is_dir() {
        (path.to_path_buf(), None)
    } else {
        let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        (
            dir.map_or_else(|| PathBuf::from("."), Path::to_path_buf),
            Some(name.to_string()),
        )
    };
    let entries = std::fs::read_dir(&dir)
        .map_err(|e| RunError::Input(InputError::file(&dir, format!("cannot list: {e}"))))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|f| f.is_file())
        .filter(|f| {
            let name = f.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            !name.starts_with('.')
                && Format::of_path(f).is_some()
                && pattern
                    .as_deref()
                    .is_none_or(|pat| wildcard(pat.as_bytes(), name.as_bytes()))
        })
        .collect();
    files.sort();
    let Some(first) = files.first() else {
        return Err(InputError::file(path, "no .csv or .parquet files in it").into());
    };
    let kind = |f: &Path| (Format::of_path(f), Compression::of_path(f));
    if let Some(odd) = files.iter().find(|f| kind(f) != kind(first)) {
        return Err(InputError::file(
            path,
            format!("mixes formats: {} and {}", first.display(), odd.display()),
        )
        .into());
    }
    Ok(files)
}

/// `*` (any run of characters) and `?` (one character) matching of a whole name, in
/// O(pattern × name) steps at worst: on a mismatch only the last `*` is retried one character
/// further (an earlier `*` never needs to be: the last one can absorb anything it could).
fn wildcard(pat: &[u8], name: &[u8]) -> bool {
    let (mut p, mut n) = (0, 0);
    // The last `*` seen and the name position it currently stands for the start of.
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        match pat.get(p) {
            Some(b'*') => {
                star = Some((p, n));
                p += 1;
            }
            Some(&c) if c == b'?' || c == name[n] => {
                p += 1;
                n += 1;
            }
            _ => match star {
                Some((sp, sn)) => {
                    star = Some((sp, sn + 1));
                    p = sp + 1;
                    n = sn + 1;
                }
                None => return false,
            },
        }
    }
    pat[p..].iter().all(|&c| c == b'*')
}

/// What a strategy is asked to do.
#[derive(Clone, Debug)]
pub struct Params {
    pub workload: Workload,
    /// The input file; for `join`, the `orders` table.
    pub input: PathBuf,
    /// `join`: the `order_items` table.
    pub items: Option<PathBuf>,
    /// `join`: the `order_date` range of the orders joined.
    pub dates: DateRange,
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
    /// [`checkpoint::RESUMABLE`]).
    pub checkpoint: Option<checkpoint::CheckpointParams>,
    /// Told of phases and server processes, for the runner to measure (strategies never do).
    pub observer: Option<&'static dyn Observer>,
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

    /// Runs `fold` once per input file, in order, with `input` set to that file (errors name
    /// the file and its line), and sums the counts.
    pub(crate) fn per_file(
        &self,
        mut fold: impl FnMut(&Params) -> Result<csv_io::Counts, RunError>,
    ) -> Result<csv_io::Counts, RunError> {
        if !is_multi_file(&self.input) {
            return fold(self);
        }
        let mut counts = csv_io::Counts::default();
        for f in input_files(&self.input)? {
            counts.add(fold(&self.with_input(&f))?);
        }
        Ok(counts)
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
            observer: None,
            workload,
            input: input.into(),
            items: None,
            dates: DateRange::default(),
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

/// What a strategy computed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    pub answer: Answer,
    /// Valid rows folded into the answer.
    pub rows_read: u64,
    /// Malformed rows skipped (`--on-bad-row skip`).
    pub rows_skipped: u64,
}

/// Why a strategy did not produce an answer.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Bad input: names the file, the line and the reason.
    #[error("{0}")]
    Input(InputError),
    /// The strategy cannot honour the request (e.g. `skip` on an engine that cannot count).
    #[error("{0}")]
    Unsupported(String),
    /// I/O or engine failure.
    #[error("{0:#}")]
    Other(#[from] anyhow::Error),
    /// The kernel refused a resource the strategy needs (a thread: its stack counts against
    /// `RLIMIT_DATA`). Under a memory limit the runner records this as out of memory.
    #[error("the system refused a thread: {0}")]
    Resources(std::io::Error),
}

impl From<InputError> for RunError {
    fn from(e: InputError) -> Self {
        RunError::Input(e)
    }
}

impl RunError {
    /// Whether the kernel refused a thread for lack of memory (`EAGAIN`, `ENOMEM`): under a
    /// memory limit, the cell ran out of memory.
    pub fn is_refused_resource(&self) -> bool {
        matches!(self, RunError::Resources(e)
            if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::OutOfMemory))
    }

    /// The protocol's name for this kind of error.
    pub fn kind(&self) -> membench_protocol::ErrorKind {
        match self {
            RunError::Input(_) => membench_protocol::ErrorKind::Input,
            RunError::Unsupported(_) => membench_protocol::ErrorKind::Unsupported,
            RunError::Other(_) | RunError::Resources(_) => membench_protocol::ErrorKind::Other,
        }
    }
}

/// How a strategy reads. Its name, description, growth and abilities are data: the
/// [`StrategyInfo`] beside it in the registry.
pub trait Strategy: Sync {
    /// Computes the workload.
    fn run(&self, p: &Params) -> Result<Outcome, RunError>;
}

/// A registered strategy: its metadata and its implementation.
pub struct Entry {
    pub info: StrategyInfo,
    strategy: &'static dyn Strategy,
}

impl std::fmt::Debug for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Entry")
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}

impl Entry {
    /// The command-line name.
    pub fn name(&self) -> &'static str {
        self.info.name
    }

    /// Declared memory growth of `workload` on `format` (`None`: it does not do it).
    pub fn growth(&self, workload: &Workload, format: Format) -> Option<Growth> {
        self.info.growth.of(workload, format)
    }

    /// Runs the strategy, first refusing what its metadata says it cannot do.
    pub fn run(&self, p: &Params) -> Result<Outcome, RunError> {
        if !self.info.does(&p.workload) {
            return Err(RunError::Unsupported(format!(
                "{} does not do the {} workload (see `cargo xtask list`)",
                self.info.name, p.workload
            )));
        }
        if p.workload.is_join()
            && (is_multi_file(&p.input) || p.items.as_deref().is_some_and(is_multi_file))
        {
            return Err(RunError::Unsupported(
                "join reads one file per table, not a folder".into(),
            ));
        }
        if p.checkpoint.is_some() && !self.info.has(Role::Resumable) {
            return Err(RunError::Unsupported(format!(
                "{} cannot checkpoint and resume (--checkpoint-every): only {} can; {}",
                self.info.name,
                membench_protocol::with_role(Role::Resumable)
                    .map(|s| s.name)
                    .collect::<Vec<_>>()
                    .join(", "),
                "the others hold their state in memory or in an engine that cannot be entered \
                 in the middle"
            )));
        }
        let compression = Compression::of_path(&p.input);
        if let (false, Decompress::No(why)) = (compression.is_none(), self.info.compressed) {
            return Err(RunError::Unsupported(format!(
                "{} does not read {} input: {why}",
                self.info.name,
                compression.name()
            )));
        }
        if p.on_bad_row == OnBadRow::Skip && self.info.skip == Skip::Refuses {
            return Err(RunError::Unsupported(format!(
                "--on-bad-row skip is not supported by {}: its engine ({:?}) cannot report \
                 exactly which rows it skipped, so its counts would differ from the other \
                 strategies",
                self.info.name, self.info.engine
            )));
        }
        self.strategy.run(p)
    }
}

macro_rules! registry {
    ($($module:ident :: $ty:ident => $info:expr),* $(,)?) => {
        $(mod $module;)*
        /// Every strategy, in registry order (from `registry.rs`: one entry each).
        pub static REGISTRY: &[Entry] = &[$(Entry { info: $info, strategy: &$module::$ty }),*];
    };
}

include!("registry.rs");

/// Looks a strategy up by name.
pub fn find(name: &str) -> Option<&'static Entry> {
    REGISTRY.iter().find(|s| s.name() == name)
}

/// The names of all strategies.
pub fn names() -> Vec<&'static str> {
    REGISTRY.iter().map(|s| s.name()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_match_whole_names_in_linear_time() {
        let m = |p: &str, n: &str| wildcard(p.as_bytes(), n.as_bytes());
        assert!(m("part-*.csv", "part-0001.csv"));
        assert!(m("*", ""));
        assert!(m("a?c", "abc"));
        assert!(m("*a*b", "xxaxxb"));
        assert!(m("*.csv", ".csv"));
        assert!(!m("part-*.csv", "part-0001.csv.gz"));
        assert!(!m("a?c", "ac"));
        assert!(!m("", "x"));
        // Exponential for a backtracking matcher: 30 stars against 60 letters and no 'b'.
        let start = std::time::Instant::now();
        assert!(!m(
            &"*a"
                .repeat(30)
                .chars()
                .chain("b".chars())
                .collect::<String>(),
            &"a".repeat(60)
        ));
        assert!(
            start.elapsed() < std::time::Duration::from_millis(100),
            "{:?}",
            start.elapsed()
        );
    }

    #[test]
    fn the_registry_and_the_protocol_catalogue_are_the_same_data() {
        let here: Vec<&StrategyInfo> = REGISTRY.iter().map(|e| &e.info).collect();
        let there: Vec<&StrategyInfo> = membench_protocol::STRATEGIES.iter().collect();
        assert_eq!(here, there);
    }
}
