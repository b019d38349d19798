//! A twin of a user's table (`membench gen --like`): a deterministic synthetic CSV of any row
//! count with the profile `membench inspect` measured — per column its type, null rate,
//! distinct count and how that grows with rows, value quantiles, text lengths, frequent values
//! and sortedness. Real values are not copied except the frequent ones (those with at least
//! [`FREQUENT_SHARE`] of a column's values; none with `copy_values: false`), so a twin can be
//! shared where the data cannot.
//!
//! Each column is drawn in one of five ways ([`Mode`]): a key that grows (all values distinct,
//! distinct count growing with rows: an arithmetic sequence from the original's minimum with
//! its mean step, so ids and dates continue past the original's maximum), a text key, a bounded
//! set of values (distinct count scaled by `rows^growth`, each value drawn from the quantiles),
//! continuous numbers (from the quantiles), or a boolean. Sorted columns (at least
//! [`SORTED_SHARE`] of adjacent pairs in order) stay sorted. Nulls are empty fields.
//!
//! Rows are produced in blocks of [`TWIN_BLOCK_ROWS`], each from its own random stream, in
//! parallel and written in order: the same profile, rows and seed give the same bytes.
//!
//! It reads a user's file only through `membench-query`'s `inspect`, and must not link Polars
//! or measure anything (`membench gen --like` runs it in the driver's process).

use std::fmt::Write as _;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use membench_kernel::HashingWriter;
use membench_protocol::{ColumnType, TableSchema};
use membench_query::inspect::FREQUENT_SHARE;
use membench_query::text::{format_date, format_decimal, format_timestamp};
use membench_query::{ColumnStats, Inspection};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// 9999-12-31 in days since 1970-01-01: the last date a CSV date column holds.
const LAST_DATE_DAYS: f64 = 2_932_896.0;

/// Rows per block (one random stream each).
pub const TWIN_BLOCK_ROWS: u64 = 1 << 16;
/// The share of adjacent pairs in order from which a column counts as sorted.
pub const SORTED_SHARE: f64 = 0.98;
/// Bumped whenever a twin's bytes for the same profile, rows and seed change.
pub const TWIN_VERSION: u32 = 2;

/// What to generate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TwinSpec {
    pub rows: u64,
    pub seed: u64,
    /// Copy the frequent values (categories) of the original; else synthesize them too.
    pub copy_values: bool,
}

/// A twin's sidecar (`<file>.meta.json`): what it is a twin of and how it was made.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TwinMeta {
    pub file: String,
    /// The original's path as given and its rows.
    pub source: PathBuf,
    pub source_rows: u64,
    pub spec: TwinSpec,
    pub twin_version: u32,
    /// sha256 of the profile the twin was drawn from (so a changed original is noticed).
    pub profile_sha256: String,
    /// The original's schema: read the twin with it (`--schema`) to type it the same.
    pub schema: TableSchema,
    pub delimiter: String,
    pub bytes: u64,
    pub sha256: String,
}

/// A twin written (or reused).
#[derive(Debug)]
pub struct TwinOutput {
    pub path: PathBuf,
    pub meta: TwinMeta,
    pub reused: bool,
}

/// The twin's file name: `<original's stem>-twin-<rows>-s<seed>[-novalues].<csv|tsv>`.
pub fn twin_file_name(source: &Path, spec: &TwinSpec, delimiter: u8) -> String {
    let name = source
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "table".into());
    let stem = [
        ".csv.gz", ".csv.zst", ".tsv.gz", ".tsv.zst", ".csv", ".tsv", ".parquet",
    ]
    .iter()
    .find_map(|e| name.strip_suffix(e))
    .unwrap_or(&name)
    .to_string();
    format!(
        "{stem}-twin-{}-s{}{}.{}",
        membench_protocol::rows_label(spec.rows),
        spec.seed,
        if spec.copy_values { "" } else { "-novalues" },
        if delimiter == b'\t' { "tsv" } else { "csv" }
    )
}

