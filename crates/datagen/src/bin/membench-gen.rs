//! `membench-gen`: generate `sales` datasets, or the `orders` tables, (CSV, Parquet)
//! deterministically.
//! Normally started by `cargo xtask gen`; usable on its own.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Result, bail};
use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};
use membench_datagen::{
    Compression, DataSchema, Format, GenOutput, GenSpec, ParquetCompressionName, generate,
    generate_orders,
};
use membench_protocol::{InputFormat, Ratio, Shape, SortKey};

/// Generate deterministic datasets with `*.meta.json` sidecars: `sales` files, or the two
/// tables of the `orders` schema (`orders` and `order_items`, for the join workload).
#[derive(Parser, Debug)]
#[command(name = "membench-gen", version)]
struct Args {
    /// Schema: sales (one file) or orders (two files, `orders` and `order_items`; sizes count
    /// orders).
    #[arg(long, default_value = "sales", value_parser = DataSchema::parse)]
    schema: DataSchema,
    /// orders: write the items in shuffled order instead of `order_id` order.
    #[arg(long)]
    shuffle_items: bool,
    /// Row counts, comma-separated (e.g. `100k,1m,50m`).
    #[arg(long, value_delimiter = ',', conflicts_with = "size", value_parser = membench_protocol::parse_count)]
    rows: Vec<u64>,
    /// Target CSV sizes instead of rows (e.g. `1GiB`); ≈200 bytes a row.
    #[arg(long, value_delimiter = ',', value_parser = membench_protocol::parse_size)]
    size: Vec<u64>,
    /// Formats, comma-separated: csv, parquet, or compressed CSV: csv.gz, csv.zst (the plain
    /// CSV is written first and kept).
    #[arg(long, value_delimiter = ',', default_value = "csv", value_parser = InputFormat::parse)]
    format: Vec<InputFormat>,
    /// Also write each CSV file compressed, comma-separated: gzip, zstd (`*.csv.gz`,
    /// `*.csv.zst`, deterministic, each with its sidecar).
    #[arg(long, value_delimiter = ',', value_parser = Compression::parse_codec)]
    compress: Vec<Compression>,
    /// Spread each dataset over N part files in a folder (`sales-1m-s42-files4.csv/part-00000.csv`
    /// …, one sidecar for the folder); strategies read the folder as one input. The single file
    /// is written first and kept.
    #[arg(long, value_name = "N")]
    files: Option<usize>,
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
    #[arg(long, default_value = "snappy", value_parser = ParquetCompressionName::parse)]
    compression: ParquetCompressionName,
    /// Regenerate even when a matching file exists.
    #[arg(long)]
    force: bool,
    #[command(flatten)]
    shape: ShapeArgs,
    /// Print the sidecars as JSON lines on stdout.
    #[arg(long)]
    json: bool,
}

/// The shape knobs; every one absent is the default table, byte for byte.
#[derive(clap::Args, Debug)]
struct ShapeArgs {
    /// Distinct `customer_id`s, 1 to 10⁹ (e.g. 10, 10k, 1e7): `GROUP BY customer_id` has this
    /// many groups (each key `rows / N` times; the default draws from 1 000 000).
    #[arg(long, value_name = "N", value_parser = membench_protocol::parse_key_cardinality)]
    key_cardinality: Option<u64>,
    /// Key frequencies: `zipf:S` (the key of rank r drawn with probability ∝ r^-S).
    #[arg(long, value_name = "zipf:S", value_parser = membench_protocol::parse_skew)]
    skew: Option<Ratio>,
    /// Probability that `discount` is empty (null), 0 to 1 (default table: 0.02).
    #[arg(long, value_name = "R", value_parser = membench_protocol::parse_null_rate)]
    null_rate: Option<Ratio>,
    /// Mean `note` length in bytes, 0 to 65536 (the row's width; default ≈ 125).
    #[arg(long, value_name = "B", value_parser = membench_protocol::parse_text_bytes)]
    text_bytes: Option<u32>,
    /// Mean CSV row width in bytes, 60 to 65596 (default ≈ 189): notes of B − 60 bytes.
    #[arg(long, value_name = "B", conflicts_with = "text_bytes",
          value_parser = membench_protocol::parse_row_bytes)]
    row_bytes: Option<u32>,
    /// Sort the rows by `customer_id` or `order_date`.
    #[arg(long, value_name = "COL", value_parser = SortKey::parse)]
    sorted_by: Option<SortKey>,
}

impl ShapeArgs {
    fn shape(&self) -> Shape {
        Shape {
            key_cardinality: self.key_cardinality,
            zipf: self.skew,
            null_rate: self.null_rate,
            text_bytes: self.text_bytes.or(self.row_bytes),
            sorted_by: self.sorted_by,
        }
    }
}

