//! A query's result written to a file instead of kept as the answer (`run --output FILE`): CSV
//! (RFC 4180, a header, NULL as the empty field) or Parquet (the result's types, a row group per
//! [`PARQUET_GROUP_ROWS`] rows). A result of one row per input row (no `GROUP BY`, `ORDER BY`
//! or `LIMIT`) is written as the rows come, so it is never held; any other result is held by
//! its operators anyway and written in its order when they finish.
//!
//! What is compared instead of the rows: their count and an order-independent digest (a sum of
//! per-row hashes, floats rounded to 12 significant digits so that engines summing in another
//! order agree), the same from every strategy whatever order its rows came in.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use membench_protocol::ColumnType;

use crate::text::Value;

/// Rows per Parquet row group.
pub const PARQUET_GROUP_ROWS: usize = 65_536;

/// The file format, from the name (`.parquet`/`.pq`, else CSV).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputFormat {
    Csv,
    Parquet,
}

impl OutputFormat {
    pub fn of(path: &Path) -> OutputFormat {
        match crate::source::FileKind::of(path) {
            crate::source::FileKind::Parquet => OutputFormat::Parquet,
            _ => OutputFormat::Csv,
        }
    }
}

/// What was written: the rows and their digest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Written {
    pub path: PathBuf,
    pub rows: u64,
    /// 32 hex digits, independent of the rows' order.
    pub digest: String,
}

/// A result file being written; cloned handles (one per worker) write to the one file.
#[derive(Clone)]
pub struct ResultFile {
    inner: Arc<Mutex<Inner>>,
}

impl std::fmt::Debug for ResultFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResultFile").finish()
    }
}

struct Inner {
    path: PathBuf,
    /// Rows per Parquet row group.
    group_rows: usize,
    types: Vec<Option<ColumnType>>,
    sink: Sink,
    rows: u64,
    sums: (u64, u64),
    failed: Option<String>,
}

enum Sink {
    Csv(BufWriter<File>),
    Parquet {
        writer: Option<parquet::file::writer::SerializedFileWriter<File>>,
        pending: Vec<Vec<Value>>,
    },
}

impl ResultFile {
    /// Creates `path` (a new file: an existing one is refused) for a result of these columns.
    pub fn create(
        path: &Path,
        columns: &[String],
        types: &[Option<ColumnType>],
    ) -> Result<ResultFile, String> {
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .map_err(|e| format!("{}: cannot create: {e}", path.display()))?;
        let sink = match OutputFormat::of(path) {
            OutputFormat::Csv => {
                let mut w = BufWriter::with_capacity(1 << 20, file);
                let header: Vec<String> = columns.iter().map(|c| csv_field(c)).collect();
                writeln!(w, "{}", header.join(","))
                    .map_err(|e| format!("{}: {e}", path.display()))?;
                Sink::Csv(w)
            }
            OutputFormat::Parquet => Sink::Parquet {
                writer: Some(
                    parquet_writer(file, columns, types)
                        .map_err(|e| format!("{}: {e}", path.display()))?,
                ),
                pending: Vec::new(),
            },
        };
        Ok(ResultFile {
            inner: Arc::new(Mutex::new(Inner {
                path: path.to_path_buf(),
                group_rows: PARQUET_GROUP_ROWS,
                types: types.to_vec(),
                sink,
                rows: 0,
                sums: (0, 0),
                failed: None,
            })),
        })
    }

    /// Parquet row groups of `rows` rows instead of [`PARQUET_GROUP_ROWS`] (a test's small
    /// groups).
    pub fn with_group_rows(self, rows: usize) -> Self {
        if let Ok(mut g) = self.inner.lock() {
            g.group_rows = rows.max(1);
        }
        self
    }

    /// Writes one result row (its visible columns, cast to their types).
    pub fn write(&self, row: &[Value]) -> Result<(), String> {
        let mut g = self
            .inner
            .lock()
            .map_err(|_| "a writer panicked".to_string())?;
        let inner = &mut *g;
        if let Some(e) = &inner.failed {
            return Err(e.clone());
        }
        let (a, b) = row_hash(row);
        inner.sums.0 = inner.sums.0.wrapping_add(a);
        inner.sums.1 = inner.sums.1.wrapping_add(b);
        inner.rows += 1;
        let r = match &mut inner.sink {
            Sink::Csv(w) => {
                let mut line = String::new();
                for (i, (v, t)) in row.iter().zip(&inner.types).enumerate() {
                    if i > 0 {
                        line.push(',');
                    }
                    if !matches!(v, Value::Null) {
                        line.push_str(&csv_field(&v.render(t.unwrap_or(ColumnType::String))));
                    }
                }
                line.push('\n');
                w.write_all(line.as_bytes()).map_err(|e| e.to_string())
            }
            Sink::Parquet { writer, pending } => {
                pending.push(row.to_vec());
                if pending.len() >= inner.group_rows {
                    flush_group(writer, pending, &inner.types)
                } else {
                    Ok(())
                }
            }
        };
        r.map_err(|e| {
            let e = format!("{}: {e}", inner.path.display());
            inner.failed = Some(e.clone());
            e
        })
    }

