//! membench's driver, for two front ends: `cargo xtask` inside this repository and the
//! installable `membench` command (`cargo install --path crates/cli`) in any directory. Both
//! parse the same subcommands and call the same code; they differ only in where they work
//! ([`Flavour`]: the workspace root, or the current directory) and in how they find the
//! runner binaries (built in the workspace, or found next to `membench`).
//!
//! It orchestrates; it must not measure anything itself: every measured cell runs in a fresh
//! `membench-runner` process (or an external program's), datasets come from `membench-gen`,
//! reports from `membench-report`. One file per subcommand. (`inspect` reads a user's file to
//! describe it, through `membench-query`; that describes data, it measures no strategy.)
//!
//! ```no_run
//! // xtask/src/main.rs
//! fn main() -> anyhow::Result<()> {
//!     membench_cli::main(membench_cli::Flavour::Xtask)
//! }
//! ```

mod baseline;
mod check;
mod cli;
mod compare;
mod explain;
mod gen_cmd;
mod history;
mod history_store;
mod inspect;
mod list;
mod min_budget;
mod peers;
mod recommend;
mod report;
mod run;
mod util;

pub use cli::main;
pub use util::{Flavour, RUNNER_BUILD};
