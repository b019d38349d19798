//! What to generate, what the sidecar says, and the reuse / atomic-write logic.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use crate::{AVG_ROW_BYTES, GENERATOR_VERSION};

/// Output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Csv,
    Parquet,
}

impl Format {
    /// File extension and command-line name.
    pub fn ext(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Parquet => "parquet",
        }
    }
    /// Parses `csv` or `parquet`.
    pub fn parse(s: &str) -> Result<Format> {
        match s {
            "csv" => Ok(Format::Csv),
            "parquet" => Ok(Format::Parquet),
            _ => bail!("unknown format {s:?} (expected csv or parquet)"),
        }
    }
}

/// Parquet compression codecs the generator offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ParquetCompressionName {
    Uncompressed,
    Snappy,
    Zstd,
    Lz4,
}

impl ParquetCompressionName {
    /// Parses a codec name.
    pub fn parse(s: &str) -> Result<Self> {
        Ok(match s {
            "uncompressed" | "none" => Self::Uncompressed,
            "snappy" => Self::Snappy,
            "zstd" => Self::Zstd,
            "lz4" => Self::Lz4,
            _ => bail!("unknown parquet compression {s:?} (uncompressed, snappy, zstd, lz4)"),
        })
    }
    /// The codec name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Uncompressed => "uncompressed",
            Self::Snappy => "snappy",
            Self::Zstd => "zstd",
            Self::Lz4 => "lz4",
        }
    }
}

/// Everything that determines a dataset's bytes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GenSpec {
    /// Rows (lines after the header, malformed ones included).
    pub rows: u64,
    pub seed: u64,
    /// Fraction of rows replaced by malformed ones (CSV only).
    pub bad_row_rate: f64,
    /// Rows per Parquet row group.
    pub row_group_rows: usize,
    pub compression: ParquetCompressionName,
}

impl Default for GenSpec {
    fn default() -> Self {
        GenSpec {
            rows: 1_000_000,
            seed: 42,
            bad_row_rate: 0.0,
            row_group_rows: 100_000,
            compression: ParquetCompressionName::Snappy,
        }
    }
}

/// The sidecar written next to every dataset as `<file>.meta.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Meta {
    pub schema: String,
    pub format: Format,
    pub file: String,
    /// Lines after the header (CSV) or rows (Parquet), malformed ones included.
    pub rows: u64,
    /// Rows a strategy reads when skipping bad rows (`rows` minus every injected kind).
    pub valid_rows: u64,
    /// Rows a strategy reports as skipped with `--on-bad-row skip` (empty lines are ignored,
    /// not counted).
    pub expected_rows_skipped: u64,
    pub bytes: u64,
    pub seed: u64,
    pub generator_version: u32,
    pub options: GenSpec,
    /// Injected malformed rows by kind.
    pub bad_rows: BTreeMap<String, u64>,
    pub sha256: String,
}

/// What [`generate`] produced.
#[derive(Clone, Debug)]
pub struct GenOutput {
    pub path: PathBuf,
    pub meta: Meta,
    /// True when an existing file matching its sidecar was reused.
    pub reused: bool,
}

pub use membench_kernel::rows_label;

/// Parses `100k`, `1m`, `2.5m`, `1000`.
pub fn parse_count(s: &str) -> Result<u64> {
    let t = s.trim().to_ascii_lowercase();
    let (num, mul) = match t.chars().last() {
        Some('k') => (&t[..t.len() - 1], 1e3),
        Some('m') => (&t[..t.len() - 1], 1e6),
        Some('g') | Some('b') => (&t[..t.len() - 1], 1e9),
        _ => (&t[..], 1.0),
    };
    let v: f64 = num
        .parse()
        .with_context(|| format!("{s:?} is not a row count (e.g. 100k, 1m, 50m)"))?;
    if v.is_nan() || v < 0.0 {
        bail!("{s:?} is not a row count");
    }
    Ok((v * mul).round() as u64)
}

/// Parses `1GiB`, `500MB`, `4096` (via the `bytesize` crate).
pub fn parse_size(s: &str) -> Result<u64> {
    s.trim()
        .parse::<bytesize::ByteSize>()
        .map(|b| b.as_u64())
        .map_err(|e| anyhow::anyhow!("{s:?} is not a size (e.g. 512MiB, 1GiB, 2GB): {e}"))
}