/// sha256 of what a twin is drawn from: the schema and every column's measurements.
pub fn profile_sha256(found: &Inspection) -> String {
    let text = serde_json::to_string(&(&found.schema, &found.columns, found.rows))
        .expect("profiles serialize");
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// Writes the twin of `found` (the original's inspection, `delimiter` its delimiter) into
/// `dir`, or reuses a matching one unless `force`. `progress` gets the rows written so far.
pub fn generate_twin(
    found: &Inspection,
    delimiter: u8,
    spec: &TwinSpec,
    dir: &Path,
    force: bool,
    progress: &mut dyn FnMut(u64),
) -> Result<TwinOutput> {
    if spec.rows == 0 {
        bail!("a twin needs at least one row");
    }
    if found.rows == 0 {
        bail!(
            "{} has no rows: there is nothing to make a twin of",
            found.path.display()
        );
    }
    if found.columns.iter().all(|c| c.profile.is_empty()) {
        bail!(
            "{}: no profile to draw a twin from (inspect it with membench_query::profile)",
            found.path.display()
        );
    }
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let name = twin_file_name(&found.path, spec, delimiter);
    let path = dir.join(&name);
    let sidecar = dir.join(format!("{name}.meta.json"));
    let digest = profile_sha256(found);
    if !force
        && let Ok(text) = std::fs::read_to_string(&sidecar)
        && let Ok(meta) = serde_json::from_str::<TwinMeta>(&text)
        && meta.spec == *spec
        && meta.twin_version == TWIN_VERSION
        && meta.profile_sha256 == digest
        && std::fs::metadata(&path).is_ok_and(|m| m.len() == meta.bytes)
    {
        return Ok(TwinOutput {
            path,
            meta,
            reused: true,
        });
    }
    let gens: Vec<ColumnGen> = found
        .columns
        .iter()
        .zip(&found.schema.columns)
        .enumerate()
        .map(|(i, (c, s))| ColumnGen::new(c, s.ty, found.rows, spec, i))
        .collect();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let written = write_twin(found, &gens, delimiter, spec, &tmp, progress);
    let (bytes, sha256) = match written {
        Ok(w) => w,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(e.context(format!("generating {}", path.display())));
        }
    };
    std::fs::rename(&tmp, &path).with_context(|| format!("renaming into {}", path.display()))?;
    let meta = TwinMeta {
        file: name.clone(),
        source: found.path.clone(),
        source_rows: found.rows,
        spec: spec.clone(),
        twin_version: TWIN_VERSION,
        profile_sha256: digest,
        schema: found.schema.clone(),
        delimiter: (delimiter as char).escape_default().to_string(),
        bytes,
        sha256,
    };
    let tmp_meta = dir.join(format!(".{name}.meta.tmp-{}", std::process::id()));
    membench_safefs::create_fresh(&tmp_meta, 0o644)
        .and_then(|mut f| f.write_all((serde_json::to_string_pretty(&meta)? + "\n").as_bytes()))
        .with_context(|| format!("writing {}", tmp_meta.display()))?;
    std::fs::rename(&tmp_meta, &sidecar)
        .with_context(|| format!("renaming into {}", sidecar.display()))?;
    Ok(TwinOutput {
        path,
        meta,
        reused: false,
    })
}

