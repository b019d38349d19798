//! `cargo xtask`: membench's driver. It orchestrates and never measures: every measured cell
//! runs in a fresh `membench-runner` process (built in release), datasets come from
//! `membench-gen`, reports from `membench-report`. One file per subcommand.

use anyhow::Result;
use clap::{Parser, Subcommand};

mod baseline;
mod check;
mod gen_cmd;
mod list;
mod min_budget;
mod recommend;
mod report;
mod run;
mod util;

/// membench: which way of processing a large dataset should I use, and what will it cost?
#[derive(Parser, Debug)]
#[command(name = "cargo xtask", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the comparison matrix (strategies × workloads × formats × sizes) and write a report.
    Run(Box<run::RunArgs>),
    /// Generate datasets (deterministic; reused when they already exist).
    Gen(gen_cmd::GenArgs),
    /// Recompute REPORT.md, summaries and charts from a run folder's results.jsonl.
    Report(report::ReportArgs),
    /// Save a run's per-cell medians as a baseline file to commit.
    Baseline(baseline::BaselineArgs),
    /// Compare a run with a baseline (memory regression gate); exit 1 on a regression.
    Check(check::CheckArgs),
    /// List strategies (declared growth per format), workloads and formats; builds nothing.
    List(list::ListArgs),
    /// Predict each strategy's memory and time at a size from a run, and rank those that fit a
    /// memory budget (`--verify`: run the top choice at that size).
    Recommend(recommend::RecommendArgs),
    /// The smallest `--memory-limit` each strategy survives (bisection; fixed-peak strategies:
    /// their measured peak, checked).
    MinBudget(min_budget::MinBudgetArgs),
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    util::enter_workspace_root()?;
    match cli.command {
        Command::Run(a) => run::run(*a),
        Command::Gen(a) => gen_cmd::run(a),
        Command::Report(a) => report::run(a),
        Command::Baseline(a) => baseline::run(a),
        Command::Check(a) => std::process::exit(check::run(a)),
        Command::List(a) => list::run(a),
        Command::Recommend(a) => recommend::run(a),
        Command::MinBudget(a) => min_budget::run(a),
    }
}
