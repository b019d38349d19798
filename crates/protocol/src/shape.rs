//! A generated dataset's shape: the generator's knobs beyond its size (`--key-cardinality`,
//! `--skew`, `--null-rate`, `--text-bytes`, `--sorted-by`). Every knob absent is the default
//! `sales` table, byte for byte; a shape is written into the sidecar, the records and the
//! cell's identity, so a cardinality sweep is an axis of the matrix and the report.

use std::cmp::Ordering;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::units::parse_count;

/// A fraction or exponent that orders and hashes (by its bits): the shape is part of a cell's
/// identity.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Ratio(pub f64);

impl PartialEq for Ratio {
    fn eq(&self, o: &Self) -> bool {
        self.0.total_cmp(&o.0) == Ordering::Equal
    }
}
impl Eq for Ratio {}
impl PartialOrd for Ratio {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Ratio {
    fn cmp(&self, o: &Self) -> Ordering {
        self.0.total_cmp(&o.0)
    }
}
impl std::hash::Hash for Ratio {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        self.0.to_bits().hash(h)
    }
}

/// The column a generated table is sorted by (`--sorted-by`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SortKey {
    /// `customer_id` ascending (the key of the high-cardinality group-by).
    CustomerId,
    /// `order_date` ascending.
    OrderDate,
}

impl SortKey {
    /// Every sortable column.
    pub const ALL: [SortKey; 2] = [SortKey::CustomerId, SortKey::OrderDate];

    /// The column's name.
    pub fn name(self) -> &'static str {
        match self {
            SortKey::CustomerId => "customer_id",
            SortKey::OrderDate => "order_date",
        }
    }

    /// Parses a column name; the error lists the sortable ones (`order_id` is always sorted).
    pub fn parse(s: &str) -> Result<SortKey, String> {
        SortKey::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| {
                format!(
                    "--sorted-by {s:?}: the sales table can be sorted by customer_id or \
                     order_date (order_id is always ascending)"
                )
            })
    }
}

/// The largest `--key-cardinality`.
pub const MAX_KEY_CARDINALITY: u64 = 1_000_000_000;
/// The default number of distinct `customer_id`s (drawn uniformly from 1..=1 000 000).
pub const DEFAULT_KEY_CARDINALITY: u64 = 1_000_000;
/// The largest `--text-bytes`.
pub const MAX_TEXT_BYTES: u32 = 65_536;
/// The largest zipf exponent of `--skew`.
pub const MAX_ZIPF: f64 = 10.0;

/// A dataset's shape knobs; all `None` is the default table.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Shape {
    /// Distinct `customer_id`s (1 to 10⁹): each key appears `rows / N` times (exactly `N`
    /// keys once `rows ≥ N`), unless `zipf` skews their frequencies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_cardinality: Option<u64>,
    /// `--skew zipf:S`: the key of rank `r` is drawn with probability ∝ `r^-S`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zipf: Option<Ratio>,
    /// The probability that the nullable field `discount` is empty (null); the default table
    /// has 2 % of them empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub null_rate: Option<Ratio>,
    /// The mean length of a `note` in bytes (each note between half and 1.5× of it); the
    /// default table's notes average about 125 bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_bytes: Option<u32>,
    /// The column the rows are sorted by.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sorted_by: Option<SortKey>,
}

impl Shape {
    /// True for the default table.
    pub fn is_default(&self) -> bool {
        *self == Shape::default()
    }

    /// The number of distinct keys the generator draws from.
    pub fn keys(&self) -> u64 {
        self.key_cardinality.unwrap_or(DEFAULT_KEY_CARDINALITY)
    }

    /// Checks every knob's range; the error names the flag and its valid range.
    pub fn check(&self) -> Result<(), String> {
        if let Some(k) = self.key_cardinality
            && !(1..=MAX_KEY_CARDINALITY).contains(&k)
        {
            return Err(format!(
                "--key-cardinality {k}: must be between 1 and {MAX_KEY_CARDINALITY}"
            ));
        }
        if let Some(Ratio(s)) = self.zipf
            && !(s > 0.0 && s <= MAX_ZIPF)
        {
            return Err(format!(
                "--skew zipf:{s}: the exponent must be above 0 and at most {MAX_ZIPF}"
            ));
        }
        if let Some(Ratio(r)) = self.null_rate
            && !(0.0..=1.0).contains(&r)
        {
            return Err(format!("--null-rate {r}: must be between 0 and 1"));
        }
        if let Some(b) = self.text_bytes
            && b > MAX_TEXT_BYTES
        {
            return Err(format!(
                "--text-bytes {b}: must be between 0 and {MAX_TEXT_BYTES}"
            ));
        }
        Ok(())
    }

    /// A short label for reports and file names' readers: `cardinality=10m,zipf=1.1`; empty for
    /// the default table.
    pub fn label(&self) -> String {
        let mut parts = Vec::new();
        if let Some(k) = self.key_cardinality {
            parts.push(format!("cardinality={}", crate::units::rows_label(k)));
        }
        if let Some(Ratio(s)) = self.zipf {
            parts.push(format!("zipf={s}"));
        }
        if let Some(Ratio(r)) = self.null_rate {
            parts.push(format!("nulls={r}"));
        }
        if let Some(b) = self.text_bytes {
            parts.push(format!("text={b}B"));
        }
        if let Some(k) = self.sorted_by {
            parts.push(format!("sorted={}", k.name()));
        }
        parts.join(",")
    }

