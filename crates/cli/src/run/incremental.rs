//! `run --incremental`: incremental processing measured against a full recompute (seeds 002
//! and 004: "only process new data since the last run").
//!
//! For each `--files N` folder, workload and strategy with an incremental mode, and each
//! repetition and allocator: a private copy of the folder (hard links) is read once with a
//! fresh state (`initial`); one more part file of `--append` rows arrives (generated with the
//! next seed, the same shape); the strategy runs again against its state (`increment`), then
//! over the grown folder without a state (`recompute`). The three are records of
//! `results.jsonl`, the increment's answer checked against the recompute's (a difference is a
//! `wrong-answer`); the report's "Incremental" section compares them.
//!
//! Must not: measure in this process (every run is a runner process), or touch the dataset
//! folder (the grown folder is a copy of links in the run's scratch folder).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use membench_protocol::{Allocator, DataSchema, IncrementalStep, Status};

use super::cell::{Cell, Dataset};
use super::config::RunConfig;
use super::executor::{Executor, RunnerExecutor};
use super::ledger::Sink;
use super::record::{RecordContext, Reference};
use super::{folder, ledger, plan, record, settings};
use crate::util::{bin, binaries, now_stamp, run_context};

/// Runs the incremental measurement of `c` into its folder and writes its report.
pub fn run(c: RunConfig) -> Result<()> {
    let append = c
        .incremental
        .context("an incremental run needs --incremental")?;
    let bins = binaries()?;
    for b in ["membench-runner", "membench-runner-sys"] {
        bin(&bins, b)?;
    }
    let gen_bin = bin(&bins, "membench-gen")?;
    let (stamp, started_at) = now_stamp();
    let out_dir = folder::out_dir(&c, &stamp)?;
    settings::Settings::of(&c).write(&out_dir)?;
    let results = out_dir.join("results.jsonl");
    let scratch_dir = folder::scratch(&out_dir)?;
    let scratch = scratch_dir.path();
    let run_id = format!("{stamp}-{}", &membench_harness::reaper::random_token()[..8]);
    let ctx = run_context(&started_at);
    let cx = RecordContext {
        run_id: &run_id,
        config: &c,
        context: &ctx,
    };
    let mut exec = RunnerExecutor::new(&bins, &c, scratch);
    let mut sink = ledger::JsonlSink::open(&results)?;
    let mut wrong = 0;
    let datasets = plan::datasets(&gen_bin, &c)?;
    for d in &datasets {
        let k = append.rows_for(d.rows);
        // The rows that arrive: the next seed's table of the same shape, one file.
        let arriving = RunConfig {
            files: None,
            seed: c.seed.wrapping_add(1),
            ..c.clone()
        };
        let extra = plan::generate(
            &gen_bin,
            &arriving,
            DataSchema::Sales,
            d.format,
            &d.shape,
            ("--rows", &k.to_string()),
        )?;
        let parts = part_files(&d.path)?;
        let new_name = format!("part-{:05}.{}", parts.len(), d.format.name());
        let grown = Dataset {
            rows: d.rows + extra.rows,
            bytes: d.bytes + extra.bytes,
            ..d.clone()
        };
        for w in &c.workloads {
            for s in &c.builtin {
                for rep in 1..=c.repeat {
                    for alloc in [Allocator::Counting, Allocator::System] {
                        eprintln!(
                            "incremental · {s} · {w} · {} · {} rows + {} · repetition {rep} ({})",
                            d.format,
                            membench_report::format::rows(d.rows),
                            membench_report::format::rows(extra.rows),
                            alloc.name()
                        );
                        let work = scratch.join("incremental");
                        let _ = std::fs::remove_dir_all(&work);
                        std::fs::create_dir(&work)
                            .with_context(|| format!("creating {}", work.display()))?;
                        for p in &parts {
                            link(p, &work.join(p.file_name().unwrap_or_default()))?;
                        }
                        let state = scratch.join("incremental-state");
                        let _ = std::fs::remove_file(&state);
                        let cell = |ds: &Dataset| Cell {
                            strategy: s.clone(),
                            workload: w.clone(),
                            dataset: Dataset {
                                path: work.clone(),
                                ..ds.clone()
                            },
                        };
                        exec.state = Some(state.clone());
                        let initial = exec.execute(&cell(d), alloc);
                        link(&extra.path, &work.join(&new_name))?;
                        let increment = exec.execute(&cell(&grown), alloc);
                        exec.state = None;
                        let recompute = exec.execute(&cell(&grown), alloc);
                        let reference = recompute
                            .runner
                            .as_ref()
                            .and_then(|r| r.measure.answer_digest.clone())
                            .filter(|_| recompute.status == Status::Ok)
                            .map(|digest| Reference {
                                strategy: s.clone(),
                                digest,
                                answer: None,
                            });
                        for (step, ds, m, check) in [
                            (IncrementalStep::Initial, d, &initial, None),
                            (
                                IncrementalStep::Increment,
                                &grown,
                                &increment,
                                reference.as_ref(),
                            ),
                            (IncrementalStep::Recompute, &grown, &recompute, None),
                        ] {
                            let mut r = record::make(&cx, &cell(ds), alloc, rep, m, check);
                            r.incremental = Some(step);
                            // The dataset as the user knows it, not the scratch copy.
                            r.dataset = d.path.display().to_string();
                            if r.status == Status::WrongAnswer {
                                wrong += 1;
                            }
                            sink.append(&r)?;
                        }
                        let _ = std::fs::remove_dir_all(&work);
                        let _ = std::fs::remove_file(&state);
                    }
                }
            }
        }
    }
    drop(sink);
    drop(scratch_dir);
    let records = membench_report::record::read_records(&results)?;
    eprintln!("{}", membench_report::section::incremental_table(&records));
    if wrong > 0 {
        eprintln!("{wrong} increments gave a WRONG ANSWER (see the report)");
    }
    if !c.no_report {
        membench_report::write_report(&out_dir)?;
        eprintln!("report: {}", out_dir.join("REPORT.md").display());
    }
    eprintln!("results: {}", results.display());
    Ok(())
}

/// The part files of a dataset folder, in name order.
fn part_files(folder: &Path) -> Result<Vec<PathBuf>> {
    let mut parts: Vec<PathBuf> = std::fs::read_dir(folder)
        .with_context(|| format!("listing {}", folder.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    parts.sort();
    anyhow::ensure!(
        !parts.is_empty(),
        "{}: no part files (--incremental reads a --files folder)",
        folder.display()
    );
    Ok(parts)
}

/// `to` as a hard link to `from` (a copy across file systems).
fn link(from: &Path, to: &Path) -> Result<()> {
    if std::fs::hard_link(from, to).is_ok() {
        return Ok(());
    }
    std::fs::copy(from, to)
        .map(|_| ())
        .with_context(|| format!("copying {} to {}", from.display(), to.display()))
}
