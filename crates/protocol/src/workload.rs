//! What a cell computes ([`Workload`], with its parameters) and what it does with a malformed
//! row ([`OnBadRow`]): typed values from the command line to the report. Their names are spelled
//! only here (serde and display use them), so nothing else compares a workload by its name.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::DataSchema;

/// A workload: the question a cell answers, with the parameters that define it. The built-in
/// ones are named values of it ([`Workload::builtin`], one entry each in `BUILTIN`); a value
/// that is not built in (other parameters) is named by its parameters. Every strategy computes
/// any value from its parameters, so a new built-in workload of a known kind is one entry.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Workload {
    /// The `n` largest orders by `quantity × price` above a threshold, ties by `order_id`
    /// ascending.
    TopN(TopNParams),
    /// Per `category`: row count, sum of quantity, sum of `quantity × price` (exact cents).
    GroupBy,
    /// Clean and transform every row and write it, in input order, to an output file (CSV or
    /// Parquet). Answer: rows written and the output's sha256.
    Etl,
    /// `orders` ⋈ `order_items` on `order_id`, orders whose `order_date` is in the range, per
    /// item category: joined items, sum of quantity, sum of `quantity × price`.
    Join(DateRange),
    /// A user's SQL query over the user's tables (`run --input NAME=PATH --query SQL`). The
    /// job that runs it carries the typed plan and the tables' schemas beside it.
    Query(Box<QuerySpec>),
}

/// A user's query: its short name (the report's title for it), its text and the tables it
/// reads (the `FROM` table, then the joined one).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct QuerySpec {
    pub name: String,
    pub sql: String,
    pub tables: Vec<String>,
    /// Each table's schema as the run typed it (`name:type,…`, the `--schema` spelling).
    #[serde(default)]
    pub schemas: Vec<String>,
    /// Whether the query groups rows by keys (`GROUP BY`), as its plan says: a spilling
    /// aggregation runs only such a query.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub groups: bool,
}

/// The parameters of a top-n.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TopNParams {
    /// How many orders the answer lists (at most).
    pub n: u32,
    /// Only orders whose `quantity × price` is strictly above this many cents.
    pub above_cents: i64,
}

impl TopNParams {
    /// `top-n`: the 100 largest above 1000.00.
    pub const DEFAULT: TopNParams = TopNParams {
        n: 100,
        above_cents: 100_000,
    };
}

/// The built-in workloads, in display order: one entry each, its name and its value.
const BUILTIN: &[(&str, Workload)] = &[
    ("top-n", Workload::TOP_N),
    ("group-by", Workload::GroupBy),
    ("etl", Workload::Etl),
    ("join", Workload::JOIN),
];

impl Workload {
    /// The built-in `top-n`.
    pub const TOP_N: Workload = Workload::TopN(TopNParams::DEFAULT);
    /// The built-in `join` (the middle year of the generated orders).
    pub const JOIN: Workload = Workload::Join(DateRange::DEFAULT);

    /// The built-in workloads, in display order.
    pub fn builtin() -> impl Iterator<Item = Workload> {
        BUILTIN.iter().map(|(_, w)| w.clone())
    }

    /// The built-in workloads over one `sales` file.
    pub fn sales() -> impl Iterator<Item = Workload> {
        Self::builtin().filter(|w| w.input() == Some(DataSchema::Sales))
    }

