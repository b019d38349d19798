//! The runner: runs exactly one measured cell (strategy × workload × input) in its own process
//! and prints one JSON object on stdout.
//!
//! The heap is measured by the process's global allocator (`membench-alloc`'s counting
//! allocator, or dhat in `membench-runner-dhat`); RSS, CPU time and wall time from outside are
//! the parent's job (`membench-harness`). The runner must not run more than one cell, must not
//! write anything but its JSON to stdout, and must not catch a budget overrun: that ends the
//! process with a recognisable message the parent turns into status `oom`.
//!
//! ```text
//! membench-runner --strategy streaming --workload top-n --input datasets/sales-1m-s42.csv
//! membench-runner --strategy parallel --workload etl --input datasets/sales-1m-s42.csv \
//!     --output clean.parquet --output-format parquet
//! membench-runner --strategy calibrate --bytes 100000000
//! ```

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::Parser;
use membench_alloc::AllocStats;
use membench_kernel::{OnBadRow, Workload};
use membench_strategies::{Format, Params, RunError, find, names};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// Which allocator the binary was built with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Allocator {
    Counting,
    Dhat,
}

/// Exit code when the strategy reported an error (bad input, unsupported request).
pub const ERROR_EXIT_CODE: i32 = 2;

/// Run one measured cell and print its JSON record on stdout.
#[derive(Parser, Debug)]
#[command(name = "membench-runner", version, after_help = AFTER_HELP)]
pub struct Args {
    /// Strategy (see `cargo xtask list`), or `calibrate` / `selftest-sleep` / `selftest-panic` /
    /// `selftest-abort` (harness self-tests).
    #[arg(long, required_unless_present = "list", default_value = "")]
    pub strategy: String,
    /// Print the registered strategies as JSON lines and exit.
    #[arg(long)]
    pub list: bool,
    /// Workload: top-n, group-by or etl.
    #[arg(long, default_value = "top-n")]
    pub workload: String,
    /// etl: the output file. Without it, a temporary file is written and removed afterwards.
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// etl: output format, csv or parquet (default: the input's format).
    #[arg(long)]
    pub output_format: Option<String>,
    /// Input file (.csv or .parquet).
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
    /// What to do with a malformed row: fail or skip.
    #[arg(long, default_value = "fail")]
    pub on_bad_row: String,
    /// Include the full answer in the JSON.
    #[arg(long)]
    pub emit_answer: bool,
    /// calibrate: bytes to allocate and touch.
    #[arg(long, default_value_t = 0)]
    pub bytes: usize,
    /// selftest-sleep: milliseconds to sleep.
    #[arg(long, default_value_t = 60_000)]
    pub sleep_ms: u64,
    /// Heap profiler: `dhat` writes a dhat-heap.json (needs membench-runner-dhat).
    #[arg(long)]
    pub profile: Option<String>,
    /// Where `--profile dhat` writes its file.
    #[arg(long, default_value = "dhat-heap.json")]
    pub profile_out: PathBuf,
}

const AFTER_HELP: &str = "Prints one JSON object: strategy, workload, input, rows_read, rows_skipped, \
peak_heap_bytes, baseline_heap_bytes, total_allocated_bytes, n_allocs, wall_ns, answer_digest, ... \
Exit codes: 0 ok, 2 strategy error (JSON has `error`), 97 heap budget exceeded.";

/// Parses `512MiB`, `1GB`, `4096` (via the `bytesize` crate).
pub fn parse_size(s: &str) -> Result<u64> {
    s.trim()
        .parse::<bytesize::ByteSize>()
        .map(|b| b.as_u64())
        .map_err(|e| anyhow::anyhow!("{s:?} is not a size (e.g. 512MiB, 1GiB): {e}"))
}

/// The process entry point; returns the exit code.
pub fn main(alloc: Allocator) -> i32 {
    let args = Args::parse();
    match run(&args, alloc) {
        Ok(code) => code,
        Err(e) => {
            let msg = format!("{e:#}");
            println!(
                "{}",
                json!({"strategy": args.strategy, "error": {"kind": "usage", "message": msg}})
            );
            eprintln!("membench-runner: {msg}");
            ERROR_EXIT_CODE
        }
    }
}

fn digest(v: &Value) -> String {
    hex::encode(Sha256::digest(v.to_string().as_bytes()))
}

