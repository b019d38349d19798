//! The memory of a process *tree*: a child and every process descended from it, found through
//! `/proc/<pid>/stat`'s parent field and summed — resident (anonymous and file-backed, from
//! `/proc/<pid>/status`) and proportional (`Pss` of `/proc/<pid>/smaps_rollup`, which splits
//! pages shared between the processes instead of counting them once per process).
//!
//! For external programs (a Python script, a Dask cluster) whose workers are child processes;
//! a runner is a single process and is measured alone.

use std::collections::HashMap;

use membench_protocol::ProcessShare;

/// One sample of a tree, summed over its live processes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TreeSample {
    pub rss_bytes: u64,
    pub rss_anon_bytes: u64,
    pub rss_file_bytes: u64,
    pub pss_bytes: u64,
    pub processes: u32,
}

/// The parent pid field of a `/proc/<pid>/stat` text (after the command name, which may hold
/// spaces and parentheses).
pub fn parse_ppid(stat: &str) -> Option<u32> {
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(1)?.parse().ok()
}

/// `root` and every live process descended from it.
pub fn descendants(root: u32) -> Vec<u32> {
    let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for e in dir.flatten() {
            let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
                continue;
            };
            if let Some(ppid) = std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|s| parse_ppid(&s))
            {
                children.entry(ppid).or_default().push(pid);
            }
        }
    }
    let mut out = vec![root];
    let mut i = 0;
    while i < out.len() {
        if let Some(c) = children.get(&out[i]) {
            out.extend(c);
        }
        i += 1;
    }
    out
}

fn pss(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup"))
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("Pss:"))
                .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        })
        .map_or(0, |kib| kib * 1024)
}

/// Sums the tree under `root` now; `None` once `root` itself is gone.
pub fn sample(root: u32) -> Option<TreeSample> {
    sample_of(&descendants(root))
}

/// Sums the processes `pids` (a tree, its root first); `None` once the root is gone.
pub fn sample_of(pids: &[u32]) -> Option<TreeSample> {
    sample_with(pids, None)
}

/// [`sample_of`], and the same processes by command into `shares` (cleared first; processes of
/// one command summed, largest RSS first).
pub fn sample_by_command(pids: &[u32], shares: &mut Vec<ProcessShare>) -> Option<TreeSample> {
    shares.clear();
    let s = sample_with(pids, Some(shares));
    shares.sort_by(|a, b| {
        b.rss_bytes
            .cmp(&a.rss_bytes)
            .then(a.command.cmp(&b.command))
    });
    s
}

fn sample_with(pids: &[u32], mut shares: Option<&mut Vec<ProcessShare>>) -> Option<TreeSample> {
    let root = *pids.first()?;
    let mut s = TreeSample::default();
    for &pid in pids {
        let Some((rss, anon, file)) = crate::read_proc_status(pid) else {
            if pid == root {
                return None;
            }
            continue;
        };
        s.rss_bytes += rss;
        s.rss_anon_bytes += anon;
        s.rss_file_bytes += file;
        s.pss_bytes += pss(pid);
        s.processes += 1;
        if let Some(shares) = shares.as_deref_mut() {
            let command = std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .map(|c| c.trim_end_matches('\n').to_string())
                .unwrap_or_else(|_| format!("pid {pid}"));
            let share = match shares.iter_mut().find(|x| x.command == command) {
                Some(x) => x,
                None => {
                    shares.push(ProcessShare {
                        command,
                        ..Default::default()
                    });
                    shares.last_mut().expect("just pushed")
                }
            };
            share.processes += 1;
            share.rss_bytes += rss;
            share.rss_anon_bytes += anon;
        }
    }
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_parent_pid_is_read_after_a_command_name_with_spaces_and_parentheses() {
        assert_eq!(parse_ppid("42 (python3) S 7 42 42 0 -1"), Some(7));
        assert_eq!(parse_ppid("43 (a (b) c) R 9 43 43 0"), Some(9));
        assert_eq!(parse_ppid("garbage"), None);
    }

    #[test]
    fn this_process_is_in_its_own_tree() {
        let me = std::process::id();
        assert_eq!(descendants(me)[0], me);
        let s = sample(me).unwrap();
        assert!(
            s.processes >= 1 && s.rss_bytes > 0 && s.pss_bytes > 0,
            "{s:?}"
        );
        // By command: this test binary's own name, its RSS within the tree's.
        let mut shares = Vec::new();
        let t = sample_by_command(&descendants(me), &mut shares).unwrap();
        let comm = std::fs::read_to_string("/proc/self/comm").unwrap();
        let mine = shares
            .iter()
            .find(|x| x.command == comm.trim_end())
            .unwrap_or_else(|| panic!("{comm:?} not in {shares:?}"));
        assert!(mine.processes >= 1 && mine.rss_bytes > 0 && mine.rss_bytes <= t.rss_bytes);
        assert_eq!(shares.iter().map(|x| x.rss_bytes).sum::<u64>(), t.rss_bytes);
    }
}
