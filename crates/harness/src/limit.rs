//! Kernel memory limits for a child: the budget the counting allocator cannot enforce (a
//! system-allocator run, an engine's own allocator, an external program).
//!
//! A cgroup v2 `memory.max` is preferred where the machine delegates one (it caps what is
//! resident, page cache included, and its `memory.events` says when the kernel killed for it);
//! otherwise `RLIMIT_DATA` (private writable mappings: heap, anonymous `mmap`, thread stacks —
//! a cap on reserved, not resident, memory). Which one applied is part of the measurement.
//!
//! This module must not allocate between `fork` and `exec`: [`Prepared`] formats every path
//! before the fork, and [`InChild::apply`] makes raw system calls only.

use std::ffi::CString;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

/// Which kernel mechanism enforced a child's memory budget.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum LimitKind {
    /// A cgroup v2 `memory.max` on a cgroup of the child's own (swap off).
    #[serde(rename = "cgroup-v2 memory.max")]
    CgroupV2,
    /// `setrlimit(RLIMIT_DATA)` in the child before `exec`.
    #[serde(rename = "RLIMIT_DATA")]
    RlimitData,
}

impl LimitKind {
    /// The name written into records and reports.
    pub fn name(self) -> &'static str {
        match self {
            LimitKind::CgroupV2 => "cgroup-v2 memory.max",
            LimitKind::RlimitData => "RLIMIT_DATA",
        }
    }
}

/// The limit that applied to a child, as recorded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppliedLimit {
    pub kind: LimitKind,
    pub bytes: u64,
    /// Why cgroup v2 was not used, when it was not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback_reason: Option<String>,
}

/// A limit ready to apply in a forked child, and to read back and clean up afterwards.
#[derive(Debug)]
pub struct Prepared {
    pub applied: AppliedLimit,
    /// The child's own cgroup folder (cgroup v2 only), and its `cgroup.procs` path.
    cgroup: Option<(PathBuf, CString)>,
}

/// The cgroup v2 folder of this process, from `/proc/self/cgroup`'s `0::<path>` line, when
/// `/sys/fs/cgroup` is the unified hierarchy.
pub fn own_cgroup_v2() -> Result<PathBuf, String> {
    let root = Path::new("/sys/fs/cgroup");
    if !root.join("cgroup.controllers").exists() {
        return Err("no cgroup v2 hierarchy at /sys/fs/cgroup (cgroup v1 or none)".into());
    }
    let text = std::fs::read_to_string("/proc/self/cgroup").map_err(|e| e.to_string())?;
    let rel = parse_unified_path(&text).ok_or("/proc/self/cgroup has no 0:: line")?;
    Ok(root.join(rel.trim_start_matches('/')))
}

/// The path of the `0::` (unified) line of a `/proc/<pid>/cgroup` text.
pub fn parse_unified_path(text: &str) -> Option<&str> {
    text.lines().find_map(|l| l.strip_prefix("0::"))
}

