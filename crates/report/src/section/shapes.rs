//! "By shape": where a run measured one workload on several shapes of table at the same size
//! (`run --key-cardinality 10,10k,1m,1e7`), one table with a row per shape and a column per
//! strategy, and the fastest strategy that finished for each shape — the decision as the data's
//! shape changes, at the run's budget.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use membench_protocol::{InputFormat, Shape, Workload};

use super::Section;
use super::groups::cell_text;
use crate::Report;
use crate::format::{duration_ns, md_cell, rows};
use crate::stats::CellStats;

pub struct Shapes;

impl Section for Shapes {
    fn render(&self, report: &Report) -> String {
        // (workload, format, rows) → its cells, when they span several shapes.
        let mut by: BTreeMap<(Workload, InputFormat, u64), Vec<&CellStats>> = BTreeMap::new();
        for c in &report.cells {
            by.entry((c.key.workload.clone(), c.key.format, c.key.rows))
                .or_default()
                .push(c);
        }
        let mut md = String::new();
        for ((w, f, n), cells) in by {
            let mut shapes: Vec<Shape> = cells.iter().map(|c| c.key.shape).collect();
            shapes.sort();
            shapes.dedup();
            if shapes.len() < 2 {
                continue;
            }
            let mut strategies: Vec<&str> = cells.iter().map(|c| c.key.strategy.as_str()).collect();
            strategies.sort_unstable();
            strategies.dedup();
            let limit = cells
                .iter()
                .find_map(|c| c.memory_limit.as_deref())
                .map(|l| format!(" under `--memory-limit {l}`"))
                .unwrap_or_default();
            if md.is_empty() {
                md.push_str("## By shape\n\n");
            }
            writeln!(md, "### {w} · {f} · {} rows{limit}\n", rows(n)).unwrap();
            write!(md, "| shape |").unwrap();
            for s in &strategies {
                write!(md, " {} |", md_cell(s)).unwrap();
            }
            writeln!(md, " fastest that finished |").unwrap();
            writeln!(md, "|---|{}---|", "---|".repeat(strategies.len())).unwrap();
            for shape in &shapes {
                write!(md, "| {shape} |").unwrap();
                let mine: Vec<&&CellStats> =
                    cells.iter().filter(|c| c.key.shape == *shape).collect();
                for s in &strategies {
                    let text = mine
                        .iter()
                        .find(|c| c.key.strategy == *s)
                        .map(|c| cell_text(c))
                        .unwrap_or_else(|| "–".into());
                    write!(md, " {text} |").unwrap();
                }
                let time = |c: &CellStats| c.wall_ns.map(|s| s.median);
                let best = mine
                    .iter()
                    .filter(|c| c.status.is_ok() && !c.answer_unchecked)
                    .filter_map(|c| Some((c, time(c)?)))
                    .min_by(|a, b| a.1.total_cmp(&b.1));
                match best {
                    Some((c, t)) => {
                        writeln!(md, " **{}** ({}) |", c.key.strategy, duration_ns(t)).unwrap()
                    }
                    None => writeln!(md, " none |").unwrap(),
                }
            }
            md.push('\n');
            for chart in report
                .charts
                .iter()
                .filter(|c| c.at_rows == Some(n) && c.group.workload == w && c.group.format == f)
            {
                writeln!(md, "![{}]({})\n", chart.title, chart.file).unwrap();
            }
        }
        md
    }
}
