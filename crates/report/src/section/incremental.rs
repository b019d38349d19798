//! "Incremental": `run --incremental` — per strategy, the increment (only the new rows folded
//! into the saved aggregate) against a full recompute of the grown dataset.

use std::collections::BTreeMap;

use membench_protocol::{Allocator, IncrementalStep, InputFormat, Status, Workload};

use super::Section;
use crate::Report;
use crate::format::{bytes, duration_ns, md_cell, rows};
use crate::record::Record;
use crate::stats::spread;

/// The increment against the full recompute: heap, time, bytes read, and whether the answers
/// agree.
pub struct Incremental;

/// One measured strategy: its workload, format, strategy and the rows before the append.
type Key<'a> = (&'a Workload, InputFormat, &'a str, &'a str);

impl Section for Incremental {
    fn render(&self, report: &Report) -> String {
        let table = table(&report.records);
        if table.is_empty() {
            return String::new();
        }
        format!(
            "## Incremental\n\n\
             `run --incremental`: each dataset is read once with a saved state (its aggregate and \
             a watermark per file), new rows arrive as one more part file, and the increment — \
             only the new file read, folded into the saved aggregate, the state saved again — is \
             measured against a full recompute of the grown dataset. Median peak heap · time \
             (system allocator) · input bytes read (the recompute: the whole dataset; the \
             increment: what lay past its watermarks, as it reports). `read(2)` is measured: the \
             bytes the process read through system calls (`rchar` of `/proc/self/io`), headers \
             and watermark checks included; Polars memory-maps Parquet, whose pages it does \
             not count. The answer column compares the increment's answer with the \
             recompute's.\n\n{table}\n"
        )
    }
}

/// The Markdown table of a run's incremental records (empty when it has none); `run
/// --incremental` prints it too.
pub fn table(records: &[Record]) -> String {
    let mut by: BTreeMap<Key<'_>, Vec<&Record>> = BTreeMap::new();
    for r in records.iter().filter(|r| r.incremental.is_some()) {
        by.entry((
            &r.workload,
            r.format,
            r.strategy.as_str(),
            r.dataset.as_str(),
        ))
        .or_default()
        .push(r);
    }
    let mut lines = String::new();
    for ((w, f, s, _), rs) in &by {
        let of = |step: IncrementalStep| -> Vec<&Record> {
            rs.iter()
                .copied()
                .filter(|r| r.incremental == Some(step))
                .collect()
        };
        let (inc, full) = (
            of(IncrementalStep::Increment),
            of(IncrementalStep::Recompute),
        );
        let (Some(first_inc), Some(first_full)) = (inc.first(), full.first()) else {
            continue;
        };
        let appended = first_inc.rows.saturating_sub(
            of(IncrementalStep::Initial)
                .first()
                .map_or(first_inc.rows, |r| r.rows),
        );
        let m = Measures::of(&inc, |r| r.measure.new_input_bytes);
        let n = Measures::of(&full, |r| Some(r.input_bytes));
        let ratio = |a: Option<f64>, b: Option<f64>| match (a, b) {
            (Some(a), Some(b)) if b > 0.0 => format!("{:.1} %", 100.0 * a / b),
            _ => "–".into(),
        };
        let worst = inc
            .iter()
            .chain(&full)
            .map(|r| r.status)
            .max()
            .unwrap_or_default();
        let answer = match worst {
            Status::Ok => "same".to_string(),
            Status::WrongAnswer => "**DIFFERENT**".to_string(),
            other => format!("{} (see records)", other.name()),
        };
        lines.push_str(&format!(
            "| {w} | {f} | {} | {} + {} | {} | {} | {} · {} | {} → {} | {answer} |\n",
            md_cell(s),
            rows(first_full.rows - appended),
            rows(appended),
            n.text(),
            m.text(),
            ratio(m.time_ns, n.time_ns),
            ratio(m.input, n.input),
            opt_bytes(n.syscall_read),
            opt_bytes(m.syscall_read),
        ));
    }
    if lines.is_empty() {
        return String::new();
    }
    format!(
        "| workload | format | strategy | rows + appended | recompute: heap · time · input | \
         increment: heap · time · input | increment ÷ recompute: time · input | read(2): \
         recompute → increment | answer |\n\
         |---|---|---|---|---|---|---|---|---|\n{lines}"
    )
}

fn opt_bytes(v: Option<f64>) -> String {
    v.map_or_else(|| "–".into(), bytes)
}

/// Medians over a step's ok repetitions.
struct Measures {
    heap: Option<f64>,
    time_ns: Option<f64>,
    /// The input bytes the run read: the whole dataset, or those past the watermarks.
    input: Option<f64>,
    /// Bytes read through `read(2)` (a memory-mapped file's pages not counted).
    syscall_read: Option<f64>,
}

impl Measures {
    fn of(rs: &[&Record], input: fn(&Record) -> Option<u64>) -> Measures {
        let ok: Vec<&Record> = rs
            .iter()
            .copied()
            .filter(|r| r.status == Status::Ok)
            .collect();
        let med = |alloc: Option<Allocator>, f: &dyn Fn(&Record) -> Option<u64>| {
            let v: Vec<f64> = ok
                .iter()
                .filter(|r| alloc.is_none_or(|a| r.allocator == a))
                .filter_map(|r| f(r).map(|x| x as f64))
                .collect();
            spread(&v).map(|s| s.median)
        };
        let time = |a| med(Some(a), &|r: &Record| r.measure.wall_ns);
        Measures {
            heap: med(Some(Allocator::Counting), &|r| r.measure.peak_heap_bytes),
            time_ns: time(Allocator::System).or_else(|| time(Allocator::Counting)),
            input: med(None, &input),
            syscall_read: med(None, &|r| r.measure.read_bytes),
        }
    }

    fn text(&self) -> String {
        let t = |v: Option<f64>, f: fn(f64) -> String| v.map_or_else(|| "–".into(), f);
        format!(
            "{} · {} · {}",
            t(self.heap, bytes),
            t(self.time_ns, duration_ns),
            t(self.input, bytes)
        )
    }
}
