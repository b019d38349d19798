//! Canonical answers: what every strategy must compute identically, and their digest.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// One `top-n` row: an order and its `quantity × price` in cents.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopRow {
    pub order_id: i64,
    pub total_cents: i64,
}

/// One `group-by` row.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupRow {
    pub category: String,
    pub rows: u64,
    pub sum_quantity: i64,
    pub sum_total_cents: i64,
}

/// The answer of a workload. Its canonical JSON (field order fixed, rows sorted, money in
/// integer cents) is what [`Answer::digest`] hashes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "workload", rename_all = "kebab-case")]
pub enum Answer {
    /// Best first: `total_cents` descending, then `order_id` ascending.
    TopN { rows: Vec<TopRow> },
    /// Sorted by category.
    GroupBy { groups: Vec<GroupRow> },
    /// `join`: per category of the joined items, sorted by category.
    Join { groups: Vec<GroupRow> },
    /// What an `etl` run wrote: identical bytes from every strategy, since the output order
    /// (input order) and encoding are fixed.
    Etl {
        rows_written: u64,
        /// `csv` or `parquet` (as these words in the canonical JSON).
        output_format: membench_protocol::Format,
        output_bytes: u64,
        /// sha256 of the output file, lowercase hex.
        output_sha256: String,
    },
    /// A user's query: its result table in canonical order (`membench-query`'s
    /// `QueryAnswer::to_json`).
    Query {
        columns: Vec<String>,
        rows: Vec<Vec<serde_json::Value>>,
        /// The result went to a file (`--output`): `{"rows": n, "digest": hex}`, its rows not
        /// kept (`rows` empty); the digest does not depend on the rows' order.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        written: Option<serde_json::Value>,
    },
}

impl Answer {
    /// The canonical JSON text.
    pub fn canonical_json(&self) -> String {
        serde_json::to_string(self).expect("answers always serialize")
    }

    /// sha256 of [`Answer::canonical_json`], lowercase hex.
    pub fn digest(&self) -> String {
        hex::encode(Sha256::digest(self.canonical_json().as_bytes()))
    }
}
