//! One cell's process: started (its own process group, the cell's marks, a kernel limit),
//! sampled, timed out, reaped with `wait4`, every process of it killed at its end, and turned
//! into a [`Measured`] whose status comes from its exit code and kernel events.

use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

pub use membench_protocol::{OOM_EXIT_CODE, ProcessRecord, RunnerRecord, Status};

/// What to run.
#[derive(Clone, Debug)]
pub struct CellCommand {
    pub program: PathBuf,
    pub args: Vec<OsString>,
    pub env: Vec<(OsString, OsString)>,
    pub timeout: Duration,
    pub sample_interval: Duration,
    /// What is measured: the child alone, or its whole process tree.
    pub scope: Scope,
    /// A kernel memory limit for the child (cgroup v2 `memory.max` where delegated, else
    /// `RLIMIT_DATA`), for memory the counting allocator does not see.
    pub kernel_limit_bytes: Option<u64>,
    /// Variables removed from the inherited environment (a secret the child must not see).
    pub env_remove: Vec<OsString>,
}

/// Which processes a measurement covers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// The child alone (a runner): its peak RSS is the kernel's `ru_maxrss`.
    #[default]
    Process,
    /// The child and every descendant (an external program): summed RSS and PSS, sampled.
    Tree,
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
            scope: Scope::Process,
            kernel_limit_bytes: None,
            env_remove: Vec::new(),
        }
    }
    /// Measures the whole process tree instead of the child alone.
    pub fn scope(mut self, scope: Scope) -> Self {
        self.scope = scope;
        self
    }
    /// Caps the child's memory through the kernel (see [`limit`]).
    pub fn kernel_limit(mut self, bytes: u64) -> Self {
        self.kernel_limit_bytes = Some(bytes);
        self
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
    /// Sets an environment variable of the child.
    pub fn env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }
    /// Removes a variable from the environment the child inherits.
    pub fn env_remove(mut self, key: impl Into<OsString>) -> Self {
        self.env_remove.push(key.into());
        self
    }
    /// Sets the timeout (it covers the whole cell: every process of it is killed when it
    /// passes).
    pub fn timeout(mut self, t: Duration) -> Self {
        self.timeout = t;
        self
    }
}

/// What the parent measured ([`ProcessRecord`], as records keep it), plus the runner's JSON
/// record if it printed one.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Measured {
    pub status: Status,
    pub process: ProcessRecord,
    /// Last lines of stderr (for error / crash / oom).
    pub stderr_tail: String,
    /// The runner's record (its last JSON stdout line), if it printed one.
    pub runner: Option<RunnerRecord>,
    /// The kernel limit that applied, if one was asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kernel_limit: Option<crate::limit::AppliedLimit>,
    /// The child's standard output, last line (an external program's answer).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub stdout_last_line: String,
    /// An external program that printed no answer: its result cannot be compared, and is
    /// recorded as unchecked rather than wrong.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub answer_unchecked: bool,
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
        process: ProcessRecord::default(),
        stderr_tail: msg,
        runner: None,
        kernel_limit: None,
        stdout_last_line: String::new(),
        answer_unchecked: false,
    }
}

impl Measured {
    /// A cell that did not run because something it needs is missing (`reason` says what).
    pub fn skipped(reason: &str) -> Measured {
        failed(Status::Skipped, reason.to_string())
    }
}

