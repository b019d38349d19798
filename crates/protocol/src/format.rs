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

    /// The format a file name says (`.csv`, `.parquet` or `.pq`).
    pub fn of_path(path: &std::path::Path) -> Option<Format> {
        match path.extension().and_then(|e| e.to_str()) {
            Some("csv") => Some(Format::Csv),
            Some("parquet") | Some("pq") => Some(Format::Parquet),
            _ => None,
        }
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
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
        f.write_str(self.name())
    }
}
