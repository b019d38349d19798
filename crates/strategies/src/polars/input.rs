//! The Polars strategies' input: the file checked before the engine sees it (framing, header,
//! columns: the kernel's verdicts), read or scanned in `sales` column order, and an engine's
//! objection turned into the kernel's located error.

use std::path::{Path, PathBuf};

use membench_kernel::{COLUMNS, HeaderLayout, InputError};
use polars::prelude::*;

use crate::io::csv::{
    Depth, RowTotals, check_csv_framing, check_csv_header_only, locate_first_bad_row,
};
use crate::io::parquet as parquet_io;
use crate::{Format, Params, RunError};

/// The `sales` schema as Polars types (dates and text as strings, money as floats).
pub fn sales_schema() -> Schema {
    Schema::from_iter([
        Field::new("order_id".into(), DataType::Int64),
        Field::new("order_date".into(), DataType::String),
        Field::new("customer_id".into(), DataType::Int64),
        Field::new("region".into(), DataType::String),
        Field::new("category".into(), DataType::String),
        Field::new("product_id".into(), DataType::Int64),
        Field::new("quantity".into(), DataType::Int64),
        Field::new("price".into(), DataType::Float64),
        Field::new("discount".into(), DataType::Float64),
        Field::new("note".into(), DataType::String),
    ])
}

/// A file checked for a Polars strategy: its format, and for CSV the schema in the file's own
/// column order (the header's names; columns membench does not know are read as text and not
/// used), so a reordered header is read by name, never by position.
#[derive(Debug, Clone)]
pub struct PolarsInput {
    pub path: PathBuf,
    pub format: Format,
    schema: Schema,
    max_record_bytes: usize,
    /// CSV with empty lines, which Polars' eager reader turns into rows of nulls.
    empty_lines: bool,
    /// How the kernel finds the first bad row when the engine objects.
    locate: Locate,
    /// A folder (or glob) input: its files, each checked; read as one frame, in name order.
    parts: Vec<PolarsInput>,
    /// A plain CSV file's bytes as the precheck mapped them: the lazy scan reads these
    /// ([`PolarsInput::for_eager`] drops them).
    mapped: Option<MappedFile>,
    /// Every row, when the kernel checked them all ([`Depth::Rows`]): the engine then runs the
    /// bare query (its own rows and nulls compared with these), not the rules as expressions.
    pub(crate) rows: Option<RowTotals>,
}

/// The mapping of a checked file, handed to Polars as its in-memory source (no copy).
#[derive(Clone)]
struct MappedFile(polars_buffer::Buffer<u8>);

impl std::fmt::Debug for MappedFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MappedFile({} bytes)", self.0.len())
    }
}

/// Which kernel reader locates the first bad row of an input.
#[derive(Debug, Clone)]
pub(crate) enum Locate {
    /// A `sales` file.
    Sales,
    /// The two tables of a `join` (orders first).
    Join(Box<crate::io::join::JoinInput>),
    /// The files of a multi-file `sales` input, in order.
    Files(Vec<PathBuf>),
}

impl Locate {
    fn first_bad_row(&self, path: &Path, format: Format, max: usize) -> LocateResult {
        match (self, format) {
            (Locate::Join(inp), _) => crate::io::join::locate_first_bad_row(inp),
            (Locate::Files(files), _) => {
                for f in files {
                    if let Some(e) = Locate::Sales.first_bad_row(f, format, max)? {
                        return Ok(Some(e));
                    }
                }
                Ok(None)
            }
            (Locate::Sales, Format::Csv) => locate_first_bad_row(path, max),
            (Locate::Sales, Format::Parquet) => parquet_io::locate_first_bad_row(path),
        }
    }
}

type LocateResult = Result<Option<InputError>, RunError>;

