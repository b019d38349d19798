//! A user's table: the type of each column ([`ColumnType`], [`ColumnSchema`], [`TableSchema`]),
//! the command line's overrides of them ([`SchemaOverride`], `--schema 'col:type,…'`) and the
//! field texts that mean null ([`NullTokens`], `--nulls`). Types are spelled only here: the
//! strings are parsed once, at the edge, and everything after compares values.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The type of a column's values, as membench reads them from text and compares them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ColumnType {
    /// A signed 64-bit integer (`-12`, `+7`).
    Int64,
    /// A 64-bit float (`1.5e3`, `0.1` where a fixed scale does not fit).
    Float64,
    /// An exact decimal with a fixed number of digits after the point (money: `12.34` is
    /// `Decimal { scale: 2 }`), held as an integer of `10^-scale` units.
    Decimal { scale: u8 },
    /// `true` or `false` (any case).
    Bool,
    /// A calendar date, `YYYY-MM-DD` (or `YYYY/MM/DD`).
    Date,
    /// A date and time, ISO 8601: `YYYY-MM-DD[T| ]HH:MM[:SS[.f…]]`; `zone` when every value
    /// carries an offset (`Z`, `+02:00`), held as UTC then.
    Timestamp { zone: bool },
    /// Any text.
    String,
}

impl ColumnType {
    /// The largest scale a decimal may have (its values must fit an `i64` of units).
    pub const MAX_SCALE: u8 = 9;

    /// Every type's spelling, for error messages.
    pub const SPELLINGS: &'static str =
        "int64, float64, decimal(S) (S ≤ 9), bool, date, timestamp, timestamptz, string";
}

impl fmt::Display for ColumnType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ColumnType::Int64 => f.write_str("int64"),
            ColumnType::Float64 => f.write_str("float64"),
            ColumnType::Decimal { scale } => write!(f, "decimal({scale})"),
            ColumnType::Bool => f.write_str("bool"),
            ColumnType::Date => f.write_str("date"),
            ColumnType::Timestamp { zone: false } => f.write_str("timestamp"),
            ColumnType::Timestamp { zone: true } => f.write_str("timestamptz"),
            ColumnType::String => f.write_str("string"),
        }
    }
}

impl FromStr for ColumnType {
    type Err = String;

    /// Parses a spelling of [`fmt::Display`], plus the common synonyms (`int`, `bigint`,
    /// `double`, `varchar`, `text`, `boolean`, `decimal(P,S)`).
    fn from_str(s: &str) -> Result<ColumnType, String> {
        let t = s.trim().to_ascii_lowercase();
        let bad = || format!("unknown type {s:?} (known: {})", ColumnType::SPELLINGS);
        Ok(match t.as_str() {
            "int64" | "int" | "integer" | "bigint" | "i64" => ColumnType::Int64,
            "float64" | "float" | "double" | "f64" | "real" => ColumnType::Float64,
            "bool" | "boolean" => ColumnType::Bool,
            "date" => ColumnType::Date,
            "timestamp" => ColumnType::Timestamp { zone: false },
            "timestamptz" => ColumnType::Timestamp { zone: true },
            "string" | "str" | "text" | "varchar" | "utf8" => ColumnType::String,
            _ => {
                let inner = t
                    .strip_prefix("decimal(")
                    .or_else(|| t.strip_prefix("numeric("))
                    .and_then(|r| r.strip_suffix(')'))
                    .ok_or_else(bad)?;
                // `decimal(S)` or SQL's `decimal(P,S)`: the scale is the last number.
                let scale = inner.rsplit(',').next().unwrap_or(inner).trim();
                let scale: u8 = scale.parse().map_err(|_| bad())?;
                if scale > ColumnType::MAX_SCALE {
                    return Err(format!(
                        "{s:?}: a decimal's scale is at most {} (use float64)",
                        ColumnType::MAX_SCALE
                    ));
                }
                ColumnType::Decimal { scale }
            }
        })
    }
}

impl Serialize for ColumnType {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ColumnType {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// One column: its name (from the header), type and whether a null was seen in it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnSchema {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: ColumnType,
    pub nullable: bool,
}

/// A table's columns, in file order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableSchema {
    pub columns: Vec<ColumnSchema>,
}

impl TableSchema {
    /// The index of a column by exact name.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }

    /// The column names, comma-separated (for "unknown column" errors).
    pub fn names(&self) -> String {
        let names: Vec<&str> = self.columns.iter().map(|c| c.name.as_str()).collect();
        names.join(", ")
    }
}

impl fmt::Display for TableSchema {
    /// `name:type` per column, comma-separated: the `--schema` spelling, so a printed schema
    /// can be edited and passed back.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, c) in self.columns.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{}:{}", c.name, c.ty)?;
        }
        Ok(())
    }
}

