//! `cargo xtask`: membench's in-repository driver. The subcommands live in `membench-cli`
//! (shared with the installable `membench` command); this front end works from the workspace
//! root and builds the runner binaries in the workspace.

fn main() -> anyhow::Result<()> {
    membench_cli::main(membench_cli::Flavour::Xtask)
}