/// Checks the file before the engine sees it: empty file, header, missing columns, and (CSV) its
/// framing — no record over `--max-record-bytes`, no quote left open at the end — so that
/// Polars, which accepts both, refuses the same files as the kernel. For an aggregate over a
/// plain `sales` CSV file, every row goes through the kernel's parser and rules on the cell's
/// threads (`Depth::Rows`): the same verdicts as the rules written as expressions in the plan
/// (which Parquet and compressed files still get), at the kernel's speed, and Polars then runs
/// the bare query. (`skip` is refused before this, from the strategies' metadata:
/// `Skip::Refuses`.)
pub fn precheck(p: &Params, format: Format) -> Result<PolarsInput, RunError> {
    if crate::is_multi_file(&p.input) {
        let files = crate::input_files(&p.input)?;
        let parts = files
            .iter()
            .map(|f| precheck(&p.with_input(f), format))
            .collect::<Result<Vec<_>, _>>()?;
        // The files' rows, when the kernel checked every one.
        let rows = parts.iter().try_fold(RowTotals::default(), |mut t, part| {
            t.add(part.rows?);
            Some(t)
        });
        return Ok(PolarsInput {
            path: p.input.clone(),
            format,
            schema: sales_schema(),
            max_record_bytes: p.max_record_bytes,
            empty_lines: false,
            locate: Locate::Files(files),
            parts,
            mapped: None,
            rows,
        });
    }
    let depth = if p.workload.is_aggregate() {
        Depth::Rows
    } else {
        Depth::Framing
    };
    precheck_file(
        &p.input,
        format,
        (&COLUMNS, &sales_schema()),
        (p.max_record_bytes, p.threads, depth),
        Locate::Sales,
    )
}

/// [`precheck`] for a file of any schema: `columns` must be there; `known` gives their types.
/// `Depth::Rows` only for a `sales` file.
pub(crate) fn precheck_file(
    path: &Path,
    format: Format,
    (columns, known): (&'static [&'static str], &Schema),
    (max_record_bytes, threads, depth): (usize, usize, Depth),
    locate: Locate,
) -> Result<PolarsInput, RunError> {
    let (schema, empty_lines, mapped, rows) = match format {
        Format::Csv => {
            let layout = check_csv_header_only(path, columns, max_record_bytes)?;
            let find = || locate.first_bad_row(path, format, max_record_bytes);
            let (checked, mapped) =
                check_csv_framing(path, &layout, (max_record_bytes, threads, depth), &find)?;
            (
                schema_in_file_order(&layout, known),
                checked.lines_without_record > 0,
                mapped.map(|m| MappedFile(polars_buffer::Buffer::from_owner(m))),
                checked.rows,
            )
        }
        Format::Parquet => {
            parquet_io::row_groups_of(path, columns)?;
            (known.clone(), false, None, None)
        }
    };
    Ok(PolarsInput {
        path: path.to_path_buf(),
        format,
        schema,
        max_record_bytes,
        empty_lines,
        locate,
        parts: Vec::new(),
        mapped,
        rows,
    })
}

fn schema_in_file_order(layout: &HeaderLayout, known: &Schema) -> Schema {
    Schema::from_iter(layout.names.iter().map(|n| {
        let dtype = known.get(n.as_str()).cloned().unwrap_or(DataType::String);
        Field::new(n.as_str().into(), dtype)
    }))
}

/// A lazy scan of the file: of the precheck's mapping for a plain CSV file, else of the file
/// (Polars maps or decompresses it).
pub fn scan(input: &PolarsInput) -> PolarsResult<LazyFrame> {
    if !input.parts.is_empty() {
        // Each file scanned on its own (its own header order and empty lines), then one frame.
        let frames = input
            .parts
            .iter()
            .map(|i| scan(i).map(|lf| in_sales_order(without_empty_lines(lf, i))))
            .collect::<PolarsResult<Vec<_>>>()?;
        return concat(frames, UnionArgs::default());
    }
    let pl_path = PlRefPath::new(input.path.to_string_lossy().as_ref());
    match input.format {
        Format::Csv => {
            let reader = match &input.mapped {
                Some(m) => {
                    LazyCsvReader::new_with_sources(ScanSources::Buffers([m.0.clone()].into()))
                }
                None => LazyCsvReader::new(pl_path),
            };
            reader
                .with_has_header(true)
                .with_schema(Some(Arc::new(input.schema.clone())))
                .finish()
        }
        Format::Parquet => LazyFrame::scan_parquet(pl_path, ScanArgsParquet::default()),
    }
}

impl PolarsInput {
    /// The input for an eager read, without the precheck's mapping: Polars' eager reader reads
    /// the file itself, and a mapping kept alive beside it would hold the whole file resident
    /// while the frame is built (+30–40 % peak RSS, measured by the memory gate).
    pub fn for_eager(mut self) -> PolarsInput {
        self.mapped = None;
        self.parts = self.parts.into_iter().map(PolarsInput::for_eager).collect();
        self
    }
}

/// The `sales` columns by name, in schema order (files of a folder may order their headers
/// differently).
fn in_sales_order(lf: LazyFrame) -> LazyFrame {
    lf.select(COLUMNS.iter().map(|c| col(*c)).collect::<Vec<_>>())
}