fn run(args: &Args, alloc: Allocator) -> Result<i32> {
    if args.list {
        for s in membench_strategies::REGISTRY {
            println!(
                "{}",
                json!({
                    "name": s.name(),
                    "description": s.describe(),
                    "growth": s.growth(membench_strategies::Format::Csv).name(),
                    "growth_parquet": s.growth(membench_strategies::Format::Parquet).name(),
                })
            );
        }
        return Ok(0);
    }
    // Before any Polars code runs, so its pool is sized by --threads.
    // SAFETY: single-threaded at this point.
    unsafe { std::env::set_var("POLARS_MAX_THREADS", args.threads.max(1).to_string()) };
    if let Some(limit) = &args.address_space_limit {
        let bytes = parse_size(limit)?;
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
    }
    #[cfg(feature = "dhat-heap")]
    let mut dhat_profiler: Option<dhat::Profiler> = None;
    #[cfg(not(feature = "dhat-heap"))]
    let dhat_profiler: Option<()> = None;
    match (args.profile.as_deref(), alloc) {
        (None, _) => {}
        (Some("dhat"), Allocator::Dhat) => {
            #[cfg(feature = "dhat-heap")]
            {
                dhat_profiler = Some(
                    dhat::Profiler::builder()
                        .file_name(&args.profile_out)
                        .build(),
                );
            }
        }
        (Some("dhat"), Allocator::Counting) => {
            bail!(
                "--profile dhat needs membench-runner-dhat (cargo build --release -p membench-runner --features dhat-heap)"
            )
        }
        (Some(p), _) => bail!("unknown profiler {p:?} (supported: dhat)"),
    }
    let on_bad_row = OnBadRow::parse(&args.on_bad_row).with_context(|| {
        format!(
            "--on-bad-row must be fail or skip, got {:?}",
            args.on_bad_row
        )
    })?;
    let workload = Workload::parse(&args.workload).with_context(|| {
        format!(
            "unknown workload {:?} (known: {})",
            args.workload,
            Workload::ALL.map(|w| w.name()).join(", ")
        )
    })?;
    let output_format = args
        .output_format
        .as_deref()
        .map(|f| {
            Format::parse(f)
                .with_context(|| format!("--output-format must be csv or parquet, got {f:?}"))
        })
        .transpose()?;
    let budget = args.memory_limit.as_deref().map(parse_size).transpose()?;

    let mut record = json!({
        "strategy": args.strategy,
        "workload": workload.name(),
        "threads": args.threads,
        "chunk_rows": args.chunk_rows,
        "on_bad_row": on_bad_row.name(),
        "allocator": match alloc { Allocator::Counting => "counting", Allocator::Dhat => "dhat" },
    });
    let selftest = matches!(
        args.strategy.as_str(),
        "calibrate" | "selftest-sleep" | "selftest-panic" | "selftest-abort"
    );
    let strategy = if selftest {
        None
    } else {
        Some(find(&args.strategy).with_context(|| {
            format!(
                "unknown strategy {:?} (known: {}, calibrate)",
                args.strategy,
                names().join(", ")
            )
        })?)
    };
    let input = match (&args.input, selftest) {
        (Some(p), _) => Some(p.clone()),
        (None, true) => None,
        (None, false) => bail!("--input is required for strategy {}", args.strategy),
    };
    if let (Some(s), Some(p)) = (strategy, &input)
        && let Ok(format) = membench_strategies::Format::of(p)
    {
        record["declared_growth"] = json!(s.growth(format).name());
    }
    if let Some(p) = &input {
        record["input"] = json!(p.display().to_string());
        record["input_bytes"] = json!(std::fs::metadata(p).map(|m| m.len()).ok());
    }
    // etl writes a file: --output, or a temporary one removed after the run.
    let (output, remove_output) = match (&args.output, &input) {
        (Some(o), _) => (Some(o.clone()), false),
        (None, Some(i)) if workload == Workload::Etl && !selftest => {
            let ext = match output_format {
                Some(f) => f.name(),
                None => Format::of(i).map(|f| f.name()).unwrap_or("csv"),
            };
            let name = format!("membench-etl-{}.{ext}", std::process::id());
            (Some(std::env::temp_dir().join(name)), true)
        }
        _ => (None, false),
    };
    if workload == Workload::Etl
        && let Some(o) = &output
    {
        record["output"] = json!(o.display().to_string());
    }

    let sampler = HeapSampler::start(std::time::Duration::from_millis(10));
    membench_alloc::set_budget(budget.map(|b| b as usize));
    let start = Instant::now();
    let (result, stats) = membench_alloc::measure(|| -> Result<(Value, u64, u64), RunError> {
        match args.strategy.as_str() {
            "calibrate" => {
                let v = vec![1u8; args.bytes];
                let sum = std::hint::black_box(&v)
                    .iter()
                    .step_by(4096)
                    .map(|&b| u64::from(b))
                    .sum::<u64>();
                drop(v);
                Ok((
                    json!({"calibrate_bytes": args.bytes, "pages_touched": sum}),
                    0,
                    0,
                ))
            }
            "selftest-sleep" => {
                std::thread::sleep(std::time::Duration::from_millis(args.sleep_ms));
                Ok((json!({"slept_ms": args.sleep_ms}), 0, 0))
            }
            "selftest-panic" => panic!("selftest-panic: a deliberate panic"),
            "selftest-abort" => std::process::abort(),
            _ => {
                let mut p = Params::new(workload, input.clone().expect("checked above"));
                p.on_bad_row = on_bad_row;
                p.chunk_rows = args.chunk_rows;
                p.threads = args.threads;
                p.output = output.clone();
                p.output_format = output_format;
                let out = strategy.expect("checked above").run(&p)?;
                let answer = serde_json::to_value(&out.answer).expect("answers serialize");
                Ok((answer, out.rows_read, out.rows_skipped))
            }
        }
    });
    let wall_ns = start.elapsed().as_nanos() as u64;
    membench_alloc::set_budget(None);
    if remove_output && let Some(o) = &output {
        let _ = std::fs::remove_file(o);
    }
    let heap_timeline = sampler.finish(stats.baseline_heap_bytes);
    let stats = heap_stats(stats, alloc, dhat_profiler.is_some());
    record["wall_ns"] = json!(wall_ns);
    record["baseline_heap_bytes"] = json!(stats.baseline_heap_bytes);
    record["peak_heap_bytes"] = json!(stats.peak_heap_bytes);
    record["total_allocated_bytes"] = json!(stats.total_allocated_bytes);
    record["n_allocs"] = json!(stats.n_allocs);
    record["n_reallocs"] = json!(stats.n_reallocs);
    record["n_deallocs"] = json!(stats.n_deallocs);
    record["heap_timeline"] = json!(heap_timeline);
    let code = match result {
        Ok((answer, rows_read, rows_skipped)) => {
            record["rows_read"] = json!(rows_read);
            record["rows_skipped"] = json!(rows_skipped);
            record["answer_digest"] = json!(match answer.get("workload") {
                // Strategy answers: the kernel's canonical digest.
                Some(_) => serde_json::from_value::<membench_kernel::Answer>(answer.clone())
                    .map(|a| a.digest())
                    .unwrap_or_else(|_| digest(&answer)),
                None => digest(&answer),
            });
            if args.emit_answer {
                record["answer"] = answer;
            }
            0
        }
        Err(e) => {
            let kind = match &e {
                RunError::Input(_) => "input",
                RunError::Unsupported(_) => "unsupported",
                RunError::Other(_) => "other",
            };
            record["error"] = json!({"kind": kind, "message": e.to_string()});
            eprintln!("membench-runner: {e}");
            ERROR_EXIT_CODE
        }
    };
    #[cfg(feature = "dhat-heap")]
    drop(dhat_profiler);
    if args.profile.is_some() {
        record["profile_out"] = json!(args.profile_out.display().to_string());
    }
    println!("{record}");
    Ok(code)
}

