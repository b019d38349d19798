//! Parquet reading shared by the hand-written strategies: metadata, slices, and a fold over a
//! DataFrame with the same validation rules as the CSV kernel.

use std::fs::File;
use std::path::Path;

use anyhow::Context;
use membench_kernel::{COLUMNS, InputError, OnBadRow, RowRef, Workload, rules};
use polars::prelude::*;

use crate::outcome::Counts;
use crate::{RowSink, RunError};

/// Columns the aggregate workloads read (projection: date, region and note are not loaded;
/// `etl` reads every column).
pub const NEEDED: [&str; 7] = [
    "order_id",
    "customer_id",
    "product_id",
    "category",
    "quantity",
    "price",
    "discount",
];

pub(crate) fn open(path: &Path) -> Result<File, RunError> {
    Ok(File::open(path).with_context(|| format!("{}: cannot open", path.display()))?)
}

pub(crate) fn polars_err(path: &Path, e: PolarsError) -> RunError {
    RunError::Input(InputError::file(
        path,
        format!("not a readable Parquet file: {e}"),
    ))
}

/// Row groups as `(first row, rows)`, after checking the schema has every column.
pub fn row_groups(path: &Path) -> Result<Vec<(usize, usize)>, RunError> {
    row_groups_of(path, &COLUMNS)
}

/// [`row_groups`] for a file of another schema's `columns` (the `orders` tables).
pub fn row_groups_of(path: &Path, columns: &[&str]) -> Result<Vec<(usize, usize)>, RunError> {
    if std::fs::metadata(path).map(|m| m.len()).unwrap_or(0) == 0 {
        return Err(InputError::file(path, "file is empty").into());
    }
    let mut reader = ParquetReader::new(open(path)?);
    let schema = reader.schema().map_err(|e| polars_err(path, e))?;
    for &col in columns {
        let Some(field) = schema.get(col) else {
            return Err(InputError::file(path, format!("missing column {col:?}")).into());
        };
        let want = expected_kind(col);
        if !want.accepts(kind_of(&field.dtype)) {
            return Err(InputError::file(
                path,
                format!(
                    "column {col:?} has type {:?}, expected {}",
                    field.dtype,
                    want.name()
                ),
            )
            .into());
        }
    }
    let meta = reader.get_metadata().map_err(|e| polars_err(path, e))?;
    let mut out = Vec::with_capacity(meta.row_groups.len());
    let mut start = 0;
    for rg in &meta.row_groups {
        out.push((start, rg.num_rows()));
        start += rg.num_rows();
    }
    Ok(out)
}

/// What a column's values must be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Integer,
    /// Integer or floating point (money).
    Number,
    Text,
}

impl Kind {
    /// Text columns take any type (read as its text); numbers must be numbers.
    fn accepts(self, have: Option<Kind>) -> bool {
        match self {
            Kind::Text => true,
            Kind::Number => matches!(have, Some(Kind::Number | Kind::Integer)),
            Kind::Integer => have == Some(Kind::Integer),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Kind::Integer => "an integer type",
            Kind::Number => "a numeric type",
            Kind::Text => "a string type",
        }
    }
}

fn expected_kind(col: &str) -> Kind {
    match col {
        "order_id" | "customer_id" | "product_id" | "quantity" | "line_no" => Kind::Integer,
        "price" | "discount" => Kind::Number,
        _ => Kind::Text,
    }
}

fn kind_of(dtype: &ArrowDataType) -> Option<Kind> {
    use ArrowDataType as A;
    match dtype {
        A::Int8 | A::Int16 | A::Int32 | A::Int64 | A::UInt8 | A::UInt16 | A::UInt32 | A::UInt64 => {
            Some(Kind::Integer)
        }
        A::Float32 | A::Float64 => Some(Kind::Number),
        A::Utf8 | A::LargeUtf8 | A::Utf8View => Some(Kind::Text),
        A::Dictionary(_, values, _) => kind_of(values),
        _ => None,
    }
}

/// The columns a Parquet read decodes: every column, or only those a workload reads.
///
/// A workload's columns are the ones its answer uses; the other required columns are decoded
/// only where the file's statistics do not prove them free of nulls (a null there makes a bad
/// row, which every strategy must report the same way). The generated files write statistics,
/// so `top-n` decodes four number columns and `group-by` three numbers and `category`.
#[derive(Clone, Debug)]
pub struct Projection(Option<Vec<String>>);

impl Projection {
    /// Every column (whole rows, as `etl` and the loaders that store rows need).
    pub fn all() -> Projection {
        Projection(None)
    }

