//! `cargo xtask check --baseline FILE DIR`: the memory regression gate.
//! Exit 0: no regression; 1: a regression; 2: unusable input.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use membench_report::gate::{BASELINE_VERSION, Baseline, Tolerances, check, markdown};
use membench_report::record::read_records;

/// Compare a run with a baseline: heap (tight), RSS (looser), time (warn-only ratio), and each
/// strategy's declared memory growth. Prints a Markdown table; exit 1 on any regression.
#[derive(Args, Debug)]
pub struct CheckArgs {
    /// The run folder to check (holding results.jsonl).
    pub dir: PathBuf,
    /// The baseline file (from `cargo xtask baseline`).
    #[arg(long, default_value = "reports/baseline.json")]
    pub baseline: PathBuf,
    /// Relative peak-heap increase allowed (widened per cell to 3 × its baseline spread).
    #[arg(long, default_value_t = 0.05)]
    pub heap_tolerance: f64,
    /// Relative peak-RSS increase allowed.
    #[arg(long, default_value_t = 0.25)]
    pub rss_tolerance: f64,
    /// Time ratio (now / baseline) that warns.
    #[arg(long, default_value_t = 1.5)]
    pub time_ratio: f64,
    /// Fail, not just warn, when time exceeds the ratio.
    #[arg(long)]
    pub fail_on_time: bool,
    /// For each heap regression, run the cell once under the dhat runner and print which call
    /// sites grew since the baseline's (`baseline --sites`), or hold the most heap now; for each
    /// RSS regression of an external program, which command of its process tree grew.
    #[arg(long)]
    pub explain: bool,
    /// Acknowledged regressions (`[[allow]]` entries: cell pattern, metric, limit, reason,
    /// expires); an expired entry fails the check. Read when the file exists.
    #[arg(long, default_value = "membench-allow.toml")]
    pub allow: PathBuf,
    /// Also write the check as a pull-request comment (Markdown, opening with a marker the
    /// composite action finds to update one comment instead of adding another).
    #[arg(long, value_name = "FILE")]
    pub comment: Option<PathBuf>,
}

/// The first line of the pull-request comment: the action updates the comment holding it.
pub const COMMENT_MARKER: &str = "<!-- membench-check -->";

/// The acknowledgements of `path` (none when it does not exist), each checked.
fn allowances(path: &std::path::Path) -> Result<Vec<membench_report::allow::Allowance>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let file: membench_report::allow::AllowFile =
        toml::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    for (i, e) in file.allow.iter().enumerate() {
        e.validate()
            .map_err(|m| anyhow::anyhow!("{}: [[allow]] entry {}: {m}", path.display(), i + 1))?;
    }
    Ok(file.allow)
}

/// Runs the check; returns the process exit code.
pub fn run(a: CheckArgs) -> i32 {
    match run_inner(&a) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("cargo xtask check: {e:#}");
            2
        }
    }
}

