//! The top of the report: title, machine, wrong answers first, how to read a cell, where the
//! times come from.

use std::fmt::Write as _;

use super::Section;
use crate::Report;
use crate::format::{bytes, rows};
use crate::stats::CellStats;

pub struct Header;

impl Section for Header {
    fn render(&self, report: &Report) -> String {
        let mut md = String::new();
        let ctx = &report.context;
        writeln!(md, "# membench report: {}\n", report.title).unwrap();
        writeln!(
            md,
            "Run {} · git `{}` · {} · {} cores · {} RAM · {} · {}\n",
            ctx.started_at,
            ctx.git_rev,
            ctx.cpu,
            ctx.cores,
            bytes(ctx.memory_bytes as f64),
            ctx.os,
            ctx.rustc
        )
        .unwrap();
        let wrong: Vec<&CellStats> = report
            .cells
            .iter()
            .filter(|c| c.status == membench_protocol::Status::WrongAnswer)
            .collect();
        if !wrong.is_empty() {
            writeln!(
                md,
                "> **WRONG ANSWERS** — these cells disagree with the reference answer:\n"
            )
            .unwrap();
            for c in wrong {
                writeln!(
                    md,
                    "> - `{}` on {} {} {} rows",
                    c.key.strategy,
                    c.key.workload,
                    c.key.format,
                    rows(c.key.rows)
                )
                .unwrap();
            }
            writeln!(md).unwrap();
        }
        if report.cells.is_empty() {
            // An incremental run alone: its section says how to read it.
            return md;
        }
        writeln!(
        md,
        "Each cell: median peak heap · median peak RSS · median time (min–max) · MB/s of input. \
         Growth: log-log slope of peak heap across sizes, and the growth the strategy declares (the gate checks it).\n"
    ).unwrap();
        writeln!(md, "{}\n", timing_note(&report.cells)).unwrap();
        md
    }
}

/// Where the times come from, and the counting allocator's median time overhead.
fn timing_note(cells: &[CellStats]) -> String {
    let mimalloc = cells
        .iter()
        .any(|c| c.time_allocator == membench_protocol::Allocator::Mimalloc);
    let source = if mimalloc {
        "Times come from runs under the system allocator, the Polars strategies' from runs \
         under mimalloc, the allocator Polars recommends (their system-allocator runs are in \
         the records too)"
    } else {
        "Times come from runs under the system allocator"
    };
    match crate::stats::median_counting_overhead(cells) {
        Some(o) => format!(
            "{source}; heap figures from runs under the \
             counting allocator. The counting allocator's time overhead (counting ÷ system \
             time, per cell) has a median of **{:+.1} %** over the cells of this run; the last \
             column gives it per strategy at the largest size.",
            (o - 1.0) * 100.0
        ),
        None => "Times and heap figures both come from runs under the counting allocator (this \
                 run has no system-allocator repetitions), so times include its overhead."
            .to_string(),
    }
}