/// Samples the live heap on its own thread into a buffer allocated before measurement starts,
/// so sampling adds nothing to the measured peak.
struct HeapSampler {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    handle: std::thread::JoinHandle<Vec<(u64, usize)>>,
}

impl HeapSampler {
    /// Room for this many samples (at 10 ms, over 16 minutes); later samples are dropped.
    const CAPACITY: usize = 100_000;

    fn start(interval: std::time::Duration) -> HeapSampler {
        use std::sync::atomic::{AtomicBool, Ordering};
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let ready = std::sync::Arc::new(std::sync::Barrier::new(2));
        let mut buf: Vec<(u64, usize)> = Vec::with_capacity(Self::CAPACITY);
        let (stop2, ready2) = (stop.clone(), ready.clone());
        let handle = std::thread::spawn(move || {
            let t0 = Instant::now();
            ready2.wait();
            while !stop2.load(Ordering::Relaxed) {
                if buf.len() < buf.capacity() {
                    buf.push((
                        t0.elapsed().as_nanos() as u64,
                        membench_alloc::snapshot().live_bytes,
                    ));
                }
                std::thread::sleep(interval);
            }
            buf
        });
        // The thread's own start-up allocations happen before this returns.
        ready.wait();
        HeapSampler { stop, handle }
    }

    /// Stops sampling; returns at most ~200 evenly spaced `[t_ns, heap above baseline]` pairs.
    fn finish(self, baseline: usize) -> Vec<[u64; 2]> {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let samples = self.handle.join().unwrap_or_default();
        let step = samples.len().div_ceil(200).max(1);
        samples
            .iter()
            .step_by(step)
            .map(|&(t, live)| [t, live.saturating_sub(baseline) as u64])
            .collect()
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
