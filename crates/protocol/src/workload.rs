//! What a cell computes ([`Workload`]) and what it does with a malformed row ([`OnBadRow`]):
//! typed values from the command line to the report. Their names are spelled only here (serde
//! and display use them), so nothing else compares a workload by its name.

use std::cmp::Ordering;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::DataSchema;

/// A workload: the question a cell answers. Today's four are built in; a workload a user defines
/// (a query) is meant to be another value of this type carrying what defines it, which is why
/// it is not `Copy` and why code asks it ([`Workload::input`], [`Workload::is_aggregate`])
/// rather than matching names.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Workload {
    /// The 100 largest orders by `quantity × price` above 1000, ties by `order_id` ascending.
    TopN,
    /// Per `category`: row count, sum of quantity, sum of `quantity × price` (exact cents).
    GroupBy,
    /// Clean and transform every row and write it, in input order, to an output file (CSV or
    /// Parquet). Answer: rows written and the output's sha256.
    Etl,
    /// `orders` ⋈ `order_items` on `order_id`, orders in a date range, per item category:
    /// joined items, sum of quantity, sum of `quantity × price`.
    Join,
}

impl Workload {
    /// The built-in workloads, in display order.
    pub const BUILTIN: [Workload; 4] = [
        Workload::TopN,
        Workload::GroupBy,
        Workload::Etl,
        Workload::Join,
    ];
    /// The built-in workloads over one `sales` file.
    pub const SALES: [Workload; 3] = [Workload::TopN, Workload::GroupBy, Workload::Etl];

    /// The command-line and record name.
    pub fn name(&self) -> &'static str {
        match self {
            Workload::TopN => "top-n",
            Workload::GroupBy => "group-by",
            Workload::Etl => "etl",
            Workload::Join => "join",
        }
    }

    /// Parses a command-line name; the error lists the known ones.
    pub fn parse(s: &str) -> Result<Workload, String> {
        Self::BUILTIN
            .into_iter()
            .find(|w| w.name() == s)
            .ok_or_else(|| {
                format!(
                    "unknown workload {s:?} (known: {})",
                    Self::BUILTIN.map(|w| w.name()).join(", ")
                )
            })
    }

    /// Whether the workload folds rows into an aggregate (`top-n`, `group-by`, `join`) rather
    /// than writing them out (`etl`).
    pub fn is_aggregate(&self) -> bool {
        *self != Workload::Etl
    }

    /// Whether the workload reads the two tables of the `orders` schema.
    pub fn is_join(&self) -> bool {
        self.input() == DataSchema::Orders
    }

    /// The schema of the datasets it reads.
    pub fn input(&self) -> DataSchema {
        match self {
            Workload::TopN | Workload::GroupBy | Workload::Etl => DataSchema::Sales,
            Workload::Join => DataSchema::Orders,
        }
    }
}

impl fmt::Display for Workload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
}

/// Ordered by name, as reports list workloads.
impl Ord for Workload {
    fn cmp(&self, other: &Self) -> Ordering {
        self.name().cmp(other.name())
    }
}

impl PartialOrd for Workload {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Serialize for Workload {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for Workload {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = std::borrow::Cow::<str>::deserialize(d)?;
        Workload::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// What a strategy does with a malformed row.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OnBadRow {
    /// Stop at the first bad row with an error naming file, line and reason.
    #[default]
    Fail,
    /// Skip bad rows and count them in `rows_skipped`.
    Skip,
}

impl OnBadRow {
    /// `fail` or `skip`.
    pub fn name(self) -> &'static str {
        match self {
            OnBadRow::Fail => "fail",
            OnBadRow::Skip => "skip",
        }
    }

    /// Parses `fail` or `skip`; the error says what is expected.
    pub fn parse(s: &str) -> Result<OnBadRow, String> {
        match s {
            "fail" => Ok(OnBadRow::Fail),
            "skip" => Ok(OnBadRow::Skip),
            _ => Err(format!("--on-bad-row must be fail or skip, got {s:?}")),
        }
    }
}

impl fmt::Display for OnBadRow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
}

impl Serialize for OnBadRow {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for OnBadRow {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = std::borrow::Cow::<str>::deserialize(d)?;
        OnBadRow::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_serde_and_order_by_name() {
        for w in Workload::BUILTIN {
            let json = serde_json::to_string(&w).unwrap();
            assert_eq!(json, format!("\"{}\"", w.name()));
            assert_eq!(serde_json::from_str::<Workload>(&json).unwrap(), w);
        }
        let mut sorted = Workload::BUILTIN.to_vec();
        sorted.sort();
        assert_eq!(
            sorted.iter().map(Workload::name).collect::<Vec<_>>(),
            ["etl", "group-by", "join", "top-n"]
        );
        assert!(
            Workload::parse("topn")
                .unwrap_err()
                .contains("top-n, group-by")
        );
        assert_eq!(serde_json::to_string(&OnBadRow::Skip).unwrap(), "\"skip\"");
        assert!(serde_json::from_str::<OnBadRow>("\"maybe\"").is_err());
    }
}