fn write_twin(
    found: &Inspection,
    gens: &[ColumnGen],
    delimiter: u8,
    spec: &TwinSpec,
    tmp: &Path,
    progress: &mut dyn FnMut(u64),
) -> Result<(u64, String)> {
    let file = membench_safefs::create_fresh(tmp, 0o644)
        .with_context(|| format!("creating {}", tmp.display()))?;
    let mut w = HashingWriter::new(BufWriter::with_capacity(1 << 20, file));
    let mut header = Vec::new();
    for (i, c) in found.schema.columns.iter().enumerate() {
        if i > 0 {
            header.push(delimiter);
        }
        push_field(&mut header, c.name.as_bytes(), delimiter);
    }
    header.push(b'\n');
    w.write_all(&header)?;
    let blocks = spec.rows.div_ceil(TWIN_BLOCK_ROWS);
    let window = (rayon::current_num_threads() * 2) as u64;
    let mut b = 0;
    while b < blocks {
        let hi = (b + window).min(blocks);
        let texts: Vec<Vec<u8>> = (b..hi)
            .into_par_iter()
            .map(|k| block(gens, delimiter, spec, k))
            .collect();
        for t in texts {
            w.write_all(&t)?;
        }
        b = hi;
        progress((b * TWIN_BLOCK_ROWS).min(spec.rows));
    }
    let (w, bytes, sha256) = w.finish();
    w.into_inner()
        .map_err(|e| e.into_error())
        .and_then(|f| f.sync_all())
        .with_context(|| format!("writing {}", tmp.display()))?;
    Ok((bytes, sha256))
}

/// One block of rows as CSV text.
fn block(gens: &[ColumnGen], delimiter: u8, spec: &TwinSpec, k: u64) -> Vec<u8> {
    let start = k * TWIN_BLOCK_ROWS;
    let end = (start + TWIN_BLOCK_ROWS).min(spec.rows);
    let mut rng = Rng(mix(spec.seed ^ mix(k.wrapping_add(1))));
    let mut out = Vec::with_capacity(((end - start) * 16 * gens.len() as u64) as usize);
    let mut scratch = String::new();
    for i in start..end {
        for (j, g) in gens.iter().enumerate() {
            if j > 0 {
                out.push(delimiter);
            }
            g.field(&mut rng, i, spec.rows, &mut out, &mut scratch);
        }
        out.push(b'\n');
    }
    out
}

/// splitmix64: a small, fast, well-mixed stream (the twin needs no more).
struct Rng(u64);

impl Rng {
    #[inline]
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        mix(self.0)
    }
    /// Uniform in [0, 1).
    #[inline]
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[inline]
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// How a column's non-null, non-frequent values are drawn.
#[derive(Debug)]
enum Mode {
    /// All distinct and growing with rows: `start + k · step` for the k-th key (row order when
    /// sorted, else a fixed permutation of the rows).
    Key { start: f64, step: f64 },
    /// All distinct text: the k-th synthetic string.
    TextKey,
    /// One of `distinct` values, the k-th from the quantiles (numbers) or synthetic (text);
    /// the first ones stand for the frequent values when those are not copied.
    Bounded { distinct: u64 },
    /// Numbers from the quantiles.
    Continuous,
    /// Only the frequent values (booleans, or a column with nothing else).
    Frequent,
}

struct ColumnGen {
    ty: ColumnType,
    null_rate: f64,
    mode: Mode,
    sorted: bool,
    quantiles: Vec<f64>,
    lengths: Vec<f64>,
    digits: usize,
    /// Frequent values' texts (as CSV fields) and cumulative shares.
    frequent: Vec<(Vec<u8>, f64)>,
    frequent_mass: f64,
    /// The frequent values as numbers (sorted), which the other draws avoid: they have their
    /// share already.
    frequent_numbers: Vec<f64>,
    /// Base-26 digits of a synthetic string's index.
    width: usize,
    salt: u64,
    /// The permutation of rows for an unsorted key ([`permutation`]).
    perm: (u64, u64),
}

