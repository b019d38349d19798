//! The one Polars query plan used by the Polars strategies (`lazy`, `load-all-polars`): the same
//! validation and folds as the kernel, expressed as expressions, so the engine's answer can be
//! compared with the hand-written ones digit for digit.

use std::path::{Path, PathBuf};

use membench_kernel::{
    Accumulator, Answer, COLUMNS, HeaderLayout, InputError, TOP_N, TOP_N_THRESHOLD_CENTS, TopRow,
    Workload, rules,
};
use polars::prelude::*;

use crate::csv_io::{check_csv_framing, check_csv_header_only, locate_first_bad_row};
use crate::etl_out::{EtlSink, push_frame};
use crate::{Format, Outcome, Params, RunError, etl_target, parquet_io};

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
}

/// Which kernel reader locates the first bad row of an input.
#[derive(Debug, Clone)]
pub(crate) enum Locate {
    /// A `sales` file.
    Sales,
    /// The two tables of a `join` (orders first).
    Join(Box<crate::join::JoinInput>),
    /// The files of a multi-file `sales` input, in order.
    Files(Vec<PathBuf>),
}

impl Locate {
    fn first_bad_row(&self, path: &Path, format: Format, max: usize) -> LocateResult {
        match (self, format) {
            (Locate::Join(inp), _) => crate::join::locate_first_bad_row(inp),
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
/// framing — no record over `--max-record-bytes`, no quote left open at the end — in one pass
/// without buffering, so that Polars, which accepts both, refuses the same files as the kernel. (`skip` is refused before
/// this, from the strategies' metadata: `Skip::Refuses`.)
pub fn precheck(p: &Params, format: Format) -> Result<PolarsInput, RunError> {
    if crate::is_multi_file(&p.input) {
        let files = crate::input_files(&p.input)?;
        let parts = files
            .iter()
            .map(|f| precheck(&p.with_input(f), format))
            .collect::<Result<Vec<_>, _>>()?;
        return Ok(PolarsInput {
            path: p.input.clone(),
            format,
            schema: sales_schema(),
            max_record_bytes: p.max_record_bytes,
            empty_lines: false,
            locate: Locate::Files(files),
            parts,
        });
    }
    precheck_file(
        &p.input,
        format,
        (&COLUMNS, &sales_schema()),
        p.max_record_bytes,
        Locate::Sales,
    )
}

/// [`precheck`] for a file of any schema: `columns` must be there; `known` gives their types.
pub(crate) fn precheck_file(
    path: &Path,
    format: Format,
    (columns, known): (&'static [&'static str], &Schema),
    max_record_bytes: usize,
    locate: Locate,
) -> Result<PolarsInput, RunError> {
    let (schema, empty_lines) = match format {
        Format::Csv => {
            let layout = check_csv_header_only(path, columns, max_record_bytes)?;
            let find = || locate.first_bad_row(path, format, max_record_bytes);
            let framing = check_csv_framing(path, &layout, max_record_bytes, &find)?;
            (
                schema_in_file_order(&layout, known),
                framing.empty_lines > 0,
            )
        }
        Format::Parquet => {
            parquet_io::row_groups_of(path, columns)?;
            (known.clone(), false)
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
    })
}

fn schema_in_file_order(layout: &HeaderLayout, known: &Schema) -> Schema {
    Schema::from_iter(layout.names.iter().map(|n| {
        let dtype = known.get(n.as_str()).cloned().unwrap_or(DataType::String);
        Field::new(n.as_str().into(), dtype)
    }))
}

/// A lazy scan of the file (memory-mapped by Polars).
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
        Format::Csv => LazyCsvReader::new(pl_path)
            .with_has_header(true)
            .with_schema(Some(Arc::new(input.schema.clone())))
            .finish(),
        Format::Parquet => LazyFrame::scan_parquet(pl_path, ScanArgsParquet::default()),
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
            crate::csv_io::open_bytes(&input.path, crate::csv_io::Decoding::Inline)
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

/// An eager read of a file with the `sales` header in schema order (tests, conversions).
pub fn read_eager(path: &Path, format: Format) -> PolarsResult<DataFrame> {
    read_input(&PolarsInput {
        path: path.to_path_buf(),
        format,
        schema: sales_schema(),
        max_record_bytes: membench_kernel::DEFAULT_MAX_RECORD_BYTES,
        empty_lines: false,
        locate: Locate::Sales,
        parts: Vec::new(),
    })
}

/// Values are split at 2^32 to sum them exactly (see the group-by plan).
pub(crate) const SPLIT: i64 = 1 << 32;

/// The kernel's value rules (`membench_kernel::rules`) as one expression: true for a row the
/// kernel would reject. It mirrors the rules' constants; it does not restate them.
fn invalid() -> Expr {
    missing(&rules::REQUIRED)
        .or(value_rules())
        .or(not_cents(col("discount")).fill_null(lit(false)))
        .or(cents(col("discount"))
            .lt(lit(rules::MIN_DISCOUNT_CENTS))
            .fill_null(lit(false)))
}

/// True where one of `columns` is null.
pub(crate) fn missing(columns: &[&str]) -> Expr {
    columns
        .iter()
        .map(|c| col(*c).is_null())
        .reduce(|a, b| a.or(b))
        .expect("required columns")
}

/// The rules on `quantity` and `price` (`rules::check_values` without the discount): true for
/// a row the kernel would reject.
pub(crate) fn value_rules() -> Expr {
    col("quantity")
        .lt(lit(rules::MIN_QUANTITY))
        .fill_null(lit(true))
        .or(cents(col("price"))
            .lt(lit(rules::MIN_PRICE_CENTS))
            .fill_null(lit(true)))
        // Money is exact cents: a float with more decimals, or not finite, is not money (the
        // kernel's parser refuses such text).
        .or(not_cents(col("price")).fill_null(lit(false)))
        // quantity × price must fit in 64 bits: q > MAX / p, exactly, in integers (p = 0: null,
        // no overflow).
        .or(col("quantity")
            .gt(lit(i64::MAX).floor_div(cents(col("price"))))
            .fill_null(lit(false)))
}

/// True where a money value is not money by `rules::float_cents`: not finite, out of the exact
/// range, or neither within the tolerance of a whole number of cents nor exactly the double of
/// one. (Written to keep few temporary columns: each is a column of the whole frame.)
fn not_cents(e: Expr) -> Expr {
    let scaled = e.clone() * lit(100.0);
    let rounded = scaled.clone().round(0, RoundMode::HalfAwayFromZero);
    let off = scaled.clone() - rounded.clone();
    scaled
        .clone()
        .is_finite()
        .not()
        .or(scaled.clone().gt(lit(rules::MAX_FLOAT_CENTS)))
        .or(scaled.lt(lit(-rules::MAX_FLOAT_CENTS)))
        .or(off
            .clone()
            .gt(lit(rules::FLOAT_CENTS_TOLERANCE))
            .or(off.lt(lit(-rules::FLOAT_CENTS_TOLERANCE)))
            .and((rounded / lit(100.0)).neq(e)))
}

/// A money column (float) in integer cents, rounded half away from zero like the Parquet fold.
pub(crate) fn cents(e: Expr) -> Expr {
    (e * lit(100.0))
        .round(0, RoundMode::HalfAwayFromZero)
        .cast(DataType::Int64)
}

/// Two plans over `lf`: statistics (`rows`, `invalid`) and the workload's answer.
///
/// # Panics
/// For `etl`, which is not an aggregate: use [`etl_plan`].
pub fn plans(lf: LazyFrame, workload: &Workload) -> (LazyFrame, LazyFrame) {
    let base = lf
        .select(
            parquet_io::NEEDED
                .iter()
                .map(|c| col(*c))
                .collect::<Vec<_>>(),
        )
        .with_columns([
            cents(col("price")).alias("price_cents"),
            invalid().alias("invalid"),
        ])
        .with_column((col("quantity") * col("price_cents")).alias("total"));
    let stats = base.clone().select([
        len().cast(DataType::Int64).alias("rows"),
        col("invalid").cast(DataType::Int64).sum().alias("invalid"),
    ]);
    let valid = base.filter(col("invalid").not());
    let answer = match workload {
        Workload::TopN => valid
            .filter(col("total").gt(lit(TOP_N_THRESHOLD_CENTS)))
            .sort_by_exprs(
                [col("total"), col("order_id")],
                SortMultipleOptions::default().with_order_descending_multi([true, false]),
            )
            .slice(0, TOP_N as IdxSize)
            .select([col("order_id"), col("total")]),
        // Sums are exact beyond 64 bits, like the kernel's 128-bit ones: each non-negative value
        // is split into its high and low 32 bits, summed apart (neither sum can overflow below
        // 2^31 rows) and recombined in Rust; the range is checked once, by the kernel.
        Workload::GroupBy => valid.group_by([col("category")]).agg(group_aggs()),
        Workload::Etl => unreachable!("etl is not an aggregate; it uses etl_plan"),
        Workload::Join => unreachable!("join has a plan of its own (join::polars)"),
    };
    (stats, answer)
}

pub(crate) fn i64_at(df: &DataFrame, name: &str) -> PolarsResult<Vec<Option<i64>>> {
    Ok(df
        .column(name)?
        .cast(&DataType::Int64)?
        .i64()?
        .iter()
        .collect())
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

/// Turns the engine's two result frames into an outcome, or into the same error the
/// hand-written strategies report when the data holds bad rows or none.
pub fn outcome(
    input: &PolarsInput,
    workload: &Workload,
    result: PolarsResult<(DataFrame, DataFrame)>,
) -> Result<Outcome, RunError> {
    let path = &input.path;
    let bad = |engine_msg: String| bad_input(input, engine_msg);
    let (stats, answer) = match result {
        Ok(x) => x,
        Err(e) => return Err(bad(format!("Polars could not read the file: {e}"))),
    };
    let conv = |e: PolarsError| RunError::Other(anyhow::anyhow!("unexpected Polars result: {e}"));
    let rows = i64_at(&stats, "rows").map_err(conv)?[0].unwrap_or(0) as u64;
    let invalid = i64_at(&stats, "invalid").map_err(conv)?[0].unwrap_or(0);
    if invalid > 0 {
        return Err(bad(format!(
            "{invalid} rows with missing or out-of-range values"
        )));
    }
    if rows == 0 {
        return Err(InputError::file(path, "has a header but no data rows").into());
    }
    let answer = match workload {
        Workload::TopN => {
            let ids = i64_at(&answer, "order_id").map_err(conv)?;
            let totals = i64_at(&answer, "total").map_err(conv)?;
            Answer::TopN {
                rows: ids
                    .into_iter()
                    .zip(totals)
                    .map(|(id, t)| TopRow {
                        order_id: id.unwrap_or_default(),
                        total_cents: t.unwrap_or_default(),
                    })
                    .collect(),
            }
        }
        Workload::GroupBy => {
            let mut acc = membench_kernel::GroupAcc::default();
            for (cat, n, q, t) in groups_wide(&answer)? {
                acc.push_group_wide(&cat, n, q, t);
            }
            Accumulator::GroupBy(acc)
                .finish()
                .map_err(|e| InputError::file(path, e))?
        }
        Workload::Etl => unreachable!("etl results come from EtlFrames"),
        Workload::Join => unreachable!("join has a plan of its own (join::polars)"),
    };
    Ok(Outcome {
        answer,
        rows_read: rows,
        rows_skipped: 0,
    })
}

/// The split-sum aggregates of a category per row (the group-by plan's, and the join's):
/// category, rows, and the exact sums of quantity and of the total.
pub(crate) fn group_aggs() -> [Expr; 5] {
    [
        len().cast(DataType::Int64).alias("rows"),
        col("quantity")
            .floor_div(lit(SPLIT))
            .sum()
            .alias("quantity_hi"),
        (col("quantity") % lit(SPLIT)).sum().alias("quantity_lo"),
        col("total").floor_div(lit(SPLIT)).sum().alias("total_hi"),
        (col("total") % lit(SPLIT)).sum().alias("total_lo"),
    ]
}

/// The groups of a [`group_aggs`] result, their sums recombined exactly.
pub(crate) fn groups_wide(answer: &DataFrame) -> Result<Vec<(String, u64, i128, i128)>, RunError> {
    let conv = |e: PolarsError| RunError::Other(anyhow::anyhow!("unexpected Polars result: {e}"));
    let cats = answer
        .column("category")
        .map_err(conv)?
        .str()
        .map_err(conv)?
        .clone();
    let n = i64_at(answer, "rows").map_err(conv)?;
    let exact = |name: &str| -> Result<Vec<i128>, RunError> {
        let hi = i64_at(answer, &format!("{name}_hi")).map_err(conv)?;
        let lo = i64_at(answer, &format!("{name}_lo")).map_err(conv)?;
        Ok(hi
            .iter()
            .zip(&lo)
            .map(|(h, l)| {
                i128::from(h.unwrap_or(0)) * i128::from(SPLIT) + i128::from(l.unwrap_or(0))
            })
            .collect())
    };
    let (q, t) = (exact("quantity")?, exact("total")?);
    Ok(cats
        .iter()
        .enumerate()
        .map(|(i, cat)| {
            (
                cat.unwrap_or_default().to_string(),
                n[i].unwrap_or(0) as u64,
                q[i],
                t[i],
            )
        })
        .collect())
}

/// The `etl` plan: the kernel's cleaning rules (`membench_kernel::etl`) as expressions, every
/// output column in order, plus the `invalid` flag of each row.
pub fn etl_plan(lf: LazyFrame) -> LazyFrame {
    let text = |c: &str| {
        col(c)
            .fill_null(lit(""))
            .str()
            .strip_chars(lit(NULL).cast(DataType::String))
    };
    lf.with_columns([
        cents(col("price")).alias("price_cents"),
        cents(col("discount").fill_null(lit(0.0))).alias("discount_cents"),
        invalid().alias("invalid"),
    ])
    .select([
        col("order_id"),
        text("order_date").alias("order_date"),
        col("customer_id"),
        text("region").str().to_lowercase().alias("region"),
        text("category").str().to_lowercase().alias("category"),
        col("product_id"),
        col("quantity"),
        col("price_cents"),
        col("discount_cents"),
        (col("quantity") * col("price_cents") - col("discount_cents")).alias("net_cents"),
        text("note").alias("note"),
        col("invalid"),
    ])
}

/// Collects the `etl` plan's frames into the shared output writer.
#[derive(Debug)]
pub struct EtlFrames {
    sink: EtlSink,
    rows: u64,
    invalid: u64,
}

impl EtlFrames {
    /// Creates the output file.
    pub fn new(p: &Params) -> Result<EtlFrames, RunError> {
        let (path, format) = etl_target(p)?;
        Ok(EtlFrames {
            sink: EtlSink::create(&path, format)?,
            rows: 0,
            invalid: 0,
        })
    }

    /// Writes one frame of the plan's output, in order. Returns `false` (stop) once a frame holds
    /// an invalid row: the run will fail, so nothing more is written.
    pub fn push(&mut self, df: &DataFrame) -> PolarsResult<bool> {
        let invalid = df.column("invalid")?.bool()?.sum().unwrap_or(0) as u64;
        if invalid > 0 || self.invalid > 0 {
            self.invalid += invalid;
            return Ok(false);
        }
        push_frame(&mut self.sink, df)?;
        self.rows += df.height() as u64;
        Ok(true)
    }

    /// The outcome once the engine is done (`result` is the engine's own result).
    pub fn finish(
        self,
        input: &PolarsInput,
        result: PolarsResult<()>,
    ) -> Result<Outcome, RunError> {
        let path = &input.path;
        if let Err(e) = result {
            return Err(bad_input(
                input,
                format!("Polars could not read the file: {e}"),
            ));
        }
        if self.invalid > 0 {
            return Err(bad_input(
                input,
                format!("{} rows with missing or out-of-range values", self.invalid),
            ));
        }
        if self.rows == 0 {
            return Err(InputError::file(path, "has a header but no data rows").into());
        }
        Ok(Outcome {
            answer: self.sink.finish()?,
            rows_read: self.rows,
            rows_skipped: 0,
        })
    }
}
