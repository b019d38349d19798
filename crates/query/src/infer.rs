//! A user's CSV as a typed table: the header's names, each column's type inferred from the first
//! rows (then enforced on every row by whoever reads it), `--schema` overriding any column.
//!
//! A column's type is the first of `bool`, `int64`, `decimal(S)`, `float64`, `date`,
//! `timestamp`/`timestamptz`, `string` that every non-null sampled value is. A decimal is chosen
//! for plain numbers (no exponent) with a point and at most [`MAX_INFERRED_SCALE`] digits after
//! it (money, measurements), so sums stay exact; more digits make it `float64`. Dates whose
//! day and month order cannot be told (`01/02/2000`) are not guessed: the column stays a string
//! and a note says so.

use std::path::{Path, PathBuf};

use membench_protocol::{ColumnSchema, ColumnType, NullTokens, SchemaOverride, TableSchema};

use crate::csv::CsvReader;
use crate::error::InputError;
use crate::source::{FileKind, default_delimiter, input_files, open_text};
use crate::text;

/// The most digits after the point an inferred decimal has (more: `float64`).
pub const MAX_INFERRED_SCALE: u32 = 4;

/// How a user's CSV is read.
#[derive(Clone, Debug)]
pub struct CsvOptions {
    /// The field delimiter (`None`: tab for `.tsv`, else a comma).
    pub delimiter: Option<u8>,
    pub nulls: NullTokens,
    pub schema: SchemaOverride,
    /// How many rows the types are inferred from.
    pub sample_rows: u64,
}

impl Default for CsvOptions {
    fn default() -> Self {
        CsvOptions {
            delimiter: None,
            nulls: NullTokens::default(),
            schema: SchemaOverride::default(),
            sample_rows: 20_000,
        }
    }
}

/// A user's CSV input, typed.
#[derive(Clone, Debug)]
pub struct Table {
    /// The path as given (file, folder or glob).
    pub path: PathBuf,
    pub files: Vec<PathBuf>,
    pub delimiter: u8,
    pub nulls: NullTokens,
    pub schema: TableSchema,
    /// Per column: whether `--schema` gave its type.
    pub given: Vec<bool>,
    /// How many rows the types were inferred from.
    pub sampled_rows: u64,
    /// What inference could not decide and left as text.
    pub notes: Vec<String>,
}

impl Table {
    /// The column names, in order.
    pub fn names(&self) -> Vec<String> {
        self.schema.columns.iter().map(|c| c.name.clone()).collect()
    }

    /// Whether its files are Parquet (typed by their own schema, read by rows, not text).
    pub fn is_parquet(&self) -> bool {
        self.files
            .first()
            .is_some_and(|f| FileKind::of(f) == FileKind::Parquet)
    }

    /// How many rows column `i`'s type was inferred from (`None` when `--schema` gave it).
    pub fn inferred_from(&self, i: usize) -> Option<u64> {
        (!self.given[i]).then_some(self.sampled_rows)
    }
}