/// Runs one cell to its end. Never panics on the child's behaviour: a child that cannot even be
/// started is status `error` with the reason in `stderr_tail`. The child leads a process group
/// of its own and carries this cell's mark ([`reaper`]); the timeout covers the whole cell, and
/// when the child ends (or times out) every process of the cell still alive — in its group,
/// seen in its tree, or marked, even one that left the group — is killed and counted
/// ([`ProcessRecord::leftover_processes`]).
///
/// `oom` comes only from exit codes and kernel events, never from text the data could contain:
/// the protocol's exit code [`OOM_EXIT_CODE`] (a built-in runner's budget or refused
/// allocation; an external program that follows the convention, as the Python peers do), a
/// cgroup's `oom_kill` event, or a `SIGKILL` the harness did not send while the kernel's
/// `oom_kill` count (`/proc/vmstat`) rose. A failed external program whose stderr ends with its
/// runtime's out-of-memory message ([`oom`]) keeps its status and gets
/// [`ProcessRecord::stderr_says_out_of_memory`], a hint for the reader.
pub fn run_cell(cmd: &CellCommand) -> Measured {
    let limit = cmd.kernel_limit_bytes.map(crate::limit::Prepared::new);
    let kernel_kills_before = kernel_oom_kills();
    let mut m = run_child(cmd, limit.as_ref());
    let mut killed_by_cgroup = false;
    if let Some(l) = limit {
        m.kernel_limit = Some(l.applied.clone());
        killed_by_cgroup = l.finish();
    }
    let killed_by_kernel = m.process.signal.as_deref() == Some("SIGKILL")
        && matches!((kernel_kills_before, kernel_oom_kills()), (Some(a), Some(b)) if b > a);
    if m.status != Status::Timeout && (killed_by_cgroup || killed_by_kernel) {
        m.status = Status::Oom;
    }
    let failed = matches!(m.status, Status::Error | Status::Crash);
    m.process.stderr_says_out_of_memory =
        failed && cmd.scope == Scope::Tree && crate::oom::says_out_of_memory(&m.stderr_tail);
    m
}

/// The kernel's count of processes its OOM killer ended (`oom_kill` in `/proc/vmstat`, Linux
/// 4.13 and later), if readable.
fn kernel_oom_kills() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/vmstat").ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("oom_kill "))
        .and_then(|v| v.trim().parse().ok())
}

