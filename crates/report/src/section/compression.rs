//! "Compressed input": plain, gzip and zstd CSV side by side at the largest size.

use membench_protocol::{InputFormat, Workload};

use super::{Section, median_text};
use crate::Report;
use crate::format::{bytes, duration_ns, md_cell, rows};

/// Compressed input against the plain CSV, per workload and strategy at the largest size: the
/// bytes on disk, the time and the peak heap (seed 003's trade-off, measured).
pub struct Compression;

impl Section for Compression {
    fn render(&self, report: &Report) -> String {
        let cells = &report.cells;
        let mut lines = String::new();
        let mut keys: Vec<(&Workload, &str, u64)> = cells
            .iter()
            .filter(|c| c.key.format.is_compressed() && c.status.is_ok())
            .map(|c| (&c.key.workload, c.key.strategy.as_str(), c.key.rows))
            .collect();
        keys.sort();
        keys.dedup();
        // Only the largest size of each workload and strategy.
        let largest = |w: &Workload, s: &str| {
            keys.iter()
                .filter(|k| k.0 == w && k.1 == s)
                .map(|k| k.2)
                .max()
        };
        for &(w, s, n) in keys.iter().filter(|k| Some(k.2) == largest(k.0, k.1)) {
            let cell = |f: InputFormat| {
                cells.iter().find(|c| {
                    c.key.workload == *w
                        && c.key.strategy == s
                        && c.key.rows == n
                        && c.key.format == f
                })
            };
            let mut row = format!("| {w} | {} | {} |", md_cell(s), rows(n));
            for f in [InputFormat::CSV, InputFormat::CSV_GZ, InputFormat::CSV_ZST] {
                let text = match cell(f).filter(|c| c.status.is_ok()) {
                    Some(c) => format!(
                        " {} · {} · {} |",
                        bytes(c.input_bytes as f64),
                        median_text(c.wall_ns, duration_ns),
                        median_text(c.peak_heap_bytes, bytes)
                    ),
                    None => " – |".to_string(),
                };
                row.push_str(&text);
            }
            lines.push_str(&row);
            lines.push('\n');
        }
        if lines.is_empty() {
            return String::new();
        }
        format!(
            "## Compressed input\n\n\
             The same rows as plain, gzip and zstd CSV: bytes on disk · median time · peak heap, at \
             the largest size. Decompression is streamed (a buffer at a time; `parallel` runs it on a \
             thread of its own, overlapped with parsing; `load-all-polars` decompresses the whole \
             file into memory first, as Polars does). `mmap` and `lazy` do not read compressed \
             input.\n\n\
             | workload | strategy | rows | csv | csv.gz | csv.zst |\n\
             |---|---|---|---|---|---|\n{lines}\n"
        )
    }
}
