//! "Memory guard": the guarded strategies' batches and peak against their budget.

use std::fmt::Write as _;

use membench_protocol::{InputFormat, Workload};

use super::Section;
use crate::Report;
use crate::format::{bytes, rows};

/// `adaptive`'s memory guard at work: per cell and budget, its batches and its peak against
/// the budget (from the first counting record of each).
pub struct Guard;

impl Section for Guard {
    fn render(&self, report: &Report) -> String {
        let mut seen = std::collections::BTreeSet::new();
        let mut lines = String::new();
        let guarded = |r: &&crate::record::Record| {
            crate::plot::guarded(&r.strategy)
                && r.allocator == membench_protocol::Allocator::Counting
                && crate::stats::effective_status(r).is_ok()
                && !r.measure.batches.is_empty()
        };
        // The largest size of each workload and format: where the guard has work to do.
        let largest = |w: &Workload, f: InputFormat| {
            report
                .records
                .iter()
                .filter(guarded)
                .filter(|r| r.workload == *w && r.format == f)
                .map(|r| r.rows)
                .max()
        };
        for r in report
            .records
            .iter()
            .filter(guarded)
            .filter(|r| Some(r.rows) == largest(&r.workload, r.format))
        {
            let key = (r.workload.clone(), r.format, r.rows, r.memory_limit.clone());
            if !seen.insert(key) {
                continue;
            }
            let lens = r.measure.batches.iter().map(|b| b[1]);
            let (min, max) = (lens.clone().min().unwrap_or(0), lens.max().unwrap_or(0));
            let _ = writeln!(
                lines,
                "| {} | {} | {} | {} | {} | {} – {} | {} |",
                r.workload,
                r.format,
                rows(r.rows),
                r.memory_limit.as_deref().unwrap_or("default (64 MiB)"),
                r.measure.batches.len(),
                rows(min),
                rows(max),
                r.measure
                    .peak_heap_bytes
                    .map_or("–".into(), |b| bytes(b as f64)),
            );
        }
        if lines.is_empty() {
            return String::new();
        }
        format!(
            "## Memory guard\n\n\
             `adaptive` sizes its batches by the live heap: a batch ends early above 70 % of the \
             budget and the next is half as long; below 35 % the next doubles. Its batches at \
             the largest size (one run per cell and budget) and its peak heap:\n\n\
             | workload | format | rows | budget | batches | batch length | peak heap |\n\
             |---|---|---|---|---|---|---|\n{lines}\n"
        )
    }
}
