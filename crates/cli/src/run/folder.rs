//! The run folder: a new one, an empty `--out`, or a run to resume; and the private scratch
//! folder inside it. Nothing that was there before is removed or overwritten.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use super::config::{Destination, RunConfig};

/// The run folder, ready to write into: `--resume DIR` (a run's folder); `--out DIR`, which
/// must not exist yet or be empty (a folder holding a run is refused: resume it explicitly);
/// or a new `reports/local/<timestamp>-<label>`, with `-2`, `-3`… when two runs start in the
/// same second.
pub(crate) fn out_dir(c: &RunConfig, stamp: &str) -> Result<PathBuf> {
    match &c.destination {
        Destination::Resume(d) => {
            if !d.join("results.jsonl").exists() {
                bail!("--resume {}: no results.jsonl there", d.display());
            }
            Ok(d.clone())
        }
        Destination::Out(d) => {
            if d.join("results.jsonl").exists() {
                bail!(
                    "--out {}: a run is already there; continue it with --resume {0}, or choose \
                     another folder",
                    d.display()
                );
            }
            let has_files = std::fs::read_dir(d).is_ok_and(|mut e| e.next().is_some());
            if has_files {
                bail!(
                    "--out {}: the folder is not empty; membench writes a run into a new or \
                     empty folder (nothing of yours is overwritten or removed)",
                    d.display()
                );
            }
            std::fs::create_dir_all(d).with_context(|| format!("creating {}", d.display()))?;
            Ok(d.clone())
        }
        Destination::New => new_run_dir(Path::new("reports/local"), stamp, &c.label),
    }
}

/// A new folder `<parent>/<stamp>-<label>` (`-2`, `-3`… when taken: two runs started in the
/// same second get two folders).
fn new_run_dir(parent: &Path, stamp: &str, label: &str) -> Result<PathBuf> {
    std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    for n in 1.. {
        let name = match n {
            1 => format!("{stamp}-{label}"),
            n => format!("{stamp}-{label}-{n}"),
        };
        let dir = parent.join(name);
        match std::fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e).with_context(|| format!("creating {}", dir.display())),
        }
    }
    unreachable!("some run folder name is free")
}

/// The prefix of a run's private scratch folders (inside the run folder).
const SCRATCH_PREFIX: &str = ".scratch-";

/// A private scratch folder of this run (random name, `0700`), removed when dropped: a folder
/// that was there before is never touched.
pub(crate) fn scratch(out_dir: &Path) -> Result<tempfile::TempDir> {
    membench_safefs::private_dir(out_dir, SCRATCH_PREFIX)
        .context("creating the run's scratch folder")
}

/// Removes the scratch folders a killed run left in its folder (never anything else).
pub(crate) fn remove_stale_scratch(out_dir: &Path) {
    let Ok(entries) = std::fs::read_dir(out_dir) else {
        return;
    };
    for e in entries.flatten() {
        if e.file_name().to_string_lossy().starts_with(SCRATCH_PREFIX)
            && e.file_type().is_ok_and(|t| t.is_dir())
        {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn two_runs_started_in_the_same_second_get_two_folders() {
        let tmp = tempfile::tempdir().unwrap();
        let a = super::new_run_dir(tmp.path(), "2026-12-02T10-00-00", "default").unwrap();
        let b = super::new_run_dir(tmp.path(), "2026-12-02T10-00-00", "default").unwrap();
        assert_ne!(a, b);
        assert!(
            b.ends_with("2026-12-02T10-00-00-default-2"),
            "{}",
            b.display()
        );
    }
}
