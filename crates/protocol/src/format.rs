//! Input formats and declared memory growth.

use serde::{Deserialize, Serialize};

/// An input (or `etl` output) file format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Csv,
    Parquet,
}

impl Format {
    /// Every format, in matrix order.
    pub const ALL: [Format; 2] = [Format::Csv, Format::Parquet];

    /// `csv` or `parquet`: the command-line name and the file extension.
    pub fn name(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Parquet => "parquet",
        }
    }

    /// Parses `csv` or `parquet`.
    pub fn parse(s: &str) -> Option<Format> {
        Format::ALL.into_iter().find(|f| f.name() == s)
    }

    /// The format a file name says (`.csv`, `.parquet` or `.pq`; a CSV file may be compressed:
    /// `.csv.gz`, `.csv.zst`).
    pub fn of_path(path: &std::path::Path) -> Option<Format> {
        let name = path.file_name()?.to_str()?;
        let (stem, compression) = Compression::split(name);
        let ext = stem.rsplit_once('.')?.1;
        match ext {
            "csv" => Some(Format::Csv),
            "parquet" | "pq" if compression == Compression::None => Some(Format::Parquet),
            _ => None,
        }
    }
}

/// How a CSV file is compressed (its name's last suffix says it). Parquet compresses inside
/// the file, by column chunk.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    #[default]
    None,
    Gzip,
    Zstd,
}

impl Compression {
    /// The codecs (`None` excluded).
    pub const CODECS: [Compression; 2] = [Compression::Gzip, Compression::Zstd];

    /// `none`, `gzip` or `zstd`.
    pub fn name(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
        }
    }

    /// Parses a codec for compressing a file: `gzip`/`gz` or `zstd`/`zst` (not `none`).
    pub fn parse_codec(s: &str) -> Result<Compression, String> {
        Compression::parse(s)
            .filter(|c| !c.is_none())
            .ok_or_else(|| format!("unknown codec {s:?} (gzip, zstd)"))
    }

    /// The file-name suffix: empty, `.gz` or `.zst`.
    pub fn suffix(self) -> &'static str {
        match self {
            Compression::None => "",
            Compression::Gzip => ".gz",
            Compression::Zstd => ".zst",
        }
    }

    /// Parses `gzip`/`gz` or `zstd`/`zst` (and `none`).
    pub fn parse(s: &str) -> Option<Compression> {
        match s {
            "none" => Some(Compression::None),
            "gzip" | "gz" => Some(Compression::Gzip),
            "zstd" | "zst" => Some(Compression::Zstd),
            _ => None,
        }
    }

    /// A file name without its compression suffix, and the compression it named.
    pub fn split(name: &str) -> (&str, Compression) {
        for c in Compression::CODECS {
            if let Some(stem) = name.strip_suffix(c.suffix()) {
                return (stem, c);
            }
        }
        (name, Compression::None)
    }

    /// The compression a path's name says.
    pub fn of_path(path: &std::path::Path) -> Compression {
        path.file_name()
            .and_then(|n| n.to_str())
            .map_or(Compression::None, |n| Compression::split(n).1)
    }

    /// Whether the file is compressed.
    pub fn is_none(&self) -> bool {
        *self == Compression::None
    }

    /// The matrix's name for a format so compressed: `csv`, `csv.gz`, `csv.zst`.
    pub fn format_name(self, format: Format) -> String {
        format!("{}{}", format.name(), self.suffix())
    }

    /// Parses a matrix format name (`csv`, `parquet`, `csv.gz`, `csv.zst`).
    pub fn parse_format_name(s: &str) -> Option<(Format, Compression)> {
        let (stem, c) = Compression::split(s);
        let f = Format::parse(stem)?;
        (c.is_none() || f == Format::Csv).then_some((f, c))
    }
}

