//! `membench inspect`: one pass over a user's table that enforces its schema and measures each
//! column — exact rows and nulls, a distinct estimate (HyperLogLog++, exact below a few hundred
//! values), min and max, mean text length, the most frequent values (Misra–Gries: exact while a
//! column has at most [`TOP_TRACKED`] distinct values, else counts that are lower bounds) — and
//! predicts what holding it in memory costs three ways ([`MemoryPrediction`]).

use std::path::{Path, PathBuf};
use std::time::Instant;

use cardinality_estimator::CardinalityEstimator;
use membench_protocol::{ColumnType, TableSchema};
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::error::InputError;
use crate::infer::{CsvOptions, FileRecords, Table, open_table};
use crate::source::open_text;
use crate::text::{self, Value};

/// How many distinct values per column the frequent-values sketch tracks.
pub const TOP_TRACKED: usize = 4096;
/// How many frequent values a column lists.
pub const TOP_SHOWN: usize = 5;

/// What `membench inspect` finds.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Inspection {
    pub path: PathBuf,
    pub files: usize,
    /// The bytes of the files as stored (compressed ones compressed).
    pub bytes: u64,
    /// The bytes read after decompression.
    pub text_bytes: u64,
    pub delimiter: String,
    /// Data rows (the header not counted), exact.
    pub rows: u64,
    /// How many rows the types were inferred from.
    pub sampled_rows: u64,
    pub schema: TableSchema,
    pub columns: Vec<ColumnStats>,
    pub memory: MemoryPrediction,
    pub seconds: f64,
    pub notes: Vec<String>,
}

/// One column's measurements.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ColumnStats {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: ColumnType,
    pub nulls: u64,
    /// Exact while the column has at most [`TOP_TRACKED`] distinct values, else a
    /// HyperLogLog++ estimate.
    pub distinct_estimate: u64,
    pub min: Option<String>,
    pub max: Option<String>,
    /// The mean length in bytes of the non-null values' text.
    pub mean_text_length: f64,
    /// The most frequent values, most frequent first (ties by value), as values: `17` and
    /// `17.0` of a decimal column are one value. Where counts are lower bounds, only values
    /// seen at least twice.
    pub top_values: Vec<TopValue>,
    /// Whether the counts are exact (else each is a lower bound, off by at most
    /// rows / (TOP_TRACKED + 1)).
    pub top_values_exact: bool,
    /// The shape a twin (`membench gen --like`) copies, measured by [`profile`] (empty from
    /// [`inspect`]).
    #[serde(default, skip_serializing_if = "Profile::is_empty")]
    pub profile: Profile,
}

/// What `gen --like` needs beyond the summary: distributions and how the column grows.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    /// The values at percentiles 0, 1, …, 100 (from a uniform sample of [`SAMPLE_VALUES`]
    /// values; the exact min and max at the ends) of a numeric, decimal (in units), date (in
    /// days) or timestamp (in microseconds) column; empty for strings and booleans.
    pub quantiles: Vec<f64>,
    /// The non-null values' text lengths in bytes at percentiles 0, 1, …, 100 (same sample).
    pub length_quantiles: Vec<f64>,
    /// How the distinct count grows with rows, `d ∝ rows^g`, from the last doubling of the
    /// rows read: about 1 for a key (ids, timestamps), about 0 for a bounded category.
    pub distinct_growth: f64,
    /// The share of adjacent non-null values in non-decreasing order (1 for a sorted column,
    /// about 0.5 for a shuffled one), from one pair in eight.
    pub sorted_fraction: f64,
    /// A float column's most digits after the decimal point (up to 17).
    pub fraction_digits: u8,
    /// Values whose share of the non-null values is at least [`FREQUENT_SHARE`] (up to
    /// [`FREQUENT_MAX`] of them), most frequent first: the categories a twin keeps.
    pub frequent: Vec<TopValue>,
}

impl Profile {
    /// Not measured ([`inspect`] rather than [`profile`]).
    pub fn is_empty(&self) -> bool {
        *self == Profile::default()
    }
}

