//! The dataset sidecar `<file>.meta.json` the generator writes next to every dataset.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{Compression, Format};

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
    /// Every codec.
    pub const ALL: [ParquetCompressionName; 4] = [
        ParquetCompressionName::Uncompressed,
        ParquetCompressionName::Snappy,
        ParquetCompressionName::Zstd,
        ParquetCompressionName::Lz4,
    ];

    /// The codec's name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Uncompressed => "uncompressed",
            Self::Snappy => "snappy",
            Self::Zstd => "zstd",
            Self::Lz4 => "lz4",
        }
    }

    /// Parses a codec name (`none` is `uncompressed`); the error lists the known ones.
    pub fn parse(s: &str) -> Result<Self, String> {
        match s {
            "none" => Ok(Self::Uncompressed),
            _ => Self::ALL
                .into_iter()
                .find(|c| c.name() == s)
                .ok_or_else(|| {
                    format!("unknown parquet compression {s:?} (uncompressed, snappy, zstd, lz4)")
                }),
        }
    }
}

/// Which schema a dataset has.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DataSchema {
    /// One `sales` file.
    #[default]
    Sales,
    /// Two related tables, `orders` and `order_items` (the `join` workload).
    Orders,
}

impl DataSchema {
    /// `sales` or `orders`.
    pub fn name(self) -> &'static str {
        match self {
            DataSchema::Sales => "sales",
            DataSchema::Orders => "orders",
        }
    }

    /// Parses a schema name; the error lists the known ones.
    pub fn parse(s: &str) -> Result<DataSchema, String> {
        [DataSchema::Sales, DataSchema::Orders]
            .into_iter()
            .find(|d| d.name() == s)
            .ok_or_else(|| format!("unknown schema {s:?} (sales, orders)"))
    }

    fn is_sales(&self) -> bool {
        *self == DataSchema::Sales
    }
}

/// Everything that determines a dataset's bytes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GenSpec {
    /// The schema (`orders`: `rows` counts orders). Absent from `sales` sidecars.
    #[serde(default, skip_serializing_if = "DataSchema::is_sales")]
    pub schema: DataSchema,
    /// Rows (lines after the header, malformed ones included); for `orders`, the orders.
    pub rows: u64,
    pub seed: u64,
    /// Fraction of rows replaced by malformed ones (CSV only).
    pub bad_row_rate: f64,
    /// Rows per Parquet row group.
    pub row_group_rows: usize,
    pub compression: ParquetCompressionName,
    /// Notes hold quoted line feeds and CRLFs (`--messy`): hard RFC 4180 input in the matrix.
    /// Absent from the sidecar when off, so the default datasets' sidecars are unchanged.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub messy: bool,
    /// `orders`: items written in shuffled order instead of `order_id` order.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub shuffle_items: bool,
    /// The shape knobs (`--key-cardinality`, `--skew`, …); absent for the default table.
    #[serde(default, flatten)]
    pub shape: crate::Shape,
}

impl Default for GenSpec {
    fn default() -> Self {
        GenSpec {
            schema: DataSchema::Sales,
            shuffle_items: false,
            rows: 1_000_000,
            seed: 42,
            bad_row_rate: 0.0,
            row_group_rows: 100_000,
            compression: ParquetCompressionName::Snappy,
            messy: false,
            shape: crate::Shape::default(),
        }
    }
}

/// One part file of a multi-file dataset.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartMeta {
    pub file: String,
    pub rows: u64,
    pub bytes: u64,
    pub sha256: String,
    /// The part file's modification time when it was written (ns since the epoch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtime_ns: Option<u64>,
}

/// The sidecar written next to every dataset as `<file>.meta.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Sidecar {
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
    /// A compressed copy of a CSV dataset (`.csv.gz`, `.csv.zst`): `bytes` and `sha256` are the
    /// compressed file's; `rows` and the rest are its content's.
    #[serde(default, skip_serializing_if = "Compression::is_none")]
    pub compressed: Compression,
    /// A multi-file dataset (`--files N`): `file` is its folder, and these its part files in
    /// order (their rows in sequence are the single file's rows; `sha256` hashes the parts'
    /// names and hashes).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parts: Vec<PartMeta>,
    /// The other table of a pair (`order_items` names its `orders` file and the reverse).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pair: Option<String>,
    /// The file's modification time when it was written (ns since the epoch): a reused file
    /// must still have it, or the same sha256.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtime_ns: Option<u64>,
}