impl ColumnGen {
    fn new(c: &ColumnStats, ty: ColumnType, rows: u64, spec: &TwinSpec, index: usize) -> Self {
        let p = &c.profile;
        let n = rows as f64;
        let values = rows.saturating_sub(c.nulls).max(1) as f64;
        let scale = spec.rows as f64 / n;
        let distinct = c.distinct_estimate.max(1) as f64;
        let target = (distinct * scale.powf(p.distinct_growth))
            .round()
            .clamp(1.0, spec.rows as f64) as u64;
        let sorted = p.sorted_fraction >= SORTED_SHARE && ty != ColumnType::Bool && rows > 2;
        let numeric = !matches!(ty, ColumnType::String | ColumnType::Bool);
        let unique = distinct >= 0.95 * values && p.distinct_growth >= 0.8;
        let digits = usize::from(p.fraction_digits.max(1));
        // How much of the grid of representable values between min and max the column uses:
        // a measurement fills it (its distinct values emerge from drawing and rounding), a
        // code does not (its values are drawn from a fixed set).
        let fill = match p.quantiles.as_slice() {
            [lo, .., hi] => {
                let unit = if ty == ColumnType::Float64 {
                    10f64.powi(-(digits as i32))
                } else {
                    1.0
                };
                distinct / ((hi - lo) / unit + 1.0)
            }
            _ => 0.0,
        };
        let mut mode = if ty == ColumnType::Bool || (numeric && p.quantiles.is_empty()) {
            Mode::Frequent
        } else if unique && ty == ColumnType::String {
            Mode::TextKey
        } else if unique && (ty != ColumnType::Float64 || sorted) {
            let (lo, hi) = (p.quantiles[0], p.quantiles[100]);
            let step = if values > 1.0 {
                (hi - lo) / (values - 1.0)
            } else {
                1.0
            };
            // Dates and timestamps end at 9999-12-31: a key that would run past it is packed
            // closer (several rows per day).
            let end = match ty {
                ColumnType::Date => Some(LAST_DATE_DAYS),
                ColumnType::Timestamp { .. } => Some(LAST_DATE_DAYS * 86_400_000_000.0),
                _ => None,
            };
            let last = spec.rows.saturating_sub(1).max(1) as f64;
            let step = match end {
                Some(end) if lo + step * last > end => ((end - lo) / last).max(0.0),
                _ => step,
            };
            Mode::Key { start: lo, step }
        } else if numeric
            && (fill >= 0.02 || (ty == ColumnType::Float64 && distinct >= 0.5 * values))
        {
            Mode::Continuous
        } else {
            Mode::Bounded { distinct: target }
        };
        // Frequent values, with their shares.
        let mut entries: Vec<(&str, f64)> = p
            .frequent
            .iter()
            .map(|t| (t.value.as_str(), t.count as f64 / values))
            .filter(|e| e.1 >= FREQUENT_SHARE)
            .collect();
        if matches!(mode, Mode::Bounded { distinct } if distinct as usize <= entries.len()) {
            mode = Mode::Frequent;
        }
        if sorted {
            if matches!(mode, Mode::Frequent) {
                // In the order of their values, cut by the row's position.
                entries.sort_by(|a, b| {
                    match (as_number(a.0.as_bytes(), ty), as_number(b.0.as_bytes(), ty)) {
                        (Some(x), Some(y)) => x.total_cmp(&y),
                        _ => a.0.cmp(b.0),
                    }
                });
            } else {
                // A sorted column's order decides its values.
                entries.clear();
            }
        }
        let mut frequent = Vec::new();
        let mut mass = 0.0;
        for (j, (value, share)) in entries.into_iter().enumerate() {
            mass += share;
            let text = if spec.copy_values || ty == ColumnType::Bool {
                value.to_string()
            } else {
                String::new()
            };
            frequent.push((text.into_bytes(), mass, j));
        }
        if matches!(mode, Mode::Frequent) && mass > 0.0 {
            // Nothing else is drawn: the shares fill the whole column.
            for f in &mut frequent {
                f.1 /= mass;
            }
            mass = 1.0;
        }
        let keys = match mode {
            Mode::Bounded { distinct } => distinct,
            _ => spec.rows,
        };
        let width = base26_width(keys.max(frequent.len() as u64));
        let salt = mix(spec.seed ^ (index as u64).wrapping_mul(0x51_7cc1_b727_220a));
        let mut g = ColumnGen {
            ty,
            null_rate: c.nulls as f64 / n,
            mode,
            sorted,
            quantiles: p.quantiles.clone(),
            lengths: p.length_quantiles.clone(),
            digits,
            frequent: Vec::new(),
            frequent_numbers: Vec::new(),
            frequent_mass: mass,
            width,
            salt,
            perm: permutation(spec.rows, salt),
        };
        // The frequent values as numbers (in the quantiles' units).
        if numeric {
            g.frequent_numbers = p
                .frequent
                .iter()
                .filter_map(|t| as_number(t.value.as_bytes(), ty))
                .collect();
            g.frequent_numbers.sort_by(f64::total_cmp);
        }
        // Synthesized stand-ins for the frequent values when they are not copied.
        let mut text = String::new();
        g.frequent = frequent
            .into_iter()
            .map(|(v, cum, j)| {
                let mut field = Vec::new();
                if v.is_empty() && ty != ColumnType::Bool {
                    let q = (j as f64 + 0.5) / (g.frequent_len_hint() as f64);
                    g.value_at(j as u64, q, &mut field, &mut text);
                } else {
                    push_field(&mut field, &v, b',');
                }
                (field, cum)
            })
            .collect();
        g
    }