/// How many values per column the profile's uniform sample holds.
pub const SAMPLE_VALUES: usize = 8192;
/// The smallest share of the non-null values a [`Profile::frequent`] value has.
pub const FREQUENT_SHARE: f64 = 0.005;
/// The most values [`Profile::frequent`] lists.
pub const FREQUENT_MAX: usize = 200;

/// A frequent value and how often it occurs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopValue {
    pub value: String,
    pub count: u64,
}

/// What holding the whole table costs, predicted from its measurements, in bytes of heap.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub struct MemoryPrediction {
    /// Each row as a vector of [`Value`]s (`load-all`'s way): a 32-byte value per field, the
    /// row's vector, and each string's bytes.
    pub as_rows: u64,
    /// Arrow columns as Polars holds them: fixed-width values (decimals as 8-byte floats, as
    /// membench's Polars reads them), validity bitmaps where a column has nulls, strings as
    /// 16-byte views plus the bytes of those longer than 12.
    pub as_polars_columns: u64,
    /// The leanest plain columns: fixed-width values (4-byte dates, bit-packed booleans), and
    /// strings either as offsets plus bytes or, when that is smaller, as 4-byte codes into a
    /// dictionary of the distinct values.
    pub as_lean_columns: u64,
}

/// Inspects a CSV input (file, folder or glob of parts).
pub fn inspect(path: &Path, opts: &CsvOptions) -> Result<Inspection, InputError> {
    read(path, opts, false)
}

/// [`inspect`], and each column's [`Profile`] too (what a twin is drawn from): about 10 %
/// slower.
pub fn profile(path: &Path, opts: &CsvOptions) -> Result<Inspection, InputError> {
    read(path, opts, true)
}

fn read(path: &Path, opts: &CsvOptions, profiling: bool) -> Result<Inspection, InputError> {
    let start = Instant::now();
    let table = open_table(path, opts)?;
    let mut cols: Vec<ColumnAcc> = table
        .schema
        .columns
        .iter()
        .map(|c| ColumnAcc::new(c.ty, profiling))
        .collect();
    let names = table.names();
    let mut rows = 0u64;
    let mut bytes = 0u64;
    let mut text_bytes = 0u64;
    for file in &table.files {
        bytes += std::fs::metadata(file)
            .map_err(|e| InputError::Io {
                path: file.clone(),
                message: e.to_string(),
            })?
            .len();
        if table.is_parquet() {
            // Each value as its canonical text, measured as a CSV field is.
            let all: Vec<usize> = (0..cols.len()).collect();
            let mut values = vec![Value::Null; all.len()];
            rows += crate::parquet::ParquetFile::open(file)?.for_each_row(
                file,
                &table.schema,
                &all,
                &mut values,
                |vs, n| {
                    for (i, (acc, v)) in cols.iter_mut().zip(vs).enumerate() {
                        if matches!(v, Value::Null) {
                            acc.nulls += 1;
                            continue;
                        }
                        let t = v.render(acc.ty);
                        acc.add(t.as_bytes())
                            .map_err(|why| table.type_error(file, n, i, t.as_bytes(), why))?;
                    }
                    Ok::<(), InputError>(())
                },
            )?;
            text_bytes += std::fs::metadata(file).map(|m| m.len()).unwrap_or(0);
            continue;
        }
        let counted = CountingRead::new(open_text(file)?);
        let mut records = FileRecords::open(file, counted, table.delimiter, &names)?;
        while let Some(rec) = records.next()? {
            for (i, (acc, f)) in cols.iter_mut().zip(rec.fields()).enumerate() {
                if table.nulls.is_null(f) {
                    acc.nulls += 1;
                    continue;
                }
                acc.add(f)
                    .map_err(|why| table.type_error(file, rec.line, i, f, why))?;
            }
            rows += 1;
        }
        text_bytes += records.into_inner().count;
    }
    Ok(finish(table, cols, rows, bytes, text_bytes, start))
}

