//! Raw records: one line of `results.jsonl` per measured repetition ([`Record`], defined in
//! `membench-protocol`, which the driver writes), read here. Everything else is derived.

use std::io::BufRead;
use std::path::Path;

use anyhow::{Context as _, Result};

pub use membench_protocol::{CellKey, Record, RunContext};

/// Reads `results.jsonl`. A torn last line (a killed writer) is ignored; any other bad line is
/// an error naming the file and line.
pub fn read_records(path: &Path) -> Result<Vec<Record>> {
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let lines: Vec<String> = std::io::BufReader::new(file)
        .lines()
        .collect::<std::io::Result<_>>()
        .with_context(|| format!("reading {}", path.display()))?;
    let mut out = Vec::with_capacity(lines.len());
    for (i, line) in lines.iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Record>(line) {
            Ok(r) => out.push(r),
            Err(_) if i + 1 == lines.len() => {} // torn final line from a killed run
            Err(e) => anyhow::bail!("{}:{}: not a membench record: {e}", path.display(), i + 1),
        }
    }
    Ok(out)
}