/// A user's input as a cell reads it: its name in queries, its path (file, folder or glob of
/// parts) and how it is read, typed once by the driver (inferred, `--schema` applied) so that
/// every cell reads it with the same types and none pays for inference.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserTable {
    pub name: String,
    pub path: std::path::PathBuf,
    /// The field delimiter, one byte.
    pub delimiter: u8,
    pub nulls: NullTokens,
    pub schema: TableSchema,
    /// Per column: whether `--schema` gave its type (else it was inferred).
    pub given: Vec<bool>,
    /// How many rows the inferred types came from (named in a type break's message).
    pub sampled_rows: u64,
}

/// `--schema 'col:type,…'`: types that override the inferred ones, by column name.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchemaOverride(pub Vec<(String, ColumnType)>);

impl SchemaOverride {
    /// Every column of `schema` with its type (to read a table exactly as another was typed).
    pub fn from_schema(schema: &TableSchema) -> SchemaOverride {
        SchemaOverride(
            schema
                .columns
                .iter()
                .map(|c| (c.name.clone(), c.ty))
                .collect(),
        )
    }

    /// The type given for a column, if any.
    pub fn get(&self, name: &str) -> Option<ColumnType> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, t)| *t)
    }
}

impl FromStr for SchemaOverride {
    type Err = String;

    /// `a:int64,b:decimal(12,2)`: commas inside parentheses belong to the type. A column name
    /// holding `:` is written with the last `:` before the type.
    fn from_str(s: &str) -> Result<SchemaOverride, String> {
        let mut out = Vec::new();
        let mut depth = 0u32;
        let mut start = 0;
        let mut items = Vec::new();
        for (i, c) in s.char_indices() {
            match c {
                '(' => depth += 1,
                ')' => depth = depth.saturating_sub(1),
                ',' if depth == 0 => {
                    items.push(&s[start..i]);
                    start = i + 1;
                }
                _ => {}
            }
        }
        items.push(&s[start..]);
        for item in items.into_iter().filter(|i| !i.trim().is_empty()) {
            let (name, ty) = item
                .rsplit_once(':')
                .ok_or_else(|| format!("--schema item {item:?}: expected NAME:TYPE"))?;
            let ty = ty
                .parse()
                .map_err(|e| format!("--schema item {item:?}: {e}"))?;
            let name = name.trim().to_string();
            if out.iter().any(|(n, _)| *n == name) {
                return Err(format!("--schema names column {name:?} twice"));
            }
            out.push((name, ty));
        }
        Ok(SchemaOverride(out))
    }
}

/// The field texts that mean null (compared after nothing is trimmed, case-sensitive).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NullTokens(pub Vec<String>);

impl Default for NullTokens {
    /// The empty field, `NA`, `N/A`, `NULL` and `null`.
    fn default() -> Self {
        NullTokens(
            ["", "NA", "N/A", "NULL", "null"]
                .iter()
                .map(|s| s.to_string())
                .collect(),
        )
    }
}

impl NullTokens {
    /// Whether a field's bytes are a null token.
    #[inline]
    pub fn is_null(&self, field: &[u8]) -> bool {
        self.0.iter().any(|t| t.as_bytes() == field)
    }
}

impl FromStr for NullTokens {
    type Err = String;

    /// `--nulls ',NA,-'`: comma-separated; an empty item is the empty field.
    fn from_str(s: &str) -> Result<NullTokens, String> {
        Ok(NullTokens(s.split(',').map(|t| t.to_string()).collect()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_round_trip_through_their_spelling() {
        for t in [
            ColumnType::Int64,
            ColumnType::Float64,
            ColumnType::Decimal { scale: 2 },
            ColumnType::Bool,
            ColumnType::Date,
            ColumnType::Timestamp { zone: false },
            ColumnType::Timestamp { zone: true },
            ColumnType::String,
        ] {
            assert_eq!(t.to_string().parse::<ColumnType>(), Ok(t));
        }
        assert_eq!(
            "DECIMAL(18, 2)".parse(),
            Ok(ColumnType::Decimal { scale: 2 })
        );
        assert!("decimal(12)".parse::<ColumnType>().is_err());
        let e = "uint8".parse::<ColumnType>().unwrap_err();
        assert!(e.contains("int64, float64"), "{e}");
    }

    #[test]
    fn an_override_keeps_commas_inside_parentheses() {
        let o: SchemaOverride = "price:decimal(12,2), id:int64,when:timestamptz"
            .parse()
            .unwrap();
        assert_eq!(o.get("price"), Some(ColumnType::Decimal { scale: 2 }));
        assert_eq!(o.get("id"), Some(ColumnType::Int64));
        assert_eq!(o.get("when"), Some(ColumnType::Timestamp { zone: true }));
        assert!("a:int64,a:string".parse::<SchemaOverride>().is_err());
        assert!("a".parse::<SchemaOverride>().is_err());
    }

    #[test]
    fn null_tokens_default_and_override() {
        let d = NullTokens::default();
        assert!(d.is_null(b"") && d.is_null(b"NA") && d.is_null(b"null"));
        assert!(!d.is_null(b"na") && !d.is_null(b"0"));
        let o: NullTokens = ",-".parse().unwrap();
        assert!(o.is_null(b"") && o.is_null(b"-") && !o.is_null(b"NA"));
    }
}
