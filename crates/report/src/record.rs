//! Raw records: one line of `results.jsonl` per measured repetition. Everything else is derived.

use std::io::BufRead;
use std::path::Path;

use anyhow::{Context as _, Result};
use membench_protocol::{Allocator, Growth, PhaseRecord, Status};
use serde::{Deserialize, Serialize};

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

/// One measured repetition of one cell.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub run_id: String,
    pub strategy: String,
    pub workload: String,
    pub format: String,
    pub rows: u64,
    pub dataset: String,
    pub input_bytes: u64,
    /// 1-based; warm-ups are not recorded.
    pub repetition: u32,
    /// How the repetition ended.
    pub status: Status,
    /// The runner's allocator: heap figures come from `counting` repetitions, time from
    /// `system` ones when the run has them.
    #[serde(default)]
    pub allocator: Allocator,
    pub peak_heap_bytes: Option<u64>,
    pub baseline_heap_bytes: Option<u64>,
    pub total_allocated_bytes: Option<u64>,
    pub n_allocs: Option<u64>,
    pub peak_rss_bytes: u64,
    pub peak_rss_anon_bytes: u64,
    pub peak_rss_file_bytes: u64,
    /// Wall time of the strategy inside the runner (what MB/s is computed from).
    pub wall_ns: Option<u64>,
    /// Wall time of the whole child process, start-up included.
    pub process_wall_ns: u64,
    pub user_ns: u64,
    pub sys_ns: u64,
    pub rows_read: Option<u64>,
    pub rows_skipped: Option<u64>,
    pub answer_digest: Option<String>,
    /// The reference answer's digest for this workload and dataset.
    pub expected_digest: Option<String>,
    /// The strategy whose answer served as the reference, when it was not the usual one
    /// (`streaming` failed on this input, or was not there to run): another ok strategy's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference_strategy: Option<String>,
    pub error: Option<String>,
    pub exit_code: Option<i32>,
    pub signal: Option<String>,
    pub threads: usize,
    pub chunk_rows: usize,
    pub on_bad_row: String,
    pub memory_limit: Option<String>,
    /// How `memory_limit` was enforced on this repetition: `counting allocator` (the heap), or
    /// a kernel limit — `cgroup-v2 memory.max` where the machine delegates one, else
    /// `RLIMIT_DATA` — on a system-allocator repetition, for memory the allocator does not see.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit_applied: Option<String>,
    /// An external program (`--command`) that printed no answer: its status is not a
    /// comparison with the reference.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub answer_unchecked: bool,
    /// External programs: the highest summed proportional set size of the process tree (pages
    /// shared between its processes split between them, not counted once each).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peak_pss_bytes: Option<u64>,
    /// External programs: the most processes alive at once in the tree.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_processes: Option<u32>,
    /// The longest CSV record the strategies accepted.
    #[serde(default)]
    pub max_record_bytes: Option<u64>,
    /// The strategy's declared memory growth (`constant`, `linear`), checked by the gate.
    #[serde(default)]
    pub declared_growth: Option<Growth>,
    /// Live-heap samples from inside the runner: `[t_ns since the strategy started, bytes above
    /// the baseline]`.
    #[serde(default)]
    pub heap_timeline: Vec<[u64; 2]>,
    /// RSS samples: `[t_ns, rss_bytes, rss_anon_bytes, rss_file_bytes]`.
    #[serde(default)]
    pub timeline: Vec<[u64; 4]>,
    /// Database strategies: `load`, `index`, `query`, each with its time and peaks.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub phases: Vec<PhaseRecord>,
    /// PostgreSQL: peak memory of the whole server (shared pages counted once).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_peak_rss_bytes: Option<u64>,
    /// PostgreSQL: peak RSS of the backend serving the cell.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_backend_peak_rss_bytes: Option<u64>,
    /// PostgreSQL: `[t_ns, server bytes]` samples.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub server_timeline: Vec<[u64; 2]>,
    /// Database strategies: the settings they chose.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub db_settings: Vec<String>,
    /// Database strategies: the input was already loaded (`--db-reuse`); only `query` ran.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub db_reused: bool,
    /// `join`: the `order_items` file (`dataset` is the `orders` one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub items: Option<String>,
    /// Strategies that spill (`merge-join`, `grace`): bytes written to spill files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spill_bytes: Option<u64>,
    /// `adaptive`: its batches, `[first row, rows, live heap bytes at the batch's end]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub batches: Vec<[u64; 3]>,
    /// Processes of the cell still alive when its first process ended that had left its
    /// process group; killed by the harness.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub leftover_processes: u32,
    pub context: RunContext,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl Record {
    /// The cell this record belongs to.
    pub fn key(&self) -> CellKey {
        CellKey {
            workload: self.workload.clone(),
            format: self.format.clone(),
            strategy: self.strategy.clone(),
            rows: self.rows,
        }
    }
}

/// Identity of a cell of the matrix.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct CellKey {
    pub workload: String,
    pub format: String,
    pub strategy: String,
    pub rows: u64,
}

/// Reads `results.jsonl`. A torn last line (a killed writer) is ignored; any other bad line is
/// an error naming the file and line.
pub fn read_records(path: &Path) -> Result<Vec<Record>> {
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let lines: Vec<String> = std::io::BufReader::new(file)
        .lines()
        .collect::<std::io::Result<_>>()
        .with_context(|| format!("reading {}", path.display()))?;
    let mut out = Vec::with_capacity(lines.len());
    for (i, line) in lines.iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Record>(line) {
            Ok(r) => out.push(r),
            Err(_) if i + 1 == lines.len() => {} // torn final line from a killed run
            Err(e) => anyhow::bail!("{}:{}: not a membench record: {e}", path.display(), i + 1),
        }
    }
    Ok(out)
}
