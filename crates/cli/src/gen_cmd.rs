//! `cargo xtask gen`: generate datasets with the release `membench-gen`.

use std::process::Command;

use anyhow::{Context, Result, bail};
use clap::Args;

use membench_protocol::{Compression, DataSchema, InputFormat, ParquetCompressionName};

use crate::util::{bin, binaries};

/// Generate deterministic datasets (CSV, Parquet) with `*.meta.json` sidecars: `sales` files,
/// or with `--schema orders` the two tables of the join workload (`orders`, `order_items`).
#[derive(Args, Debug)]
pub struct GenArgs {
    /// Schema: sales, or orders (two related files; sizes count orders).
    #[arg(long, default_value = "sales", value_parser = DataSchema::parse)]
    pub schema: DataSchema,
    /// orders: write the items in shuffled order instead of `order_id` order.
    #[arg(long)]
    pub shuffle_items: bool,
    /// Row counts, comma-separated (e.g. 100k,1m,50m).
    #[arg(long, value_delimiter = ',', default_value = "1m", conflicts_with = "size", value_parser = membench_protocol::parse_count)]
    pub rows: Vec<u64>,
    /// Target CSV sizes instead of rows (e.g. 1GiB); ≈200 bytes a row.
    #[arg(long, value_delimiter = ',', value_parser = membench_protocol::parse_size)]
    pub size: Vec<u64>,
    /// Formats, comma-separated: csv, parquet, csv.gz, csv.zst.
    #[arg(long, value_delimiter = ',', default_value = "csv,parquet", value_parser = InputFormat::parse)]
    pub format: Vec<InputFormat>,
    /// Also write each CSV file compressed, comma-separated: gzip, zstd (`*.csv.gz`,
    /// `*.csv.zst`; deterministic, sha256 in each sidecar).
    #[arg(long, value_delimiter = ',', value_parser = Compression::parse_codec)]
    pub compress: Vec<Compression>,
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
    #[arg(long, value_parser = ParquetCompressionName::parse)]
    pub compression: Option<ParquetCompressionName>,
    /// Regenerate even when a matching file exists.
    #[arg(long)]
    pub force: bool,
    /// Put quoted line feeds, CRLFs and quotes into some notes (hard RFC 4180 input).
    #[arg(long)]
    pub messy: bool,
    /// Distinct `customer_id`s, 1 to 10⁹ (e.g. 10, 10k, 1e7): `GROUP BY customer_id` has this
    /// many groups (each key `rows / N` times; the default draws from 1 000 000).
    #[arg(long, value_name = "N", value_parser = membench_protocol::parse_key_cardinality)]
    pub key_cardinality: Option<u64>,
    /// Key frequencies: `zipf:S` (the key of rank r drawn with probability ∝ r^-S).
    #[arg(long, value_name = "zipf:S", value_parser = membench_protocol::parse_skew)]
    pub skew: Option<membench_protocol::Ratio>,
    /// Probability that `discount` is null, 0 to 1 (default table: 0.02).
    #[arg(long, value_name = "R", value_parser = membench_protocol::parse_null_rate)]
    pub null_rate: Option<membench_protocol::Ratio>,
    /// Mean `note` length in bytes, 0 to 65536 (the rows' width; default ≈ 125).
    #[arg(long, value_name = "B", value_parser = membench_protocol::parse_text_bytes)]
    pub text_bytes: Option<u32>,
    /// Sort the rows by `customer_id` or `order_date`.
    #[arg(long, value_name = "COL", value_parser = membench_protocol::SortKey::parse)]
    pub sorted_by: Option<membench_protocol::SortKey>,
}

pub fn run(a: GenArgs) -> Result<()> {
    let dir = binaries()?;
    let mut cmd = Command::new(bin(&dir, "membench-gen")?);
    let list = |v: Vec<String>| v.join(",");
    match a.size.is_empty() {
        false => cmd.args(["--size", &list(a.size.iter().map(u64::to_string).collect())]),
        true => cmd.args(["--rows", &list(a.rows.iter().map(u64::to_string).collect())]),
    };
    cmd.args([
        "--format",
        &list(a.format.iter().map(|f| f.name().to_string()).collect()),
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
    if !a.compress.is_empty() {
        cmd.args([
            "--compress",
            &list(a.compress.iter().map(|c| c.name().to_string()).collect()),
        ]);
    }
    if let Some(c) = a.compression {
        cmd.args(["--compression", c.name()]);
    }
    if a.force {
        cmd.arg("--force");
    }
    if a.messy {
        cmd.arg("--messy");
    }
    cmd.args(crate::run::plan::shape_args(&membench_protocol::Shape {
        key_cardinality: a.key_cardinality,
        zipf: a.skew,
        null_rate: a.null_rate,
        text_bytes: a.text_bytes,
        sorted_by: a.sorted_by,
    }));
    cmd.args(["--schema", a.schema.name()]);
    if a.shuffle_items {
        cmd.arg("--shuffle-items");
    }
    let status = cmd.status().context("running membench-gen")?;
    if !status.success() {
        bail!("membench-gen failed");
    }
    Ok(())
}
