//! `REPORT.md`: per workload and format, strategies × sizes, growth, and a verdict.

use std::fmt::Write as _;

use anyhow::Result;

use super::Exporter;
use crate::Report;
use crate::format::{bytes, duration_ns, md_cell, rows};
use crate::stats::CellStats;
use membench_protocol::{InputFormat, Status, Workload};

/// Writes `REPORT.md`.
pub struct MarkdownExporter;

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
        return format!("**{}**", c.status.name().to_uppercase());
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
            let (cells, sizes, strategies) = report.group(&workload, format);
            writeln!(md, "## {workload} · {format}\n")?;
            write!(md, "| strategy |")?;
            for s in &sizes {
                write!(md, " {} rows |", rows(*s))?;
            }
            writeln!(md, " memory growth | counting overhead |")?;
            writeln!(md, "|---|{}---|---|", "---|".repeat(sizes.len()))?;
            for st in &strategies {
                write!(md, "| {} |", md_cell(st))?;
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
                    .get(&(workload.clone(), format, st.to_string()));
                let declared = crate::gate::declared_growth(&report.records, st, &workload, format)
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
            if let Some(note) = reference_note(report, &workload, format) {
                writeln!(md, "{note}\n")?;
            }
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
        md.push_str(&skipped_section(&report.cells));
        md.push_str(&database_section(&report.cells));
        md.push_str(&phases_section(&report.cells));
        md.push_str(&guard_section(report));
        md.push_str(&compression_section(&report.cells));
        md.push_str(&claims_section(report));
        Ok(md)
    }
}

/// Which strategy's answer a group's cells were compared with, when it was not the usual
/// reference (which failed on that input).
fn reference_note(report: &Report, workload: &Workload, format: InputFormat) -> Option<String> {
    let mut used: Vec<(u64, &str)> = report
        .records
        .iter()
        .filter(|r| r.workload == *workload && r.format == format)
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

/// The strategies that did not run here, once each, with the reason.
fn skipped_section(cells: &[CellStats]) -> String {
    let mut seen = std::collections::BTreeMap::new();
    for c in cells.iter().filter(|c| c.status == Status::Skipped) {
        seen.entry(c.key.strategy.as_str())
            .or_insert_with(|| c.error.clone().unwrap_or_default());
    }
    if seen.is_empty() {
        return String::new();
    }
    let mut md = String::from("## Skipped\n\n");
    for (strategy, reason) in seen {
        let _ = writeln!(md, "- `{strategy}`: {reason}");
    }
    md.push('\n');
    md
}

fn median_text(s: Option<crate::stats::Spread>, f: fn(f64) -> String) -> String {
    s.map(|s| f(s.median)).unwrap_or_else(|| "–".into())
}

/// The background articles' claims, each with this run's number and verdict.
fn claims_section(report: &Report) -> String {
    let mut md = String::from(
        "## The articles' claims\n\n\
         The numbers of the articles membench grew from (`reports/claims.json`), checked against \
         this run by the rule in the last column but one; a claim this run has no cells for is \
         *not measured*.\n\n\
         | claim | seed | the article says | this run | rule | verdict |\n\
         |---|---|---|---|---|---|\n",
    );
    for c in crate::claims::evaluate(report) {
        let _ = writeln!(
            md,
            "| `{}` | {} | {} | {} | {} | {} |",
            c.id,
            c.seed,
            c.article_number,
            c.measured,
            c.rule,
            c.verdict.text()
        );
    }
    md.push('\n');
    md
}

/// Whether a cell's strategy is a database (its memory is partly outside our process).
fn is_database(c: &CellStats) -> bool {
    use membench_protocol::Engine;
    membench_protocol::strategy(&c.key.strategy)
        .is_some_and(|s| matches!(s.engine, Engine::Sqlite | Engine::Postgres))
}

/// The phases of the other strategies that announce them (the join strategies: build and
/// probe, load and join, sort and merge, partition and join) and what they spilled.
fn phases_section(cells: &[CellStats]) -> String {
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
         strategy), and the bytes a strategy wrote to its spill files.\n\n\
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

/// Compressed input against the plain CSV, per workload and strategy at the largest size: the
/// bytes on disk, the time and the peak heap (seed 003's trade-off, measured).
fn compression_section(cells: &[CellStats]) -> String {
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
                c.key.workload == *w && c.key.strategy == s && c.key.rows == n && c.key.format == f
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

/// `adaptive`'s memory guard at work: per cell and budget, its batches and its peak against
/// the budget (from the first counting record of each).
fn guard_section(report: &Report) -> String {
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

/// The database cells' phases, and their memory in and outside our process.
fn database_section(cells: &[CellStats]) -> String {
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
