//! `explain`: where a cell's heap is at its peak — the cell run once under
//! `membench-runner-dhat`, its allocations summed by call site of membench's code
//! ([`membench_report::sites`]) — and, against a baseline that stored the sites
//! (`baseline --sites`), which grew. `check --explain` calls it for each heap regression.
//!
//! Must not: gate anything (it explains; `check` decides).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Args;
use membench_harness::{CellCommand, Status, run_cell};
use membench_protocol::{CellJob, Profiler, Workload};
use membench_report::format::bytes;
use membench_report::sites::{Site, SiteGrowth, from_dhat, growth};

/// How many sites are kept per cell.
pub const TOP_SITES: usize = 12;

/// Show which call sites hold a cell's heap at its peak (dhat), or which grew since a baseline.
#[derive(Args, Debug)]
pub struct ExplainArgs {
    #[arg(long)]
    pub strategy: String,
    #[arg(long, value_parser = membench_protocol::Workload::parse)]
    pub workload: Workload,
    #[arg(long)]
    pub input: PathBuf,
    /// A baseline with sites (`baseline --sites`): print each site's growth since it.
    #[arg(long)]
    pub against: Option<PathBuf>,
}

pub fn run(a: ExplainArgs) -> Result<()> {
    let job = CellJob::new(&a.strategy, a.workload.clone(), &a.input);
    let sites = sites_of(&job)?;
    match &a.against {
        None => print!("{}", table(&sites)),
        Some(b) => {
            let text =
                std::fs::read_to_string(b).with_context(|| format!("reading {}", b.display()))?;
            let baseline: membench_report::gate::Baseline = serde_json::from_str(&text)
                .with_context(|| format!("{}: not a membench baseline", b.display()))?;
            let rows = membench_report::format::rows;
            let before = baseline
                .cells
                .iter()
                .find(|c| {
                    c.key.strategy == a.strategy
                        && c.key.workload == a.workload
                        && !c.sites.is_empty()
                        && a.input.to_string_lossy().contains(&rows(c.key.rows))
                })
                .or_else(|| {
                    baseline.cells.iter().find(|c| {
                        c.key.strategy == a.strategy
                            && c.key.workload == a.workload
                            && !c.sites.is_empty()
                    })
                })
                .with_context(|| {
                    format!(
                        "{}: no cell of {} {} with sites (baseline --sites)",
                        b.display(),
                        a.strategy,
                        a.workload.name()
                    )
                })?;
            print!("{}", growth_text(&growth(&before.sites, &sites, 64 << 10)));
        }
    }
    Ok(())
}

/// The dhat runner next to the other runners.
fn dhat_runner() -> Result<PathBuf> {
    let dir = crate::util::binaries()?;
    let p = dir.join("membench-runner-dhat");
    if !p.is_file() {
        bail!(
            "{} not found: build it with `cargo build --release -p membench-runner --features \
             dhat-heap` (`cargo xtask run` and the workspace's test build make it too)",
            p.display()
        );
    }
    Ok(p)
}

/// The cell's sites at its heap peak, from one run under the dhat runner.
pub fn sites_of(job: &CellJob) -> Result<Vec<Site>> {
    let runner = dhat_runner()?;
    let dir =
        membench_safefs::private_dir(&membench_safefs::user_temp_dir()?, "membench-explain-")?;
    let profile = dir.path().join("dhat-heap.json");
    let job = CellJob {
        profile: Some(Profiler::Dhat),
        profile_out: profile.clone(),
        ..job.clone()
    };
    let m = run_cell(&CellCommand::new(&runner).args(job.to_args()));
    if m.status != Status::Ok {
        bail!(
            "{} under {}: {} — {}",
            job.strategy,
            runner.display(),
            m.status,
            m.stderr_tail.trim()
        );
    }
    let text = std::fs::read_to_string(&profile)
        .with_context(|| format!("reading the profile {}", profile.display()))?;
    from_dhat(&text, TOP_SITES)
}

/// The sites as a table.
pub fn table(sites: &[Site]) -> String {
    let mut out = String::from("heap at the peak, by call site:\n");
    for s in sites {
        out.push_str(&format!(
            "  {:>10}  {}  {}\n",
            bytes(s.bytes_at_peak as f64),
            s.location,
            s.function
        ));
    }
    out
}

/// The sites that grew, largest first.
pub fn growth_text(g: &[SiteGrowth]) -> String {
    if g.is_empty() {
        return "no call site changed by 64 KiB or more at the heap peak\n".into();
    }
    let mut out = String::from("call sites that changed at the heap peak:\n");
    for s in g {
        let d = s.delta_bytes();
        out.push_str(&format!(
            "  {}{}  {}  {}  ({} → {})\n",
            if d >= 0 { "+" } else { "−" },
            bytes(d.unsigned_abs() as f64),
            s.location,
            s.function,
            bytes(s.before_bytes as f64),
            bytes(s.after_bytes as f64)
        ));
    }
    out
}

/// A cell's job as a record describes it (its dataset, threads, chunk size, bad-row policy).
pub fn job_of(r: &membench_report::record::Record) -> CellJob {
    CellJob {
        threads: r.threads,
        chunk_rows: r.chunk_rows,
        on_bad_row: r.on_bad_row,
        // A `join`'s second table (its dataset is the `orders` one).
        items: r.items.as_ref().map(std::path::PathBuf::from),
        ..CellJob::new(&r.strategy, r.workload.clone(), Path::new(&r.dataset))
    }
}