fn finish(
    table: Table,
    cols: Vec<ColumnAcc>,
    rows: u64,
    bytes: u64,
    text_bytes: u64,
    start: Instant,
) -> Inspection {
    let parquet = table.is_parquet();
    let mut schema = table.schema;
    let mut stats = Vec::new();
    for (c, acc) in schema.columns.iter_mut().zip(cols) {
        c.nullable = acc.nulls > 0;
        stats.push(acc.stats(&c.name));
    }
    let memory = predict(&stats, &schema, rows);
    Inspection {
        path: table.path,
        files: table.files.len(),
        bytes,
        text_bytes,
        // No delimiter for Parquet.
        delimiter: if parquet {
            String::new()
        } else {
            (table.delimiter as char).escape_default().to_string()
        },
        rows,
        sampled_rows: table.sampled_rows,
        schema,
        columns: stats,
        memory,
        seconds: start.elapsed().as_secs_f64(),
        notes: table.notes,
    }
}

/// The bytes a [`Value`] takes in a row vector.
const VALUE_BYTES: u64 = std::mem::size_of::<Value>() as u64;

fn predict(stats: &[ColumnStats], schema: &TableSchema, rows: u64) -> MemoryPrediction {
    let mut p = MemoryPrediction {
        // Each row's vector header lives in the outer vector.
        as_rows: rows * (24 + VALUE_BYTES * stats.len() as u64),
        as_polars_columns: 0,
        as_lean_columns: 0,
    };
    let bitmap = rows.div_ceil(8);
    for (s, c) in stats.iter().zip(&schema.columns) {
        let values = rows - s.nulls;
        let text = (s.mean_text_length * values as f64).round() as u64;
        let validity = if s.nulls > 0 { bitmap } else { 0 };
        let (polars, lean) = match c.ty {
            // Decimals: membench's Polars is built without its 128-bit decimal type and
            // holds them as 8-byte floats.
            ColumnType::Int64
            | ColumnType::Float64
            | ColumnType::Timestamp { .. }
            | ColumnType::Decimal { .. } => (8 * rows, 8 * rows),
            ColumnType::Date => (4 * rows, 4 * rows),
            ColumnType::Bool => (bitmap, bitmap),
            ColumnType::String => {
                p.as_rows += text;
                let long = s_long_bytes(s, values);
                let plain = 8 * (rows + 1) + text;
                let distinct = s.distinct_estimate.min(values);
                let dict = 4 * rows
                    + 8 * (distinct + 1)
                    + (s.mean_text_length * distinct as f64).round() as u64;
                (16 * rows + long, plain.min(dict))
            }
        };
        p.as_polars_columns += polars + validity;
        p.as_lean_columns += lean + validity;
    }
    p
}

/// The bytes Polars keeps outside its 16-byte views: strings longer than 12 bytes. Estimated
/// from the mean length: all of them when the mean is above 12, none otherwise.
fn s_long_bytes(s: &ColumnStats, values: u64) -> u64 {
    if s.mean_text_length > 12.0 {
        (s.mean_text_length * values as f64).round() as u64
    } else {
        0
    }
}

/// A reader that counts the bytes it hands out.
struct CountingRead<R> {
    inner: R,
    count: u64,
}

impl<R> CountingRead<R> {
    fn new(inner: R) -> Self {
        CountingRead { inner, count: 0 }
    }
}

impl<R: std::io::BufRead> std::io::Read for CountingRead<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count += n as u64;
        Ok(n)
    }
}

impl<R: std::io::BufRead> std::io::BufRead for CountingRead<R> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        self.inner.fill_buf()
    }
    fn consume(&mut self, n: usize) {
        self.count += n as u64;
        self.inner.consume(n)
    }
}

/// splitmix64's finaliser: every input bit moves every output bit, as HyperLogLog needs.
#[inline]
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A string's 64-bit hash (FxHash of its bytes; [`mix`] spreads it).
#[inline]
fn string_hash(f: &[u8]) -> u64 {
    use std::hash::{BuildHasher, BuildHasherDefault};
    BuildHasherDefault::<rustc_hash::FxHasher>::default().hash_one(f)
}

