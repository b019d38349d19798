//! The ledger: `results.jsonl`, appended one flushed record at a time, and what a resumed run
//! has already done (repetitions per cell and allocator), so `--resume` neither loses nor
//! doubles a repetition.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};
use membench_protocol::{Allocator, InputFormat, Workload};
use membench_report::record::{Record, read_records};

use super::cell::Cell;

/// Identity of a repetition series: the cell and the runner's allocator.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SeriesKey {
    pub strategy: String,
    pub workload: Workload,
    pub format: InputFormat,
    pub dataset: String,
    pub allocator: Allocator,
}

impl SeriesKey {
    /// The series of `cell` under `allocator`.
    pub fn of(cell: &Cell, allocator: Allocator) -> SeriesKey {
        SeriesKey {
            strategy: cell.strategy.clone(),
            workload: cell.workload.clone(),
            format: cell.dataset.format,
            dataset: cell.dataset.path.display().to_string(),
            allocator,
        }
    }

    fn of_record(r: &Record) -> SeriesKey {
        SeriesKey {
            strategy: r.strategy.clone(),
            workload: r.workload.clone(),
            format: r.format,
            dataset: r.dataset.clone(),
            allocator: r.allocator,
        }
    }
}

/// What has been recorded so far.
#[derive(Debug, Default)]
pub struct Ledger {
    done: HashMap<SeriesKey, Vec<Record>>,
    /// The run id of the records already there (kept on resume).
    pub run_id: Option<String>,
}

impl Ledger {
    /// A ledger of existing records.
    pub fn from_records(records: Vec<Record>) -> Ledger {
        let mut l = Ledger {
            run_id: records.first().map(|r| r.run_id.clone()),
            ..Ledger::default()
        };
        for r in records {
            l.add(r);
        }
        l
    }

    /// Notes a record.
    pub fn add(&mut self, r: Record) {
        self.done
            .entry(SeriesKey::of_record(&r))
            .or_default()
            .push(r);
    }

    /// Repetitions of the series already recorded.
    pub fn count(&self, key: &SeriesKey) -> u32 {
        self.done.get(key).map_or(0, |v| v.len() as u32)
    }

    /// Whether every recorded repetition of the series ended ok.
    pub fn all_ok(&self, key: &SeriesKey) -> bool {
        self.done
            .get(key)
            .is_none_or(|v| v.iter().all(|r| r.status.is_ok()))
    }
}

/// Where records go.
pub trait Sink {
    /// Persists one record (durably, before the next cell runs).
    fn append(&mut self, r: &Record) -> Result<()>;
}

/// `results.jsonl`, appended record by record, each on disk (`fdatasync`) before the next cell
/// runs.
pub struct JsonlSink {
    file: File,
}

impl JsonlSink {
    /// Opens (creating) the file for appending, after dropping a torn last line a killed run
    /// may have left.
    pub fn open(path: &Path) -> Result<JsonlSink> {
        repair(path)?;
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| format!("opening {}", path.display()))?;
        Ok(JsonlSink { file })
    }
}

impl Sink for JsonlSink {
    fn append(&mut self, r: &Record) -> Result<()> {
        let mut line = serde_json::to_string(r)?;
        line.push('\n');
        self.file.write_all(line.as_bytes())?;
        self.file.sync_data()?;
        Ok(())
    }
}

/// Reads the records already in `path` (none when it does not exist), after repairing it.
pub fn existing(path: &Path) -> Result<Vec<Record>> {
    repair(path)?;
    if path.exists() {
        read_records(path)
    } else {
        Ok(Vec::new())
    }
}

/// Drops a torn final line (left by a killed run) so appended records stay one per line. It
/// works on bytes: the torn line may end inside a UTF-8 character.
fn repair(path: &Path) -> Result<()> {
    let Ok(bytes) = std::fs::read(path) else {
        return Ok(());
    };
    if bytes.is_empty() || bytes.ends_with(b"\n") {
        return Ok(());
    }
    let keep = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let f = OpenOptions::new()
        .write(true)
        .open(path)
        .with_context(|| format!("repairing {}", path.display()))?;
    f.set_len(keep as u64)
        .and_then(|()| f.sync_data())
        .with_context(|| format!("repairing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_torn_inside_a_utf8_character_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("results.jsonl");
        let whole = serde_json::to_string(&Record::default()).unwrap() + "\n";
        let mut bytes = whole.clone().into_bytes();
        bytes.extend_from_slice(&whole.as_bytes()[..40]);
        // "…" is E2 80 A6: the file ends after its first two bytes.
        bytes.extend_from_slice(&[0xE2, 0x80]);
        std::fs::write(&path, &bytes).unwrap();
        let records = existing(&path).unwrap();
        assert_eq!(records.len(), 1);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), whole);
    }
}
