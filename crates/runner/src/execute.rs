//! Executes a validated job under the measurement and prints its record.

use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use membench_alloc::AllocStats;
use membench_protocol::{
    Allocator, CellJob, ERROR_EXIT_CODE, OOM_EXIT_CODE, RunnerError, RunnerMeasure, RunnerRecord,
    STRATEGIES,
};
use membench_strategies::{Engine, Outcome, RunError, format_of};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::args::{Job, StrategyCell};
use crate::observe::{OBSERVER, Observed, ServerPeaks, ServerSampler};
use crate::sampler::HeapSampler;

/// The largest answer of a user's query a record keeps (as JSON text); a larger one is kept as
/// its digest alone.
pub const MAX_KEPT_ANSWER_BYTES: usize = 1 << 20;

/// Runs the job; returns the exit code.
pub fn run(job: &Job, alloc: Allocator) -> Result<i32> {
    match job {
        Job::List => {
            for info in STRATEGIES {
                println!("{}", serde_json::to_string(info)?);
            }
            Ok(0)
        }
        Job::Measure(cell) => {
            let shared_arena = alloc == Allocator::System && under_kernel_memory_limit();
            if shared_arena {
                // Under a kernel memory limit glibc makes at most two malloc arenas, as
                // memory-constrained deployments set it (`MALLOC_ARENA_MAX=2`): later threads
                // share them, so a thread started when the limit is nearly reached needs no
                // arena of its own — whose refusal glibc does not return but aborts on ("failed
                // to register TLS destructor"), a crash where the limit caused an out-of-memory
                // (seen once in CI: `parallel`, 64 threads under 32 MiB).
                // SAFETY: a plain setter of the C library's allocator, before any thread starts.
                unsafe { libc::mallopt(libc::M_ARENA_MAX, 2) };
            }
            measure(cell, alloc, shared_arena)
        }
    }
}

/// What the measured closure produced.
struct Produced {
    answer: Value,
    digest: String,
    rows: Option<(u64, u64)>,
}

