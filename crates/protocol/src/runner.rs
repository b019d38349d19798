//! The runner's output: one JSON object on stdout per measured cell ([`RunnerRecord`]): what it
//! was asked to run, and what it measured from inside ([`RunnerMeasure`], the part the driver's
//! [`crate::Record`] embeds whole).

use serde::{Deserialize, Deserializer, Serialize};

use crate::{Growth, OnBadRow, Workload};

/// The global allocator a runner binary was built with.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Allocator {
    /// `membench-runner`: the counting allocator; exact heap figures, some time overhead.
    #[default]
    Counting,
    /// `membench-runner-sys`: the system allocator; no heap figures, time without the counter.
    System,
    /// `membench-runner-dhat`: dhat, for `--profile dhat`.
    Dhat,
    /// `membench-runner-mi`: mimalloc, the allocator Polars recommends; time of the Polars
    /// strategies as their users run them (no heap figures).
    Mimalloc,
}

impl Allocator {
    /// `counting`, `system`, `dhat` or `mimalloc`.
    pub fn name(self) -> &'static str {
        match self {
            Allocator::Counting => "counting",
            Allocator::System => "system",
            Allocator::Dhat => "dhat",
            Allocator::Mimalloc => "mimalloc",
        }
    }

    /// The runner binary built with this allocator.
    pub fn runner_binary(self) -> &'static str {
        match self {
            Allocator::Counting => "membench-runner",
            Allocator::System => "membench-runner-sys",
            Allocator::Dhat => "membench-runner-dhat",
            Allocator::Mimalloc => "membench-runner-mi",
        }
    }
}

/// What kind of failure a runner reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ErrorKind {
    /// The command line was wrong (unknown strategy, bad size, missing input).
    Usage,
    /// Bad input: the message names the file, the line and the reason.
    Input,
    /// The strategy cannot honour the request (e.g. `skip` on an engine that cannot count).
    Unsupported,
    /// I/O or engine failure.
    Other,
    /// The cell's process failed without a runner's word (crash, out of memory, timeout, an
    /// external program's failure): the message is the end of its stderr.
    Process,
}

/// A runner's error (or, in a driver's record, why the cell's process failed).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RunnerError {
    pub kind: ErrorKind,
    pub message: String,
}

/// Records before version 2 kept the error as its message alone: read as [`ErrorKind::Other`].
impl<'de> Deserialize<'de> for RunnerError {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Full {
            kind: ErrorKind,
            message: String,
        }
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Either {
            Full(Full),
            Message(String),
        }
        Ok(match Either::deserialize(d)? {
            Either::Full(f) => RunnerError {
                kind: f.kind,
                message: f.message,
            },
            Either::Message(message) => RunnerError {
                kind: ErrorKind::Other,
                message,
            },
        })
    }
}

