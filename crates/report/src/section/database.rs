//! "Databases: load, index, query": database cells' phases and their memory in and outside our
//! process.

use std::fmt::Write as _;

use super::{Section, is_database, median_text};
use crate::Report;
use crate::format::{bytes, duration_ns, md_cell, rows};
use crate::stats::CellStats;

/// The database cells' phases, and their memory in and outside our process.
pub struct Databases;

impl Section for Databases {
    fn render(&self, report: &Report) -> String {
        let cells = &report.cells;
        let db: Vec<&CellStats> = cells
            .iter()
            .filter(|c| c.status.is_ok() && !c.phases.is_empty() && is_database(c))
            .collect();
        if db.is_empty() {
            return String::new();
        }
        let mut md = String::from(
            "## Databases: load, index, query\n\n\
             Each phase's median time and peak heap. *Client*: the runner process; its heap includes \
             SQLite's own memory (routed through the counting allocator). *Server*: PostgreSQL's \
             processes, postmaster and children, shared memory counted once (sum of `Pss`). \
             *Reused*: the input was already loaded (`--db-reuse`), so only the query ran.\n\n\
             | workload | format | rows | strategy | load | index | query | client peak heap | \
             client peak RSS | server peak | client + server |\n\
             |---|---|---|---|---|---|---|---|---|---|---|\n",
        );
        for c in db {
            let phase = |name: &str| {
                c.phases
                    .iter()
                    .find(|p| p.name == name)
                    .map(|p| {
                        format!(
                            "{} · {}",
                            median_text(p.wall_ns, duration_ns),
                            median_text(p.peak_heap_bytes, bytes)
                        )
                    })
                    .unwrap_or_else(|| {
                        if c.db_reused {
                            "reused".into()
                        } else {
                            "–".into()
                        }
                    })
            };
            let rss = c.peak_rss_bytes.map(|s| s.median);
            let server = c.server_peak_rss_bytes.map(|s| s.median);
            let together = match (rss, server) {
                (Some(r), Some(s)) => bytes(r + s),
                (Some(r), None) => bytes(r),
                _ => "–".into(),
            };
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                c.key.workload,
                c.key.format,
                rows(c.key.rows),
                md_cell(&c.key.strategy),
                phase("load"),
                phase("index"),
                phase("query"),
                median_text(c.peak_heap_bytes, bytes),
                median_text(c.peak_rss_bytes, bytes),
                median_text(c.server_peak_rss_bytes, bytes),
                together
            );
        }
        md.push('\n');
        md
    }
}
