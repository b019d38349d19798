//! The raw record: one line of `results.jsonl` per measured repetition, written by the driver
//! and read by the report. It is the cell (what was run, with which settings), what the parent
//! measured of the process ([`ProcessRecord`]) and what the runner measured inside
//! ([`RunnerMeasure`]), each embedded whole, so no field list is copied from one to another.
//!
//! Version 2 (`record_version`) embeds the runner's measurement as it is (its `error` is
//! `{kind, message}`); version-1 files (no `record_version`, `error` a string) read unchanged.

use serde::{Deserialize, Serialize};

use crate::{Allocator, InputFormat, OnBadRow, RunnerMeasure, Shape, Status, Workload};

/// The record format written now.
pub const RECORD_VERSION: u32 = 2;

fn version_1() -> u32 {
    1
}

/// Where and with what a run was made.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RunContext {
    pub git_rev: String,
    pub rustc: String,
    pub cpu: String,
    pub cores: usize,
    pub memory_bytes: u64,
    pub os: String,
    pub started_at: String,
}

/// What the parent measured of a cell's process (or, for an external program, its process
/// tree): the kernel's accounting and the sampled RSS.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ProcessRecord {
    pub exit_code: Option<i32>,
    pub signal: Option<String>,
    /// Kernel high-water mark of resident memory for the child alone (`wait4` ru_maxrss); for
    /// a process tree, the highest sampled sum.
    pub peak_rss_bytes: u64,
    /// Highest sampled anonymous RSS (heap, stacks — not file-backed mmaps).
    pub peak_rss_anon_bytes: u64,
    /// Highest sampled file-backed RSS (memory-mapped input).
    pub peak_rss_file_bytes: u64,
    /// Wall time of the whole child process, start-up included.
    pub process_wall_ns: u64,
    pub user_ns: u64,
    pub sys_ns: u64,
    /// RSS samples: `[t_ns, rss_bytes, rss_anon_bytes, rss_file_bytes]`.
    pub timeline: Vec<[u64; 4]>,
    /// External programs: the highest summed proportional set size of the process tree (pages
    /// shared between its processes split between them, not counted once each).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peak_pss_bytes: Option<u64>,
    /// External programs: the most processes alive at once in the tree.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_processes: Option<u32>,
    /// External programs: the tree's processes at its highest sampled RSS, by command (so a
    /// regression can say which process grew).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub peak_processes: Vec<ProcessShare>,
    /// Processes of the cell still alive when its first process ended that had left its
    /// process group; killed by the harness.
    #[serde(skip_serializing_if = "is_zero")]
    pub leftover_processes: u32,
    /// External programs: the program failed and its last stderr lines carry its runtime's
    /// out-of-memory message (`MemoryError`, `java.lang.OutOfMemoryError`, …). A hint shown
    /// beside the status, never the status itself: text can quote the input, so `oom` comes
    /// only from the exit code [`OOM_EXIT_CODE`](crate::OOM_EXIT_CODE) or a kernel event.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub stderr_says_out_of_memory: bool,
}

/// The processes of one command in a process tree, at the tree's RSS peak: processes of the same
/// name (workers of a pool) summed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessShare {
    /// The command name (`/proc/<pid>/comm`: at most 15 bytes, as `ps` shows it).
    pub command: String,
    pub processes: u32,
    pub rss_bytes: u64,
    pub rss_anon_bytes: u64,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// The three runs of an incremental measurement (`run --incremental`), in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum IncrementalStep {
    /// The first run over the dataset with a state: reads it all, saves the aggregate.
    Initial,
    /// The run after new rows arrived: folds only them into the saved aggregate.
    Increment,
    /// The grown dataset read whole without a state: what the increment is compared with.
    Recompute,
}

impl IncrementalStep {
    /// Its name in records and reports.
    pub fn name(self) -> &'static str {
        match self {
            IncrementalStep::Initial => "initial",
            IncrementalStep::Increment => "increment",
            IncrementalStep::Recompute => "recompute",
        }
    }
}

/// One measured repetition of one cell.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// [`RECORD_VERSION`] when written; 1 for files from before it was recorded.
    #[serde(default = "version_1")]
    pub record_version: u32,
    pub run_id: String,
    /// A strategy's name, or an external program's (`--command`).
    pub strategy: String,
    pub workload: Workload,
    pub format: InputFormat,
    pub rows: u64,
    /// A generated dataset's shape knobs (`--key-cardinality`, …); absent for the default table
    /// and a user's files.
    #[serde(default, skip_serializing_if = "Shape::is_default")]
    pub shape: Shape,
    pub dataset: String,
    pub input_bytes: u64,
    /// `join`: the `order_items` file (`dataset` is the `orders` one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub items: Option<String>,
    /// 1-based; warm-ups are not recorded.
    pub repetition: u32,
    /// How the repetition ended.
    pub status: Status,
    /// The runner's allocator: heap figures come from `counting` repetitions, time from
    /// `system` ones when the run has them.
    #[serde(default)]
    pub allocator: Allocator,
    pub threads: usize,
    pub chunk_rows: usize,
    pub on_bad_row: OnBadRow,
    pub memory_limit: Option<String>,
    /// How `memory_limit` was enforced on this repetition: `counting allocator` (the heap), or
    /// a kernel limit — `cgroup-v2 memory.max` where the machine delegates one, else
    /// `RLIMIT_DATA` — on a system-allocator repetition, for memory the allocator does not see.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit_applied: Option<String>,
    /// The reference answer's digest for this workload and dataset.
    pub expected_digest: Option<String>,
    /// The strategy whose answer served as the reference, when it was not the usual one
    /// (`streaming` failed on this input): another ok strategy's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference_strategy: Option<String>,
    /// An external program (`--command`) that printed no answer: its status is not a
    /// comparison with the reference.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub answer_unchecked: bool,
    /// `run --incremental`: which of an incremental measurement's three runs this is (such
    /// records are not cells of the matrix).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incremental: Option<IncrementalStep>,
    #[serde(flatten)]
    pub process: ProcessRecord,
    #[serde(flatten)]
    pub measure: RunnerMeasure,
    pub context: RunContext,
}