/// What a runner measured from inside its process. Heap fields are `None` under the system
/// allocator; `rows_*` and the digest are `None` when the strategy failed (then `error` says
/// why). The driver's record embeds it whole: a field added here is recorded and reported
/// without being copied anywhere.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RunnerMeasure {
    /// The strategy's declared growth on this input's format.
    pub declared_growth: Option<Growth>,
    /// The longest CSV record the strategies accepted (`--max-record-bytes`).
    pub max_record_bytes: Option<u64>,
    /// A Parquet input: the rows of its largest row group (of its files, for a folder), the
    /// unit its readers take at a time. A strategy's memory grows with the file until the
    /// file spans more row groups than the strategy holds at once, whatever it declares
    /// (`recommend` judges a declared-constant memory only at sizes beyond that).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub row_group_rows: Option<u64>,
    /// `etl`: the file written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    /// Wall time of the strategy alone (argument parsing and start-up excluded); for an
    /// external program, its process's.
    pub wall_ns: Option<u64>,
    pub baseline_heap_bytes: Option<u64>,
    pub peak_heap_bytes: Option<u64>,
    pub total_allocated_bytes: Option<u64>,
    pub n_allocs: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub n_reallocs: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub n_deallocs: Option<u64>,
    /// Live-heap samples: `[t_ns since the strategy started, bytes above the baseline]`.
    pub heap_timeline: Vec<[u64; 2]>,
    pub rows_read: Option<u64>,
    pub rows_skipped: Option<u64>,
    /// sha256 of the canonical answer.
    pub answer_digest: Option<String>,
    /// The canonical answer itself (`--emit-answer`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answer: Option<serde_json::Value>,
    pub error: Option<RunnerError>,
    /// Where `--profile` wrote its file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile_out: Option<String>,
    /// Database strategies: `load`, `index`, `query`, each timed and measured apart (their
    /// times add up to `wall_ns`, less the connection set-up).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub phases: Vec<PhaseRecord>,
    /// PostgreSQL: peak memory of the whole server (postmaster and its children, shared memory
    /// counted once: the sum of their proportional set sizes, `Pss` in `smaps_rollup`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_peak_rss_bytes: Option<u64>,
    /// PostgreSQL: peak RSS of the backend process serving our connection.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_backend_peak_rss_bytes: Option<u64>,
    /// PostgreSQL: `[t_ns since the strategy started, server bytes]` samples.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub server_timeline: Vec<[u64; 2]>,
    /// Bytes the process read through `read(2)` and its kin while the strategy ran
    /// (`/proc/self/io` `rchar`: page-cache hits included, a memory-mapped file's pages not).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_bytes: Option<u64>,
    /// An incremental run (`--state`): the input bytes past its watermarks that it read (new
    /// files whole, grown files from their watermark to their end).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_input_bytes: Option<u64>,
    /// `--soak N`: the live heap after each of the N repeated runs of the cell's work in one
    /// process (bytes; the measured run's answer freed before the first).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub soak: Vec<u64>,
    /// Strategies that spill (`merge-join`, `grace`): bytes written to their spill files.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spill_bytes: Option<u64>,
    /// `adaptive`: its batches, `[first row, rows, live heap bytes at the batch's end]`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub batches: Vec<[u64; 3]>,
    /// Database strategies: the settings they chose (`name=value (why)`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub db_settings: Vec<String>,
    /// Database strategies: the data was already loaded (`--db-reuse`): only `query` ran.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub db_reused: bool,
}

/// One runner's output: what it was asked (echoed, for a runner run by hand) and what it
/// measured.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RunnerRecord {
    pub strategy: String,
    /// `None` when the runner could not read the workload it was given (a usage error).
    pub workload: Option<Workload>,
    pub threads: usize,
    pub chunk_rows: usize,
    pub on_bad_row: OnBadRow,
    pub allocator: Allocator,
    pub input: Option<String>,
    /// `join`: the `order_items` file (`input` is the `orders` one).
    pub items: Option<String>,
    /// Bytes of the input (`join`: of both tables).
    pub input_bytes: Option<u64>,
    #[serde(flatten)]
    pub measure: RunnerMeasure,
}

/// One phase of a cell (database strategies: `load`, `index`, `query`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PhaseRecord {
    pub name: String,
    pub wall_ns: u64,
    /// Highest live heap above the cell's baseline during the phase (counting allocator).
    pub peak_heap_bytes: Option<u64>,
    /// Highest server memory during the phase (PostgreSQL; as `server_peak_rss_bytes`).
    pub server_peak_rss_bytes: Option<u64>,
}

impl RunnerRecord {
    /// Parses the last JSON object line of a runner's stdout.
    pub fn from_stdout(stdout: &str) -> Option<RunnerRecord> {
        stdout
            .lines()
            .rev()
            .find(|l| l.trim_start().starts_with('{'))
            .and_then(|l| serde_json::from_str(l).ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_round_trips_and_a_partial_one_parses() {
        let r = RunnerRecord {
            strategy: "streaming".into(),
            workload: Some(Workload::TOP_N),
            allocator: Allocator::System,
            measure: RunnerMeasure {
                declared_growth: Some(Growth::Constant),
                wall_ns: Some(5),
                error: Some(RunnerError {
                    kind: ErrorKind::Input,
                    message: "f.csv:3: bad".into(),
                }),
                ..RunnerMeasure::default()
            },
            ..RunnerRecord::default()
        };
        let text = format!("noise\n{}\n", serde_json::to_string(&r).unwrap());
        assert_eq!(RunnerRecord::from_stdout(&text), Some(r));
        let partial = RunnerRecord::from_stdout(r#"{"strategy":"x","allocator":"dhat"}"#).unwrap();
        assert_eq!(partial.allocator, Allocator::Dhat);
        assert_eq!(partial.measure.peak_heap_bytes, None);
    }

    #[test]
    fn an_error_of_an_older_record_is_its_message() {
        let m: RunnerMeasure = serde_json::from_str(r#"{"error":"f.csv:3: bad"}"#).unwrap();
        assert_eq!(
            m.error,
            Some(RunnerError {
                kind: ErrorKind::Other,
                message: "f.csv:3: bad".into()
            })
        );
    }
}