/// Reads the header and up to `sample_rows` rows of `path`'s files and types the columns.
pub fn open_table(path: &Path, opts: &CsvOptions) -> Result<Table, InputError> {
    let files = input_files(path)?;
    if files.iter().any(|f| FileKind::of(f) == FileKind::Parquet) {
        return open_parquet(path, files, opts);
    }
    let delimiter = opts
        .delimiter
        .unwrap_or_else(|| default_delimiter(&files[0]));
    let names = header(&files[0], delimiter)?;
    let mut guesses: Vec<Guess> = names.iter().map(|_| Guess::default()).collect();
    let mut sampled = 0u64;
    'files: for file in &files {
        let mut records = FileRecords::open(file, open_text(file)?, delimiter, &names)?;
        while sampled < opts.sample_rows {
            let Some(rec) = records.next()? else {
                continue 'files;
            };
            for (g, f) in guesses.iter_mut().zip(rec.fields()) {
                if opts.nulls.is_null(f) {
                    g.nulls += 1;
                } else {
                    g.add(f);
                }
            }
            sampled += 1;
        }
        break;
    }
    for (name, _) in &opts.schema.0 {
        if !names.contains(name) {
            return Err(InputError::Header {
                path: path.to_path_buf(),
                reason: format!(
                    "--schema names column {name:?}, which the header does not have (columns: {})",
                    names.join(", ")
                ),
            });
        }
    }
    let mut notes = Vec::new();
    let mut given = Vec::new();
    let columns = names
        .into_iter()
        .zip(&guesses)
        .map(|(name, g)| {
            let over = opts.schema.get(&name);
            given.push(over.is_some());
            if over.is_none() && g.ambiguous_dates == g.seen && g.seen > 0 {
                notes.push(format!(
                    "column {name:?}: its values ({}) could be day/month or month/day, so it is \
                     read as string; pass --schema to read them otherwise",
                    g.example
                ));
            }
            ColumnSchema {
                ty: over.unwrap_or_else(|| g.resolve()),
                nullable: g.nulls > 0,
                name,
            }
        })
        .collect();
    Ok(Table {
        path: path.to_path_buf(),
        files,
        delimiter,
        nulls: opts.nulls.clone(),
        schema: TableSchema { columns },
        given,
        sampled_rows: sampled,
        notes,
    })
}

/// A Parquet input: the first part's own schema, every other part's checked against it.
fn open_parquet(path: &Path, files: Vec<PathBuf>, opts: &CsvOptions) -> Result<Table, InputError> {
    if let Some(f) = files.iter().find(|f| FileKind::of(f) != FileKind::Parquet) {
        return Err(InputError::Input {
            path: f.clone(),
            reason: "the input mixes Parquet and text parts; give one format".into(),
        });
    }
    if let Some((name, _)) = opts.schema.0.first() {
        return Err(InputError::Header {
            path: path.to_path_buf(),
            reason: format!(
                "--schema names column {name:?}, but a Parquet file carries its own types; \
                 --schema is for text inputs"
            ),
        });
    }
    let schema = crate::parquet::ParquetFile::open(&files[0])?.schema(&files[0])?;
    for f in &files[1..] {
        let other = crate::parquet::ParquetFile::open(f)?.schema(f)?;
        if other != schema {
            return Err(InputError::Header {
                path: f.clone(),
                reason: format!(
                    "its columns ({}) differ from those of {} ({})",
                    other,
                    files[0].display(),
                    schema
                ),
            });
        }
    }
    Ok(Table {
        path: path.to_path_buf(),
        given: vec![false; schema.columns.len()],
        files,
        delimiter: b',',
        nulls: opts.nulls.clone(),
        schema,
        sampled_rows: 0,
        notes: Vec::new(),
    })
}

pub(crate) fn read_error(file: &Path, e: crate::csv::ReadError) -> InputError {
    InputError::Io {
        path: file.to_path_buf(),
        message: e.to_string(),
    }
}

/// The column names of a file's header: empty ones become `column<N>`; duplicates are refused.
fn header(file: &Path, delimiter: u8) -> Result<Vec<String>, InputError> {
    let mut rdr = CsvReader::new(open_text(file)?, delimiter);
    let rec = rdr
        .next_record()
        .map_err(|e| read_error(file, e))?
        .ok_or_else(|| InputError::Header {
            path: file.to_path_buf(),
            reason: "the file is empty: a header line is needed".into(),
        })?;
    let mut names: Vec<String> = Vec::with_capacity(rec.len());
    for (i, f) in rec.fields().enumerate() {
        let name = String::from_utf8_lossy(f).trim().to_string();
        let name = if name.is_empty() {
            format!("column{}", i + 1)
        } else {
            name
        };
        if let Some(j) = names.iter().position(|n| *n == name) {
            return Err(InputError::Header {
                path: file.to_path_buf(),
                reason: format!(
                    "columns {} and {} are both named {name:?}; rename one",
                    j + 1,
                    i + 1
                ),
            });
        }
        names.push(name);
    }
    Ok(names)
}

/// One file's data records, its header checked against the first part's names, each record
/// checked to have as many fields as the header: the one loop every reader of a table runs.
pub(crate) struct FileRecords<'a, R> {
    pub(crate) file: &'a Path,
    rdr: CsvReader<R>,
    width: usize,
}

