//! `membench`: the installable command (`cargo install --path crates/cli`), usable from any
//! directory. The same subcommands as `cargo xtask`; datasets and reports go under the current
//! directory, and the runner binaries are found next to this one.

fn main() -> anyhow::Result<()> {
    membench_cli::main(membench_cli::Flavour::Installed)
}
