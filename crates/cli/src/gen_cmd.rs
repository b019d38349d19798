//! `cargo xtask gen`: generate datasets with the release `membench-gen`.

use std::process::Command;

use anyhow::{Context, Result, bail};
use clap::Args;

use crate::util::{bin, binaries};

/// Generate deterministic datasets (CSV, Parquet) with `*.meta.json` sidecars: `sales` files,
/// or with `--schema orders` the two tables of the join workload (`orders`, `order_items`).
#[derive(Args, Debug)]
pub struct GenArgs {
    /// Schema: sales, or orders (two related files; sizes count orders).
    #[arg(long, default_value = "sales")]
    pub schema: String,
    /// orders: write the items in shuffled order instead of `order_id` order.
    #[arg(long)]
    pub shuffle_items: bool,
    /// Row counts, comma-separated (e.g. 100k,1m,50m).
    #[arg(long, default_value = "1m", conflicts_with = "size")]
    pub rows: String,
    /// Target CSV sizes instead of rows (e.g. 1GiB); ≈200 bytes a row.
    #[arg(long)]
    pub size: Option<String>,
    /// Formats, comma-separated: csv, parquet, csv.gz, csv.zst.
    #[arg(long, default_value = "csv,parquet")]
    pub format: String,
    /// Also write each CSV file compressed, comma-separated: gzip, zstd (`*.csv.gz`,
    /// `*.csv.zst`; deterministic, sha256 in each sidecar).
    #[arg(long)]
    pub compress: Option<String>,
    /// Spread each dataset over N part files in a folder, with one sidecar.
    #[arg(long, value_name = "N")]
    pub files: Option<usize>,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Output folder.
    #[arg(long, default_value = "datasets")]
    pub out: String,
    /// Fraction of rows replaced by malformed ones (CSV only).
    #[arg(long)]
    pub bad_row_rate: Option<f64>,
    /// Rows per Parquet row group.
    #[arg(long)]
    pub row_group_rows: Option<usize>,
    /// Parquet compression: uncompressed, snappy, zstd, lz4.
    #[arg(long)]
    pub compression: Option<String>,
    /// Regenerate even when a matching file exists.
    #[arg(long)]
    pub force: bool,
    /// Put quoted line feeds, CRLFs and quotes into some notes (hard RFC 4180 input).
    #[arg(long)]
    pub messy: bool,
}

pub fn run(a: GenArgs) -> Result<()> {
    let dir = binaries()?;
    let mut cmd = Command::new(bin(&dir, "membench-gen")?);
    match &a.size {
        Some(s) => cmd.args(["--size", s]),
        None => cmd.args(["--rows", &a.rows]),
    };
    cmd.args([
        "--format",
        &a.format,
        "--seed",
        &a.seed.to_string(),
        "--out",
        &a.out,
    ]);
    if let Some(r) = a.bad_row_rate {
        cmd.args(["--bad-row-rate", &r.to_string()]);
    }
    if let Some(r) = a.row_group_rows {
        cmd.args(["--row-group-rows", &r.to_string()]);
    }
    if let Some(n) = a.files {
        cmd.args(["--files", &n.to_string()]);
    }
    if let Some(c) = &a.compress {
        cmd.args(["--compress", c]);
    }
    if let Some(c) = &a.compression {
        cmd.args(["--compression", c]);
    }
    if a.force {
        cmd.arg("--force");
    }
    if a.messy {
        cmd.arg("--messy");
    }
    cmd.args(["--schema", &a.schema]);
    if a.shuffle_items {
        cmd.arg("--shuffle-items");
    }
    let status = cmd.status().context("running membench-gen")?;
    if !status.success() {
        bail!("membench-gen failed");
    }
    Ok(())
}