    /// The name of its kind: `top-n`, `group-by`, `etl` or `join`, whatever its parameters.
    pub fn kind(&self) -> &'static str {
        match self {
            Workload::TopN(_) => "top-n",
            Workload::GroupBy => "group-by",
            Workload::Etl => "etl",
            Workload::Join(_) => "join",
            Workload::Query(_) => "query",
        }
    }

    /// The command-line and record name: a built-in's name, else its kind and parameters
    /// (`top-n(n=10,above_cents=100000)`, `join(2024-01-01..2024-06-30)`).
    pub fn name(&self) -> Cow<'static, str> {
        if let Some((name, _)) = BUILTIN.iter().find(|(_, w)| w == self) {
            return Cow::Borrowed(name);
        }
        Cow::Owned(match self {
            Workload::Query(q) => q.name.clone(),
            Workload::TopN(p) => format!("top-n(n={},above_cents={})", p.n, p.above_cents),
            Workload::Join(d) => format!("join({d})"),
            Workload::GroupBy | Workload::Etl => self.kind().to_string(),
        })
    }

    /// Parses a name as [`Workload::name`] writes it; the error lists the built-in ones.
    pub fn parse(s: &str) -> Result<Workload, String> {
        if let Some((_, w)) = BUILTIN.iter().find(|(name, _)| *name == s) {
            return Ok(w.clone());
        }
        let known = || {
            format!(
                "unknown workload {s:?} (known: {}; or top-n(n=N,above_cents=C), \
                 join(FROM..TO))",
                BUILTIN
                    .iter()
                    .map(|(n, _)| *n)
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        let (kind, params) = s
            .strip_suffix(')')
            .and_then(|t| t.split_once('('))
            .ok_or_else(known)?;
        match kind {
            "top-n" => {
                let mut p = TopNParams::DEFAULT;
                for kv in params.split(',') {
                    let bad = || format!("{s:?}: expected top-n(n=N,above_cents=C)");
                    match kv.split_once('=').ok_or_else(bad)? {
                        ("n", v) => p.n = v.parse().map_err(|_| bad())?,
                        ("above_cents", v) => p.above_cents = v.parse().map_err(|_| bad())?,
                        _ => return Err(bad()),
                    }
                }
                Ok(Workload::TopN(p))
            }
            "join" => Ok(Workload::Join(DateRange::parse(params)?)),
            _ => Err(known()),
        }
    }

    /// The workload as SQL over the generated tables (`sales`; `orders` and `order_items`), the
    /// question the generic operators answer the same way: `None` for `etl`, whose text rules
    /// are not a query. Money is exact: `quantity * price` is a two-digit decimal.
    pub fn sql(&self) -> Option<String> {
        Some(match self {
            Workload::TopN(p) => format!(
                "SELECT order_id, quantity * price AS total FROM sales \
                 WHERE quantity * price > {}.{:02} ORDER BY total DESC, order_id LIMIT {}",
                p.above_cents.div_euclid(100),
                p.above_cents.rem_euclid(100),
                p.n
            ),
            Workload::GroupBy => "SELECT category, count(*) AS rows, sum(quantity) AS \
                 sum_quantity, sum(quantity * price) AS sum_total FROM sales \
                 GROUP BY category ORDER BY category"
                .into(),
            Workload::Join(d) => format!(
                "SELECT i.category, count(*) AS rows, sum(i.quantity) AS sum_quantity, \
                 sum(i.quantity * i.price) AS sum_total FROM orders o JOIN order_items i \
                 ON o.order_id = i.order_id WHERE o.order_date BETWEEN '{}' AND '{}' \
                 GROUP BY i.category ORDER BY i.category",
                d.from.as_str(),
                d.to.as_str()
            ),
            Workload::Etl => return None,
            Workload::Query(q) => q.sql.clone(),
        })
    }

    /// Whether the workload folds rows into an aggregate (`top-n`, `group-by`, `join`) rather
    /// than writing them out (`etl`).
    pub fn is_aggregate(&self) -> bool {
        *self != Workload::Etl
    }

    /// Whether the workload joins two tables (`join`; a user's query with a `JOIN`).
    /// Whether a user's query groups rows by keys (`GROUP BY`); `false` for the built-in
    /// workloads.
    pub fn groups(&self) -> bool {
        matches!(self, Workload::Query(q) if q.groups)
    }

    pub fn is_join(&self) -> bool {
        match self {
            Workload::Query(q) => q.tables.len() == 2,
            w => w.input() == Some(DataSchema::Orders),
        }
    }

    /// The generated schema of the datasets it reads (`None`: a user's query, over the user's
    /// tables).
    pub fn input(&self) -> Option<DataSchema> {
        match self {
            Workload::TopN(_) | Workload::GroupBy | Workload::Etl => Some(DataSchema::Sales),
            Workload::Join(_) => Some(DataSchema::Orders),
            Workload::Query(_) => None,
        }
    }

    /// A user's query.
    pub fn query(&self) -> Option<&QuerySpec> {
        match self {
            Workload::Query(q) => Some(q),
            _ => None,
        }
    }

    /// The `join`'s date range.
    pub fn dates(&self) -> Option<DateRange> {
        match self {
            Workload::Join(d) => Some(*d),
            _ => None,
        }
    }

    /// The same kind with the `join`'s date range set (other kinds are returned unchanged).
    pub fn with_dates(self, dates: &DateRange) -> Workload {
        match self {
            Workload::Join(_) => Workload::Join(*dates),
            w => w,
        }
    }
}

impl fmt::Display for Workload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&self.name())
    }
}

/// Ordered by name, as reports list workloads.
impl Ord for Workload {
    fn cmp(&self, other: &Self) -> Ordering {
        self.name().cmp(&other.name())
    }
}

impl PartialOrd for Workload {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// A built-in workload (or one of other parameters) is its name; a user's query is its
/// [`QuerySpec`] object, so a record keeps the query's text.
impl Serialize for Workload {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Workload::Query(q) => q.serialize(s),
            w => s.serialize_str(&w.name()),
        }
    }
}

impl<'de> Deserialize<'de> for Workload {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Either<'a> {
            #[serde(borrow)]
            Name(Cow<'a, str>),
            Query(QuerySpec),
        }
        match Either::deserialize(d)? {
            Either::Name(s) => Workload::parse(&s).map_err(serde::de::Error::custom),
            Either::Query(q) => Ok(Workload::Query(Box::new(q))),
        }
    }
}

/// A `YYYY-MM-DD` date, compared as text.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Date([u8; 10]);