fn measure(cell: &StrategyCell, alloc: Allocator, shared_arena: bool) -> Result<i32> {
    // Before any Polars code runs, so its pool is sized by --threads.
    // SAFETY: single-threaded at this point.
    unsafe { std::env::set_var("POLARS_MAX_THREADS", cell.job.threads.max(1).to_string()) };
    if let Some(bytes) = cell.job.address_space_limit_bytes {
        limit_address_space(bytes)?;
    }
    let profiler = start_profiler(&cell.job, alloc)?;
    let mut record = base_record(cell, alloc);
    let samplers = (alloc == Allocator::Counting)
        .then(|| HeapSampler::start(Duration::from_millis(10)))
        .transpose()
        .and_then(|heap| {
            let server = cell
                .strategy
                .filter(|s| s.info.engine == Engine::Postgres)
                .map(|_| ServerSampler::start(Duration::from_millis(20)))
                .transpose()?;
            Ok((heap, server))
        });
    let (sampler, server_sampler) = match samplers {
        Ok(s) => s,
        Err(e) => {
            let code = failed(
                &mut record,
                RunError::Resources(e),
                "starting the runner's sampler",
            );
            println!("{}", serde_json::to_string(&record)?);
            return Ok(code);
        }
    };
    OBSERVER.begin(
        membench_alloc::snapshot().live_bytes,
        alloc == Allocator::Counting,
    );
    membench_alloc::set_budget(cell.job.memory_limit_bytes.map(|b| b as usize));
    let read_before = read_chars();
    let start = Instant::now();
    let (made, mut stats) = membench_alloc::measure(|| produce_or_catch(cell));
    // The answer's digest and JSON are the runner's work, not the strategy's: outside the
    // measured closure, so they add nothing to its peak heap.
    let result = made.map(Made::into_produced);
    record.measure.wall_ns = Some(start.elapsed().as_nanos() as u64);
    membench_alloc::set_budget(None);
    record.measure.read_bytes = read_before
        .zip(read_chars())
        .map(|(a, b)| b.saturating_sub(a));
    let observed = OBSERVER.finish();
    if let Some(m) = observed.max_phase_heap {
        stats.peak_heap_bytes = stats.peak_heap_bytes.max(m as usize);
    }
    set_observed(
        &mut record,
        observed,
        server_sampler.and_then(ServerSampler::finish),
    );
    if shared_arena {
        record
            .measure
            .db_settings
            .push("glibc M_ARENA_MAX=2 (a kernel memory limit applies)".into());
    }
    // The temporary etl output's folder goes with the cell (`TempDir`'s drop, at exit of
    // `main`'s job; removed here at once so the record names no leftover).
    if let Some(o) = &cell.temporary_output {
        let _ = std::fs::remove_dir_all(o.path());
    }
    if let Some(s) = sampler {
        record.measure.heap_timeline = s.finish(stats.baseline_heap_bytes);
    }
    // Read from the files' footers once the strategy has run, so nothing of it is measured.
    record.measure.row_group_rows = row_group_rows(cell);
    let stats = heap_stats(stats, alloc, profiler.is_some());
    if alloc == Allocator::Counting || profiler.is_some() {
        set_heap(&mut record, &stats);
    }
    if let (Some(n), Ok(first), Allocator::Counting) = (cell.job.soak, &result, alloc) {
        match soak(cell, n, &first.digest) {
            Ok(retained) => record.measure.soak = retained,
            Err(e) => {
                let code = failed(&mut record, e, "the strategy (soak)");
                drop(profiler);
                println!("{}", serde_json::to_string(&record)?);
                return Ok(code);
            }
        }
    }
    let code = match result {
        Ok(p) => {
            record.measure.rows_read = p.rows.map(|r| r.0);
            record.measure.rows_skipped = p.rows.map(|r| r.1);
            record.measure.answer_digest = Some(p.digest);
            // A user's answer is kept up to a bound: beyond it, the digest alone.
            let bounded = cell.job.workload.query().is_none()
                || p.answer.to_string().len() <= MAX_KEPT_ANSWER_BYTES;
            record.measure.answer = (cell.job.emit_answer && bounded).then_some(p.answer);
            0
        }
        Err(e) => failed(&mut record, e, "the strategy"),
    };
    drop(profiler);
    println!("{}", serde_json::to_string(&record)?);
    Ok(code)
}

/// `--soak N`: the cell's work N more times in this process, each answer checked against the
/// measured run's and freed; the live heap after each run (what the strategy kept).
fn soak(cell: &StrategyCell, n: u32, digest: &str) -> Result<Vec<u64>, RunError> {
    let mut retained = Vec::with_capacity(n as usize);
    for i in 0..n {
        // The observer records each run's phases and settings as the measured run's: begun and
        // finished around every run, what it kept is freed with it (else it would pile up
        // here as the harness's own growth).
        OBSERVER.begin(membench_alloc::snapshot().live_bytes, false);
        let made = produce_or_catch(cell);
        drop(OBSERVER.finish());
        let made = made?.into_produced();
        if made.digest != digest {
            return Err(RunError::Other(anyhow::anyhow!(
                "soak run {} of {n} gave another answer than the measured run ({} ≠ {digest})",
                i + 1,
                made.digest
            )));
        }
        drop(made);
        retained.push(membench_alloc::snapshot().live_bytes as u64);
    }
    Ok(retained)
}

/// Bytes this process has read so far (`rchar` of `/proc/self/io`, every thread counted).
fn read_chars() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/io").ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("rchar:"))
        .and_then(|v| v.trim().parse().ok())
}

