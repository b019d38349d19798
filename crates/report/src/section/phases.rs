//! "Phases and spilling": the phases of the strategies that announce them and what they spilled.

use std::fmt::Write as _;

use super::{Section, is_database, median_text};
use crate::Report;
use crate::format::{bytes, duration_ns, md_cell, rows};
use crate::stats::CellStats;

/// The phases of the other strategies that announce them (the join strategies: build and
/// probe, load and join, sort and merge, partition and join; the Polars strategies' `validate`
/// and `compute`; every `etl` output's `digest`) and what they spilled.
pub struct Phases;

impl Section for Phases {
    fn render(&self, report: &Report) -> String {
        let cells = &report.cells;
        let phased: Vec<&CellStats> = cells
            .iter()
            .filter(|c| c.status.is_ok() && !c.phases.is_empty() && !is_database(c))
            .collect();
        if phased.is_empty() {
            return String::new();
        }
        let mut md = String::from(
            "## Phases and spilling\n\n\
             Each phase's median time · peak heap (what a sort or a hash table costs inside a \
             strategy), and the bytes a strategy wrote to its spill files. `validate` and \
             `digest` are membench's checks (the framing pre-scan before an engine; the sha256 \
             of an `etl` output once written); time before a strategy's first phase is its \
             own work.\n\n\
             | workload | format | rows | strategy | phases | spilled | peak heap |\n\
             |---|---|---|---|---|---|---|\n",
        );
        for c in phased {
            let phases: Vec<String> = c
                .phases
                .iter()
                .map(|p| {
                    format!(
                        "{} {} · {}",
                        p.name,
                        median_text(p.wall_ns, duration_ns),
                        median_text(p.peak_heap_bytes, bytes)
                    )
                })
                .collect();
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} | {} | {} |",
                c.key.workload,
                c.key.format,
                rows(c.key.rows),
                md_cell(&c.key.strategy),
                phases.join("; "),
                median_text(c.spill_bytes, bytes),
                median_text(c.peak_heap_bytes, bytes),
            );
        }
        md.push('\n');
        md
    }
}
