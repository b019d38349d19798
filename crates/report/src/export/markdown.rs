//! `REPORT.md`: per workload and format, strategies × sizes, growth, and a verdict.

use std::fmt::Write as _;

use anyhow::Result;

use super::Exporter;
use crate::Report;
use crate::format::{bytes, duration_ns, rows};
use crate::stats::CellStats;

/// Writes `REPORT.md`.
pub struct MarkdownExporter;

/// One table cell: `heap · RSS · time (min–max) · MB/s`, or the status when not ok.
pub fn cell_text(c: &CellStats) -> String {
    if !c.status.is_ok() {
        return format!("**{}**", c.status.name().to_uppercase());
    }
    let heap = c
        .peak_heap_bytes
        .map(|s| bytes(s.median))
        .unwrap_or_else(|| "–".into());
    let rss = c
        .peak_rss_bytes
        .map(|s| bytes(s.median))
        .unwrap_or_else(|| "–".into());
    let time = c
        .wall_ns
        .map(|s| {
            format!(
                "{} ({}–{})",
                duration_ns(s.median),
                duration_ns(s.min),
                duration_ns(s.max)
            )
        })
        .unwrap_or_else(|| "–".into());
    let speed = c
        .mb_per_s
        .map(|m| format!("{m:.0} MB/s"))
        .unwrap_or_else(|| "–".into());
    format!("{heap} · {rss} · {time} · {speed}")
}

/// Where the times come from, and the counting allocator's median time overhead.
fn timing_note(cells: &[CellStats]) -> String {
    match crate::stats::median_counting_overhead(cells) {
        Some(o) => format!(
            "Times come from runs under the system allocator; heap figures from runs under the \
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

/// A strategy's counting-allocator overhead at the group's largest size.
fn overhead_text(cells: &[&CellStats], strategy: &str) -> String {
    cells
        .iter()
        .filter(|c| c.key.strategy == strategy && c.counting_overhead.is_some())
        .max_by_key(|c| c.key.rows)
        .and_then(|c| c.counting_overhead)
        .map(|o| format!("{:+.1} %", (o - 1.0) * 100.0))
        .unwrap_or_else(|| "–".into())
}

/// The verdict for one (workload, format) at its largest size.
pub fn verdict(cells: &[&CellStats]) -> Option<String> {
    let largest = cells.iter().map(|c| c.key.rows).max()?;
    let ok: Vec<&&CellStats> = cells
        .iter()
        .filter(|c| {
            c.key.rows == largest
                && c.status.is_ok()
                && c.wall_ns.is_some()
                && c.peak_rss_bytes.is_some()
        })
        .collect();
    let time = |c: &CellStats| c.wall_ns.map(|s| s.median).unwrap_or(f64::MAX);
    let rss = |c: &CellStats| c.peak_rss_bytes.map(|s| s.median).unwrap_or(f64::MAX);
    let fastest = ok.iter().min_by(|a, b| time(a).total_cmp(&time(b)))?;
    let smallest = ok.iter().min_by(|a, b| rss(a).total_cmp(&rss(b)))?;
    let best = ok
        .iter()
        .min_by(|a, b| (time(a) * rss(a)).total_cmp(&(time(b) * rss(b))))?;
    Some(format!(
        "At {} rows: fastest **{}** ({}), smallest peak RSS **{}** ({}), best trade-off **{}** \
         (lowest time × peak RSS: {}, {}).",
        rows(largest),
        fastest.key.strategy,
        duration_ns(time(fastest)),
        smallest.key.strategy,
        bytes(rss(smallest)),
        best.key.strategy,
        duration_ns(time(best)),
        bytes(rss(best)),
    ))
}

impl Exporter for MarkdownExporter {
    fn file_name(&self) -> &'static str {
        "REPORT.md"
    }
    fn render(&self, report: &Report) -> Result<String> {
        let mut md = String::new();
        let ctx = &report.context;
        writeln!(md, "# membench report: {}\n", report.title)?;
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
        )?;
        let wrong: Vec<&CellStats> = report
            .cells
            .iter()
            .filter(|c| c.status == membench_protocol::Status::WrongAnswer)
            .collect();
        if !wrong.is_empty() {
            writeln!(
                md,
                "> **WRONG ANSWERS** — these cells disagree with the reference answer:\n"
            )?;
            for c in wrong {
                writeln!(
                    md,
                    "> - `{}` on {} {} {} rows",
                    c.key.strategy,
                    c.key.workload,
                    c.key.format,
                    rows(c.key.rows)
                )?;
            }
            writeln!(md)?;
        }
        writeln!(
            md,
            "Each cell: median peak heap · median peak RSS · median time (min–max) · MB/s of input. \
             Growth: log-log slope of peak heap across sizes, and the growth the strategy declares (the gate checks it).\n"
        )?;
        writeln!(md, "{}\n", timing_note(&report.cells))?;
        for (workload, format) in report.groups() {
            let (cells, sizes, strategies) = report.group(&workload, &format);
            writeln!(md, "## {workload} · {format}\n")?;
            write!(md, "| strategy |")?;
            for s in &sizes {
                write!(md, " {} rows |", rows(*s))?;
            }
            writeln!(md, " memory growth | counting overhead |")?;
            writeln!(md, "|---|{}---|---|", "---|".repeat(sizes.len()))?;
            for st in &strategies {
                write!(md, "| {st} |")?;
                for s in &sizes {
                    let text = cells
                        .iter()
                        .find(|c| c.key.strategy == *st && c.key.rows == *s)
                        .map(|c| cell_text(c))
                        .unwrap_or_else(|| "–".into());
                    write!(md, " {text} |")?;
                }
                let g = report
                    .growth
                    .get(&(workload.clone(), format.clone(), st.to_string()));
                let declared = crate::gate::declared_growth(&report.records, st, &format)
                    .map(|d| format!("; declared {d}"))
                    .unwrap_or_default();
                writeln!(
                    md,
                    " {} | {} |",
                    g.map(|g| format!("{} (slope {:.2}{declared})", g.class(), g.slope))
                        .unwrap_or_else(|| "–".into()),
                    overhead_text(&cells, st)
                )?;
            }
            writeln!(md)?;
            if let Some(v) = verdict(&cells) {
                writeln!(md, "{v}\n")?;
            }
            for chart in report
                .charts
                .iter()
                .filter(|c| c.workload == workload && c.format == format)
            {
                writeln!(md, "![{}]({})\n", chart.title, chart.file)?;
            }
        }
        Ok(md)
    }
}