/// The `oom_kill` count of a `memory.events` text.
pub fn parse_oom_kills(text: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix("oom_kill "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

/// A delegated parent for per-cell cgroups: `MEMBENCH_CGROUP` if set, else this process's own
/// cgroup when its `cgroup.subtree_control` already enables `memory` for children.
fn delegated_parent() -> Result<PathBuf, String> {
    if let Some(dir) = std::env::var_os("MEMBENCH_CGROUP") {
        return Ok(PathBuf::from(dir));
    }
    let own = own_cgroup_v2()?;
    let control = std::fs::read_to_string(own.join("cgroup.subtree_control"))
        .map_err(|e| format!("{}: {e}", own.join("cgroup.subtree_control").display()))?;
    if control.split_whitespace().any(|c| c == "memory") {
        Ok(own)
    } else {
        Err(format!(
            "{} does not delegate the memory controller",
            own.display()
        ))
    }
}

fn make_cgroup(bytes: u64) -> Result<(PathBuf, CString), String> {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let parent = delegated_parent()?;
    let dir = parent.join(format!(
        "membench-{}-{}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let set = |file: &str, value: &str| {
        std::fs::write(dir.join(file), value)
            .map_err(|e| format!("writing {}: {e}", dir.join(file).display()))
    };
    let result = set("memory.max", &bytes.to_string()).and_then(|_| {
        // No swap: over the budget means killed, not slowed down (absent without swap).
        let _ = set("memory.swap.max", "0");
        let procs = dir.join("cgroup.procs");
        CString::new(procs.as_os_str().as_encoded_bytes()).map_err(|e| e.to_string())
    });
    match result {
        Ok(procs) => Ok((dir, procs)),
        Err(e) => {
            let _ = std::fs::remove_dir(&dir);
            Err(e)
        }
    }
}

impl Prepared {
    /// Chooses the mechanism for a `bytes` budget: a cgroup v2 of the child's own where one is
    /// delegated, `RLIMIT_DATA` otherwise (with the reason).
    pub fn new(bytes: u64) -> Prepared {
        match make_cgroup(bytes) {
            Ok(cg) => Prepared {
                applied: AppliedLimit {
                    kind: LimitKind::CgroupV2,
                    bytes,
                    fallback_reason: None,
                },
                cgroup: Some(cg),
            },
            Err(reason) => Prepared {
                applied: AppliedLimit {
                    kind: LimitKind::RlimitData,
                    bytes,
                    fallback_reason: Some(reason),
                },
                cgroup: None,
            },
        }
    }

    /// What the forked child does before `exec` to put itself under the limit.
    pub fn in_child(&self) -> InChild {
        match &self.cgroup {
            Some((_, procs)) => InChild::JoinCgroup(procs.clone()),
            None => InChild::RlimitData(self.applied.bytes),
        }
    }

    /// After the child ended: whether the cgroup's OOM killer fired (always false for
    /// `RLIMIT_DATA`, whose failures show as failed allocations), then the cgroup is removed.
    pub fn finish(self) -> bool {
        let Some((dir, _)) = self.cgroup else {
            return false;
        };
        let kills = std::fs::read_to_string(dir.join("memory.events"))
            .map(|t| parse_oom_kills(&t))
            .unwrap_or(0);
        let _ = std::fs::remove_dir(&dir);
        kills > 0
    }
}

/// The child's half of a [`Prepared`] limit: owned, made before the fork.
#[derive(Clone, Debug)]
pub enum InChild {
    /// Write "0" (the writing process) into this `cgroup.procs`.
    JoinCgroup(CString),
    /// `setrlimit(RLIMIT_DATA)` to this many bytes.
    RlimitData(u64),
}

impl InChild {
    /// In the forked child, before `exec`: raw system calls only (async-signal-safe).
    pub fn apply(&self) -> std::io::Result<()> {
        match self {
            InChild::JoinCgroup(procs) => {
                // SAFETY: open/write/close on a path formatted before the fork; "0" moves the
                // writing process itself.
                unsafe {
                    let fd = libc::open(procs.as_ptr(), libc::O_WRONLY);
                    if fd < 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    let n = libc::write(fd, b"0".as_ptr().cast(), 1);
                    libc::close(fd);
                    if n != 1 {
                        return Err(std::io::Error::last_os_error());
                    }
                }
            }
            InChild::RlimitData(bytes) => {
                let lim = libc::rlimit {
                    rlim_cur: *bytes as libc::rlim_t,
                    rlim_max: *bytes as libc::rlim_t,
                };
                // SAFETY: setrlimit with a valid struct.
                if unsafe { libc::setrlimit(libc::RLIMIT_DATA, &lim) } != 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_unified_line_and_the_oom_kill_count_are_read() {
        let cg = "12:memory:/user.slice\n0::/user.slice/user-1000.slice/session-2.scope\n";
        assert_eq!(
            parse_unified_path(cg),
            Some("/user.slice/user-1000.slice/session-2.scope")
        );
        assert_eq!(parse_unified_path("4:cpu:/\n"), None);
        let events = "low 0\nhigh 0\nmax 12\noom 1\noom_kill 1\noom_group_kill 0\n";
        assert_eq!(parse_oom_kills(events), 1);
        assert_eq!(parse_oom_kills("low 0\n"), 0);
    }

    #[test]
    fn without_a_delegated_cgroup_the_limit_is_rlimit_data_with_the_reason() {
        // Either mechanism is valid here: the cgroup where one is delegated (then removed),
        // RLIMIT_DATA with the reason otherwise (this machine: cgroup v1 only).
        let p = Prepared::new(64 << 20);
        match p.applied.kind {
            LimitKind::RlimitData => assert!(p.applied.fallback_reason.is_some()),
            LimitKind::CgroupV2 => assert!(p.applied.fallback_reason.is_none()),
        }
        assert!(!p.finish());
    }
}
