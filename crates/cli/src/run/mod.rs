//! `cargo xtask run`: the comparison matrix. The command line becomes one typed [`RunConfig`]
//! ([`config`]); each run of the matrix (one per budget of the axis: [`budgets`]) generates its
//! datasets and plans its cells ([`plan`]), drives them ([`drive`]: inputs cached, reference
//! answer, warm-ups, counting then system repetitions) through runner processes
//! ([`executor`]), appends one durable record per repetition to `results.jsonl` ([`ledger`], so
//! `--resume` loses and doubles nothing) and writes the report ([`session`]). `--incremental` measures increments
//! against full recomputes instead ([`incremental`]). The loop is tested in-process with a
//! fake executor.

mod budgets;
pub(crate) mod cell;
mod config;
mod database;
mod drive;
mod executor;
pub(crate) mod external;
mod folder;
mod incremental;
mod ledger;
pub(crate) mod plan;
mod record;
mod session;
mod settings;
mod shard;
mod summary;

pub use config::{RunArgs, RunConfig, ShapeKnobs};

use anyhow::Result;

/// `run`: the configuration parsed once, then one run of the matrix, or one per budget.
pub fn run(a: RunArgs) -> Result<()> {
    let config = RunConfig::from_args(a)?;
    if config.incremental.is_some() {
        return incremental::run(config);
    }
    if config.budgets.len() > 1 {
        return budgets::run(config);
    }
    session::run(config)
}