fn main() -> Result<()> {
    let args = Args::parse();
    let mut counts: Vec<u64> = args.rows.clone();
    for &s in &args.size {
        counts.push(membench_datagen::rows_for_bytes(s));
    }
    if counts.is_empty() {
        bail!("say how much to generate: --rows 1m or --size 1GiB");
    }
    let wanted = wanted_formats(&args)?;
    let mut formats: Vec<Format> = wanted.iter().map(|w| w.0).collect();
    formats.dedup();
    let compression = args.compression;
    let schema = args.schema;
    for &rows in &counts {
        if rows == 0 {
            bail!("--rows must be at least 1");
        }
        for &format in &formats {
            let spec = GenSpec {
                schema,
                shuffle_items: args.shuffle_items,
                rows,
                seed: args.seed,
                bad_row_rate: args.bad_row_rate,
                row_group_rows: args.row_group_rows,
                compression,
                messy: args.messy,
                shape: args.shape.shape(),
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
            let mut progress = |n| bar.set_position(n);
            let plain = match schema {
                DataSchema::Sales => vec![generate(
                    &spec,
                    format,
                    &args.out,
                    args.force,
                    &mut progress,
                )?],
                DataSchema::Orders => {
                    generate_orders(&spec, format, &args.out, args.force, &mut progress)?.to_vec()
                }
            };
            bar.finish_and_clear();
            let mut outs = Vec::new();
            for (f, codec) in wanted.iter().filter(|w| w.0 == format) {
                for p in &plain {
                    outs.push(if let Some(n) = args.files {
                        membench_datagen::split_into_files(p, n, args.force)?
                    } else if codec.is_none() {
                        p.clone()
                    } else {
                        let c = membench_datagen::compress(p, *codec, args.force)?;
                        report(&c, None);
                        c
                    });
                }
                debug_assert_eq!(*f, format);
            }
            let outs_len = outs.len();
            let secs = t.elapsed().as_secs_f64();
            // The orders schema writes its two tables in one go: the time is theirs together.
            let bytes: u64 = outs
                .iter()
                .filter(|o| !o.reused)
                .map(|o| o.meta.bytes)
                .sum();
            if schema == DataSchema::Orders && bytes > 0 {
                eprintln!(
                    "generated the orders tables: {bytes} bytes in {secs:.2}s, {:.0} MB/s",
                    bytes as f64 / 1e6 / secs
                );
            }
            for out in outs {
                report(&out, (outs_len == 1).then_some(secs));
                if args.json {
                    println!("{}", serde_json::to_string(&out.meta)?);
                }
            }
        }
    }
    Ok(())
}

/// The (format, compression) pairs asked for, in order, each once: `--format` entries, plus
/// every CSV one compressed as `--compress` says.
fn wanted_formats(args: &Args) -> Result<Vec<(Format, Compression)>> {
    let mut out: Vec<(Format, Compression)> = Vec::new();
    let codecs = &args.compress;
    for f in &args.format {
        let pair = (f.format, f.compression);
        out.push(pair);
        if pair.0 == Format::Csv {
            out.extend(codecs.iter().map(|&c| (Format::Csv, c)));
        }
    }
    if schema_is_orders(args) && (out.iter().any(|w| !w.1.is_none()) || args.files.is_some()) {
        bail!("compressed output and --files apply to the sales schema only");
    }
    if args.files.is_some() && out.iter().any(|w| !w.1.is_none()) {
        bail!("--files writes plain part files: it does not combine with compression");
    }
    let mut seen = Vec::new();
    out.retain(|w| {
        let new = !seen.contains(w);
        seen.push(*w);
        new
    });
    out.sort_by_key(|w| w.0);
    Ok(out)
}

fn schema_is_orders(args: &Args) -> bool {
    args.schema == DataSchema::Orders
}
/// One line per file; `secs`: the time of this file alone, when known.
fn report(out: &GenOutput, secs: Option<f64>) {
    if let Some(n) = &out.notice {
        eprintln!("notice: {n}");
    }
    if out.reused {
        eprintln!(
            "reused    {} ({} bytes, sha256 {})",
            out.path.display(),
            out.meta.bytes,
            &out.meta.sha256[..12]
        );
    } else if let Some(secs) = secs {
        eprintln!(
            "generated {} ({} bytes in {:.2}s, {:.0} MB/s, sha256 {})",
            out.path.display(),
            out.meta.bytes,
            secs,
            out.meta.bytes as f64 / 1e6 / secs,
            &out.meta.sha256[..12]
        );
    } else {
        eprintln!(
            "generated {} ({} bytes, sha256 {})",
            out.path.display(),
            out.meta.bytes,
            &out.meta.sha256[..12]
        );
    }
}
