//! The settings a run's measurements depend on, written once as `<run>/settings.json`, so that
//! `--resume` continues a run only with the same ones: a resumed run must measure what its first
//! part measured. (What a resume may change — strategies, workloads, sizes, repetitions — adds
//! cells; it does not change how a cell is measured.)

use std::path::Path;

use anyhow::{Context, Result, bail};
use membench_report::record::Record;
use serde::{Deserialize, Serialize};

use membench_protocol::{DateRange, OnBadRow};

use super::config::RunConfig;

/// The file in a run folder.
pub const FILE: &str = "settings.json";

/// What every cell of a run is measured with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    pub threads: usize,
    pub chunk_rows: usize,
    pub on_bad_row: OnBadRow,
    pub memory_limit: Option<String>,
    pub address_space_limit: Option<String>,
    pub max_record_bytes: u64,
    pub timeout_s: u64,
    pub dates: DateRange,
    pub seed: u64,
    pub messy: bool,
    pub shuffle_items: bool,
    pub files: Option<usize>,
    pub db_reuse: bool,
}

impl Settings {
    /// This run's.
    pub fn of(c: &RunConfig) -> Settings {
        Settings {
            threads: c.threads,
            chunk_rows: c.chunk_rows,
            on_bad_row: c.on_bad_row,
            memory_limit: c.budget.as_ref().map(|b| b.text.clone()),
            address_space_limit: c.address_space_limit.as_ref().map(|b| b.text.clone()),
            max_record_bytes: c.max_record_bytes.bytes,
            timeout_s: c.timeout.as_secs(),
            dates: c.dates,
            seed: c.seed,
            messy: c.messy,
            shuffle_items: c.shuffle_items,
            files: c.files,
            db_reuse: c.db_reuse,
        }
    }

    /// Writes `dir/settings.json`.
    pub fn write(&self, dir: &Path) -> Result<()> {
        let path = dir.join(FILE);
        std::fs::write(&path, serde_json::to_string_pretty(self)? + "\n")
            .with_context(|| format!("writing {}", path.display()))
    }

    /// The differences from `before`, as `--flag before → now` phrases.
    fn differences(&self, before: &Settings) -> Vec<String> {
        let mut out = Vec::new();
        let mut diff = |flag: &str, b: String, n: String| {
            if b != n {
                out.push(format!("{flag} {b} → {n}"));
            }
        };
        let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "(none)".into());
        diff(
            "--threads",
            before.threads.to_string(),
            self.threads.to_string(),
        );
        diff(
            "--chunk-rows",
            before.chunk_rows.to_string(),
            self.chunk_rows.to_string(),
        );
        diff(
            "--on-bad-row",
            before.on_bad_row.to_string(),
            self.on_bad_row.to_string(),
        );
        diff(
            "--memory-limit",
            opt(&before.memory_limit),
            opt(&self.memory_limit),
        );
        diff(
            "--address-space-limit",
            opt(&before.address_space_limit),
            opt(&self.address_space_limit),
        );
        diff(
            "--max-record-bytes",
            before.max_record_bytes.to_string(),
            self.max_record_bytes.to_string(),
        );
        diff(
            "--timeout",
            before.timeout_s.to_string(),
            self.timeout_s.to_string(),
        );
        diff("--dates", before.dates.to_string(), self.dates.to_string());
        diff("--seed", before.seed.to_string(), self.seed.to_string());
        diff("--messy", before.messy.to_string(), self.messy.to_string());
        diff(
            "--shuffle-items",
            before.shuffle_items.to_string(),
            self.shuffle_items.to_string(),
        );
        diff(
            "--files",
            before.files.map_or("(none)".into(), |n| n.to_string()),
            self.files.map_or("(none)".into(), |n| n.to_string()),
        );
        diff(
            "--db-reuse",
            before.db_reuse.to_string(),
            self.db_reuse.to_string(),
        );
        out
    }

    /// Refuses to resume `dir` with other settings than it was made with: its
    /// `settings.json`, or (a run from before that file) the settings its records name.
    pub fn check_resume(&self, dir: &Path, records: &[Record]) -> Result<()> {
        let path = dir.join(FILE);
        let differences = if path.exists() {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("reading {}", path.display()))?;
            let before: Settings = serde_json::from_str(&text)
                .with_context(|| format!("parsing {}", path.display()))?;
            self.differences(&before)
        } else {
            let mut seen = Vec::new();
            for r in records.iter().filter(|r| r.status.is_ok()) {
                let before = Settings {
                    threads: r.threads,
                    chunk_rows: r.chunk_rows,
                    on_bad_row: r.on_bad_row,
                    memory_limit: r.memory_limit.clone(),
                    ..self.clone()
                };
                for d in self.differences(&before) {
                    if !seen.contains(&d) {
                        seen.push(d);
                    }
                }
            }
            seen
        };
        if !differences.is_empty() {
            bail!(
                "--resume {}: this run was measured with other settings ({}); a resumed run must \
                 measure the way its first part did: give the same settings, or start a new run",
                dir.display(),
                differences.join(", ")
            );
        }
        Ok(())
    }
}
