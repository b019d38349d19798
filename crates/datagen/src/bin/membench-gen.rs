//! `membench-gen`: generate `sales` datasets (CSV, Parquet) deterministically.
//! Normally started by `cargo xtask gen`; usable on its own.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Result, bail};
use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};
use membench_datagen::{Format, GenSpec, generate, parse_count, parse_size};

/// Generate deterministic `sales` datasets with `*.meta.json` sidecars.
#[derive(Parser, Debug)]
#[command(name = "membench-gen", version)]
struct Args {
    /// Row counts, comma-separated (e.g. `100k,1m,50m`).
    #[arg(long, value_delimiter = ',', conflicts_with = "size")]
    rows: Vec<String>,
    /// Target CSV sizes instead of rows (e.g. `1GiB`); ≈200 bytes a row.
    #[arg(long, value_delimiter = ',')]
    size: Vec<String>,
    /// Formats, comma-separated: csv, parquet.
    #[arg(long, value_delimiter = ',', default_value = "csv")]
    format: Vec<String>,
    /// Random seed; the same arguments give the same bytes.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Output folder.
    #[arg(long, default_value = "datasets")]
    out: PathBuf,
    /// Fraction of rows replaced by malformed ones (CSV only), e.g. 0.001.
    #[arg(long, default_value_t = 0.0)]
    bad_row_rate: f64,
    /// Put quoted line feeds, CRLFs and quotes into some notes (RFC 4180 input that spans
    /// several physical lines); the default datasets are not messy.
    #[arg(long)]
    messy: bool,
    /// Rows per Parquet row group.
    #[arg(long, default_value_t = 100_000)]
    row_group_rows: usize,
    /// Parquet compression: uncompressed, snappy, zstd, lz4.
    #[arg(long, default_value = "snappy")]
    compression: String,
    /// Regenerate even when a matching file exists.
    #[arg(long)]
    force: bool,
    /// Print the sidecars as JSON lines on stdout.
    #[arg(long)]
    json: bool,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let mut counts: Vec<u64> = args
        .rows
        .iter()
        .map(|s| parse_count(s))
        .collect::<Result<_>>()?;
    for s in &args.size {
        counts.push(membench_datagen::rows_for_bytes(parse_size(s)?));
    }
    if counts.is_empty() {
        bail!("say how much to generate: --rows 1m or --size 1GiB");
    }
    let formats: Vec<Format> = args
        .format
        .iter()
        .map(|s| membench_datagen::parse_format(s))
        .collect::<Result<_>>()?;
    let compression = membench_datagen::parse_compression(&args.compression)?;
    for &rows in &counts {
        if rows == 0 {
            bail!("--rows must be at least 1");
        }
        for &format in &formats {
            let spec = GenSpec {
                rows,
                seed: args.seed,
                bad_row_rate: args.bad_row_rate,
                row_group_rows: args.row_group_rows,
                compression,
                messy: args.messy,
            };
            let bar = ProgressBar::new(rows);
            bar.set_style(
                ProgressStyle::with_template(
                    "{msg} [{bar:30}] {human_pos}/{human_len} rows, {per_sec} ETA {eta}",
                )
                .expect("valid template")
                .progress_chars("=> "),
            );
            bar.set_message(membench_datagen::file_name(&spec, format));
            let t = Instant::now();
            let out = generate(&spec, format, &args.out, args.force, &mut |n| {
                bar.set_position(n)
            })?;
            bar.finish_and_clear();
            let secs = t.elapsed().as_secs_f64();
            if out.reused {
                eprintln!(
                    "reused    {} ({} bytes, sha256 {})",
                    out.path.display(),
                    out.meta.bytes,
                    &out.meta.sha256[..12]
                );
            } else {
                eprintln!(
                    "generated {} ({} bytes in {:.2}s, {:.0} MB/s, sha256 {})",
                    out.path.display(),
                    out.meta.bytes,
                    secs,
                    out.meta.bytes as f64 / 1e6 / secs,
                    &out.meta.sha256[..12]
                );
            }
            if args.json {
                println!("{}", serde_json::to_string(&out.meta)?);
            }
        }
    }
    Ok(())
}