    /// What `workload` reads from `path`: [`Projection::all`] for `etl`.
    pub fn of(path: &Path, workload: &Workload) -> Result<Projection, RunError> {
        let reads: &[&str] = match workload {
            Workload::TopN(_) => &["order_id", "quantity", "price", "discount"],
            Workload::GroupBy => &["category", "quantity", "price", "discount"],
            Workload::Etl | Workload::Join(_) | Workload::Query(_) => return Ok(Projection::all()),
        };
        // The file's checks first (empty, schema), so errors read alike everywhere.
        row_groups(path)?;
        let nullable = columns_with_nulls(path)?;
        let cols = NEEDED
            .iter()
            .filter(|c| reads.contains(c) || nullable.contains(c))
            .map(|c| c.to_string())
            .collect();
        Ok(Projection(Some(cols)))
    }

    /// The column names, or `None` for every column.
    pub fn columns(&self) -> Option<&[String]> {
        self.0.as_deref()
    }
}

/// The required columns the file's statistics do not prove free of nulls in every row group
/// (no statistics, or a null count above zero).
fn columns_with_nulls(path: &Path) -> Result<Vec<&'static str>, RunError> {
    let mut reader = ParquetReader::new(open(path)?);
    let meta = reader
        .get_metadata()
        .map_err(|e| polars_err(path, e))?
        .clone();
    let proven_free = |col: &str| {
        meta.row_groups.iter().all(|rg| {
            rg.columns_under_root_iter(col).is_some_and(|mut chunks| {
                chunks.all(|c| {
                    matches!(c.statistics(&meta.footer_buf), Some(Ok(s)) if s.null_count() == Some(0))
                })
            })
        })
    };
    Ok(rules::REQUIRED
        .iter()
        .copied()
        .filter(|c| !proven_free(c))
        .collect())
}

/// Reads rows `[offset, offset + len)`, the columns `projection` names, on the calling thread.
/// Polars' default decodes the columns on its own thread pool, which made a single-threaded
/// reader's peak heap depend on thread timing (README, "Design choices, measured once").
pub fn read_slice(
    path: &Path,
    offset: usize,
    len: usize,
    projection: &Projection,
) -> Result<DataFrame, RunError> {
    read_slice_with(path, (offset, len), projection, ParallelStrategy::None)
}

/// [`read_slice`], decoding the columns on Polars' thread pool, for `parallel`'s workers:
/// decoding on the workers themselves instead held more RSS (README, "Design choices, measured once"; most likely
/// each worker thread's malloc arena keeping what it freed, not verified).
pub fn read_slice_pooled(
    path: &Path,
    offset: usize,
    len: usize,
    projection: &Projection,
) -> Result<DataFrame, RunError> {
    read_slice_with(path, (offset, len), projection, ParallelStrategy::Auto)
}

fn read_slice_with(
    path: &Path,
    slice: (usize, usize),
    projection: &Projection,
    decode: ParallelStrategy,
) -> Result<DataFrame, RunError> {
    ParquetReader::new(open(path)?)
        .read_parallel(decode)
        .with_columns(projection.0.clone())
        .with_slice(Some(slice))
        .finish()
        .map_err(|e| polars_err(path, e))
}

/// Reads the whole file (every column), as `pd.read_parquet` would.
pub fn read_all(path: &Path) -> Result<DataFrame, RunError> {
    row_groups(path)?;
    ParquetReader::new(open(path)?)
        .finish()
        .map_err(|e| polars_err(path, e))
}