    /// Finishes the file (the last handle's call does; others' return `None`).
    pub fn finish(self) -> Result<Option<Written>, String> {
        let Ok(m) = Arc::try_unwrap(self.inner) else {
            return Ok(None);
        };
        let inner = m
            .into_inner()
            .map_err(|_| "a writer panicked".to_string())?;
        if let Some(e) = inner.failed {
            return Err(e);
        }
        let path = inner.path.clone();
        let err = |e: String| format!("{}: {e}", path.display());
        match inner.sink {
            Sink::Csv(w) => {
                w.into_inner()
                    .map_err(|e| err(e.error().to_string()))?
                    .sync_all()
                    .map_err(|e| err(e.to_string()))?;
            }
            Sink::Parquet {
                mut writer,
                mut pending,
            } => {
                flush_group(&mut writer, &mut pending, &inner.types).map_err(err)?;
                if let Some(w) = writer {
                    w.close().map_err(|e| err(e.to_string()))?;
                }
            }
        }
        Ok(Some(Written {
            path: inner.path,
            rows: inner.rows,
            digest: format!("{:016x}{:016x}", inner.sums.0, inner.sums.1),
        }))
    }
}

/// A field quoted when it holds a comma, a quote or a line break.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Two 64-bit hashes of a row (FNV-1a and a multiply-rotate one) over its values' encoding,
/// floats first rounded to 12 significant digits.
fn row_hash(row: &[Value]) -> (u64, u64) {
    let mut bytes = Vec::with_capacity(16 * row.len());
    for v in row {
        match v {
            Value::Float(f) if f.is_finite() && *f != 0.0 => {
                let rounded: f64 = format!("{f:.11e}").parse().unwrap_or(*f);
                Value::Float(rounded).encode(&mut bytes);
            }
            Value::Float(f) if *f == 0.0 => Value::Float(0.0).encode(&mut bytes),
            v => v.encode(&mut bytes),
        }
    }
    let mut a: u64 = 0xcbf2_9ce4_8422_2325;
    let mut b: u64 = 0x9e37_79b9_7f4a_7c15;
    for &x in &bytes {
        a = (a ^ u64::from(x)).wrapping_mul(0x0100_0000_01b3);
        b = (b ^ u64::from(x))
            .wrapping_mul(0xff51_afd7_ed55_8ccd)
            .rotate_left(29);
    }
    (a, b)
}

fn parquet_writer(
    file: File,
    columns: &[String],
    types: &[Option<ColumnType>],
) -> Result<parquet::file::writer::SerializedFileWriter<File>, String> {
    use parquet::basic::{LogicalType, Repetition, TimeUnit, Type as Physical};
    use parquet::schema::types::Type;
    let fields = columns
        .iter()
        .zip(types)
        .map(|(name, ty)| {
            let ty = ty.unwrap_or(ColumnType::String);
            let (physical, logical) = match ty {
                ColumnType::Int64 => (Physical::INT64, None),
                ColumnType::Float64 => (Physical::DOUBLE, None),
                ColumnType::Decimal { scale } => (
                    Physical::INT64,
                    Some(LogicalType::decimal(scale.into(), 18)),
                ),
                ColumnType::Bool => (Physical::BOOLEAN, None),
                ColumnType::Date => (Physical::INT32, Some(LogicalType::Date)),
                ColumnType::Timestamp { zone } => (
                    Physical::INT64,
                    Some(LogicalType::timestamp(zone, TimeUnit::MICROS)),
                ),
                ColumnType::String => (Physical::BYTE_ARRAY, Some(LogicalType::String)),
            };
            let mut b = Type::primitive_type_builder(name, physical)
                .with_repetition(Repetition::OPTIONAL)
                .with_logical_type(logical);
            if let ColumnType::Decimal { scale } = ty {
                b = b.with_precision(18).with_scale(scale.into());
            }
            b.build().map(Arc::new).map_err(|e| e.to_string())
        })
        .collect::<Result<Vec<_>, String>>()?;
    let schema = Type::group_type_builder("schema")
        .with_fields(fields)
        .build()
        .map_err(|e| e.to_string())?;
    parquet::file::writer::SerializedFileWriter::new(file, Arc::new(schema), Default::default())
        .map_err(|e| e.to_string())
}

