//! The parent side of a measurement: starts one runner process, samples its RSS from
//! `/proc/<pid>/status` on a fixed interval, enforces a timeout, reaps it with `wait4` so the
//! peak RSS and CPU times are that child's alone (not the cumulative `RUSAGE_CHILDREN` mark),
//! and turns every ending into a [`Status`] — never a panic or an error of the caller's.
//!
//! This crate must not measure heap (the runner does, from inside) and must not decide what a
//! cell means; it reports what happened to the process.
//!
//! ```no_run
//! use membench_harness::{CellCommand, run_cell};
//! let cmd = CellCommand::new("target/release/membench-runner")
//!     .args(["--strategy", "calibrate", "--bytes", "1000000"]);
//! let m = run_cell(&cmd);
//! println!("{:?} peak RSS {} bytes", m.status, m.peak_rss_bytes);
//! ```

pub mod postgres;

use std::ffi::OsString;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

pub use membench_protocol::{OOM_EXIT_CODE, OOM_MESSAGE_PREFIX, RunnerRecord, Status};

/// One RSS sample.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sample {
    pub t_ns: u64,
    pub rss_bytes: u64,
    pub rss_anon_bytes: u64,
    pub rss_file_bytes: u64,
}

/// What to run.
#[derive(Clone, Debug)]
pub struct CellCommand {
    pub program: PathBuf,
    pub args: Vec<OsString>,
    pub env: Vec<(OsString, OsString)>,
    pub timeout: Duration,
    pub sample_interval: Duration,
}

impl CellCommand {
    /// A command with a 10-minute timeout and 10 ms sampling.
    pub fn new(program: impl Into<PathBuf>) -> Self {
        CellCommand {
            program: program.into(),
            args: Vec::new(),
            env: Vec::new(),
            timeout: Duration::from_secs(600),
            sample_interval: Duration::from_millis(10),
        }
    }
    /// Adds arguments.
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }
    /// Sets the timeout.
    pub fn timeout(mut self, t: Duration) -> Self {
        self.timeout = t;
        self
    }
}

/// What the parent measured, plus the runner's JSON record if it printed one.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Measured {
    pub status: Status,
    pub exit_code: Option<i32>,
    pub signal: Option<String>,
    /// Last lines of stderr (for error / crash / oom).
    pub stderr_tail: String,
    /// The runner's record (its last JSON stdout line), if it printed one.
    pub runner: Option<RunnerRecord>,
    /// Kernel high-water mark of resident memory for this child alone (`wait4` ru_maxrss).
    pub peak_rss_bytes: u64,
    /// Highest sampled anonymous RSS (heap, stacks — not file-backed mmaps).
    pub peak_rss_anon_bytes: u64,
    /// Highest sampled file-backed RSS (memory-mapped input).
    pub peak_rss_file_bytes: u64,
    pub user_ns: u64,
    pub sys_ns: u64,
    pub wall_ns: u64,
    pub timeline: Vec<Sample>,
}

fn status_field(text: &str, key: &str) -> Option<u64> {
    text.lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l[key.len()..].split_whitespace().next())
        .and_then(|v| v.parse::<u64>().ok())
        .map(|kib| kib * 1024)
}

/// Reads `VmRSS`, `RssAnon`, `RssFile` of a process.
pub fn read_proc_status(pid: u32) -> Option<(u64, u64, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    Some((
        status_field(&text, "VmRSS:")?,
        status_field(&text, "RssAnon:").unwrap_or(0),
        status_field(&text, "RssFile:").unwrap_or(0),
    ))
}

/// A signal's name.
pub fn signal_name(sig: i32) -> String {
    match sig {
        libc::SIGABRT => "SIGABRT".into(),
        libc::SIGKILL => "SIGKILL".into(),
        libc::SIGSEGV => "SIGSEGV".into(),
        libc::SIGBUS => "SIGBUS".into(),
        libc::SIGTERM => "SIGTERM".into(),
        libc::SIGINT => "SIGINT".into(),
        libc::SIGILL => "SIGILL".into(),
        libc::SIGFPE => "SIGFPE".into(),
        other => format!("signal {other}"),
    }
}

fn tail(s: &str, lines: usize) -> String {
    let v: Vec<&str> = s.lines().collect();
    v[v.len().saturating_sub(lines)..].join("\n")
}

fn failed(status: Status, msg: String) -> Measured {
    Measured {
        status,
        exit_code: None,
        signal: None,
        stderr_tail: msg,
        runner: None,
        peak_rss_bytes: 0,
        peak_rss_anon_bytes: 0,
        peak_rss_file_bytes: 0,
        user_ns: 0,
        sys_ns: 0,
        wall_ns: 0,
        timeline: Vec::new(),
    }
}