impl<'a, R: std::io::BufRead> FileRecords<'a, R> {
    /// Reads and checks the header of `file` (read through `reader`).
    pub(crate) fn open(
        file: &'a Path,
        reader: R,
        delimiter: u8,
        names: &[String],
    ) -> Result<Self, InputError> {
        let mut rdr = CsvReader::new(reader, delimiter);
        let head = rdr.next_record().map_err(|e| read_error(file, e))?;
        check_header(
            file,
            names,
            head.map(|r| r.fields().map(<[u8]>::to_vec).collect()),
        )?;
        Ok(FileRecords {
            file,
            rdr,
            width: names.len(),
        })
    }

    /// The next data record, or a located error.
    pub(crate) fn next(&mut self) -> Result<Option<crate::csv::Record<'_>>, InputError> {
        let file = self.file;
        match self.rdr.next_record().map_err(|e| read_error(file, e))? {
            Some(rec) if rec.len() != self.width => Err(InputError::Shape {
                path: file.to_path_buf(),
                line: rec.line,
                expected: self.width,
                found: rec.len(),
            }),
            other => Ok(other),
        }
    }

    /// Where the next record starts: bytes from the start of the file (as read: after
    /// decompression).
    pub(crate) fn position(&self) -> u64 {
        self.rdr.position()
    }

    /// The reader it reads through (everything read consumed).
    pub(crate) fn into_inner(self) -> R {
        self.rdr.into_inner()
    }
}

impl Table {
    /// The located error of field `f` (column `column`, 0-based) that is not a value of its
    /// column's type, with the `--schema` hint.
    pub(crate) fn type_error(
        &self,
        file: &Path,
        line: u64,
        column: usize,
        f: &[u8],
        why: crate::text::TypeBreak,
    ) -> InputError {
        let c = &self.schema.columns[column];
        InputError::Type(Box::new(crate::error::TypeError {
            path: file.to_path_buf(),
            line,
            column: column + 1,
            name: c.name.clone(),
            value: String::from_utf8_lossy(f).into_owned(),
            ty: c.ty,
            why,
            inferred_from: self.inferred_from(column),
        }))
    }
}

/// Refuses a part whose header differs from the first part's.
fn check_header(
    file: &Path,
    names: &[String],
    head: Option<Vec<Vec<u8>>>,
) -> Result<(), InputError> {
    let head = head.ok_or_else(|| InputError::Header {
        path: file.to_path_buf(),
        reason: "the file is empty: a header line is needed".into(),
    })?;
    let same = head.len() == names.len()
        && head.iter().zip(names).enumerate().all(|(i, (h, n))| {
            let h = String::from_utf8_lossy(h);
            let h = h.trim();
            h == n || (h.is_empty() && *n == format!("column{}", i + 1))
        });
    if same {
        Ok(())
    } else {
        Err(InputError::Header {
            path: file.to_path_buf(),
            reason: format!(
                "its header differs from the first file's ({})",
                names.join(", ")
            ),
        })
    }
}

/// What the sampled values of one column could be.
#[derive(Debug)]
struct Guess {
    nulls: u64,
    seen: u64,
    boolean: bool,
    int: bool,
    decimal: bool,
    scale: u32,
    float: bool,
    date: bool,
    timestamp: bool,
    /// `Some(zone)` while every timestamp agrees on having a zone.
    zone: Option<bool>,
    zone_mixed: bool,
    ambiguous_dates: u64,
    example: String,
}

impl Default for Guess {
    fn default() -> Self {
        Guess {
            nulls: 0,
            seen: 0,
            boolean: true,
            int: true,
            decimal: true,
            scale: 0,
            float: true,
            date: true,
            timestamp: true,
            zone: None,
            zone_mixed: false,
            ambiguous_dates: 0,
            example: String::new(),
        }
    }
}