/// Writes the pending rows as one row group.
fn flush_group(
    writer: &mut Option<parquet::file::writer::SerializedFileWriter<File>>,
    pending: &mut Vec<Vec<Value>>,
    types: &[Option<ColumnType>],
) -> Result<(), String> {
    use parquet::data_type::{
        BoolType, ByteArray, ByteArrayType, DoubleType, Int32Type, Int64Type,
    };
    let Some(w) = writer.as_mut() else {
        return Ok(());
    };
    if pending.is_empty() {
        return Ok(());
    }
    let e = |e: parquet::errors::ParquetError| e.to_string();
    let mut g = w.next_row_group().map_err(e)?;
    let mut c = 0;
    while let Some(mut col) = g.next_column().map_err(e)? {
        let defs: Vec<i16> = pending
            .iter()
            .map(|r| i16::from(!matches!(r[c], Value::Null)))
            .collect();
        let present = pending
            .iter()
            .map(|r| &r[c])
            .filter(|v| !matches!(v, Value::Null));
        let wrote = match types[c].unwrap_or(ColumnType::String) {
            ColumnType::Date => {
                let v: Vec<i32> = present
                    .map(|v| if let Value::Date(d) = v { *d } else { 0 })
                    .collect();
                col.typed::<Int32Type>().write_batch(&v, Some(&defs), None)
            }
            ColumnType::Float64 => {
                let v: Vec<f64> = present
                    .map(|v| match v {
                        Value::Float(f) => *f,
                        Value::Int(i) => *i as f64,
                        _ => 0.0,
                    })
                    .collect();
                col.typed::<DoubleType>().write_batch(&v, Some(&defs), None)
            }
            ColumnType::Bool => {
                let v: Vec<bool> = present.map(|v| matches!(v, Value::Bool(true))).collect();
                col.typed::<BoolType>().write_batch(&v, Some(&defs), None)
            }
            ColumnType::String => {
                let v: Vec<ByteArray> = present
                    .map(|v| match v {
                        Value::Str(s) => ByteArray::from(s.as_str()),
                        v => ByteArray::from(v.render(ColumnType::String).as_str()),
                    })
                    .collect();
                col.typed::<ByteArrayType>()
                    .write_batch(&v, Some(&defs), None)
            }
            _ => {
                let v: Vec<i64> = present
                    .map(|v| match v {
                        Value::Int(i) | Value::Decimal(i, _) | Value::Timestamp(i) => *i,
                        _ => 0,
                    })
                    .collect();
                col.typed::<Int64Type>().write_batch(&v, Some(&defs), None)
            }
        };
        wrote.map_err(e)?;
        col.close().map_err(e)?;
        c += 1;
    }
    g.close().map_err(e)?;
    pending.clear();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_digest_ignores_row_order_and_the_last_bits_of_a_float() {
        let dir = tempfile::tempdir().unwrap();
        let types = [Some(ColumnType::String), Some(ColumnType::Float64)];
        let cols = ["k".to_string(), "x".to_string()];
        let write = |name: &str, rows: &[(&str, f64)]| {
            let f = ResultFile::create(&dir.path().join(name), &cols, &types).unwrap();
            for (k, x) in rows {
                f.write(&[Value::Str(k.to_string()), Value::Float(*x)])
                    .unwrap();
            }
            f.finish().unwrap().unwrap()
        };
        let a = write("a.csv", &[("a,b", 0.1 + 0.2), ("c", 1.0)]);
        let b = write("b.parquet", &[("c", 1.0), ("a,b", 0.3)]);
        assert_eq!((a.rows, &a.digest), (b.rows, &b.digest));
        let c = write("c.csv", &[("c", 1.0), ("a,b", 0.31)]);
        assert_ne!(a.digest, c.digest);
        let text = std::fs::read_to_string(dir.path().join("a.csv")).unwrap();
        assert_eq!(text, "k,x\n\"a,b\",0.30000000000000004\nc,1.0\n");
        assert!(ResultFile::create(&dir.path().join("a.csv"), &cols, &types).is_err());
    }
}