impl Date {
    /// Parses `YYYY-MM-DD` (digits and dashes in place; the calendar is not checked).
    pub fn parse(s: &str) -> Option<Date> {
        let b: [u8; 10] = s.as_bytes().try_into().ok()?;
        b.iter()
            .enumerate()
            .all(|(i, c)| {
                if i == 4 || i == 7 {
                    *c == b'-'
                } else {
                    c.is_ascii_digit()
                }
            })
            .then_some(Date(b))
    }

    /// The date as text.
    pub fn as_str(&self) -> &str {
        // Only ASCII digits and dashes get in (`parse`, the constants).
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl fmt::Debug for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.as_str())
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// The `order_date` range of the `join` workload, both ends included, compared as text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DateRange {
    pub from: Date,
    pub to: Date,
}

impl Default for DateRange {
    fn default() -> Self {
        DateRange::DEFAULT
    }
}

impl DateRange {
    /// The middle year of the generated span (2022–2024): about a third of the orders.
    pub const DEFAULT: DateRange = DateRange {
        from: Date(*b"2023-01-01"),
        to: Date(*b"2023-12-31"),
    };

    /// Whether `date` is in the range.
    #[inline]
    pub fn contains(&self, date: &str) -> bool {
        date >= self.from.as_str() && date <= self.to.as_str()
    }

    /// Parses `FROM..TO` (both `YYYY-MM-DD`, `FROM` ≤ `TO`).
    pub fn parse(s: &str) -> Result<DateRange, String> {
        let (from, to) = s
            .split_once("..")
            .ok_or_else(|| format!("{s:?}: expected FROM..TO, e.g. 2023-01-01..2023-12-31"))?;
        match (Date::parse(from), Date::parse(to)) {
            (Some(from), Some(to)) if from <= to => Ok(DateRange { from, to }),
            _ => Err(format!(
                "{s:?}: expected FROM..TO with two YYYY-MM-DD dates, FROM not after TO"
            )),
        }
    }
}

impl fmt::Display for DateRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}..{}", self.from, self.to)
    }
}

impl Serialize for DateRange {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for DateRange {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = Cow::<str>::deserialize(d)?;
        DateRange::parse(&s).map_err(serde::de::Error::custom)
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
        let s = Cow::<str>::deserialize(d)?;
        OnBadRow::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_serde_and_order_by_name() {
        for w in Workload::builtin() {
            let json = serde_json::to_string(&w).unwrap();
            assert_eq!(json, format!("\"{}\"", w.name()));
            assert_eq!(serde_json::from_str::<Workload>(&json).unwrap(), w);
        }
        let mut sorted: Vec<Workload> = Workload::builtin().collect();
        sorted.sort();
        let names: Vec<_> = sorted.iter().map(|w| w.name()).collect();
        assert!(names.windows(2).all(|p| p[0] < p[1]), "{names:?}");
        for name in ["etl", "group-by", "join", "top-n"] {
            assert!(names.contains(&name.into()), "{name} is built in");
        }
        assert!(
            Workload::parse("topn")
                .unwrap_err()
                .contains("top-n, group-by")
        );
        assert_eq!(serde_json::to_string(&OnBadRow::Skip).unwrap(), "\"skip\"");
        assert!(serde_json::from_str::<OnBadRow>("\"maybe\"").is_err());
    }

    #[test]
    fn a_value_that_is_not_built_in_is_named_by_its_parameters() {
        let top10 = Workload::TopN(TopNParams {
            n: 10,
            above_cents: 0,
        });
        assert_eq!(top10.name(), "top-n(n=10,above_cents=0)");
        assert_eq!(Workload::parse(&top10.name()).unwrap(), top10);
        let h1 = Workload::JOIN.with_dates(&DateRange::parse("2024-01-01..2024-06-30").unwrap());
        assert_eq!(h1.name(), "join(2024-01-01..2024-06-30)");
        assert_eq!(Workload::parse(&h1.name()).unwrap(), h1);
        assert_eq!(h1.kind(), "join");
        // The default parameters are the built-in value, whatever the spelling.
        assert_eq!(
            Workload::parse("top-n(n=100,above_cents=100000)")
                .unwrap()
                .name(),
            "top-n"
        );
        assert!(Workload::parse("top-n(n=ten)").is_err());
        assert!(Workload::parse("join(2024-06-30..2024-01-01)").is_err());
    }

    #[test]
    fn a_query_round_trips_as_its_spec_and_is_named_by_its_short_name() {
        let q = Workload::Query(Box::new(QuerySpec {
            name: "by-species".into(),
            sql: "SELECT species, count(*) FROM p GROUP BY species".into(),
            tables: vec!["p".into()],
            schemas: vec!["species:string".into()],
            groups: true,
        }));
        let json = serde_json::to_string(&q).unwrap();
        assert!(json.starts_with('{') && json.contains("GROUP BY"), "{json}");
        assert_eq!(serde_json::from_str::<Workload>(&json).unwrap(), q);
        assert_eq!(q.name(), "by-species");
        assert_eq!(q.kind(), "query");
        assert!(!q.is_join() && q.is_aggregate() && q.input().is_none());
    }
}
