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
    /// Row counts, comma-separated (e.g. 100k,1m,50m; default 1m, or with `--like` the
    /// original's rows).
    #[arg(long, value_delimiter = ',', conflicts_with = "size", value_parser = membench_protocol::parse_count)]
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
    #[command(flatten)]
    pub knobs: crate::run::ShapeKnobs,
    /// A twin of this CSV file (or folder of parts) instead: a deterministic synthetic table
    /// with its profile (`membench inspect`: types, null rates, distinct counts and their
    /// growth, quantiles, text lengths, frequent values, order) at `--rows` or `--scale`.
    /// Only values with ≥ 0.5 % of a column are copied.
    #[arg(long, value_name = "PATH", conflicts_with_all = ["size", "shuffle_items", "files", "compress", "messy", "bad_row_rate", "key_cardinality", "row_group_rows", "compression"])]
    pub like: Option<std::path::PathBuf>,
    /// With `--like`: sizes as multiples of the original's rows, comma-separated (1x,10x,100x).
    #[arg(long, value_delimiter = ',', requires = "like", conflicts_with = "rows", value_parser = membench_protocol::parse_scale)]
    pub scale: Vec<f64>,
    /// With `--like`: copy no value of the original (frequent values synthesized too).
    #[arg(long, requires = "like")]
    pub no_values: bool,
    /// With `--like`: compare a twin of the original's size with it, column by column.
    #[arg(long, requires = "like")]
    pub fidelity: bool,
}

pub fn run(a: GenArgs) -> Result<()> {
    if let Some(like) = &a.like {
        return twins(&a, like);
    }
    let dir = binaries()?;
    let mut cmd = Command::new(bin(&dir, "membench-gen")?);
    let list = |v: Vec<String>| v.join(",");
    let rows = if a.rows.is_empty() {
        vec![1_000_000]
    } else {
        a.rows.clone()
    };
    match a.size.is_empty() {
        false => cmd.args(["--size", &list(a.size.iter().map(u64::to_string).collect())]),
        true => cmd.args(["--rows", &list(rows.iter().map(u64::to_string).collect())]),
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
    cmd.args(crate::util::shape_args(&a.knobs.shape(a.key_cardinality)));
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

/// `--like`: the original inspected once, then a twin per size (in this process: a twin reads
/// the user's file through `inspect` and links no Polars).
fn twins(a: &GenArgs, like: &std::path::Path) -> Result<()> {
    if a.knobs.shape(a.key_cardinality) != membench_protocol::Shape::default() {
        bail!("--like copies the original's shape: the shape knobs do not apply");
    }
    let t = std::time::Instant::now();
    let opts = membench_query::CsvOptions {
        delimiter: None,
        nulls: membench_protocol::NullTokens::default(),
        schema: Default::default(),
        sample_rows: 20_000,
    };
    let found = membench_query::profile(like, &opts)?;
    if found.delimiter.is_empty() {
        bail!(
            "{}: --like reads CSV (a Parquet original: export it to CSV first)",
            like.display()
        );
    }
    eprintln!(
        "profiled {} ({} rows, {} columns) in {:.2}s",
        like.display(),
        found.rows,
        found.columns.len(),
        t.elapsed().as_secs_f64()
    );
    let mut sizes: Vec<u64> = a.rows.clone();
    sizes.extend(
        a.scale
            .iter()
            .map(|f| ((found.rows as f64 * f).round() as u64).max(1)),
    );
    if sizes.is_empty() {
        sizes.push(found.rows);
    }
    if a.fidelity && !sizes.contains(&found.rows) {
        bail!(
            "--fidelity compares a twin of the original's size ({} rows): add --scale 1x",
            found.rows
        );
    }
    let delimiter = membench_twin::delimiter_of(&found);
    let out_dir = std::path::Path::new(&a.out);
    for rows in sizes {
        let spec = membench_twin::TwinSpec {
            rows,
            seed: a.seed,
            copy_values: !a.no_values,
        };
        let t = std::time::Instant::now();
        let mut last = 0u64;
        let out =
            membench_twin::generate_twin(&found, delimiter, &spec, out_dir, a.force, &mut |n| {
                // A line per tenth of a large twin.
                if rows >= 10_000_000 && n * 10 / rows > last * 10 / rows {
                    eprintln!("  {n} of {rows} rows");
                }
                last = n;
            })?;
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
                "generated {} ({rows} rows, {} bytes in {secs:.2}s, {:.0} MB/s, sha256 {})",
                out.path.display(),
                out.meta.bytes,
                out.meta.bytes as f64 / 1e6 / secs,
                &out.meta.sha256[..12]
            );
        }
        if a.fidelity && rows == found.rows {
            let same = membench_query::CsvOptions {
                delimiter: Some(delimiter),
                nulls: membench_protocol::NullTokens::default(),
                schema: membench_protocol::SchemaOverride::from_schema(&found.schema),
                sample_rows: 20_000,
            };
            let twin = membench_query::profile(&out.path, &same)?;
            println!(
                "fidelity: {} (original / twin)\n\n{}",
                out.path.display(),
                membench_twin::fidelity_table(&found, &twin)
            );
        }
    }
    Ok(())
}