    fn frequent_len_hint(&self) -> u64 {
        match self.mode {
            Mode::Bounded { distinct } => distinct.max(1),
            _ => 100,
        }
    }

    /// Writes row `i`'s field (of `rows`).
    #[inline]
    fn field(&self, rng: &mut Rng, i: u64, rows: u64, out: &mut Vec<u8>, s: &mut String) {
        if self.null_rate > 0.0 && rng.unit() < self.null_rate {
            return;
        }
        if self.frequent_mass > 0.0 {
            let u = if self.sorted {
                i as f64 / rows as f64
            } else {
                rng.unit()
            };
            if u < self.frequent_mass {
                let j = self.frequent.partition_point(|f| f.1 <= u);
                let j = j.min(self.frequent.len() - 1);
                out.extend_from_slice(&self.frequent[j].0);
                return;
            }
        }
        match self.mode {
            Mode::Key { start, step } => {
                let k = if self.sorted {
                    i
                } else {
                    permute(i, rows, self.perm)
                };
                self.number(start + k as f64 * step, out, s);
            }
            Mode::TextKey => {
                let k = if self.sorted {
                    i
                } else {
                    permute(i, rows, self.perm)
                };
                self.text(k, out);
            }
            Mode::Bounded { distinct } if distinct > 0 => {
                // Each value about `rows / distinct` times (a fixed permutation of the rows
                // cycled over the values), so that all of them appear when rows allow.
                let k = if self.sorted {
                    (i as u128 * distinct as u128 / rows as u128) as u64
                } else {
                    let offset = (self.frequent.len() as u64).min(distinct - 1);
                    offset + permute(i, rows, self.perm) % (distinct - offset)
                };
                self.value_at(k, (k as f64 + 0.5) / distinct as f64, out, s);
            }
            Mode::Continuous => {
                let x = if self.sorted {
                    self.round(quantile(&self.quantiles, i as f64 / rows as f64))
                } else {
                    self.draw(rng)
                };
                self.number(x, out, s);
            }
            Mode::Bounded { .. } | Mode::Frequent => {}
        }
    }

    /// A value to the column's precision.
    #[inline]
    fn round(&self, x: f64) -> f64 {
        if self.ty == ColumnType::Float64 {
            let m = 10f64.powi(self.digits as i32);
            (x * m).round() / m
        } else {
            x.round()
        }
    }

    /// A number from the quantiles that is not a frequent value (those are drawn with their
    /// own share): up to eight tries.
    #[inline]
    fn draw(&self, rng: &mut Rng) -> f64 {
        let mut x = 0.0;
        for _ in 0..8 {
            x = self.round(quantile(&self.quantiles, rng.unit()));
            if self
                .frequent_numbers
                .binary_search_by(|f| f.total_cmp(&x))
                .is_err()
            {
                break;
            }
        }
        x
    }

    /// The k-th value of a bounded column (at quantile `q` for numbers).
    fn value_at(&self, k: u64, q: f64, out: &mut Vec<u8>, s: &mut String) {
        if self.ty == ColumnType::String {
            self.text(k, out);
        } else if !self.quantiles.is_empty() {
            self.number(quantile(&self.quantiles, q), out, s);
        }
    }