/// A comparable form of a value: integers (also decimals' units, dates, timestamps, booleans),
/// floats, or text.
#[derive(Clone, Debug, PartialEq, PartialOrd)]
enum Key {
    I(i64),
    F(f64),
    S(Vec<u8>),
}

struct ColumnAcc {
    ty: ColumnType,
    /// Whether to measure the [`Profile`] too ([`profile`]).
    profiling: bool,
    nulls: u64,
    values: u64,
    text: u64,
    hll: CardinalityEstimator<[u8]>,
    min: Option<Key>,
    max: Option<Key>,
    /// Misra–Gries counters, keyed by the value itself for typed columns (its 8 canonical
    /// bytes) and by a 64-bit hash of the text for strings.
    top: FxHashMap<u64, Counter>,
    top_exact: bool,
    /// The profile's uniform sample (reservoir): numbers, or a string's text lengths.
    sample: Vec<f64>,
    /// The sample's random stream (splitmix64; the same sample on every run).
    rng: u64,
    /// Algorithm L's state: the running weight and the index of the next value taken.
    skip_w: f64,
    next_pick: u64,
    /// `(values, distinct)` at each power of two of values read, from 16.
    snapshots: Vec<(u64, u64)>,
    /// The previous value (a string's text in `prev_text`), for the sortedness.
    prev: Option<Key>,
    prev_text: Option<Vec<u8>>,
    /// Adjacent pairs compared (one in eight) and those in order.
    pairs: u64,
    ordered_pairs: u64,
    fraction_digits: u8,
}

/// A frequent-values counter: its count and, for a string, its text — kept from the start
/// while every value is tracked, else from its second occurrence, so that a column of unique
/// values allocates nothing per row.
struct Counter {
    count: u64,
    text: Option<Box<[u8]>>,
}

impl ColumnAcc {
    fn new(ty: ColumnType, profiling: bool) -> Self {
        ColumnAcc {
            ty,
            profiling,
            nulls: 0,
            values: 0,
            text: 0,
            hll: CardinalityEstimator::new(),
            min: None,
            max: None,
            top: FxHashMap::default(),
            top_exact: true,
            sample: Vec::new(),
            rng: 0x9e37_79b9_7f4a_7c15,
            skip_w: 0.0,
            next_pick: 0,
            snapshots: Vec::new(),
            prev: None,
            prev_text: None,
            pairs: 0,
            ordered_pairs: 0,
            fraction_digits: 0,
        }
    }

    /// The distinct values so far: exact while every value is tracked.
    fn distinct_so_far(&self) -> u64 {
        if self.top_exact {
            self.top.len() as u64
        } else {
            (self.hll.estimate() as u64).min(self.values)
        }
    }

    /// Reservoir sampling, Li's algorithm L: once the sample is full, the next value to take
    /// is found by a geometric skip, so a value not taken costs one comparison.
    #[inline]
    fn sample(&mut self, seen: u64, x: f64) {
        if self.sample.len() < SAMPLE_VALUES {
            self.sample.push(x);
            if self.sample.len() == SAMPLE_VALUES {
                self.skip_w = (self.unit().ln() / SAMPLE_VALUES as f64).exp();
                self.next_pick = seen + self.skip();
            }
            return;
        }
        if seen < self.next_pick {
            return;
        }
        let slot = (self.unit() * SAMPLE_VALUES as f64) as usize;
        self.sample[slot.min(SAMPLE_VALUES - 1)] = x;
        self.skip_w *= (self.unit().ln() / SAMPLE_VALUES as f64).exp();
        self.next_pick = seen + self.skip();
    }

    /// Algorithm L's gap to the next value taken (at least 1).
    fn skip(&mut self) -> u64 {
        let gap = (self.unit().ln() / (1.0 - self.skip_w).ln()).floor();
        if gap.is_finite() && gap >= 0.0 {
            (gap as u64).saturating_add(1)
        } else {
            u64::MAX / 2
        }
    }