/// Records `e` and returns the exit code: the protocol's out-of-memory code when the kernel
/// refused a thread under a memory limit (a thread's stack counts against `RLIMIT_DATA`), else
/// the error code. The decision rests on the kernel's error number, never on a message.
fn failed(record: &mut RunnerRecord, e: RunError, who: &str) -> i32 {
    let oom = e.is_refused_resource() && under_kernel_memory_limit();
    eprintln!("membench-runner: {e}");
    if oom {
        eprintln!(
            "{}: {who}: the kernel refused a thread under the memory limit",
            membench_protocol::ALLOC_FAILED_MESSAGE_PREFIX
        );
    }
    record.measure.error = Some(RunnerError {
        kind: e.kind(),
        message: e.to_string(),
    });
    if oom { OOM_EXIT_CODE } else { ERROR_EXIT_CODE }
}

/// Whether a kernel limit on this process's memory applies (`RLIMIT_DATA` or `RLIMIT_AS`).
fn under_kernel_memory_limit() -> bool {
    [libc::RLIMIT_DATA, libc::RLIMIT_AS].into_iter().any(|r| {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit fills a valid struct.
        unsafe { libc::getrlimit(r, &mut lim) == 0 && lim.rlim_cur != libc::RLIM_INFINITY }
    })
}

fn set_observed(record: &mut RunnerRecord, o: Observed, server: Option<ServerPeaks>) {
    let m = &mut record.measure;
    m.phases = o.phases;
    m.db_settings = o.settings;
    if o.batches_dropped > 0 {
        m.db_settings.push(format!(
            "batch trace: the first {} batches kept, {} more not",
            o.batches.len(),
            o.batches_dropped
        ));
    }
    m.db_reused = o.reused;
    m.spill_bytes = o.spill_bytes;
    m.new_input_bytes = o.new_input_bytes;
    m.batches = o.batches;
    if let Some(s) = server {
        m.server_peak_rss_bytes = Some(s.total_peak_bytes);
        m.server_backend_peak_rss_bytes = Some(s.backend_peak_bytes);
        m.server_timeline = s.timeline;
    }
}

/// A Parquet input's largest row group (rows; of its files, for a folder): `None` for other
/// inputs, or a file whose footer cannot be read (the strategy reported that).
fn row_group_rows(cell: &StrategyCell) -> Option<u64> {
    let files = membench_strategies::input_files(&cell.params.as_ref()?.input).ok()?;
    files
        .iter()
        .filter(|f| {
            membench_strategies::format_of(f).ok() == Some(membench_strategies::Format::Parquet)
        })
        .filter_map(|f| membench_strategies::io::parquet::row_groups_of(f, &[]).ok())
        .flat_map(|groups| groups.into_iter().map(|(_, rows)| rows as u64))
        .max()
}

fn base_record(cell: &StrategyCell, alloc: Allocator) -> RunnerRecord {
    let job = &cell.job;
    let input = cell.params.as_ref().map(|p| &p.input);
    RunnerRecord {
        strategy: job.strategy.clone(),
        workload: Some(job.workload.clone()),
        threads: job.threads,
        chunk_rows: job.chunk_rows,
        on_bad_row: job.on_bad_row,
        allocator: alloc,
        input: input.map(|p| p.display().to_string()),
        items: cell
            .params
            .as_ref()
            .and_then(|p| p.items.as_ref())
            .map(|p| p.display().to_string()),
        input_bytes: cell.input_bytes,
        measure: RunnerMeasure {
            declared_growth: cell
                .strategy
                .zip(input)
                .and_then(|(s, i)| format_of(i).ok().and_then(|f| s.growth(&job.workload, f))),
            max_record_bytes: cell.params.as_ref().map(|p| p.max_record_bytes as u64),
            output: cell
                .params
                .as_ref()
                .filter(|p| !p.workload.is_aggregate())
                .and_then(|p| p.output.as_ref())
                .map(|o| o.display().to_string()),
            profile_out: job
                .profile
                .map(|membench_protocol::Profiler::Dhat| job.profile_out.display().to_string()),
            ..RunnerMeasure::default()
        },
    }
}

