//! The one way a runner is asked to measure a cell: a [`CellJob`], passed whole (`--job JSON`) by
//! the driver (`run`, `recommend --verify`, `min-budget`) and the tests. Every option of a cell
//! and its default is declared here once; the runner's own flags (for a person at a shell)
//! build the same job.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::{Format, OnBadRow, Plan, UserTable, Workload};

/// A heap profiler a cell can run under.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Profiler {
    /// dhat (needs `membench-runner-dhat`): writes a `dhat-heap.json`.
    Dhat,
}

/// Options of the database strategies.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DbJob {
    /// The folder for SQLite files (default: the system's temp folder).
    pub dir: Option<PathBuf>,
    /// Keep a loaded database for later cells on the same input.
    pub reuse: bool,
    /// sqlite: keep the database file after the cell.
    pub keep: bool,
    /// postgres: the schema to work in (created if missing; nothing outside it is touched).
    /// The server itself is never part of a job: its connection string, password included,
    /// reaches a runner in its environment only (`MEMBENCH_POSTGRES_URL`).
    pub postgres_schema: String,
}

impl Default for DbJob {
    fn default() -> Self {
        DbJob {
            dir: None,
            reuse: false,
            keep: false,
            postgres_schema: CellJob::DEFAULT_POSTGRES_SCHEMA.into(),
        }
    }
}

/// One measured cell, as a runner is asked to run it. Sizes are bytes, formats and policies are
/// typed: nothing is left for the runner to re-parse.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CellJob {
    /// A strategy of the registry, or a harness self-test (`calibrate`, `selftest-*`).
    pub strategy: String,
    pub workload: Workload,
    /// The input file (folder, glob); for `join`, the `orders` table.
    pub input: Option<PathBuf>,
    /// `join`: the `order_items` table.
    pub items: Option<PathBuf>,
    /// A user's query ([`Workload::Query`]): the tables it reads, typed, in the plan's input
    /// order.
    pub tables: Vec<UserTable>,
    /// A user's query: its typed plan over `tables`.
    pub plan: Option<Plan>,
    /// Where strategies that spill write their temporary files (default: the system's temp
    /// folder); each uses a private folder it removes.
    pub scratch: Option<PathBuf>,
    /// etl: the output file (default: a temporary file, removed afterwards).
    pub output: Option<PathBuf>,
    /// etl: the output format (default: the input's).
    pub output_format: Option<Format>,
    /// The heap budget: the allocation that would cross it ends the process (`oom`).
    pub memory_limit_bytes: Option<u64>,
    /// A kernel cap on the address space (`RLIMIT_AS`), for memory that is not heap.
    pub address_space_limit_bytes: Option<u64>,
    /// Worker threads (`parallel`; Polars' pool).
    pub threads: usize,
    /// Rows per chunk (`chunked`).
    pub chunk_rows: usize,
    /// The longest CSV record accepted.
    pub max_record_bytes: u64,
    pub on_bad_row: OnBadRow,
    /// etl: durably record progress every so many rows read (needs `output`, CSV).
    pub checkpoint_every: Option<u64>,
    /// etl: continue from the output's checkpoint, if there is one.
    pub resume_etl: bool,
    /// top-n, group-by: the incremental state file (fold only what is new since the run that
    /// wrote it, then save the new state).
    pub state: Option<PathBuf>,
    /// Include the whole answer in the record.
    pub emit_answer: bool,
    /// After the measured run, repeat the cell's work this many times in the same process and
    /// record the heap it retains after each ([`RunnerMeasure::soak`](crate::RunnerMeasure)):
    /// a leak shows as a slope. Counting allocator only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub soak: Option<u32>,
    /// calibrate: bytes to allocate and touch; selftest-leak: bytes leaked per run.
    pub bytes: usize,
    /// selftest-sleep: milliseconds to sleep; calibrate: to hold the bytes.
    pub sleep_ms: Option<u64>,
    pub profile: Option<Profiler>,
    /// Where `profile` writes its file.
    pub profile_out: PathBuf,
    pub db: DbJob,
}

impl CellJob {
    /// Worker threads unless told otherwise.
    pub const DEFAULT_THREADS: usize = 2;
    /// `chunked`'s rows per chunk unless told otherwise.
    pub const DEFAULT_CHUNK_ROWS: usize = 100_000;
    /// The longest CSV record accepted unless told otherwise (16 MiB).
    pub const DEFAULT_MAX_RECORD_BYTES: u64 = 16 << 20;
    /// The schema the `postgres` strategy works in unless told otherwise.
    pub const DEFAULT_POSTGRES_SCHEMA: &'static str = "membench";
    /// Where `--profile dhat` writes unless told otherwise.
    pub const DEFAULT_PROFILE_OUT: &'static str = "dhat-heap.json";

    /// A job for `strategy` on `workload` over `input`, every other option at its default.
    pub fn new(strategy: &str, workload: Workload, input: impl Into<PathBuf>) -> CellJob {
        CellJob {
            strategy: strategy.into(),
            workload,
            input: Some(input.into()),
            ..CellJob::default()
        }
    }

    /// The runner's arguments for this job: `--job` and the job as JSON.
    pub fn to_args(&self) -> [String; 2] {
        [
            "--job".into(),
            serde_json::to_string(self).expect("a job serializes"),
        ]
    }
}

impl Default for CellJob {
    fn default() -> Self {
        CellJob {
            strategy: String::new(),
            workload: Workload::TOP_N,
            input: None,
            items: None,
            tables: Vec::new(),
            plan: None,
            scratch: None,
            output: None,
            output_format: None,
            memory_limit_bytes: None,
            address_space_limit_bytes: None,
            threads: CellJob::DEFAULT_THREADS,
            chunk_rows: CellJob::DEFAULT_CHUNK_ROWS,
            max_record_bytes: CellJob::DEFAULT_MAX_RECORD_BYTES,
            on_bad_row: OnBadRow::Fail,
            checkpoint_every: None,
            resume_etl: false,
            state: None,
            emit_answer: false,
            soak: None,
            bytes: 0,
            sleep_ms: None,
            profile: None,
            profile_out: PathBuf::from(CellJob::DEFAULT_PROFILE_OUT),
            db: DbJob::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_round_trips_and_a_partial_one_takes_the_defaults() {
        let h1 = crate::DateRange::parse("2024-01-01..2024-06-30").unwrap();
        let mut job = CellJob::new("streaming", Workload::Join(h1), "orders.csv");
        job.items = Some("items.csv".into());
        job.memory_limit_bytes = Some(64 << 20);
        let [flag, json] = job.to_args();
        assert_eq!(flag, "--job");
        assert_eq!(serde_json::from_str::<CellJob>(&json).unwrap(), job);
        let partial: CellJob =
            serde_json::from_str(r#"{"strategy":"lazy","workload":"etl"}"#).unwrap();
        assert_eq!(partial.threads, CellJob::DEFAULT_THREADS);
        assert_eq!(partial.workload, Workload::Etl);
        assert!(serde_json::from_str::<CellJob>(r#"{"workload":"join(2024)"}"#).is_err());
    }
}
