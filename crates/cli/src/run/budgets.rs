//! Budgets as an axis: `--memory-limit 64MiB,256MiB,1GiB` runs the matrix once under each
//! budget, into `<out>/budget-<B>/` (each a complete run with its report), then writes
//! `<out>/BUDGETS.md`: per workload and format, each strategy's fate under each budget — the
//! largest size it finished, and where it ran out (`✗ oom`).

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use membench_protocol::{GroupKey, Status};
use membench_report::format::rows;
use membench_report::record::read_records;
use membench_report::stats::{CellStats, cells};

use super::config::{Destination, RunConfig};
use super::folder::out_dir;
use crate::util::now_stamp;

pub fn run(c: RunConfig) -> Result<()> {
    if matches!(c.destination, Destination::Resume(_)) {
        bail!(
            "--resume with several --memory-limit values: resume each budget's folder on its own \
             (`--resume <out>/budget-<B> --memory-limit <B>`)"
        );
    }
    let (stamp, _) = now_stamp();
    let parent = out_dir(&c, &stamp)?;
    let mut done = Vec::new();
    for b in &c.budgets {
        let dir = parent.join(format!("budget-{}", b.text));
        eprintln!("== budget {b}: {}", dir.display());
        let one = RunConfig {
            budgets: vec![b.clone()],
            budget: Some(b.clone()),
            destination: Destination::Out(dir.clone()),
            ..c.clone()
        };
        super::session::run(one)?;
        done.push((b.text.clone(), dir));
    }
    let md = summary(&done)?;
    let path = parent.join("BUDGETS.md");
    std::fs::write(&path, md).with_context(|| format!("writing {}", path.display()))?;
    eprintln!("budgets: {}", path.display());
    Ok(())
}

/// The fate of one strategy under one budget: the sizes it finished and the first it did not.
fn fate(cells: &[&CellStats]) -> String {
    let largest_ok = cells
        .iter()
        .filter(|c| c.status.is_ok())
        .map(|c| c.key.rows)
        .max();
    let first_oom = cells
        .iter()
        .filter(|c| c.status == Status::Oom)
        .map(|c| c.key.rows)
        .min();
    match (largest_ok, first_oom) {
        (Some(ok), None) => format!("ok to {}", rows(ok)),
        (Some(ok), Some(oom)) => format!("**✗ oom** at {} (ok to {})", rows(oom), rows(ok)),
        (None, Some(oom)) => format!("**✗ oom** at {}", rows(oom)),
        (None, None) => cells
            .first()
            .map_or("–".into(), |c| c.status.name().to_string()),
    }
}

/// `BUDGETS.md` from the budget folders' records.
pub fn summary(done: &[(String, PathBuf)]) -> Result<String> {
    let per_budget: Vec<(String, Vec<CellStats>)> = done
        .iter()
        .map(|(b, dir)| Ok((b.clone(), cells(&read_records(&dir.join("results.jsonl"))?))))
        .collect::<Result<_>>()?;
    let mut groups: Vec<GroupKey> = per_budget
        .iter()
        .flat_map(|(_, cs)| cs.iter().map(|c| c.key.group()))
        .collect();
    groups.sort();
    groups.dedup();
    let mut md = String::from(
        "# Budgets\n\nEach strategy under each heap budget (`--memory-limit`, the counting \
         allocator's): the largest size it finished, and the first size where it ran out of \
         memory (`✗ oom`). Each budget's full report is in its `budget-<B>/` folder.\n",
    );
    for g in groups {
        let _ = write!(md, "\n## {}\n\n| strategy |", g.title());
        for (b, _) in &per_budget {
            let _ = write!(md, " {b} |");
        }
        let _ = writeln!(md, "\n|---|{}", "---|".repeat(per_budget.len()));
        let mut strategies: Vec<&str> = per_budget
            .iter()
            .flat_map(|(_, cs)| cs.iter())
            .filter(|c| c.key.group() == g)
            .map(|c| c.key.strategy.as_str())
            .collect();
        strategies.sort_unstable();
        strategies.dedup();
        for s in strategies {
            let _ = write!(md, "| {} |", membench_report::format::md_cell(s));
            for (_, cs) in &per_budget {
                let mine: Vec<&CellStats> = cs
                    .iter()
                    .filter(|c| c.key.group() == g && c.key.strategy == s)
                    .collect();
                let _ = write!(md, " {} |", fate(&mine));
            }
            md.push('\n');
        }
    }
    Ok(md)
}

#[cfg(test)]
mod tests {
    use super::*;
    use membench_protocol::{InputFormat, Workload};
    use membench_report::record::Record;

    fn write(dir: &std::path::Path, recs: &[Record]) {
        std::fs::create_dir_all(dir).unwrap();
        let text: String = recs
            .iter()
            .map(|r| serde_json::to_string(r).unwrap() + "\n")
            .collect();
        std::fs::write(dir.join("results.jsonl"), text).unwrap();
    }

    fn rec(strategy: &str, rows: u64, status: Status) -> Record {
        Record {
            strategy: strategy.into(),
            workload: Workload::TOP_N,
            format: InputFormat::CSV,
            rows,
            status,
            measure: membench_protocol::RunnerMeasure {
                peak_heap_bytes: Some(1000),
                ..Default::default()
            },
            ..Record::default()
        }
    }

    #[test]
    fn the_summary_gives_each_strategys_fate_under_each_budget() {
        let tmp = tempfile::tempdir().unwrap();
        let (small, large) = (
            tmp.path().join("budget-16MiB"),
            tmp.path().join("budget-1GiB"),
        );
        write(
            &small,
            &[
                rec("load-all", 100_000, Status::Ok),
                rec("load-all", 1_000_000, Status::Oom),
                rec("streaming", 100_000, Status::Ok),
                rec("streaming", 1_000_000, Status::Ok),
            ],
        );
        write(
            &large,
            &[
                rec("load-all", 100_000, Status::Ok),
                rec("load-all", 1_000_000, Status::Ok),
            ],
        );
        let md = summary(&[("16MiB".into(), small), ("1GiB".into(), large)]).unwrap();
        assert!(md.contains("| strategy | 16MiB | 1GiB |"), "{md}");
        assert!(
            md.contains("| load-all | **✗ oom** at 1m (ok to 100k) | ok to 1m |"),
            "{md}"
        );
        assert!(md.contains("| streaming | ok to 1m | – |"), "{md}");
    }
}