    /// A number as the column's type writes it.
    #[inline]
    fn number(&self, x: f64, out: &mut Vec<u8>, s: &mut String) {
        s.clear();
        match self.ty {
            ColumnType::Int64 => {
                let mut b = itoa::Buffer::new();
                out.extend_from_slice(b.format(x.round() as i64).as_bytes());
                return;
            }
            ColumnType::Float64 => {
                let _ = write!(s, "{:.*}", self.digits, x);
            }
            ColumnType::Decimal { scale } => s.push_str(&format_decimal(x.round() as i64, scale)),
            ColumnType::Date => s.push_str(&format_date(x.round() as i32)),
            ColumnType::Timestamp { zone } => s.push_str(&format_timestamp(x.round() as i64, zone)),
            ColumnType::Bool | ColumnType::String => {}
        }
        out.extend_from_slice(s.as_bytes());
    }

    /// The k-th synthetic string: k in a fixed number of letters (the first from
    /// [`FIRST_LETTERS`], so never a number, boolean, null or NaN token; fixed width, so the
    /// order of k is the order of the strings), then letters to a length drawn from the
    /// original's lengths (the same k always gives the same string).
    #[inline]
    fn text(&self, k: u64, out: &mut Vec<u8>) {
        let h = mix(k ^ self.salt);
        let len = if self.lengths.is_empty() {
            self.width
        } else {
            quantile(&self.lengths, (h >> 11) as f64 / (1u64 << 53) as f64).round() as usize
        };
        let mut digits = [b'a'; 16];
        let mut v = k;
        for (n, d) in digits[..self.width].iter_mut().enumerate().rev() {
            if n == 0 {
                *d = FIRST_LETTERS[(v % FIRST_LETTERS.len() as u64) as usize];
            } else {
                *d = b'a' + (v % 26) as u8;
                v /= 26;
            }
        }
        out.extend_from_slice(&digits[..self.width]);
        let mut state = h;
        for n in self.width..len {
            if n % 12 == 0 {
                state = mix(state);
            }
            out.push(b'a' + ((state >> ((n % 12) * 5)) % 26) as u8);
        }
    }
}

/// The letters a synthetic string starts with: none starts a token that reads as a number,
/// boolean or null (`nan`, `inf`, `true`, `t`, `false`, `f`, `yes`, `no`, `on`, `off`, `null`,
/// `NA`).
const FIRST_LETTERS: &[u8; 20] = b"abcdeghjklmpqrsuvwxz";

/// A frequent value's text as a number in the quantiles' units (decimal units, days,
/// microseconds).
fn as_number(b: &[u8], ty: ColumnType) -> Option<f64> {
    use membench_query::text::{Value, parse_value};
    match parse_value(b, ty).ok()? {
        Value::Int(v) | Value::Decimal(v, _) | Value::Timestamp(v) => Some(v as f64),
        Value::Date(d) => Some(f64::from(d)),
        Value::Float(v) => Some(v),
        _ => None,
    }
}

/// The delimiter `membench inspect` found (`\\t` for a tab; a comma for Parquet).
pub fn delimiter_of(found: &Inspection) -> u8 {
    match found.delimiter.as_str() {
        "\\t" => b'\t',
        d => d.bytes().next().unwrap_or(b','),
    }
}

