//! A user's Parquet input: the file's own schema as the table's (no inference: Parquet is typed)
//! and its rows as values, read through the `parquet` crate's row reader with only the used
//! columns projected. Memory is one row group's pages of those columns at a time.
//!
//! Flat columns only: a struct, list or map column is refused naming it, as is a type membench
//! does not compare (time of day, an unannotated fixed-length binary, a decimal wider than 18
//! digits or with more than [`ColumnType::MAX_SCALE`] digits after the point).

use std::fs::File;
use std::path::Path;

use membench_protocol::{ColumnSchema, ColumnType, TableSchema};
use parquet::basic::{ConvertedType, LogicalType, Repetition, TimeUnit, Type as Physical};
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::record::Field;
use parquet::schema::types::{Type, TypePtr};

use crate::error::InputError;
use crate::text::Value;

/// A Parquet file opened: its reader and its top-level fields.
pub(crate) struct ParquetFile {
    reader: SerializedFileReader<File>,
    /// The root's name (a projection must carry it) and its fields.
    root: String,
    fields: Vec<TypePtr>,
}

fn bad(path: &Path, reason: impl Into<String>) -> InputError {
    InputError::Input {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

impl ParquetFile {
    pub(crate) fn open(path: &Path) -> Result<Self, InputError> {
        let file = File::open(path).map_err(|e| InputError::Io {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        let reader = SerializedFileReader::new(file)
            .map_err(|e| bad(path, format!("not a readable Parquet file: {e}")))?;
        let root = reader
            .metadata()
            .file_metadata()
            .schema_descr()
            .root_schema();
        let (name, fields) = (root.name().to_string(), root.get_fields().to_vec());
        Ok(ParquetFile {
            reader,
            root: name,
            fields,
        })
    }

    /// Its rows, from the footer.
    pub(crate) fn rows(&self) -> u64 {
        self.reader.metadata().file_metadata().num_rows().max(0) as u64
    }

    /// Its columns as membench types.
    pub(crate) fn schema(&self, path: &Path) -> Result<TableSchema, InputError> {
        let columns = self
            .fields
            .iter()
            .map(|f| {
                let ty = column_type(f).map_err(|why| {
                    bad(
                        path,
                        format!("column {:?}: {why}; membench reads flat columns of int, float, decimal (≤ 18 digits), bool, date, timestamp and string", f.name()),
                    )
                })?;
                Ok(ColumnSchema {
                    name: f.name().to_string(),
                    ty,
                    nullable: f.get_basic_info().repetition() != Repetition::REQUIRED,
                })
            })
            .collect::<Result<Vec<_>, InputError>>()?;
        Ok(TableSchema { columns })
    }

    /// Reads every row's columns `wanted` (schema positions, in that order) into `values`,
    /// handing them to `row` with the row's 1-based number in the file.
    pub(crate) fn for_each_row<E: From<InputError>>(
        &self,
        path: &Path,
        schema: &TableSchema,
        wanted: &[usize],
        values: &mut [Value],
        mut row: impl FnMut(&[Value], u64) -> Result<(), E>,
    ) -> Result<u64, E> {
        // The projection holds the wanted columns once each, in file order.
        let mut order: Vec<usize> = wanted.to_vec();
        order.sort_unstable();
        order.dedup();
        let slot: Vec<usize> = wanted
            .iter()
            .map(|c| order.binary_search(c).expect("projected"))
            .collect();
        let nanos: Vec<bool> = order.iter().map(|&c| is_nanos(&self.fields[c])).collect();
        let projection = Type::group_type_builder(&self.root)
            .with_fields(order.iter().map(|&c| self.fields[c].clone()).collect())
            .build()
            .map_err(|e| bad(path, e.to_string()))?;
        let iter = self
            .reader
            .get_row_iter(Some(projection))
            .map_err(|e| bad(path, format!("cannot read its rows: {e}")))?;
        let mut fields: Vec<Value> = vec![Value::Null; order.len()];
        let mut n = 0u64;
        for r in iter {
            n += 1;
            let r = r.map_err(|e| bad(path, format!("row {n}: {e}")))?;
            for (i, (_, f)) in r.get_column_iter().enumerate() {
                let c = order[i];
                fields[i] = value_of(f, schema.columns[c].ty, nanos[i]).map_err(|why| {
                    bad(
                        path,
                        format!("row {n}, column {:?}: {why}", schema.columns[c].name),
                    )
                })?;
            }
            for (v, &s) in values.iter_mut().zip(&slot) {
                *v = std::mem::replace(&mut fields[s], Value::Null);
            }
            row(values, n)?;
        }
        Ok(n)
    }
}

fn is_nanos(f: &Type) -> bool {
    matches!(
        f.get_basic_info().logical_type_ref(),
        Some(LogicalType::Timestamp(t)) if matches!(t.unit, TimeUnit::NANOS)
    )
}

/// The membench type of a top-level Parquet field.
fn column_type(f: &Type) -> Result<ColumnType, String> {
    if !f.is_primitive() {
        return Err("a nested column (struct, list or map) is not read".into());
    }
    let info = f.get_basic_info();
    if info.repetition() == Repetition::REPEATED {
        return Err("a repeated column is not read".into());
    }
    let decimal = |precision: i32, scale: i32| {
        if precision > 18 || scale > ColumnType::MAX_SCALE as i32 || scale < 0 {
            Err(format!(
                "decimal({precision},{scale}) is wider than 18 digits or has more than {} after the point",
                ColumnType::MAX_SCALE
            ))
        } else {
            Ok(ColumnType::Decimal { scale: scale as u8 })
        }
    };
    let logical = info.logical_type_ref();
    let physical = f.get_physical_type();
    Ok(match (physical, logical, info.converted_type()) {
        (_, Some(LogicalType::Decimal(d)), _) => decimal(d.precision, d.scale)?,
        (_, _, ConvertedType::DECIMAL) => {
            let (precision, scale) = match f {
                Type::PrimitiveType {
                    precision, scale, ..
                } => (*precision, *scale),
                _ => (0, 0),
            };
            decimal(precision, scale)?
        }
        (Physical::BOOLEAN, ..) => ColumnType::Bool,
        (Physical::INT32, Some(LogicalType::Date), _)
        | (Physical::INT32, _, ConvertedType::DATE) => ColumnType::Date,
        (Physical::INT64, Some(LogicalType::Timestamp(t)), _) => ColumnType::Timestamp {
            zone: t.is_adjusted_to_u_t_c,
        },
        (Physical::INT64, _, ConvertedType::TIMESTAMP_MILLIS | ConvertedType::TIMESTAMP_MICROS) => {
            ColumnType::Timestamp { zone: true }
        }
        (Physical::INT96, ..) => ColumnType::Timestamp { zone: false },
        (Physical::INT32 | Physical::INT64, Some(LogicalType::Time(_)), _)
        | (_, _, ConvertedType::TIME_MILLIS | ConvertedType::TIME_MICROS) => {
            return Err("a time of day is not read".into());
        }
        (Physical::INT32 | Physical::INT64, ..) => ColumnType::Int64,
        (Physical::FLOAT | Physical::DOUBLE, ..) => ColumnType::Float64,
        (_, Some(LogicalType::Float16), _) => ColumnType::Float64,
        (Physical::BYTE_ARRAY, ..) => ColumnType::String,
        (Physical::FIXED_LEN_BYTE_ARRAY, ..) => {
            return Err("a fixed-length binary is not read".into());
        }
    })
}

/// A Parquet field as a value of its column's type.
fn value_of(f: &Field, ty: ColumnType, nanos: bool) -> Result<Value, String> {
    Ok(match f {
        Field::Null => Value::Null,
        Field::Bool(b) => Value::Bool(*b),
        Field::Byte(v) => Value::Int((*v).into()),
        Field::Short(v) => Value::Int((*v).into()),
        Field::Int(v) => Value::Int((*v).into()),
        Field::Long(v) if nanos => Value::Timestamp(v.div_euclid(1000)),
        Field::Long(v) => Value::Int(*v),
        Field::UByte(v) => Value::Int((*v).into()),
        Field::UShort(v) => Value::Int((*v).into()),
        Field::UInt(v) => Value::Int((*v).into()),
        Field::ULong(v) => {
            Value::Int(i64::try_from(*v).map_err(|_| format!("{v} is out of the int64 range"))?)
        }
        Field::Float16(v) => Value::Float(f64::from(*v)),
        Field::Float(v) => Value::Float((*v).into()),
        Field::Double(v) => Value::Float(*v),
        Field::Decimal(d) => {
            let scale = match ty {
                ColumnType::Decimal { scale } => scale,
                _ => d.scale() as u8,
            };
            Value::Decimal(decimal_units(d.data())?, scale)
        }
        Field::Str(s) => Value::Str(s.clone()),
        Field::Bytes(b) => Value::Str(String::from_utf8_lossy(b.data()).into_owned()),
        Field::Date(d) => Value::Date(*d),
        Field::TimestampMillis(ms) => Value::Timestamp(ms.saturating_mul(1000)),
        Field::TimestampMicros(us) => Value::Timestamp(*us),
        other => return Err(format!("a value membench does not read: {other}")),
    })
}

/// A big-endian two's-complement integer of at most 8 bytes (longer ones sign-extended).
fn decimal_units(bytes: &[u8]) -> Result<i64, String> {
    let negative = bytes.first().is_some_and(|b| b & 0x80 != 0);
    let fill = if negative { 0xff } else { 0 };
    let (high, low) = bytes.split_at(bytes.len().saturating_sub(8));
    if high.iter().any(|&b| b != fill) || (!high.is_empty() && (low[0] & 0x80 != 0) != negative) {
        return Err("a decimal out of the 18-digit range".into());
    }
    let mut buf = [fill; 8];
    buf[8 - low.len()..].copy_from_slice(low);
    Ok(i64::from_be_bytes(buf))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_bytes_are_big_endian_twos_complement() {
        assert_eq!(decimal_units(&[0x04, 0xd2]), Ok(1234));
        assert_eq!(decimal_units(&[0xfb, 0x2e]), Ok(-1234));
        assert_eq!(decimal_units(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 1]), Ok(1));
        assert_eq!(decimal_units(&[0xff; 12]), Ok(-1));
        assert!(decimal_units(&[1, 0, 0, 0, 0, 0, 0, 0, 0]).is_err());
    }
}