    /// Uniform in (0, 1) from the sample's stream.
    fn unit(&mut self) -> f64 {
        self.rng = self.rng.wrapping_add(0x9e37_79b9_7f4a_7c15);
        ((mix(self.rng) >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    #[inline]
    fn add(&mut self, f: &[u8]) -> Result<(), text::TypeBreak> {
        let key = key_of(f, self.ty)?;
        let seen = self.values;
        if self.profiling {
            self.observe(seen, &key, f);
        }
        self.values += 1;
        self.text += f.len() as u64;
        // Typed values are counted by their value (`17` and `17.0` are one decimal), strings
        // by their bytes.
        // One 64-bit hash per value feeds both sketches.
        let canonical = match &key {
            Key::I(v) => *v as u64,
            Key::F(v) => text::canonical_bits(*v),
            Key::S(_) => {
                let h = mix(string_hash(f));
                self.hll.insert_hash(h);
                self.min_max_bytes(f);
                self.count_top(h, Some(f));
                return Ok(());
            }
        };
        self.hll.insert_hash(mix(canonical));
        self.count_top(canonical, None);
        if self.min.as_ref().is_none_or(|m| key < *m) {
            self.min = Some(key.clone());
        }
        if self.max.as_ref().is_none_or(|m| key > *m) {
            self.max = Some(key);
        }
        Ok(())
    }

    /// The profile's share of a value (the `seen`-th, from 0; its key, or empty for a string,
    /// and its text): distinct-count snapshots, the sample, sortedness, float digits.
    #[inline]
    fn observe(&mut self, seen: u64, key: &Key, f: &[u8]) {
        if seen >= 16 && seen.is_power_of_two() {
            self.snapshots.push((seen, self.distinct_so_far()));
        }
        if self.ty == ColumnType::String {
            self.sample(seen, f.len() as f64);
            // One adjacent pair in eight: value 8m+7 against value 8m+8.
            if seen & 7 == 0
                && let Some(p) = &self.prev_text
            {
                self.pairs += 1;
                self.ordered_pairs += u64::from(p.as_slice() <= f);
            } else if seen & 7 == 7 {
                let p = self.prev_text.get_or_insert_with(Vec::new);
                p.clear();
                p.extend_from_slice(f);
            }
            return;
        }
        if self.ty != ColumnType::Bool {
            let x = match key {
                Key::I(v) => *v as f64,
                Key::F(v) => *v,
                Key::S(_) => 0.0,
            };
            if !x.is_nan() {
                self.sample(seen, x);
            }
        }
        if self.ty == ColumnType::Float64
            && let Some(dot) = f.iter().position(|&b| b == b'.')
        {
            let digits = f[dot + 1..]
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .count();
            self.fraction_digits = self.fraction_digits.max(digits.min(17) as u8);
        }
        if seen & 7 == 0
            && let Some(p) = &self.prev
        {
            self.pairs += 1;
            self.ordered_pairs += u64::from(p <= key);
        } else if seen & 7 == 7 {
            self.prev = Some(key.clone());
        }
    }

    fn min_max_bytes(&mut self, f: &[u8]) {
        if !matches!(&self.min, Some(Key::S(m)) if m.as_slice() <= f) {
            self.min = Some(Key::S(f.to_vec()));
        }
        if !matches!(&self.max, Some(Key::S(m)) if m.as_slice() >= f) {
            self.max = Some(Key::S(f.to_vec()));
        }
    }

    /// Misra–Gries: count while there is room; when full, a new value lowers every count by
    /// one and drops those at zero.
    fn count_top(&mut self, key: u64, text: Option<&[u8]>) {
        if let Some(c) = self.top.get_mut(&key) {
            c.count += 1;
            if c.text.is_none() {
                c.text = text.map(Box::from);
            }
        } else if self.top.len() < TOP_TRACKED {
            let text = if self.top_exact {
                text.map(Box::from)
            } else {
                None
            };
            self.top.insert(key, Counter { count: 1, text });
        } else {
            self.top_exact = false;
            self.top.retain(|_, c| {
                c.count -= 1;
                c.count > 0
            });
        }
    }

    fn render(&self, k: &Key) -> String {
        match (k, self.ty) {
            (Key::S(b), _) => String::from_utf8_lossy(b).into_owned(),
            (Key::F(v), _) => format!("{v:?}"),
            (Key::I(v), ColumnType::Decimal { scale }) => text::format_decimal(*v, scale),
            (Key::I(v), ColumnType::Date) => text::format_date(*v as i32),
            (Key::I(v), ColumnType::Timestamp { zone }) => text::format_timestamp(*v, zone),
            (Key::I(v), ColumnType::Bool) => (*v != 0).to_string(),
            (Key::I(v), _) => v.to_string(),
        }
    }

    /// The value a counter stands for.
    fn decode(&self, key: u64, c: &Counter) -> Key {
        match self.ty {
            ColumnType::String => Key::S(c.text.as_deref().unwrap_or_default().to_vec()),
            ColumnType::Float64 => Key::F(f64::from_bits(key)),
            _ => Key::I(key as i64),
        }
    }

    fn stats(self, name: &str) -> ColumnStats {
        let mut top: Vec<TopValue> = self
            .top
            .iter()
            .filter(|(_, c)| self.ty != ColumnType::String || c.text.is_some())
            .map(|(k, c)| TopValue {
                value: self.render(&self.decode(*k, c)),
                count: c.count,
            })
            .collect();
        if !self.top_exact {
            // A lower bound of 1 says nothing.
            top.retain(|t| t.count >= 2);
        }
        top.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
        let floor = (FREQUENT_SHARE * self.values as f64).max(1.0) as u64;
        let frequent: Vec<TopValue> = top
            .iter()
            .filter(|t| t.count >= floor)
            .take(FREQUENT_MAX)
            .cloned()
            .collect();
        top.truncate(TOP_SHOWN);
        let profile = if self.profiling {
            self.profile(frequent)
        } else {
            Profile::default()
        };
        ColumnStats {
            name: name.to_string(),
            ty: self.ty,
            nulls: self.nulls,
            // While every value is in the frequent-values map, it is the exact count.
            distinct_estimate: if self.top_exact {
                self.top.len() as u64
            } else {
                (self.hll.estimate() as u64).min(self.values)
            },
            min: self.min.as_ref().map(|k| self.render(k)),
            max: self.max.as_ref().map(|k| self.render(k)),
            mean_text_length: if self.values == 0 {
                0.0
            } else {
                self.text as f64 / self.values as f64
            },
            top_values: top,
            top_values_exact: self.top_exact,
            profile,
        }
    }

    fn profile(&self, frequent: Vec<TopValue>) -> Profile {
        let mut sample = self.sample.clone();
        sample.sort_by(f64::total_cmp);
        let mut quantiles = percentiles(&sample);
        let numeric = !matches!(self.ty, ColumnType::String | ColumnType::Bool);
        if numeric && !quantiles.is_empty() {
            // The exact ends, not the sample's.
            let exact = |k: &Option<Key>| match k {
                Some(Key::I(v)) => Some(*v as f64),
                Some(Key::F(v)) => Some(*v),
                _ => None,
            };
            if let (Some(lo), Some(hi)) = (exact(&self.min), exact(&self.max)) {
                quantiles[0] = lo;
                quantiles[100] = hi;
            }
        }
        let (quantiles, length_quantiles) = if numeric {
            (quantiles, Vec::new())
        } else if self.ty == ColumnType::String {
            (Vec::new(), quantiles)
        } else {
            (Vec::new(), Vec::new())
        };
        // The growth over the last doubling (or more) of the values read.
        let d = self.distinct_so_far().max(1) as f64;
        let n = self.values as f64;
        let distinct_growth = match self
            .snapshots
            .iter()
            .rev()
            .find(|(at, _)| (*at as f64) <= n / 2.0)
        {
            Some(&(at, was)) if was > 0 => {
                ((d / was as f64).ln() / (n / at as f64).ln()).clamp(0.0, 1.0)
            }
            // Too few values to see growth: a column of all-distinct values is a key.
            _ => {
                if self.values > 0 && d >= 0.9 * n {
                    1.0
                } else {
                    0.0
                }
            }
        };
        Profile {
            quantiles,
            length_quantiles,
            distinct_growth,
            sorted_fraction: if self.pairs > 0 {
                self.ordered_pairs as f64 / self.pairs as f64
            } else {
                1.0
            },
            fraction_digits: self.fraction_digits,
            frequent,
        }
    }
}

/// A sorted sample's values at percentiles 0, 1, …, 100 (empty for an empty sample).
fn percentiles(sorted: &[f64]) -> Vec<f64> {
    if sorted.is_empty() {
        return Vec::new();
    }
    (0..=100)
        .map(|p| sorted[((p as f64 / 100.0) * (sorted.len() - 1) as f64).round() as usize])
        .collect()
}

/// A field's comparable key under its column's type (`Key::S` empty for a string: strings are
/// compared as their bytes, borrowed).
#[inline]
fn key_of(f: &[u8], ty: ColumnType) -> Result<Key, text::TypeBreak> {
    if ty == ColumnType::String {
        return Ok(Key::S(Vec::new()));
    }
    Ok(match text::parse_value(f, ty)? {
        Value::Int(v) | Value::Decimal(v, _) | Value::Timestamp(v) => Key::I(v),
        Value::Date(d) => Key::I(d.into()),
        Value::Bool(b) => Key::I(b.into()),
        Value::Float(v) => Key::F(v),
        Value::Str(_) | Value::Null => Key::S(Vec::new()),
    })
}

impl Inspection {
    /// The human-readable report: schema, then a line per column, then the predictions.
    pub fn to_text(&self) -> String {
        use std::fmt::Write;
        let mut t = String::new();
        let mb = |b: u64| {
            if b >= 1_000_000 {
                format!("{:.1} MB", b as f64 / 1e6)
            } else {
                format!("{:.1} kB", b as f64 / 1e3)
            }
        };
        let (what, types) = if self.delimiter.is_empty() {
            ("Parquet".to_string(), "from its schema".to_string())
        } else {
            (
                format!(
                    "{} of text, delimiter '{}'",
                    mb(self.text_bytes),
                    self.delimiter
                ),
                format!("from the first {}", self.sampled_rows),
            )
        };
        let _ = writeln!(
            t,
            "{} — {} file(s), {} ({what}), {} rows (types {types}), read in {:.2} s ({:.0} MB/s)",
            self.path.display(),
            self.files,
            mb(self.bytes),
            self.rows,
            self.seconds,
            self.text_bytes as f64 / 1e6 / self.seconds.max(1e-9),
        );
        let _ = writeln!(t, "\nschema: {}\n", self.schema);
        let _ = writeln!(
            t,
            "| column | type | nulls | distinct (est.) | min | max | mean length | most frequent |"
        );
        let _ = writeln!(t, "|---|---|---:|---:|---|---|---:|---|");
        for c in &self.columns {
            let top: Vec<String> = c
                .top_values
                .iter()
                .map(|v| {
                    format!(
                        "{} ({}{})",
                        short(&v.value),
                        if c.top_values_exact { "" } else { "≥" },
                        v.count
                    )
                })
                .collect();
            let _ = writeln!(
                t,
                "| {} | {} | {} | {} | {} | {} | {:.1} | {} |",
                c.name,
                c.ty,
                c.nulls,
                c.distinct_estimate,
                c.min.as_deref().map(short).unwrap_or_default(),
                c.max.as_deref().map(short).unwrap_or_default(),
                c.mean_text_length,
                top.join(", ")
            );
        }
        let m = &self.memory;
        let _ = writeln!(
            t,
            "\npredicted memory to hold it: as rows {}, as Polars columns {}, as lean columns {}",
            mb(m.as_rows),
            mb(m.as_polars_columns),
            mb(m.as_lean_columns)
        );
        for n in &self.notes {
            let _ = writeln!(t, "note: {n}");
        }
        t
    }
}

fn short(s: &str) -> String {
    let s = s.replace('|', "\\|").replace('\n', "\\n");
    if s.chars().count() > 24 {
        format!("{}…", s.chars().take(23).collect::<String>())
    } else {
        s
    }
}
