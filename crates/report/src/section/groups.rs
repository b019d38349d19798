//! One table per (workload, format): strategies × sizes, memory growth, counting overhead, the
//! reference note, the verdict and the charts.

use std::fmt::Write as _;

use membench_protocol::GroupKey;

use super::Section;
use crate::Report;
use crate::format::{bytes, duration_ns, md_cell, rows};
use crate::stats::CellStats;

pub struct Groups;

impl Section for Groups {
    fn render(&self, report: &Report) -> String {
        let mut md = String::new();
        for g in report.groups() {
            let (cells, sizes, strategies) = report.group(&g);
            let (workload, format) = (&g.workload, g.format);
            writeln!(md, "## {}\n", g.title()).unwrap();
            if let Some(q) = workload.query() {
                // A user's query: its text and the tables' types, as the run inferred them.
                writeln!(md, "```sql\n{}\n```\n", q.sql.trim()).unwrap();
                for (t, s) in q.tables.iter().zip(&q.schemas) {
                    writeln!(md, "- `{}`: {}", md_cell(t), md_cell(s)).unwrap();
                }
                writeln!(md).unwrap();
            }
            write!(md, "| strategy |").unwrap();
            for s in &sizes {
                write!(md, " {} rows |", rows(*s)).unwrap();
            }
            writeln!(md, " memory growth | counting overhead |").unwrap();
            writeln!(md, "|---|{}---|---|", "---|".repeat(sizes.len())).unwrap();
            for st in &strategies {
                write!(md, "| {} |", md_cell(st)).unwrap();
                for s in &sizes {
                    let text = cells
                        .iter()
                        .find(|c| c.key.strategy == *st && c.key.rows == *s)
                        .map(|c| cell_text(c))
                        .unwrap_or_else(|| "–".into());
                    write!(md, " {text} |").unwrap();
                }
                let growth = report.growth.get(&(g.clone(), st.to_string()));
                let declared = crate::gate::declared_growth(&report.records, st, workload, format)
                    .map(|d| format!("; declared {d}"))
                    .unwrap_or_default();
                writeln!(
                    md,
                    " {} | {} |",
                    growth
                        .map(|g| format!("{} (slope {:.2}{declared})", g.class(), g.slope))
                        .unwrap_or_else(|| "–".into()),
                    overhead_text(&cells, st)
                )
                .unwrap();
            }
            writeln!(md).unwrap();
            if let Some(note) = reference_note(report, &g) {
                writeln!(md, "{note}\n").unwrap();
            }
            if let Some(v) = verdict(&cells) {
                writeln!(md, "{v}\n").unwrap();
            }
            // The cardinality maps span shapes: "By shape" shows them.
            for chart in report
                .charts
                .iter()
                .filter(|c| c.group == g && c.at_rows.is_none())
            {
                writeln!(md, "![{}]({})\n", chart.title, chart.file).unwrap();
            }
        }
        md
    }
}

/// One table cell: `heap · RSS · time (min–max) · MB/s`, or the status when not ok.
pub fn cell_text(c: &CellStats) -> String {
    if c.status == membench_protocol::Status::Oom {
        // It did not fit its budget: the answer a budgeted run is after, first-class.
        return match &c.memory_limit {
            Some(l) => format!("**✗ oom** (over {l})"),
            None => "**✗ oom**".to_string(),
        };
    }
    if !c.status.is_ok() {
        let hint = if c.stderr_says_out_of_memory {
            " (its stderr says out of memory)"
        } else {
            ""
        };
        return format!("**{}**{hint}", c.status.name().to_uppercase());
    }
    // An external program (measured as a process tree, PSS known) has no heap figure at all.
    let no_heap = if c.peak_pss_bytes.is_some() {
        "n/a"
    } else {
        "–"
    };
    let heap = c
        .peak_heap_bytes
        .map(|s| bytes(s.median))
        .unwrap_or_else(|| no_heap.into());
    let mut rss = c
        .peak_rss_bytes
        .map(|s| bytes(s.median))
        .unwrap_or_else(|| "–".into());
    if let Some(p) = c.peak_pss_bytes {
        rss = format!("{rss} (PSS {})", bytes(p.median));
    }
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
    let unchecked = if c.answer_unchecked {
        " · unchecked (no answer printed)"
    } else {
        ""
    };
    format!("{heap} · {rss} · {time} · {speed}{unchecked}")
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
            // An unchecked cell (a program that printed no answer) ran, but did not show it
            // computed the answer: it cannot win.
            c.key.rows == largest
                && c.status.is_ok()
                && !c.answer_unchecked
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

/// Which strategy's answer a group's cells were compared with, when it was not the usual
/// reference (which failed on that input).
fn reference_note(report: &Report, g: &GroupKey) -> Option<String> {
    let mut used: Vec<(u64, &str)> = report
        .records
        .iter()
        .filter(|r| g.holds(r))
        .filter_map(|r| Some((r.rows, r.reference_strategy.as_deref()?)))
        .collect();
    used.sort_unstable();
    used.dedup();
    if used.is_empty() {
        return None;
    }
    let list: Vec<String> = used
        .iter()
        .map(|(n, s)| format!("`{}` at {} rows", md_cell(s), rows(*n)))
        .collect();
    Some(format!(
        "> Reference answer: the usual reference failed on this input, so the answers were \
         compared with {} (disagreements are still wrong answers).",
        list.join(", ")
    ))
}