/// Runs engine work, turning a panic inside Polars (seen on some malformed CSV) into an engine
/// error, so that it is handled like any other: the kernel locates the bad row.
pub fn engine<T>(work: impl FnOnce() -> PolarsResult<T>) -> PolarsResult<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(work)).unwrap_or_else(|p| {
        let msg = p
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| p.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        Err(PolarsError::ComputeError(
            format!("the engine panicked: {msg}").into(),
        ))
    })
}

/// The input's rows without the empty lines of a CSV file: Polars' eager reader makes an empty
/// line a row of nulls, where the kernel (and the `csv` crate) read no record. A record whose
/// every field is empty would look the same, so the precheck refuses those first
/// (`check_csv_framing`), and a row of nulls here can only be an empty line.
pub fn without_empty_lines(lf: LazyFrame, input: &PolarsInput) -> LazyFrame {
    // Only when the precheck saw empty lines: the filter copies the frame.
    if !input.empty_lines {
        return lf;
    }
    let empty = input
        .schema
        .iter_names()
        .map(|n| col(n.clone()).is_null())
        .reduce(|a, b| a.and(b))
        .expect("a header has columns");
    lf.filter(empty.not())
}

/// An eager read of the whole file into memory.
pub fn read_input(input: &PolarsInput) -> PolarsResult<DataFrame> {
    if !input.parts.is_empty() {
        // Every file read whole, then stacked (`pd.concat`).
        let mut all: Option<DataFrame> = None;
        for i in &input.parts {
            let df = in_sales_order(without_empty_lines(read_input(i)?.lazy(), i)).collect()?;
            match &mut all {
                None => all = Some(df),
                Some(a) => {
                    a.vstack_mut(&df)?;
                }
            }
        }
        return Ok(all.expect("a multi-file input has files"));
    }
    match input.format {
        Format::Csv if !crate::Compression::of_path(&input.path).is_none() => {
            // Decompressed whole into memory first, as Polars' own readers do with a
            // compressed file.
            let mut bytes = Vec::new();
            crate::io::csv::open_bytes(&input.path, crate::io::csv::Decoding::Inline)
                .map_err(|e| polars_err!(ComputeError: "{e}"))?
                .read_to_end(&mut bytes)?;
            CsvReadOptions::default()
                .with_has_header(true)
                .with_schema(Some(Arc::new(input.schema.clone())))
                .into_reader_with_file_handle(std::io::Cursor::new(bytes))
                .finish()
        }
        Format::Csv => CsvReadOptions::default()
            .with_has_header(true)
            .with_schema(Some(Arc::new(input.schema.clone())))
            .try_into_reader_with_file_path(Some(input.path.clone()))?
            .finish(),
        Format::Parquet => ParquetReader::new(std::fs::File::open(&input.path)?).finish(),
    }
}

/// A `sales` file in schema order, unchecked: no mapping, no rows counted.
fn sales_file(path: &Path, format: Format) -> PolarsInput {
    PolarsInput {
        path: path.to_path_buf(),
        format,
        schema: sales_schema(),
        max_record_bytes: membench_kernel::DEFAULT_MAX_RECORD_BYTES,
        empty_lines: false,
        locate: Locate::Sales,
        parts: Vec::new(),
        mapped: None,
        rows: None,
    }
}

/// An eager read of a file with the `sales` header in schema order (tests, conversions).
pub fn read_eager(path: &Path, format: Format) -> PolarsResult<DataFrame> {
    read_input(&sales_file(path, format))
}

/// A plain CSV `sales` file whose every row the kernel checked (tests of the plans' verdicts).
#[cfg(test)]
pub(crate) fn checked_csv(path: &Path, rows: RowTotals) -> PolarsInput {
    PolarsInput {
        rows: Some(rows),
        ..sales_file(path, Format::Csv)
    }
}

/// The error for input the engine rejected or flagged: the first bad row exactly as the
/// hand-written strategies report it (CSV line, Parquet row); the engine's message only when
/// the kernel finds nothing wrong.
pub(crate) fn bad_input(input: &PolarsInput, engine_msg: String) -> RunError {
    let path = &input.path;
    let located = input
        .locate
        .first_bad_row(path, input.format, input.max_record_bytes);
    match located {
        Ok(Some(e)) => e.into(),
        Ok(None) => InputError::file(path, engine_msg).into(),
        Err(e) => e,
    }
}
