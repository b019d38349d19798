//! Every process a cell starts ends with the cell, and every process any cell started ends with
//! the driver — however the driver ends, `SIGKILL` included.
//!
//! A process group is not enough: a program can leave it (`setsid`), and its orphans are
//! re-parented away from the tree. So every cell's first process gets two marks in its
//! environment, which every descendant inherits whatever group or session it moves to:
//! `MEMBENCH_CELL=<token>` (this cell) and `MEMBENCH_DRIVER=<token>` (this driver process).
//! When the cell's first process has ended, [`kill_marked`] finds the cell's leftovers by the
//! first mark and kills them. A watchdog (`sh`, in a session of its own, started on the first
//! cell) holds a pipe only the driver writes to; when the kernel closes it — the driver ended in
//! any way — it kills every process with the driver's mark.
//!
//! What this cannot find: a process that both clears its environment and leaves the process
//! group before the sampler saw it (the harness also kills the pids it saw in the tree).

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::process::{ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

/// The environment variable that marks a cell's processes.
pub const CELL_VAR: &str = "MEMBENCH_CELL";
/// The environment variable that marks every process of this driver's cells.
pub const DRIVER_VAR: &str = "MEMBENCH_DRIVER";

/// 16 random bytes as hex (from the kernel), or the pid and the time when that fails.
pub fn random_token() -> String {
    let mut bytes = [0u8; 16];
    let read = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut bytes));
    if read.is_err() {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        return format!("{}-{t}", std::process::id());
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The kills the watchdog makes when the driver is gone: three passes (a process may fork while
/// the first pass runs), each over every process whose environment holds the mark.
const WATCHDOG: &str = r#"
mark="$1"
cat >/dev/null
for pass in 1 2 3; do
  for d in /proc/[0-9]*; do
    grep -qzxF "$mark" "$d/environ" 2>/dev/null && kill -9 "${d#/proc/}" 2>/dev/null
  done
done
"#;

struct Driver {
    token: String,
    /// The watchdog's pipe: never written, closed by the kernel when this process ends.
    _watchdog: Option<ChildStdin>,
}

static DRIVER: OnceLock<Driver> = OnceLock::new();

fn driver() -> &'static Driver {
    DRIVER.get_or_init(|| {
        let token = random_token();
        let mut watchdog = Command::new("sh");
        watchdog
            .arg("-c")
            .arg(WATCHDOG)
            .arg("membench-watchdog")
            .arg(format!("{DRIVER_VAR}={token}"))
            .env_remove(DRIVER_VAR)
            .env_remove(CELL_VAR)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        // SAFETY: setsid is async-signal-safe. A session of its own: the terminal's Ctrl-C
        // reaches the driver, not the watchdog that must outlive it.
        unsafe {
            watchdog.pre_exec(|| {
                libc::setsid();
                Ok(())
            });
        }
        let stdin = watchdog.spawn().ok().and_then(|mut c| c.stdin.take());
        Driver {
            token,
            _watchdog: stdin,
        }
    })
}

/// This driver's mark (`MEMBENCH_DRIVER`'s value); starts the watchdog on first use.
pub fn driver_token() -> &'static str {
    &driver().token
}

/// A new cell's mark (`MEMBENCH_CELL`'s value).
pub fn new_cell_token() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "{}-{}",
        driver_token(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// Pids of the processes (this one excepted) whose environment holds `var=value`.
pub fn marked(var: &str, value: &str) -> Vec<u32> {
    let entry = format!("{var}={value}");
    let me = std::process::id();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| pid != me)
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/environ"))
                .is_ok_and(|env| env.split(|&b| b == 0).any(|v| v == entry.as_bytes()))
        })
        .collect()
}

/// Kills (`SIGKILL`) every process whose environment holds `var=value`, in passes until a pass
/// finds none (at most five: a process may fork while it runs); returns how many it killed.
pub fn kill_marked(var: &str, value: &str) -> u32 {
    let mut killed = std::collections::BTreeSet::new();
    for _ in 0..5 {
        let found: Vec<u32> = marked(var, value)
            .into_iter()
            .filter(|pid| !is_zombie(*pid))
            .collect();
        if found.is_empty() {
            break;
        }
        for pid in found {
            // SAFETY: signalling a process by pid.
            unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
            killed.insert(pid);
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    killed.len() as u32
}

/// A process's start time (clock ticks after boot, field 22 of `/proc/<pid>/stat`): with the
/// pid, it names one process even after the pid is reused.
pub fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// Whether `pid` is gone or a zombie (ended, not yet reaped).
pub fn is_zombie(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rfind(')')
            .and_then(|i| stat[i + 1..].split_whitespace().next())
            .is_none_or(|s| s == "Z" || s == "X"),
        Err(_) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_marked_process_is_found_and_killed_and_an_unmarked_one_is_not() {
        let token = new_cell_token();
        let mut marked_child = Command::new("sleep")
            .arg("60")
            .env(CELL_VAR, &token)
            .spawn()
            .unwrap();
        let mut other = Command::new("sleep").arg("60").spawn().unwrap();
        // `spawn` returns once the child has begun its exec, a moment before the kernel sets
        // up its new environment (until then `/proc/<pid>/environ` reads empty): wait for it.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while marked(CELL_VAR, &token).is_empty() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        assert_eq!(marked(CELL_VAR, &token), vec![marked_child.id()]);
        assert_eq!(kill_marked(CELL_VAR, &token), 1);
        let _ = marked_child.wait();
        assert!(marked(CELL_VAR, &token).is_empty());
        assert!(!is_zombie(other.id()), "an unmarked process was killed");
        other.kill().unwrap();
        let _ = other.wait();
    }

    #[test]
    fn start_times_tell_processes_apart() {
        let me = std::process::id();
        assert!(start_time(me).is_some());
        assert_eq!(start_time(me), start_time(me));
        assert_eq!(start_time(u32::MAX), None);
    }
}