fn command_for(cmd: &CellCommand, limit: Option<&crate::limit::Prepared>, cell: &str) -> Command {
    let mut command = Command::new(&cmd.program);
    command
        .args(&cmd.args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for k in &cmd.env_remove {
        command.env_remove(k);
    }
    for (k, v) in &cmd.env {
        command.env(k, v);
    }
    command
        .env(crate::reaper::DRIVER_VAR, crate::reaper::driver_token())
        .env(crate::reaper::CELL_VAR, cell);
    // A process group of its own, so that a timeout reaches the child's children too.
    command.process_group(0);
    let limit = limit.map(crate::limit::Prepared::in_child);
    // SAFETY: prctl, getppid, open/write/close and setrlimit are async-signal-safe, and the
    // limit's paths were formatted before the fork. The child dies with its parent (a killed
    // driver leaves no runner behind); the check closes the race of a parent that died before.
    unsafe {
        let parent = libc::getpid();
        command.pre_exec(move || {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            if libc::getppid() != parent {
                libc::_exit(1);
            }
            if let Some(l) = &limit {
                l.apply()?;
            }
            Ok(())
        });
    }
    command
}

/// Bytes of standard output kept (a runner's record, an external program's answer: its last
/// line).
pub const STDOUT_TAIL_BYTES: usize = 16 << 20;
/// Bytes of standard error kept (its last lines become `stderr_tail`).
pub const STDERR_TAIL_BYTES: usize = 64 << 10;
/// How long the output pipes may stay open after the cell's processes were killed: a process
/// the harness could not find may hold them; reading stops then.
const PIPE_GRACE: Duration = Duration::from_secs(2);

/// What the sampling loop saw.
#[derive(Default)]
struct Watched {
    /// `[t_ns, rss_bytes, rss_anon_bytes, rss_file_bytes]`.
    timeline: Vec<[u64; 4]>,
    peak_pss_bytes: u64,
    max_processes: u32,
    /// A tree's processes by command at its highest sampled RSS, and that RSS.
    peak_processes: Vec<membench_protocol::ProcessShare>,
    peak_tree_rss: u64,
    /// Scratch for a sample's processes by command.
    shares: Vec<membench_protocol::ProcessShare>,
    timed_out: bool,
    /// Every process seen in the tree, with its start time (a pid alone may be reused).
    seen: std::collections::BTreeSet<(u32, u64)>,
}

impl Watched {
    fn sample(&mut self, pid: u32, scope: Scope, t_ns: u64) {
        let s = match scope {
            Scope::Process => {
                read_proc_status(pid).map(|(rss, anon, file)| crate::tree::TreeSample {
                    rss_bytes: rss,
                    rss_anon_bytes: anon,
                    rss_file_bytes: file,
                    ..Default::default()
                })
            }
            Scope::Tree => {
                let pids = crate::tree::descendants(pid);
                for &p in &pids[1..] {
                    if let Some(t) = crate::reaper::start_time(p) {
                        self.seen.insert((p, t));
                    }
                }
                let s = crate::tree::sample_by_command(&pids, &mut self.shares);
                if let Some(s) = s
                    && s.rss_bytes > self.peak_tree_rss
                {
                    self.peak_tree_rss = s.rss_bytes;
                    std::mem::swap(&mut self.peak_processes, &mut self.shares);
                }
                s
            }
        };
        if let Some(s) = s {
            self.peak_pss_bytes = self.peak_pss_bytes.max(s.pss_bytes);
            self.max_processes = self.max_processes.max(s.processes);
            self.timeline
                .push([t_ns, s.rss_bytes, s.rss_anon_bytes, s.rss_file_bytes]);
        }
    }
}

fn kill_group(pid: u32) {
    // SAFETY: signalling the process group our child leads.
    unsafe { libc::kill(-(pid as libc::pid_t), libc::SIGKILL) };
}

/// Kills what is left of a cell whose first process `pid` has ended (or is being killed): its
/// group, the processes seen in its tree (the same pid and start time), and every process with
/// its mark. Returns how many processes were still alive outside the group.
fn kill_cell(pid: u32, cell: &str, w: &Watched) -> u32 {
    kill_group(pid);
    let mut left = 0;
    for &(p, t) in &w.seen {
        if crate::reaper::start_time(p) == Some(t) && !crate::reaper::is_zombie(p) {
            // SAFETY: signalling a process of this cell, recognised by pid and start time.
            unsafe { libc::kill(p as libc::pid_t, libc::SIGKILL) };
            left += 1;
        }
    }
    left.max(crate::reaper::kill_marked(crate::reaper::CELL_VAR, cell))
}

/// A child's pidfd: readable once the child has ended.
struct ExitWatch(Option<std::os::fd::OwnedFd>);

impl ExitWatch {
    fn open(pid: u32) -> ExitWatch {
        use std::os::fd::FromRawFd;
        // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor or -1.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) };
        // SAFETY: a descriptor the call just returned, owned by nothing else.
        ExitWatch((fd >= 0).then(|| unsafe { std::os::fd::OwnedFd::from_raw_fd(fd as i32) }))
    }

    /// Returns after `interval`, or as soon as the child ends.
    fn wait(&self, interval: Duration) {
        use std::os::fd::AsRawFd;
        let Some(fd) = &self.0 else {
            std::thread::sleep(interval);
            return;
        };
        let mut p = libc::pollfd {
            fd: fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd; an interrupted or failed poll only ends the wait early.
        unsafe { libc::poll(&mut p, 1, interval.as_millis().max(1) as libc::c_int) };
    }
}

fn run_child(cmd: &CellCommand, limit: Option<&crate::limit::Prepared>) -> Measured {
    let start = Instant::now();
    let cell = crate::reaper::new_cell_token();
    let mut child = match command_for(cmd, limit, &cell).spawn() {
        Ok(c) => c,
        Err(e) => {
            return failed(
                Status::Error,
                format!("cannot start {}: {e}", cmd.program.display()),
            );
        }
    };
    let pid = child.id();
    let out = crate::output::Reader::start(child.stdout.take().expect("piped"), STDOUT_TAIL_BYTES);
    let err = crate::output::Reader::start(child.stderr.take().expect("piped"), STDERR_TAIL_BYTES);

    let mut w = Watched::default();
    // Between two samples, wait on the child's pidfd rather than sleep: its end wakes the loop
    // at once, so an external program's wall time is not rounded up to the sample interval
    // (it was, to 10 ms). Without pidfds (Linux before 5.3) the loop sleeps as before.
    let exited = ExitWatch::open(pid);
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
            kill_cell(pid, &cell, &w);
            return failed(Status::Error, format!("wait4 failed: {e}"));
        }
        w.sample(pid, cmd.scope, start.elapsed().as_nanos() as u64);
        if !w.timed_out && start.elapsed() > cmd.timeout {
            w.timed_out = true;
            kill_cell(pid, &cell, &w);
        }
        exited.wait(cmd.sample_interval);
    }
    let wall_ns = start.elapsed().as_nanos() as u64;
    // Whatever the child left running ends with it (and then the pipes close).
    let leftover = kill_cell(pid, &cell, &w);
    let (stdout, out_ended) = out.finish(PIPE_GRACE);
    let (mut stderr, err_ended) = err.finish(PIPE_GRACE);
    if !(out_ended && err_ended) {
        stderr.push_str(
            "\nmembench: the output pipes were still held open by a process of the cell that \
             could not be found (it left the process group and cleared its environment); \
             reading stopped",
        );
    }
    let mut m = measured(cmd.scope, w, wstatus, &usage, wall_ns, &stdout, &stderr);
    m.process.leftover_processes = leftover;
    m
}