impl Measured {
    /// A cell that did not run because something it needs is missing (`reason` says what).
    pub fn skipped(reason: &str) -> Measured {
        failed(Status::Skipped, reason.to_string())
    }
}

/// Runs one cell to its end. Never panics on the child's behaviour: a child that cannot even be
/// started is status `error` with the reason in `stderr_tail`.
pub fn run_cell(cmd: &CellCommand) -> Measured {
    let mut command = Command::new(&cmd.program);
    command
        .args(&cmd.args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in &cmd.env {
        command.env(k, v);
    }
    // SAFETY: prctl is async-signal-safe. The child dies with its parent (a killed driver
    // leaves no runner behind); the check closes the race of a parent that died before it.
    unsafe {
        let parent = libc::getpid();
        command.pre_exec(move || {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            if libc::getppid() != parent {
                libc::_exit(1);
            }
            Ok(())
        });
    }
    let start = Instant::now();
    let mut child = match command.spawn() {
        Ok(c) => c,
        Err(e) => {
            return failed(
                Status::Error,
                format!("cannot start {}: {e}", cmd.program.display()),
            );
        }
    };
    let pid = child.id();
    // Drain the pipes on their own threads so a chatty child never blocks.
    let mut out_pipe = child.stdout.take().expect("piped");
    let mut err_pipe = child.stderr.take().expect("piped");
    let out_thread = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = out_pipe.read_to_end(&mut s);
        s
    });
    let err_thread = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = err_pipe.read_to_end(&mut s);
        s
    });

    let mut timeline = Vec::new();
    let mut timed_out = false;
    let mut wstatus: libc::c_int = 0;
    // SAFETY: zeroed rusage is a valid value for wait4 to fill.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: pid is our child; pointers are valid for the call.
        let r = unsafe { libc::wait4(pid as libc::pid_t, &mut wstatus, libc::WNOHANG, &mut usage) };
        if r == pid as libc::pid_t {
            break;
        }
        if r < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return failed(Status::Error, format!("wait4 failed: {e}"));
        }
        if let Some((rss, anon, file)) = read_proc_status(pid) {
            timeline.push(Sample {
                t_ns: start.elapsed().as_nanos() as u64,
                rss_bytes: rss,
                rss_anon_bytes: anon,
                rss_file_bytes: file,
            });
        }
        if !timed_out && start.elapsed() > cmd.timeout {
            timed_out = true;
            // SAFETY: signalling our own child.
            unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
        }
        std::thread::sleep(cmd.sample_interval);
    }
    let wall_ns = start.elapsed().as_nanos() as u64;
    let stdout = String::from_utf8_lossy(&out_thread.join().unwrap_or_default()).into_owned();
    let stderr = String::from_utf8_lossy(&err_thread.join().unwrap_or_default()).into_owned();
    let runner = RunnerRecord::from_stdout(&stdout);
    let tv_ns = |tv: libc::timeval| tv.tv_sec as u64 * 1_000_000_000 + tv.tv_usec as u64 * 1000;

    let (exit_code, signal) = if libc::WIFEXITED(wstatus) {
        (Some(libc::WEXITSTATUS(wstatus)), None)
    } else if libc::WIFSIGNALED(wstatus) {
        (None, Some(libc::WTERMSIG(wstatus)))
    } else {
        (None, None)
    };
    let alloc_failed =
        stderr.contains(OOM_MESSAGE_PREFIX) || stderr.contains("memory allocation of");
    let status = if timed_out {
        Status::Timeout
    } else if exit_code == Some(OOM_EXIT_CODE) || alloc_failed {
        Status::Oom
    } else if signal.is_some() {
        Status::Crash
    } else if exit_code == Some(0) && runner.is_some() {
        Status::Ok
    } else {
        Status::Error
    };
    Measured {
        status,
        exit_code,
        signal: signal.map(signal_name),
        stderr_tail: tail(&stderr, 20),
        runner,
        peak_rss_bytes: usage.ru_maxrss as u64 * 1024,
        peak_rss_anon_bytes: timeline.iter().map(|s| s.rss_anon_bytes).max().unwrap_or(0),
        peak_rss_file_bytes: timeline.iter().map(|s| s.rss_file_bytes).max().unwrap_or(0),
        user_ns: tv_ns(usage.ru_utime),
        sys_ns: tv_ns(usage.ru_stime),
        wall_ns,
        timeline,
    }
}