/// The twin's fidelity: per column, the original's measurement against the twin's (null rate,
/// distinct count, min, max, mean text length, share of adjacent pairs in order), as a
/// Markdown table.
pub fn fidelity_table(original: &Inspection, twin: &Inspection) -> String {
    let mut t = String::from(
        "| column | type | null rate | distinct | min | max | mean length | in order |\n\
         |---|---|---|---|---|---|---|---|\n",
    );
    let rate = |i: &Inspection, c: &ColumnStats| c.nulls as f64 / i.rows.max(1) as f64;
    let cut = |s: &Option<String>| {
        let s: String = s.as_deref().unwrap_or("").chars().take(16).collect();
        s.replace('|', "\\|")
    };
    for (o, w) in original.columns.iter().zip(&twin.columns) {
        let _ = writeln!(
            t,
            "| {} | {} | {:.3} / {:.3} | {} / {} | {} / {} | {} / {} | {:.1} / {:.1} | {:.2} / {:.2} |",
            o.name,
            o.ty,
            rate(original, o),
            rate(twin, w),
            o.distinct_estimate,
            w.distinct_estimate,
            cut(&o.min),
            cut(&w.min),
            cut(&o.max),
            cut(&w.max),
            o.mean_text_length,
            w.mean_text_length,
            o.profile.sorted_fraction,
            w.profile.sorted_fraction,
        );
    }
    t
}

/// The value at `u` ∈ [0, 1] of a 101-point quantile table, interpolated.
#[inline]
fn quantile(q: &[f64], u: f64) -> f64 {
    let x = u.clamp(0.0, 1.0) * 100.0;
    let i = (x.floor() as usize).min(99);
    q[i] + (q[i + 1] - q[i]) * (x - i as f64)
}

/// Letters needed for `n` distinct indexes (the first of 20, the others of 26; at least 1, at
/// most 14).
fn base26_width(n: u64) -> usize {
    let mut w = 1;
    let mut cap = FIRST_LETTERS.len() as u64;
    while cap < n && w < 14 {
        w += 1;
        cap = cap.saturating_mul(26);
    }
    w
}

/// A permutation of `0..rows`: a keyed bijection of the `bits`-bit integers (multiplications
/// by odd constants and xor-shifts, each invertible modulo 2^bits), walked until it lands
/// below `rows` (fewer than two steps on average). Returns `(bits, key)`.
fn permutation(rows: u64, salt: u64) -> (u64, u64) {
    let bits = 64 - rows.max(2).saturating_sub(1).leading_zeros() as u64;
    (bits.max(1), salt)
}

#[inline]
fn permute(i: u64, rows: u64, (bits, key): (u64, u64)) -> u64 {
    let mask = if bits >= 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    };
    let half = (bits / 2).max(1);
    let mut x = i;
    loop {
        x = (x ^ key) & mask;
        x = x.wrapping_mul(0x9e37_79b9_7f4a_7c15) & mask;
        x ^= x >> half;
        x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9) & mask;
        x ^= x >> half;
        x = x.wrapping_add(key >> 7) & mask;
        if x < rows {
            return x;
        }
    }
}

/// Appends a CSV field, quoted when it holds the delimiter, a quote or a line break.
fn push_field(out: &mut Vec<u8>, v: &[u8], delimiter: u8) {
    if v.iter()
        .any(|&b| b == delimiter || b == b'"' || b == b'\n' || b == b'\r' || b == b',')
    {
        out.push(b'"');
        for &b in v {
            if b == b'"' {
                out.push(b'"');
            }
            out.push(b);
        }
        out.push(b'"');
    } else {
        out.extend_from_slice(v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permutation_is_a_bijection() {
        for rows in [1u64, 2, 10, 97, 1000, 4096] {
            let p = permutation(rows, 12345);
            let mut seen = vec![false; rows as usize];
            for i in 0..rows {
                let k = permute(i, rows, p) as usize;
                assert!(!seen[k], "rows {rows}: {k} twice");
                seen[k] = true;
            }
        }
    }

    #[test]
    fn base26_width_counts_the_digits_of_the_largest_index() {
        assert_eq!(base26_width(20), 1);
        assert_eq!(base26_width(21), 2);
        assert_eq!(base26_width(520), 2);
        assert_eq!(base26_width(521), 3);
    }

    #[test]
    fn quantile_interpolates() {
        let q: Vec<f64> = (0..=100).map(f64::from).collect();
        assert_eq!(quantile(&q, 0.0), 0.0);
        assert_eq!(quantile(&q, 1.0), 100.0);
        assert!((quantile(&q, 0.505) - 50.5).abs() < 1e-9);
    }
}