/// A matrix format: a file format and, for CSV, how it is compressed (`csv`, `csv.gz`,
/// `csv.zst`, `parquet`). Written and read by that name; ordered by it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct InputFormat {
    pub format: Format,
    pub compression: Compression,
}

impl InputFormat {
    /// Uncompressed CSV.
    pub const CSV: InputFormat = InputFormat {
        format: Format::Csv,
        compression: Compression::None,
    };
    /// Parquet (compressed inside the file, by column chunk).
    pub const PARQUET: InputFormat = InputFormat {
        format: Format::Parquet,
        compression: Compression::None,
    };
    /// Gzip-compressed CSV.
    pub const CSV_GZ: InputFormat = InputFormat {
        format: Format::Csv,
        compression: Compression::Gzip,
    };
    /// Zstandard-compressed CSV.
    pub const CSV_ZST: InputFormat = InputFormat {
        format: Format::Csv,
        compression: Compression::Zstd,
    };
    /// Every matrix format, in command-line order.
    pub const ALL: [InputFormat; 4] = [
        InputFormat::CSV,
        InputFormat::PARQUET,
        InputFormat::CSV_GZ,
        InputFormat::CSV_ZST,
    ];

    /// Whether the file is compressed as a whole (CSV only).
    pub fn is_compressed(self) -> bool {
        !self.compression.is_none()
    }

    /// `csv`, `csv.gz`, `csv.zst` or `parquet`.
    pub fn name(self) -> &'static str {
        match (self.format, self.compression) {
            (Format::Csv, Compression::None) => "csv",
            (Format::Csv, Compression::Gzip) => "csv.gz",
            (Format::Csv, Compression::Zstd) => "csv.zst",
            // Parquet is never compressed as a whole file (see [`InputFormat::parse`]).
            (Format::Parquet, _) => "parquet",
        }
    }

    /// Parses a matrix format name; the error lists the known ones.
    pub fn parse(s: &str) -> Result<InputFormat, String> {
        Compression::parse_format_name(s)
            .map(|(format, compression)| InputFormat {
                format,
                compression,
            })
            .ok_or_else(|| {
                format!(
                    "unknown format {s:?} (known: {})",
                    InputFormat::ALL.map(InputFormat::name).join(", ")
                )
            })
    }

    /// The format a file name says (`.csv`, `.csv.gz`, `.csv.zst`, `.parquet`, `.pq`).
    pub fn of_path(path: &std::path::Path) -> Option<InputFormat> {
        Some(InputFormat {
            format: Format::of_path(path)?,
            compression: Compression::of_path(path),
        })
    }
}

impl std::fmt::Display for InputFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.name())
    }
}

/// Ordered by name, as reports list formats.
impl Ord for InputFormat {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.name().cmp(other.name())
    }
}

impl PartialOrd for InputFormat {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Serialize for InputFormat {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for InputFormat {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = std::borrow::Cow::<str>::deserialize(d)?;
        InputFormat::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.name())
    }
}

/// Declared memory growth of a strategy as its input grows; the CI gate checks it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Growth {
    /// Bounded: does not grow with the file.
    Constant,
    /// Proportional to the file.
    Linear,
}

impl Growth {
    /// `constant` or `linear`.
    pub fn name(self) -> &'static str {
        match self {
            Growth::Constant => "constant",
            Growth::Linear => "linear",
        }
    }

    /// Parses `constant` or `linear`.
    pub fn parse(s: &str) -> Option<Growth> {
        [Growth::Constant, Growth::Linear]
            .into_iter()
            .find(|g| g.name() == s)
    }

    /// The largest log-log slope of peak heap against rows this growth allows. The gate catches
    /// a change of complexity class (bounded → growing like √n or worse, linear → clearly
    /// superlinear); drift within a class is the per-cell heap tolerance's job.
    pub fn max_slope(self) -> f64 {
        match self {
            Growth::Constant => 0.5,
            Growth::Linear => 1.5,
        }
    }
}

impl std::fmt::Display for Growth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.name())
    }
}
