//! The command line: the subcommands and their dispatch. Each subcommand's arguments and work
//! live in its own file.

use anyhow::Result;
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::util::{self, Flavour};
use crate::{
    baseline, check, compare, explain, gen_cmd, history, inspect, list, min_budget, peers,
    recommend, report, run,
};

/// membench: which way of processing a large dataset should I use, and what will it cost?
#[derive(Parser, Debug)]
#[command(name = "membench", version, about, long_about = None)]
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
    /// Time two commands interleaved on this machine (A B B A …) and test whether the second is
    /// slower or larger than the first (Mann–Whitney U; `--fail-on-regression` for CI).
    Compare(compare::CompareArgs),
    /// Keep every run's measurements in one SQLite file across commits (`add`, `import`),
    /// follow a cell's memory and time commit by commit (`show`), find the steps (`check`) and
    /// chart them (`report`).
    History(history::HistoryArgs),
    /// Which call sites hold a cell's heap at its peak (one run under the dhat runner), or
    /// which grew since a baseline that stored them (`--against`, from `baseline --sites`).
    Explain(explain::ExplainArgs),
    /// List strategies (declared growth per format), workloads and formats; builds nothing.
    List(list::ListArgs),
    /// Predict each strategy's memory and time at a size from a run, and rank those that fit a
    /// memory budget (`--verify`: run the top choice at that size).
    Recommend(recommend::RecommendArgs),
    /// The smallest `--memory-limit` each strategy survives (bisection; fixed-peak strategies:
    /// their measured peak, checked).
    MinBudget(min_budget::MinBudgetArgs),
    /// Type and measure a CSV or Parquet input: schema (inferred or `--schema`), rows, per-column nulls,
    /// distinct estimate, min/max, frequent values, and the predicted memory of holding it.
    Inspect(inspect::InspectArgs),
    /// The background articles' Python code (pandas, generators, Polars, DuckDB, Dask) as
    /// external strategies: `peers setup` makes their venv; `run --preset peers` runs them.
    Peers(peers::PeersArgs),
}

/// Parses the command line and runs the subcommand, as `cargo xtask` or as `membench`.
pub fn main(flavour: Flavour) -> Result<()> {
    let matches = Cli::command().name(flavour.command_name()).get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    util::set_flavour(flavour)?;
    // The commands that only print (no child process, no scratch to clean up) end quietly when
    // their reader goes away (`membench list | head`), as Unix tools do, instead of panicking
    // on the closed pipe.
    if matches!(
        cli.command,
        Command::List(_) | Command::Inspect(_) | Command::Recommend(_)
    ) {
        membench_harness::default_sigpipe();
    }
    match cli.command {
        Command::Run(a) => run::run(*a),
        Command::Gen(a) => gen_cmd::run(a),
        Command::Report(a) => report::run(a),
        Command::Baseline(a) => baseline::run(a),
        Command::Check(a) => std::process::exit(check::run(a)),
        Command::Compare(a) => std::process::exit(compare::run(a)?),
        Command::History(a) => history::run(a),
        Command::Explain(a) => explain::run(a),
        Command::List(a) => list::run(a),
        Command::Recommend(a) => recommend::run(a),
        Command::MinBudget(a) => min_budget::run(a),
        Command::Peers(a) => peers::run(a),
        Command::Inspect(a) => inspect::run(a),
    }
}
