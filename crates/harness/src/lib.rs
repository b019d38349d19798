//! The parent side of a measurement: starts one runner process, samples its RSS from
//! `/proc/<pid>/status` on a fixed interval, enforces a timeout, reaps it with `wait4` so the
//! peak RSS and CPU times are that child's alone (not the cumulative `RUSAGE_CHILDREN` mark),
//! and turns every ending into a [`Status`] — never a panic or an error of the caller's.
//! The child leads its own process group (a timeout kills its children too); an external
//! program is measured on its whole process tree ([`Scope::Tree`], [`tree`]); a budget the
//! counting allocator cannot enforce becomes a kernel limit ([`limit`]: cgroup v2 `memory.max`
//! where delegated, else `RLIMIT_DATA`), recorded with the measurement.
//!
//! This crate must not measure heap (the runner does, from inside) and must not decide what a
//! cell means; it reports what happened to the process.
//!
//! ```no_run
//! use membench_harness::{CellCommand, run_cell};
//! let cmd = CellCommand::new("target/release/membench-runner")
//!     .args(["--strategy", "calibrate", "--bytes", "1000000"]);
//! let m = run_cell(&cmd);
//! println!("{:?} peak RSS {} bytes", m.status, m.process.peak_rss_bytes);
//! ```

mod cell;
pub mod limit;
pub mod oom;
pub mod output;
pub mod postgres;
pub mod reaper;
pub mod tree;

pub use cell::{
    CellCommand, Measured, STDERR_TAIL_BYTES, STDOUT_TAIL_BYTES, Scope, read_proc_status, run_cell,
    signal_name,
};
pub use membench_protocol::{
    OOM_EXIT_CODE, OOM_MESSAGE_PREFIX, ProcessRecord, RunnerRecord, Status,
};

/// Restores the default action of `SIGPIPE` (Rust's runtime ignores it): a process that only
/// prints then ends when its reader closes the pipe, instead of panicking on the write. Not for
/// a process with children or files to clean up.
pub fn default_sigpipe() {
    // SAFETY: `signal` with `SIG_DFL` only changes this process's disposition of SIGPIPE.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
