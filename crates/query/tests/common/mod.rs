//! What the query tests share: the generated tables, typed.

use std::path::Path;

use membench_datagen::{Format, GenSpec, generate, generate_orders};
use membench_protocol::DataSchema;
use membench_query::{CsvOptions, Table, open_table};

/// `sales` (`rows` rows) and the `orders` / `order_items` tables (`orders` orders), generated
/// as CSV into `dir` and typed by inference.
pub fn generated(dir: &Path, rows: u64, orders: u64) -> Vec<(String, Table)> {
    let sales = generate(
        &GenSpec {
            rows,
            ..GenSpec::default()
        },
        Format::Csv,
        dir,
        false,
        &mut |_| {},
    )
    .unwrap();
    let [o, items] = generate_orders(
        &GenSpec {
            schema: DataSchema::Orders,
            rows: orders,
            ..GenSpec::default()
        },
        Format::Csv,
        dir,
        false,
        &mut |_| {},
    )
    .unwrap();
    [
        ("sales", &sales.path),
        ("orders", &o.path),
        ("order_items", &items.path),
    ]
    .into_iter()
    .map(|(n, p)| {
        let t = open_table(p, &CsvOptions::default()).unwrap_or_else(|e| panic!("{e}"));
        (n.to_string(), t)
    })
    .collect()
}

/// Writes `table` (read through membench's scan) as a Parquet file at `out`, typed as its
/// schema says (decimals as `DECIMAL(18, s)` on INT64, dates, UTC or local microsecond
/// timestamps, UTF-8 strings; every column optional), in row groups of `group_rows` rows.
#[allow(dead_code)]
pub fn write_parquet(table: &Table, out: &Path, group_rows: usize) {
    use membench_protocol::ColumnType;
    use membench_query::text::Value;
    use parquet::basic::{LogicalType, Repetition, TimeUnit, Type as Physical};
    use parquet::data_type::{
        BoolType, ByteArray, ByteArrayType, DoubleType, Int32Type, Int64Type,
    };
    use parquet::file::writer::SerializedFileWriter;
    use parquet::schema::types::Type;
    use std::sync::Arc;

    let all: Vec<usize> = (0..table.schema.columns.len()).collect();
    let mut rows: Vec<Vec<Value>> = Vec::new();
    membench_query::scan::scan(table, &all, |r| {
        rows.push(r.to_vec());
        Ok(())
    })
    .unwrap();
    let fields = table
        .schema
        .columns
        .iter()
        .map(|c| {
            let (physical, logical) = match c.ty {
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
            let mut b = Type::primitive_type_builder(&c.name, physical)
                .with_repetition(Repetition::OPTIONAL)
                .with_logical_type(logical);
            if let ColumnType::Decimal { scale } = c.ty {
                b = b.with_precision(18).with_scale(scale.into());
            }
            Arc::new(b.build().unwrap())
        })
        .collect();
    let schema = Arc::new(
        Type::group_type_builder("schema")
            .with_fields(fields)
            .build()
            .unwrap(),
    );
    let file = std::fs::File::create(out).unwrap();
    let mut w = SerializedFileWriter::new(file, schema, Default::default()).unwrap();
    for group in rows.chunks(group_rows.max(1)) {
        let mut g = w.next_row_group().unwrap();
        let mut c = 0;
        while let Some(mut col) = g.next_column().unwrap() {
            let defs: Vec<i16> = group
                .iter()
                .map(|r| i16::from(!matches!(r[c], Value::Null)))
                .collect();
            let present = group
                .iter()
                .map(|r| &r[c])
                .filter(|v| !matches!(v, Value::Null));
            match table.schema.columns[c].ty {
                ColumnType::Date => {
                    let v: Vec<i32> = present
                        .map(|v| match v {
                            Value::Date(d) => *d,
                            _ => unreachable!(),
                        })
                        .collect();
                    col.typed::<Int32Type>().write_batch(&v, Some(&defs), None)
                }
                ColumnType::Float64 => {
                    let v: Vec<f64> = present
                        .map(|v| match v {
                            Value::Float(f) => *f,
                            _ => unreachable!(),
                        })
                        .collect();
                    col.typed::<DoubleType>().write_batch(&v, Some(&defs), None)
                }
                ColumnType::Bool => {
                    let v: Vec<bool> = present
                        .map(|v| match v {
                            Value::Bool(b) => *b,
                            _ => unreachable!(),
                        })
                        .collect();
                    col.typed::<BoolType>().write_batch(&v, Some(&defs), None)
                }
                ColumnType::String => {
                    let v: Vec<ByteArray> = present
                        .map(|v| match v {
                            Value::Str(s) => ByteArray::from(s.as_str()),
                            _ => unreachable!(),
                        })
                        .collect();
                    col.typed::<ByteArrayType>()
                        .write_batch(&v, Some(&defs), None)
                }
                _ => {
                    let v: Vec<i64> = present
                        .map(|v| match v {
                            Value::Int(i) | Value::Decimal(i, _) | Value::Timestamp(i) => *i,
                            _ => unreachable!(),
                        })
                        .collect();
                    col.typed::<Int64Type>().write_batch(&v, Some(&defs), None)
                }
            }
            .unwrap();
            col.close().unwrap();
            c += 1;
        }
        g.close().unwrap();
    }
    w.close().unwrap();
}