impl GenSpec {
    /// Rows for a target CSV size (≈ [`AVG_ROW_BYTES`] a row).
    pub fn rows_for_bytes(bytes: u64) -> u64 {
        bytes.div_ceil(AVG_ROW_BYTES).max(1)
    }

    /// The dataset's file name: schema, size, seed and any non-default option.
    pub fn file_name(&self, format: Format) -> String {
        let mut name = format!("sales-{}-s{}", rows_label(self.rows), self.seed);
        if self.bad_row_rate > 0.0 {
            name.push_str(&format!("-bad{}", self.bad_row_rate));
        }
        if format == Format::Parquet {
            let d = GenSpec::default();
            if self.row_group_rows != d.row_group_rows {
                name.push_str(&format!("-rg{}", rows_label(self.row_group_rows as u64)));
            }
            if self.compression != d.compression {
                name.push_str(&format!("-{}", self.compression.name()));
            }
        }
        format!("{name}.{}", format.ext())
    }

    fn check(&self, format: Format) -> Result<()> {
        if !(0.0..=1.0).contains(&self.bad_row_rate) {
            bail!(
                "--bad-row-rate must be between 0 and 1, got {}",
                self.bad_row_rate
            );
        }
        if format == Format::Parquet && self.bad_row_rate > 0.0 {
            bail!(
                "--bad-row-rate applies to CSV only: a typed Parquet file cannot hold malformed rows"
            );
        }
        if self.row_group_rows == 0 {
            bail!("--row-group-rows must be at least 1");
        }
        Ok(())
    }
}

/// Reads a sidecar.
pub fn read_meta(path: &Path) -> Result<Meta> {
    let text = fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

fn meta_path(data: &Path) -> PathBuf {
    let mut s = data.as_os_str().to_owned();
    s.push(".meta.json");
    PathBuf::from(s)
}

/// Generates `spec` as `format` into `dir` (or reuses a matching file unless `force`).
/// `progress` is called with the number of rows written so far.
pub fn generate(
    spec: &GenSpec,
    format: Format,
    dir: &Path,
    force: bool,
    progress: &mut dyn FnMut(u64),
) -> Result<GenOutput> {
    spec.check(format)?;
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = dir.join(spec.file_name(format));
    let sidecar = meta_path(&path);
    if !force
        && let Ok(meta) = read_meta(&sidecar)
        && meta.options == *spec
        && meta.generator_version == GENERATOR_VERSION
        && fs::metadata(&path).map(|m| m.len()).ok() == Some(meta.bytes)
    {
        return Ok(GenOutput {
            path,
            meta,
            reused: true,
        });
    }
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        spec.file_name(format),
        std::process::id()
    ));
    let result = match format {
        Format::Csv => crate::csv_out::write_csv(spec, &tmp, progress),
        Format::Parquet => crate::parquet_out::write_parquet(spec, &tmp, progress),
    };
    let written = match result {
        Ok(w) => w,
        Err(e) => {
            let _ = fs::remove_file(&tmp);
            return Err(e.context(format!("generating {}", path.display())));
        }
    };
    fs::rename(&tmp, &path).with_context(|| format!("renaming into {}", path.display()))?;
    let skipped: u64 = written
        .bad_rows
        .iter()
        .filter(|(k, _)| k.as_str() != "empty_line")
        .map(|(_, v)| *v)
        .sum();
    let all_bad: u64 = written.bad_rows.values().sum();
    let meta = Meta {
        schema: "sales".into(),
        format,
        file: spec.file_name(format),
        rows: spec.rows,
        valid_rows: spec.rows - all_bad,
        expected_rows_skipped: skipped,
        bytes: written.bytes,
        seed: spec.seed,
        generator_version: GENERATOR_VERSION,
        options: spec.clone(),
        bad_rows: written.bad_rows,
        sha256: written.sha256,
    };
    let tmp_meta = dir.join(format!(".{}.meta.tmp-{}", meta.file, std::process::id()));
    fs::write(&tmp_meta, serde_json::to_string_pretty(&meta)? + "\n")
        .with_context(|| format!("writing {}", tmp_meta.display()))?;
    fs::rename(&tmp_meta, &sidecar)
        .with_context(|| format!("renaming into {}", sidecar.display()))?;
    Ok(GenOutput {
        path,
        meta,
        reused: false,
    })
}

/// What a format writer reports.
pub(crate) struct Written {
    pub bytes: u64,
    pub sha256: String,
    pub bad_rows: BTreeMap<String, u64>,
}