fn measured(
    scope: Scope,
    w: Watched,
    wstatus: libc::c_int,
    usage: &libc::rusage,
    wall_ns: u64,
    stdout: &str,
    stderr: &str,
) -> Measured {
    let runner = RunnerRecord::from_stdout(stdout);
    let tv_ns = |tv: libc::timeval| tv.tv_sec as u64 * 1_000_000_000 + tv.tv_usec as u64 * 1000;
    let (exit_code, signal) = if libc::WIFEXITED(wstatus) {
        (Some(libc::WEXITSTATUS(wstatus)), None)
    } else if libc::WIFSIGNALED(wstatus) {
        (None, Some(libc::WTERMSIG(wstatus)))
    } else {
        (None, None)
    };
    // Our runners say "out of memory" with the protocol's exit code (the heap budget, or an
    // allocation the kernel refused); an external program may follow the same convention.
    let status = if w.timed_out {
        Status::Timeout
    } else if exit_code == Some(OOM_EXIT_CODE) {
        Status::Oom
    } else if signal.is_some() {
        Status::Crash
    } else if exit_code == Some(0) && (runner.is_some() || scope == Scope::Tree) {
        Status::Ok
    } else {
        Status::Error
    };
    let peak = |i: usize| w.timeline.iter().map(|s| s[i]).max().unwrap_or(0);
    let peak_rss_bytes = match scope {
        Scope::Process => usage.ru_maxrss as u64 * 1024,
        // The kernel's mark covers the child alone; the tree's is the sampled sum.
        Scope::Tree => peak(1).max(usage.ru_maxrss as u64 * 1024),
    };
    let tree = scope == Scope::Tree;
    Measured {
        status,
        process: ProcessRecord {
            exit_code,
            signal: signal.map(signal_name),
            peak_rss_bytes,
            peak_rss_anon_bytes: peak(2),
            peak_rss_file_bytes: peak(3),
            process_wall_ns: wall_ns,
            user_ns: tv_ns(usage.ru_utime),
            sys_ns: tv_ns(usage.ru_stime),
            peak_pss_bytes: tree.then_some(w.peak_pss_bytes),
            max_processes: tree.then_some(w.max_processes),
            peak_processes: w.peak_processes,
            timeline: w.timeline,
            leftover_processes: 0,
            stderr_says_out_of_memory: false,
        },
        stderr_tail: tail(stderr, 20),
        runner,
        kernel_limit: None,
        stdout_last_line: match scope {
            Scope::Tree => stdout.lines().last().unwrap_or("").to_string(),
            Scope::Process => String::new(),
        },
        answer_unchecked: false,
    }
}