    /// The file-name suffix: `-k10m-zipf1.1-null0.1-text500-by_customer_id`; empty for the
    /// default table.
    pub fn file_suffix(&self) -> String {
        let mut s = String::new();
        if let Some(k) = self.key_cardinality {
            s.push_str(&format!("-k{}", crate::units::rows_label(k)));
        }
        if let Some(Ratio(z)) = self.zipf {
            s.push_str(&format!("-zipf{z}"));
        }
        if let Some(Ratio(r)) = self.null_rate {
            s.push_str(&format!("-null{r}"));
        }
        if let Some(b) = self.text_bytes {
            s.push_str(&format!("-text{b}"));
        }
        if let Some(k) = self.sorted_by {
            s.push_str(&format!("-by_{}", k.name()));
        }
        s
    }
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.is_default() {
            true => f.write_str("default"),
            false => f.write_str(&self.label()),
        }
    }
}

/// Parses `--key-cardinality` (`10`, `10k`, `1m`, `1e7`) and checks its range.
pub fn parse_key_cardinality(s: &str) -> Result<u64, String> {
    let n = parse_count(s).map_err(|e| format!("--key-cardinality: {e}"))?;
    Shape {
        key_cardinality: Some(n),
        ..Shape::default()
    }
    .check()?;
    Ok(n)
}

/// Parses `--skew zipf:S` and checks its range.
pub fn parse_skew(s: &str) -> Result<Ratio, String> {
    let Some(exp) = s.strip_prefix("zipf:") else {
        return Err(format!(
            "--skew {s:?}: expected zipf:S with S above 0 (e.g. zipf:1.1)"
        ));
    };
    let v: f64 = exp
        .parse()
        .map_err(|_| format!("--skew {s:?}: {exp:?} is not a number"))?;
    Shape {
        zipf: Some(Ratio(v)),
        ..Shape::default()
    }
    .check()?;
    Ok(Ratio(v))
}

/// Parses `--null-rate R` and checks its range.
pub fn parse_null_rate(s: &str) -> Result<Ratio, String> {
    let v: f64 = s
        .parse()
        .map_err(|_| format!("--null-rate {s:?}: not a number (between 0 and 1)"))?;
    Shape {
        null_rate: Some(Ratio(v)),
        ..Shape::default()
    }
    .check()?;
    Ok(Ratio(v))
}

/// The mean CSV width of a `sales` row without its `note` (the nine other fields, the
/// separators and the line end), measured on the default table: `--row-bytes B` asks for notes
/// of `B` minus this (a test in `membench-datagen` holds the widths it gives within 5 %).
pub const ROW_BYTES_WITHOUT_NOTE: u32 = 60;

/// Parses `--row-bytes B` (the mean CSV row width) into the mean `note` length that gives it,
/// and checks its range.
pub fn parse_row_bytes(s: &str) -> Result<u32, String> {
    let range = || {
        format!(
            "must be between {ROW_BYTES_WITHOUT_NOTE} (empty notes) and {}",
            ROW_BYTES_WITHOUT_NOTE + MAX_TEXT_BYTES
        )
    };
    let v: u64 = s.parse().map_err(|_| {
        format!(
            "--row-bytes {s:?}: not a whole number of bytes ({})",
            range()
        )
    })?;
    match v.checked_sub(u64::from(ROW_BYTES_WITHOUT_NOTE)) {
        Some(note) if note <= u64::from(MAX_TEXT_BYTES) => Ok(note as u32),
        _ => Err(format!("--row-bytes {v}: {}", range())),
    }
}

/// Parses `--text-bytes B` and checks its range.
pub fn parse_text_bytes(s: &str) -> Result<u32, String> {
    let v: u64 = s
        .parse()
        .map_err(|_| format!("--text-bytes {s:?}: not a whole number of bytes"))?;
    let b = u32::try_from(v).unwrap_or(u32::MAX);
    Shape {
        text_bytes: Some(b),
        ..Shape::default()
    }
    .check()?;
    Ok(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_bytes_are_notes_plus_the_other_fields_within_range() {
        assert_eq!(parse_row_bytes("400").unwrap(), 340);
        assert_eq!(parse_row_bytes("60").unwrap(), 0);
        for bad in ["59", "70000", "wide"] {
            let e = parse_row_bytes(bad).unwrap_err();
            assert!(
                e.contains("between 60 (empty notes) and 65596"),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn knobs_out_of_range_are_refused_with_the_valid_range() {
        let e = parse_key_cardinality("0").unwrap_err();
        assert!(e.contains("between 1 and 1000000000"), "{e}");
        assert!(parse_key_cardinality("2b").is_err());
        assert_eq!(parse_key_cardinality("1e7"), Ok(10_000_000));
        assert_eq!(parse_key_cardinality("10k"), Ok(10_000));
        let e = parse_null_rate("2").unwrap_err();
        assert!(e.contains("between 0 and 1"), "{e}");
        assert!(parse_skew("zipf:0").is_err());
        assert!(parse_skew("pareto:1").unwrap_err().contains("zipf:S"));
        assert_eq!(parse_skew("zipf:1.1"), Ok(Ratio(1.1)));
        assert!(parse_text_bytes("100000").unwrap_err().contains("65536"));
        assert!(SortKey::parse("price").unwrap_err().contains("customer_id"));
    }

    #[test]
    fn the_default_shape_is_absent_from_json_and_labels() {
        let d = Shape::default();
        assert_eq!(serde_json::to_string(&d).unwrap(), "{}");
        assert_eq!(d.label(), "");
        assert_eq!(d.file_suffix(), "");
        let s = Shape {
            key_cardinality: Some(10_000_000),
            zipf: Some(Ratio(1.1)),
            sorted_by: Some(SortKey::CustomerId),
            ..Shape::default()
        };
        assert_eq!(s.label(), "cardinality=10m,zipf=1.1,sorted=customer_id");
        assert_eq!(s.file_suffix(), "-k10m-zipf1.1-by_customer_id");
        let back: Shape = serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
        assert_eq!(back, s);
    }
}