impl Guess {
    fn add(&mut self, f: &[u8]) {
        self.seen += 1;
        if self.boolean {
            self.boolean = text::parse_bool(f).is_ok();
        }
        if self.int {
            self.int = text::parse_int(f).is_ok();
        }
        if self.decimal {
            match text::decimal_digits(f) {
                Some(d) if d <= ColumnType::MAX_SCALE as u32 => {
                    self.scale = self.scale.max(d);
                    self.decimal = text::parse_decimal(f, d as u8).is_ok();
                }
                _ => self.decimal = false,
            }
        }
        if self.float {
            self.float = text::parse_float(f).is_ok();
        }
        if self.date {
            self.date = text::parse_date(f).is_ok();
        }
        if self.timestamp {
            match text::parse_timestamp(f) {
                Ok((_, z)) => match self.zone {
                    None => self.zone = Some(z),
                    Some(prev) if prev != z => self.zone_mixed = true,
                    Some(_) => {}
                },
                Err(_) => self.timestamp = false,
            }
        }
        if ambiguous_date(f) {
            self.ambiguous_dates += 1;
            if self.example.is_empty() {
                self.example = String::from_utf8_lossy(f).into_owned();
            }
        }
    }

    fn resolve(&self) -> ColumnType {
        if self.seen == 0 {
            ColumnType::String
        } else if self.boolean {
            ColumnType::Bool
        } else if self.int {
            ColumnType::Int64
        } else if self.decimal && self.scale <= MAX_INFERRED_SCALE {
            ColumnType::Decimal {
                scale: self.scale as u8,
            }
        } else if self.float {
            ColumnType::Float64
        } else if self.date {
            ColumnType::Date
        } else if self.timestamp && !self.zone_mixed {
            ColumnType::Timestamp {
                zone: self.zone == Some(true),
            }
        } else {
            ColumnType::String
        }
    }
}

/// `NN/NN/NNNN` or `NN-NN-NNNN` (also `N/N/NNNN`) with both first numbers ≤ 12: a date whose
/// day/month order is a guess.
fn ambiguous_date(f: &[u8]) -> bool {
    let parts: Vec<&[u8]> = f.split(|&c| c == b'/' || c == b'-' || c == b'.').collect();
    if parts.len() != 3 || parts[2].len() != 4 {
        return false;
    }
    let small = |p: &[u8]| {
        (1..=2).contains(&p.len())
            && p.iter().all(u8::is_ascii_digit)
            && (1..=12).contains(&p.iter().fold(0u32, |v, d| v * 10 + (d - b'0') as u32))
    };
    small(parts[0]) && small(parts[1]) && parts[2].iter().all(u8::is_ascii_digit)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guess(values: &[&str]) -> ColumnType {
        let mut g = Guess::default();
        for v in values {
            g.add(v.as_bytes());
        }
        g.resolve()
    }

    #[test]
    fn each_type_is_inferred_from_its_values() {
        assert_eq!(guess(&["1", "-2", "+3"]), ColumnType::Int64);
        assert_eq!(
            guess(&["1", "2.5", "3.25"]),
            ColumnType::Decimal { scale: 2 }
        );
        assert_eq!(guess(&["1.5", "31.95376472"]), ColumnType::Float64);
        assert_eq!(guess(&["1e3", "2"]), ColumnType::Float64);
        assert_eq!(guess(&["TRUE", "false"]), ColumnType::Bool);
        assert_eq!(guess(&["2012/01/01", "2012/01/02"]), ColumnType::Date);
        assert_eq!(
            guess(&["2012-01-01", "2012-01-02 10:00"]),
            ColumnType::Timestamp { zone: false }
        );
        assert_eq!(
            guess(&["2012-01-01T10:00Z", "2012-01-02 10:00+01:00"]),
            ColumnType::Timestamp { zone: true }
        );
        assert_eq!(
            guess(&["2012-01-01T10:00Z", "2012-01-02 10:00"]),
            ColumnType::String
        );
        assert_eq!(guess(&["Jan 1 2000", "x"]), ColumnType::String);
        assert_eq!(guess(&[]), ColumnType::String);
        assert!(ambiguous_date(b"01/02/2000") && ambiguous_date(b"1-2-2000"));
        assert!(!ambiguous_date(b"13/02/2000") && !ambiguous_date(b"2000/01/02"));
    }
}