/// Hands a frame's valid rows to `sink`, validating each row like the CSV kernel does. Text
/// columns the frame does not hold (projected away) read as empty. `first_row` is the frame's
/// first row number in the file, for error messages.
pub fn fold_frame(
    path: &Path,
    df: &DataFrame,
    first_row: usize,
    on_bad: OnBadRow,
    sink: &mut (impl RowSink + ?Sized),
) -> Result<Counts, RunError> {
    let cast = |name: &str, dtype: DataType| -> Result<Column, RunError> {
        df.column(name)
            .and_then(|c| c.cast(&dtype))
            .map_err(|e| polars_err(path, e))
    };
    let optional = |name: &str| -> Result<Option<Column>, RunError> {
        match df.column(name) {
            Ok(_) => cast(name, DataType::String).map(Some),
            Err(_) => Ok(None),
        }
    };
    // Columns a projection left out were proven free of nulls (see [`Projection`]); they read
    // as 0 or empty, which the workload does not look at.
    let int_or_zero = |name: &str| -> Result<Option<Int64Chunked>, RunError> {
        match df.column(name) {
            Ok(_) => Ok(Some(
                cast(name, DataType::Int64)?
                    .i64()
                    .expect("cast to i64")
                    .clone(),
            )),
            Err(_) => Ok(None),
        }
    };
    let (order_id, customer_id, product_id) = (
        int_or_zero("order_id")?,
        int_or_zero("customer_id")?,
        int_or_zero("product_id")?,
    );
    let quantity = cast("quantity", DataType::Int64)?;
    let (price, discount) = (
        cast("price", DataType::Float64)?,
        cast("discount", DataType::Float64)?,
    );
    let (category, date, region, note) = (
        optional("category")?,
        optional("order_date")?,
        optional("region")?,
        optional("note")?,
    );
    let quantity = quantity.i64().expect("cast to i64").clone();
    let float = |c: &Column| c.f64().expect("cast to f64").clone();
    let (price, discount) = (float(&price), float(&discount));
    let text = |c: Option<Column>| c.map(|c| c.str().expect("cast to str").clone());
    let (category, date, region, note) = (text(category), text(date), text(region), text(note));
    fn texts(c: &Option<StringChunked>) -> Box<dyn Iterator<Item = Option<&str>> + '_> {
        match c {
            Some(c) => Box::new(c.iter()),
            None => Box::new(std::iter::repeat(Some(""))),
        }
    }
    fn ints(c: &Option<Int64Chunked>) -> Box<dyn Iterator<Item = Option<i64>> + '_> {
        match c {
            Some(c) => Box::new(c.iter()),
            None => Box::new(std::iter::repeat(Some(0))),
        }
    }
    let (mut date_it, mut region_it, mut note_it) = (texts(&date), texts(&region), texts(&note));
    let mut c = Counts::default();
    let rows = ints(&order_id)
        .zip(ints(&customer_id))
        .zip(ints(&product_id))
        .zip(quantity.iter())
        .zip(price.iter())
        .zip(discount.iter())
        .zip(texts(&category));
    for (i, ((((((id, cust), prod), q), p), d), cat)) in rows.enumerate() {
        let order_date = date_it.next().flatten().unwrap_or_default();
        let region = region_it.next().flatten().unwrap_or_default();
        let note = note_it.next().flatten().unwrap_or_default();
        let verdict = match (id, cust, prod, q, p, cat) {
            (Some(id), Some(cust), Some(prod), Some(q), Some(p), Some(cat)) => {
                rules::float_cents("price", p).and_then(|price_cents| {
                    let discount_cents =
                        d.map(|d| rules::float_cents("discount", d)).transpose()?;
                    rules::check_values(q, price_cents, discount_cents).map(|()| RowRef {
                        order_id: id,
                        order_date,
                        customer_id: cust,
                        region,
                        category: cat,
                        product_id: prod,
                        quantity: q,
                        price_cents,
                        discount_cents,
                        note,
                        unquoted: false,
                    })
                })
            }
            _ => Err(rules::missing_value()),
        };
        match verdict {
            Ok(row) => {
                sink.add(&row);
                c.read += 1;
            }
            Err(bad) => match on_bad {
                OnBadRow::Fail => {
                    return Err(InputError::file(
                        path,
                        format!("row {}: {bad}", first_row + i + 1),
                    )
                    .into());
                }
                OnBadRow::Skip => c.skipped += 1,
            },
        }
    }
    Ok(c)
}

/// The first bad row of a Parquet file as the hand-written strategies report it, if any (for
/// engines that only say "some rows are invalid"). Reads one row group at a time.
pub fn locate_first_bad_row(path: &Path) -> Result<Option<InputError>, RunError> {
    struct Discard;
    impl RowSink for Discard {
        fn add(&mut self, _row: &RowRef<'_>) {}
    }
    let groups = match row_groups(path) {
        Ok(g) => g,
        Err(RunError::Input(e)) => return Ok(Some(e)),
        Err(e) => return Err(e),
    };
    // Every required column: a null anywhere is the bad row to find.
    let projection = Projection(Some(NEEDED.iter().map(|c| c.to_string()).collect()));
    for (offset, len) in groups {
        let df = read_slice(path, offset, len, &projection)?;
        match fold_frame(path, &df, offset, OnBadRow::Fail, &mut Discard) {
            Ok(_) => {}
            Err(RunError::Input(e)) => return Ok(Some(e)),
            Err(e) => return Err(e),
        }
    }
    Ok(None)
}