/// [`produce`], with a panic turned into an error the record carries (the panic message is on
/// stderr too, with its backtrace when `RUST_BACKTRACE` asks for one).
fn produce_or_catch(cell: &StrategyCell) -> Result<Made, RunError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| produce(cell))).unwrap_or_else(|p| {
        let msg = p
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| p.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic without a message".into());
        Err(RunError::Other(anyhow::anyhow!("panicked: {msg}")))
    })
}

/// What the measured closure returns: the strategy's outcome as it made it.
enum Made {
    Strategy(Outcome),
    SelfTest(Value),
}

impl Made {
    /// The digest and JSON of the answer (computed after the measurement).
    fn into_produced(self) -> Produced {
        match self {
            Made::SelfTest(answer) => Produced {
                digest: hex::encode(Sha256::digest(answer.to_string().as_bytes())),
                answer,
                rows: None,
            },
            Made::Strategy(Outcome {
                answer,
                rows_read,
                rows_skipped,
            }) => Produced {
                digest: answer.digest(),
                answer: serde_json::to_value(&answer).expect("answers serialize"),
                rows: Some((rows_read, rows_skipped)),
            },
        }
    }
}

fn produce(cell: &StrategyCell) -> Result<Made, RunError> {
    if let Some(t) = cell.selftest {
        return Ok(Made::SelfTest(t.run()));
    }
    let (Some(strategy), Some(params)) = (cell.strategy, cell.params.as_ref()) else {
        unreachable!("a cell is a self-test or a strategy with parameters")
    };
    strategy.run(params).map(Made::Strategy)
}

fn set_heap(record: &mut RunnerRecord, stats: &AllocStats) {
    let m = &mut record.measure;
    m.baseline_heap_bytes = Some(stats.baseline_heap_bytes as u64);
    m.peak_heap_bytes = Some(stats.peak_heap_bytes as u64);
    m.total_allocated_bytes = Some(stats.total_allocated_bytes);
    m.n_allocs = Some(stats.n_allocs);
    m.n_reallocs = Some(stats.n_reallocs);
    m.n_deallocs = Some(stats.n_deallocs);
}

fn limit_address_space(bytes: u64) -> Result<()> {
    let lim = libc::rlimit {
        rlim_cur: bytes as libc::rlim_t,
        rlim_max: bytes as libc::rlim_t,
    };
    // SAFETY: plain syscall with a valid struct.
    if unsafe { libc::setrlimit(libc::RLIMIT_AS, &lim) } != 0 {
        bail!(
            "setrlimit(RLIMIT_AS, {bytes}) failed: {}",
            std::io::Error::last_os_error()
        );
    }
    Ok(())
}

#[cfg(feature = "dhat-heap")]
type Profiler = dhat::Profiler;
#[cfg(not(feature = "dhat-heap"))]
type Profiler = NoProfiler;

/// The profiler slot of a runner built without dhat (never filled).
#[cfg(not(feature = "dhat-heap"))]
#[derive(Debug)]
pub struct NoProfiler;

fn start_profiler(job: &CellJob, alloc: Allocator) -> Result<Option<Profiler>> {
    match (job.profile, alloc) {
        (None, _) => Ok(None),
        #[cfg(feature = "dhat-heap")]
        (Some(membench_protocol::Profiler::Dhat), Allocator::Dhat) => Ok(Some(
            dhat::Profiler::builder()
                .file_name(&job.profile_out)
                .build(),
        )),
        (Some(membench_protocol::Profiler::Dhat), _) => bail!(
            "--profile dhat needs membench-runner-dhat (cargo build --profile profiling -p membench-runner --features dhat-heap: line tables for its call stacks)"
        ),
    }
}

#[allow(unused_variables, unused_mut)]
fn heap_stats(mut stats: AllocStats, alloc: Allocator, profiling: bool) -> AllocStats {
    #[cfg(feature = "dhat-heap")]
    if alloc == Allocator::Dhat && profiling {
        let h = dhat::HeapStats::get();
        stats.peak_heap_bytes = h.max_bytes;
        stats.total_allocated_bytes = h.total_bytes;
        stats.n_allocs = h.total_blocks;
    }
    stats
}
