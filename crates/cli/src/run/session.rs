//! One run of the matrix (under at most one budget): its folder and settings, its datasets and
//! cells, the databases it needs, the drive through every cell, then the summary and the report.

use anyhow::{Result, bail};
use indicatif::{ProgressBar, ProgressStyle};

use super::config::{Destination, RunConfig};
use super::drive::{self, Driver};
use super::{database, executor, folder, ledger, plan, record, settings, summary};
use crate::util::{bin, binaries, now_stamp, run_context};

fn progress_bar(total: u64) -> ProgressBar {
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template(
            "[{elapsed_precise}] {bar:30} {pos}/{len} runs, ETA {eta} · {msg}",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    bar
}

/// Runs the matrix of `c` into its folder and writes its report.
pub fn run(mut c: RunConfig) -> Result<()> {
    let bins = binaries()?;
    for b in [
        "membench-runner",
        "membench-runner-sys",
        "membench-runner-mi",
    ] {
        bin(&bins, b)?;
    }
    let gen_bin = bin(&bins, "membench-gen")?;
    let (stamp, started_at) = now_stamp();
    let settings = settings::Settings::of(&c);
    let out_dir = folder::out_dir(&c, &stamp)?;
    let results = out_dir.join("results.jsonl");
    let existing = ledger::existing(&results)?;
    if matches!(c.destination, Destination::Resume(_)) {
        settings.check_resume(&out_dir, &existing)?;
        folder::remove_stale_scratch(&out_dir);
    } else {
        settings.write(&out_dir)?;
    }
    let scratch_dir = folder::scratch(&out_dir)?;
    let scratch = scratch_dir.path().to_path_buf();
    let mut ledger = ledger::Ledger::from_records(existing);
    // Unique per run, even for two runs started in the same second (it names the run's
    // schema on a user's PostgreSQL server).
    let run_id = ledger
        .run_id
        .clone()
        .unwrap_or_else(|| format!("{stamp}-{}", &membench_harness::reaper::random_token()[..8]));
    let ctx = run_context(&started_at);

    let mut groups = match &c.user {
        Some(u) => {
            let mut g = Vec::new();
            if c.user_at_1x {
                g = plan::user_groups(u, &c.strategies())?;
            }
            // `--scale`: the same queries over the inputs' twins.
            for run in &c.generated_runs {
                g.extend(plan::user_groups(run, &c.strategies())?);
            }
            g
        }
        None => {
            let datasets = plan::datasets(&gen_bin, &c)?;
            let mut g = plan::groups(&datasets, &c.workloads, &c.strategies());
            // Queries over the generated tables: typed and planned once the tables exist.
            let (queried, runs) = plan::generated_query_groups(&datasets, &c, &c.strategies())?;
            g.extend(queried);
            c.generated_runs = runs;
            g
        }
    };
    if let Some(s) = c.shard {
        groups = s.select(groups);
        eprintln!(
            "shard {}/{}: {} cells",
            s.index,
            s.count,
            groups.iter().map(|g| g.strategies.len()).sum::<usize>()
        );
    }
    let databases = database::prepare(&c, &run_id)?;
    // A strategy that does not run a user's query gets one skipped record per cell, with why
    // (the driver asks the registry).
    let mut unavailable = databases.unavailable.clone();
    if c.query_output.is_some() {
        for e in &c.externals {
            unavailable.insert(
                e.name.clone(),
                "skipped: --output writes the result through membench's writer; an external \
                 program prints its answer instead"
                    .into(),
            );
        }
    }
    let db_dir = match c.keep_db {
        true => out_dir.join("db"),
        false => scratch.join("db"),
    };
    let mut exec =
        executor::RunnerExecutor::new(&bins, &c, &scratch).with_databases(&databases, &db_dir);
    let mut sink = ledger::JsonlSink::open(&results)?;
    let cx = record::RecordContext {
        run_id: &run_id,
        config: &c,
        context: &ctx,
    };
    let mut driver = Driver {
        repeat: c.repeat,
        unavailable: &unavailable,
        exec: &mut exec,
        ledger: &mut ledger,
        sink: &mut sink,
        cx: &cx,
        bar: ProgressBar::hidden(),
        warmed: drive::Warmed::new(c.warmup),
    };
    driver.bar = progress_bar(driver.planned(&groups));
    let driven = driver.drive(&groups);
    driver.bar.finish_and_clear();
    drop(sink);
    let stopped = databases.finish();
    let driven = driven?;
    stopped?;
    drop(scratch_dir);
    let records = membench_report::record::read_records(&results)?;
    summary::print(&records);
    if c.emit_answer {
        print_answers(&records);
    }
    if driven.wrong_answers > 0 {
        eprintln!(
            "{} repetitions gave a WRONG ANSWER (see the report)",
            driven.wrong_answers
        );
    }
    let leaks = c.soak.map_or(0, |(_, limit)| print_soak(&records, limit));
    if !c.no_report {
        membench_report::write_report(&out_dir)?;
        eprintln!("report: {}", out_dir.join("REPORT.md").display());
    }
    eprintln!("results: {}", results.display());
    if leaks > 0 {
        bail!("{leaks} cell(s) LEAK under --soak (retained heap grows with every iteration)");
    }
    Ok(())
}

/// `--soak`: each soaked repetition's retained-heap slope, a LEAK line from `limit` bytes per
/// iteration; returns how many leak.
fn print_soak(records: &[membench_report::record::Record], limit: f64) -> usize {
    let mut leaks = 0;
    for r in records.iter().filter(|r| !r.measure.soak.is_empty()) {
        let (Some(slope), Some(leak)) = (
            membench_report::soak::retained_per_iteration(&r.measure.soak),
            membench_report::soak::leaks(&r.measure.soak, limit),
        ) else {
            continue;
        };
        leaks += usize::from(leak);
        eprintln!(
            "{} {} · {} · {} · {} rows: retains {} per iteration over {} runs (live heap {} → {})",
            if leak { "LEAK" } else { "soak" },
            r.strategy,
            r.workload.name(),
            r.format.name(),
            membench_report::format::rows(r.rows),
            membench_report::format::bytes(slope.max(0.0)),
            r.measure.soak.len(),
            membench_report::format::bytes(r.measure.soak[0] as f64),
            membench_report::format::bytes(*r.measure.soak.last().unwrap_or(&0) as f64)
        );
    }
    leaks
}

/// `--emit-answer`: each workload's answer, as the first strategy that ended ok computed it,
/// one JSON line each (`{"workload": NAME, "format": F, "rows": N, "answer": …}`).
fn print_answers(records: &[membench_report::record::Record]) {
    let mut done = std::collections::BTreeSet::new();
    for r in records {
        let Some(answer) = &r.measure.answer else {
            continue;
        };
        if r.status != membench_protocol::Status::Ok
            || !done.insert((r.workload.name().to_string(), r.format.name(), r.rows))
        {
            continue;
        }
        println!(
            "{}",
            serde_json::json!({
                "workload": r.workload.name(),
                "format": r.format.name(),
                "rows": r.rows,
                "answer": answer,
            })
        );
    }
}
