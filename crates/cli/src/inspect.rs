//! `membench inspect PATH`: a user's CSV or Parquet input typed and measured in one pass — the
//! inferred schema (or `--schema`'s; a Parquet file's own), exact rows, per-column nulls, distinct estimate, min/max, mean text length
//! and most frequent values, and the predicted memory of holding it three ways. A value that
//! breaks its column's type stops it with the file, line, column and value.

use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::Args;
use membench_protocol::{NullTokens, SchemaOverride};
use membench_query::{CsvOptions, inspect};

/// Inspect a CSV or Parquet file, folder of parts or glob (`.csv`, `.tsv`, `.csv.gz`, `.csv.zst`,
/// `.parquet`).
#[derive(Args, Debug)]
pub struct InspectArgs {
    /// The input: a file, a folder of part files, or a glob such as `data/part-*.csv`.
    pub path: PathBuf,
    /// Print JSON instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Override column types: `col:type,…` (int64, float64, decimal(S), bool, date, timestamp,
    /// timestamptz, string).
    #[arg(long, value_parser = parse_schema)]
    pub schema: Option<SchemaOverride>,
    /// The field texts that mean null, comma-separated (an empty item is the empty field).
    #[arg(long, default_value = ",NA,N/A,NULL,null", value_parser = parse_nulls)]
    pub nulls: NullTokens,
    /// The field delimiter: one character, or `tab` (default: tab for `.tsv`, else a comma).
    #[arg(long, value_parser = membench_query::user::parse_delimiter)]
    pub delimiter: Option<u8>,
    /// How many rows the types are inferred from.
    #[arg(long, default_value_t = 20_000)]
    pub sample_rows: u64,
    /// Also measure each column's profile (what `gen --like` draws a twin from: quantiles,
    /// text lengths, distinct growth, order, frequent values), shown with `--json`.
    #[arg(long)]
    pub profile: bool,
}

fn parse_schema(s: &str) -> Result<SchemaOverride, String> {
    s.parse()
}

fn parse_nulls(s: &str) -> Result<NullTokens, String> {
    s.parse()
}

pub fn run(a: InspectArgs) -> Result<()> {
    let opts = CsvOptions {
        delimiter: a.delimiter,
        nulls: a.nulls,
        schema: a.schema.unwrap_or_default(),
        sample_rows: a.sample_rows,
    };
    if opts.sample_rows == 0 {
        bail!("--sample-rows must be at least 1");
    }
    let found = if a.profile {
        membench_query::profile(&a.path, &opts)?
    } else {
        inspect(&a.path, &opts)?
    };
    if a.json {
        println!("{}", serde_json::to_string_pretty(&found)?);
    } else {
        print!("{}", found.to_text());
    }
    Ok(())
}