fn run_inner(a: &CheckArgs) -> Result<i32> {
    let text = std::fs::read_to_string(&a.baseline)
        .with_context(|| format!("reading {}", a.baseline.display()))?;
    let baseline: Baseline = serde_json::from_str(&text)
        .with_context(|| format!("{}: not a membench baseline", a.baseline.display()))?;
    anyhow::ensure!(
        baseline.version == BASELINE_VERSION,
        "{}: baseline version {} (this membench reads {BASELINE_VERSION})",
        a.baseline.display(),
        baseline.version
    );
    let records = read_records(&a.dir.join("results.jsonl"))?;
    let tol = Tolerances {
        heap: a.heap_tolerance,
        rss: a.rss_tolerance,
        time_ratio: a.time_ratio,
        fail_on_time: a.fail_on_time,
        ..Tolerances::default()
    };
    let mut out = check(&baseline, &records, &tol);
    let today = chrono::Local::now().format("%Y-%m-%d").to_string();
    let acknowledged = membench_report::allow::apply(&mut out, &allowances(&a.allow)?, &today);
    anyhow::ensure!(
        out.compared > 0,
        "no cell of {} is in the baseline {}",
        a.dir.display(),
        a.baseline.display()
    );
    let mut md = markdown(&out);
    if !acknowledged.is_empty() {
        md.push_str(&format!("\nAcknowledgements ({}):\n\n", a.allow.display()));
        for l in &acknowledged {
            md.push_str(&format!("- {l}\n"));
        }
    }
    if a.explain {
        md.push_str(&explain(&baseline, &records, &out));
    }
    println!("{md}");
    if let Some(path) = &a.comment {
        std::fs::write(path, format!("{COMMENT_MARKER}\n{md}"))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    if let Some(path) = std::env::var_os("GITHUB_STEP_SUMMARY") {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .with_context(|| {
                format!(
                    "opening $GITHUB_STEP_SUMMARY {}",
                    PathBuf::from(&path).display()
                )
            })?;
        f.write_all(md.as_bytes())?;
    }
    Ok(if out.regressions() > 0 { 1 } else { 0 })
}

/// `--explain`: per heap regression, the call sites that grew; per RSS regression of an
/// external program, the processes of its tree that grew (Markdown, for the terminal and the
/// step summary).
fn explain(
    baseline: &Baseline,
    records: &[membench_report::record::Record],
    out: &membench_report::gate::CheckOutcome,
) -> String {
    let mut md = explain_heap(baseline, records, out);
    md.push_str(&explain_processes(baseline, records, out));
    md
}

/// Per RSS regression of a cell measured as a process tree: its commands at the RSS peak, the
/// baseline's against this run's (the repetition nearest the median), and the samples around
/// the peak.
fn explain_processes(
    baseline: &Baseline,
    records: &[membench_report::record::Record],
    out: &membench_report::gate::CheckOutcome,
) -> String {
    let mut md = String::new();
    for (b, name) in regressed(baseline, out, "peak_rss_bytes") {
        let now: Vec<&membench_report::record::Record> = records
            .iter()
            .filter(|r| r.key() == b.key && !r.process.peak_processes.is_empty())
            .collect();
        let mut rss: Vec<f64> = now
            .iter()
            .map(|r| r.process.peak_rss_bytes as f64)
            .collect();
        rss.sort_by(f64::total_cmp);
        let Some(r) = rss
            .get(rss.len() / 2)
            .and_then(|&median| membench_report::processes::nearest(&now, median))
        else {
            // A runner (one process): its heap explains it, not a tree.
            continue;
        };
        md.push_str(&format!(
            "\n### Which process of {name} grew\n\n```\n{}```\n",
            membench_report::processes::growth_text(
                &b.processes,
                &r.process.peak_processes,
                &r.process.timeline
            )
        ));
    }
    md
}

/// The baseline's cells whose `metric` regressed, with their names.
fn regressed<'b>(
    baseline: &'b Baseline,
    out: &'b membench_report::gate::CheckOutcome,
    metric: &'b str,
) -> impl Iterator<Item = (&'b membench_report::gate::BaselineCell, String)> + 'b {
    baseline.cells.iter().filter_map(move |b| {
        let name = membench_report::gate::cell_name(&b.key);
        out.rows
            .iter()
            .any(|r| {
                r.cell == name
                    && r.metric == metric
                    && r.verdict == membench_report::gate::Verdict::Regression
            })
            .then_some((b, name))
    })
}

/// Per heap regression, the call sites that grew.
fn explain_heap(
    baseline: &Baseline,
    records: &[membench_report::record::Record],
    out: &membench_report::gate::CheckOutcome,
) -> String {
    let mut md = String::new();
    for (b, name) in regressed(baseline, out, "peak_heap_bytes") {
        let Some(r) = records
            .iter()
            .find(|r| r.key() == b.key && r.allocator == membench_protocol::Allocator::Counting)
        else {
            continue;
        };
        md.push_str(&format!("\n### Why the heap of {name} grew\n\n```\n"));
        // The gate's verdict stands whatever happens here: an explanation that cannot be
        // made says why instead.
        let now = match crate::explain::sites_of(&crate::explain::job_of(r)) {
            Ok(s) => s,
            Err(e) => {
                md.push_str(&format!("(cannot explain: {e:#})\n```\n"));
                continue;
            }
        };
        if b.sites.is_empty() {
            md.push_str("(the baseline has no sites: make it with `baseline --sites`)\n");
            md.push_str(&crate::explain::table(&now));
        } else {
            md.push_str(&crate::explain::growth_text(
                &membench_report::sites::growth(&b.sites, &now, 64 << 10),
            ));
        }
        md.push_str("```\n");
    }
    md
}