impl Default for Record {
    fn default() -> Self {
        Record {
            record_version: RECORD_VERSION,
            run_id: String::new(),
            strategy: String::new(),
            workload: Workload::TOP_N,
            format: InputFormat::CSV,
            rows: 0,
            shape: Shape::default(),
            dataset: String::new(),
            input_bytes: 0,
            items: None,
            repetition: 0,
            status: Status::Ok,
            allocator: Allocator::Counting,
            threads: 0,
            chunk_rows: 0,
            on_bad_row: OnBadRow::Fail,
            memory_limit: None,
            limit_applied: None,
            expected_digest: None,
            reference_strategy: None,
            answer_unchecked: false,
            incremental: None,
            process: ProcessRecord::default(),
            measure: RunnerMeasure::default(),
            context: RunContext::default(),
        }
    }
}

impl Record {
    /// The error text: the runner's, or the failed process's.
    pub fn error(&self) -> Option<&str> {
        self.measure.error.as_ref().map(|e| e.message.as_str())
    }

    /// The cell this record belongs to.
    pub fn key(&self) -> CellKey {
        CellKey {
            workload: self.workload.clone(),
            format: self.format,
            strategy: self.strategy.clone(),
            rows: self.rows,
            shape: self.shape,
        }
    }
}

/// One table of a report: a workload over one format of one shape of data, across sizes and
/// strategies. Ordered workload, format, shape.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct GroupKey {
    pub workload: Workload,
    pub format: InputFormat,
    #[serde(default, skip_serializing_if = "Shape::is_default")]
    pub shape: Shape,
}

impl GroupKey {
    /// `workload · format`, then the shape when it is not the default table's.
    pub fn title(&self) -> String {
        match self.shape.is_default() {
            true => format!("{} · {}", self.workload, self.format),
            false => format!(
                "{} · {} · {}",
                self.workload,
                self.format,
                self.shape.label()
            ),
        }
    }

    /// Whether a record belongs to this group.
    pub fn holds(&self, r: &Record) -> bool {
        r.workload == self.workload && r.format == self.format && r.shape == self.shape
    }
}

impl CellKey {
    /// The group (table) of this cell.
    pub fn group(&self) -> GroupKey {
        GroupKey {
            workload: self.workload.clone(),
            format: self.format,
            shape: self.shape,
        }
    }
}

/// Identity of a cell of the matrix. Ordered workload, format, strategy, rows, shape (names
/// in alphabetical order, as reports list them).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct CellKey {
    pub workload: Workload,
    pub format: InputFormat,
    pub strategy: String,
    pub rows: u64,
    /// The dataset's shape (absent: the default table).
    #[serde(default, skip_serializing_if = "Shape::is_default")]
    pub shape: Shape,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A line of a version-1 `results.jsonl` (as the committed example holds): read whole.
    #[test]
    fn a_version_1_line_reads_into_the_same_values() {
        let line = r#"{"run_id":"r","strategy":"lazy","workload":"top-n","format":"csv.gz","rows":10000,"dataset":"d","input_bytes":5,"repetition":2,"status":"error","allocator":"system","peak_heap_bytes":null,"baseline_heap_bytes":null,"total_allocated_bytes":null,"n_allocs":null,"peak_rss_bytes":7,"peak_rss_anon_bytes":3,"peak_rss_file_bytes":4,"wall_ns":null,"process_wall_ns":9,"user_ns":1,"sys_ns":2,"rows_read":null,"rows_skipped":null,"answer_digest":null,"expected_digest":"e","error":"f.csv:3: bad","exit_code":2,"signal":null,"threads":2,"chunk_rows":100000,"on_bad_row":"fail","memory_limit":null,"max_record_bytes":16777216,"declared_growth":"constant","heap_timeline":[],"timeline":[[1,2,3,4]],"context":{"git_rev":"g","rustc":"r","cpu":"c","cores":2,"memory_bytes":1,"os":"o","started_at":"s"}}"#;
        let r: Record = serde_json::from_str(line).unwrap();
        assert_eq!(r.record_version, 1);
        assert_eq!(r.workload, Workload::TOP_N);
        assert_eq!(r.format.name(), "csv.gz");
        assert_eq!(r.status, Status::Error);
        assert_eq!(r.error(), Some("f.csv:3: bad"));
        assert_eq!(r.process.exit_code, Some(2));
        assert_eq!(r.process.timeline, vec![[1, 2, 3, 4]]);
        assert_eq!(r.measure.max_record_bytes, Some(16777216));
        // Written again, it is version 2 and reads back the same.
        let again = Record {
            record_version: RECORD_VERSION,
            ..r.clone()
        };
        let back: Record = serde_json::from_str(&serde_json::to_string(&again).unwrap()).unwrap();
        assert_eq!(back, again);
    }
}
