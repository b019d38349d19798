//! The one `etl` output writer every strategy uses: cleaned rows in, a CSV or Parquet file out,
//! hashed while it is written.
//!
//! The bytes depend only on the rows and their order: CSV lines come from the kernel's encoder,
//! Parquet row groups hold exactly [`ETL_ROW_GROUP_ROWS`] rows (the last one fewer) built the same
//! way whatever strategy produced them. So every strategy writes the same file, and the answer
//! (rows written, sha256) can be compared. The file is written to `<output>.tmp` and renamed
//! when complete; a failed run leaves nothing behind.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::Context;
use membench_kernel::etl::{TextColumn, push_csv_header, push_csv_row};
use membench_kernel::{
    Answer, Cleaner, ETL_COLUMNS, ETL_ROW_GROUP_ROWS, EtlColumns, EtlRow, RowRef,
};
use polars::prelude::*;
use sha2::{Digest, Sha256};

use crate::{Format, RunError};

/// CSV output is written in pieces of about this size.
const CSV_FLUSH_BYTES: usize = 256 * 1024;

struct HashState {
    file: BufWriter<File>,
    hasher: Sha256,
    bytes: u64,
}

/// A file handle that hashes and counts what passes through it. Cloneable, because Polars'
/// Parquet writer owns its writer and never gives it back.
#[derive(Clone)]
struct HashedFile(Arc<Mutex<HashState>>);

impl Write for HashedFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut s = self.0.lock().expect("writer lock");
        let n = s.file.write(buf)?;
        s.hasher.update(&buf[..n]);
        s.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.0.lock().expect("writer lock").file.flush()
    }
}

/// The Parquet schema of an `etl` output.
fn etl_schema() -> Schema {
    Schema::from_iter(ETL_COLUMNS.iter().map(|&name| {
        let dtype = match name {
            "order_date" | "region" | "category" | "note" => DataType::String,
            _ => DataType::Int64,
        };
        Field::new(name.into(), dtype)
    }))
}

fn text(name: &str, t: &TextColumn) -> Column {
    StringChunked::from_iter_values(name.into(), t.iter()).into_column()
}

/// One row group's DataFrame (moves the integer columns out of `c`).
fn frame(c: &mut EtlColumns) -> PolarsResult<DataFrame> {
    let n = c.len();
    let int = |name: &str, v: &mut Vec<i64>| Column::new(name.into(), std::mem::take(v));
    let columns = vec![
        int("order_id", &mut c.order_id),
        text("order_date", &c.order_date),
        int("customer_id", &mut c.customer_id),
        text("region", &c.region),
        text("category", &c.category),
        int("product_id", &mut c.product_id),
        int("quantity", &mut c.quantity),
        int("price_cents", &mut c.price_cents),
        int("discount_cents", &mut c.discount_cents),
        int("net_cents", &mut c.net_cents),
        text("note", &c.note),
    ];
    DataFrame::new(n, columns)
}

/// A batch of output made by a worker, appended in order by the one writer (`parallel`).
pub enum EtlBatch {
    /// Encoded CSV lines.
    Csv { bytes: Vec<u8>, rows: u64 },
    /// Cleaned rows for a Parquet output.
    Columns(Box<EtlColumns>),
}

/// Cleans and encodes rows into a batch (one per worker in `parallel`).
pub struct EtlEncoder {
    format: Format,
    cleaner: Cleaner,
    csv: Vec<u8>,
    rows: u64,
    cols: EtlColumns,
}

impl EtlEncoder {
    /// An encoder for an output in `format`.
    pub fn new(format: Format) -> Self {
        EtlEncoder {
            format,
            cleaner: Cleaner::new(),
            csv: Vec::new(),
            rows: 0,
            cols: EtlColumns::default(),
        }
    }
    /// Cleans and encodes one validated row.
    pub fn push(&mut self, row: &RowRef<'_>) {
        let r = self.cleaner.clean(row);
        match self.format {
            Format::Csv => push_csv_row(&mut self.csv, &r),
            Format::Parquet => self.cols.push(&r),
        }
        self.rows += 1;
    }
    /// Takes what was encoded so far.
    pub fn take(&mut self) -> EtlBatch {
        let rows = std::mem::take(&mut self.rows);
        match self.format {
            Format::Csv => EtlBatch::Csv {
                bytes: std::mem::take(&mut self.csv),
                rows,
            },
            Format::Parquet => EtlBatch::Columns(Box::new(std::mem::take(&mut self.cols))),
        }
    }
}

enum Target {
    Csv {
        buf: Vec<u8>,
    },
    Parquet {
        writer: Box<polars::io::parquet::write::BatchedWriter<HashedFile>>,
        group: Box<EtlColumns>,
    },
}

/// The `etl` output file being written.
pub struct EtlSink {
    path: PathBuf,
    tmp: PathBuf,
    format: Format,
    file: HashedFile,
    target: Target,
    cleaner: Cleaner,
    rows: u64,
    /// The first write error; rows after it are dropped and `finish` reports it.
    error: Option<RunError>,
    done: bool,
}

impl std::fmt::Debug for EtlSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EtlSink")
            .field("path", &self.path)
            .field("rows", &self.rows)
            .finish_non_exhaustive()
    }
}

fn write_err(path: &Path, e: impl std::fmt::Display) -> RunError {
    RunError::Other(anyhow::anyhow!("{}: write failed: {e}", path.display()))
}

impl EtlSink {
    /// Creates `<path>.tmp` and writes the header (CSV) or opens the Parquet writer.
    pub fn create(path: &Path, format: Format) -> Result<EtlSink, RunError> {
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("{}: cannot create the folder", dir.display()))?;
        }
        let f = File::create(&tmp).with_context(|| format!("{}: cannot create", tmp.display()))?;
        let file = HashedFile(Arc::new(Mutex::new(HashState {
            file: BufWriter::with_capacity(64 * 1024, f),
            hasher: Sha256::new(),
            bytes: 0,
        })));
        let target = match format {
            Format::Csv => {
                let mut buf = Vec::with_capacity(CSV_FLUSH_BYTES + 4096);
                push_csv_header(&mut buf);
                Target::Csv { buf }
            }
            Format::Parquet => {
                let writer = ParquetWriter::new(file.clone())
                    .with_compression(ParquetCompression::Snappy)
                    .with_row_group_size(Some(ETL_ROW_GROUP_ROWS))
                    .batched(&etl_schema())
                    .map_err(|e| write_err(&tmp, e))?;
                Target::Parquet {
                    writer: Box::new(writer),
                    group: Box::default(),
                }
            }
        };
        Ok(EtlSink {
            path: path.to_path_buf(),
            tmp,
            format,
            file,
            target,
            cleaner: Cleaner::new(),
            rows: 0,
            error: None,
            done: false,
        })
    }

    /// The output format.
    pub fn format(&self) -> Format {
        self.format
    }

    /// Cleans and writes one validated row.
    pub fn push(&mut self, row: &RowRef<'_>) {
        let mut cleaner = std::mem::take(&mut self.cleaner);
        self.push_clean(&cleaner.clean(row));
        self.cleaner = cleaner;
    }

    /// Writes one already cleaned row (from an engine that applied the rules itself).
    pub fn push_clean(&mut self, r: &EtlRow<'_>) {
        self.rows += 1;
        match &mut self.target {
            Target::Csv { buf } => {
                push_csv_row(buf, r);
                if buf.len() >= CSV_FLUSH_BYTES {
                    self.flush_csv();
                }
            }
            Target::Parquet { group, .. } => {
                group.push(r);
                if group.len() == ETL_ROW_GROUP_ROWS {
                    self.flush_group();
                }
            }
        }
    }

    /// Appends a worker's batch (batches must arrive in input order).
    pub fn append(&mut self, batch: EtlBatch) {
        match batch {
            EtlBatch::Csv { bytes, rows } => {
                self.flush_csv();
                self.rows += rows;
                if self.error.is_none()
                    && let Err(e) = self.file.write_all(&bytes)
                {
                    self.error = Some(write_err(&self.tmp, e));
                }
            }
            EtlBatch::Columns(cols) => {
                for i in 0..cols.len() {
                    self.push_clean(&cols.row(i));
                }
            }
        }
    }

    fn flush_csv(&mut self) {
        if let Target::Csv { buf } = &mut self.target {
            if self.error.is_none()
                && let Err(e) = self.file.write_all(buf)
            {
                self.error = Some(write_err(&self.tmp, e));
            }
            buf.clear();
        }
    }

    fn flush_group(&mut self) {
        if let Target::Parquet { writer, group } = &mut self.target {
            if group.is_empty() {
                return;
            }
            if self.error.is_none() {
                let r = frame(group).and_then(|df| writer.write_batch(&df));
                if let Err(e) = r {
                    self.error = Some(write_err(&self.tmp, e));
                }
            }
            group.clear();
        }
    }

    /// Flushes, closes and renames the file into place; returns the `etl` answer.
    pub fn finish(mut self) -> Result<Answer, RunError> {
        self.flush_csv();
        self.flush_group();
        if let Target::Parquet { writer, .. } = &self.target
            && self.error.is_none()
            && let Err(e) = writer.finish()
        {
            self.error = Some(write_err(&self.tmp, e));
        }
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        // Drop the Parquet writer's handle so ours is the only one left.
        self.target = Target::Csv { buf: Vec::new() };
        let state = {
            let mut s = self.file.0.lock().expect("writer lock");
            s.file.flush().map_err(|e| write_err(&self.tmp, e))?;
            (std::mem::take(&mut s.hasher), s.bytes)
        };
        std::fs::rename(&self.tmp, &self.path)
            .with_context(|| format!("renaming {} into place", self.tmp.display()))?;
        self.done = true;
        Ok(Answer::Etl {
            rows_written: self.rows,
            output_format: self.format.name().to_string(),
            output_bytes: state.1,
            output_sha256: hex::encode(state.0.finalize()),
        })
    }
}

impl Drop for EtlSink {
    fn drop(&mut self) {
        if !self.done {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// Writes a frame of cleaned rows (columns named as [`ETL_COLUMNS`]) to `sink`, in row order.
pub fn push_frame(sink: &mut EtlSink, df: &DataFrame) -> PolarsResult<()> {
    let int = |name: &str| -> PolarsResult<Int64Chunked> {
        Ok(df.column(name)?.cast(&DataType::Int64)?.i64()?.clone())
    };
    let text = |name: &str| -> PolarsResult<StringChunked> {
        Ok(df.column(name)?.cast(&DataType::String)?.str()?.clone())
    };
    let (id, cust, prod, qty) = (
        int("order_id")?,
        int("customer_id")?,
        int("product_id")?,
        int("quantity")?,
    );
    let (price, disc, net) = (
        int("price_cents")?,
        int("discount_cents")?,
        int("net_cents")?,
    );
    let (date, region, cat, note) = (
        text("order_date")?,
        text("region")?,
        text("category")?,
        text("note")?,
    );
    let ints = id
        .iter()
        .zip(cust.iter())
        .zip(prod.iter())
        .zip(qty.iter())
        .zip(price.iter())
        .zip(disc.iter())
        .zip(net.iter());
    let texts = date
        .iter()
        .zip(region.iter())
        .zip(cat.iter())
        .zip(note.iter());
    for (((((((id, cust), prod), qty), price), disc), net), (((date, region), cat), note)) in
        ints.zip(texts)
    {
        sink.push_clean(&EtlRow {
            order_id: id.unwrap_or_default(),
            order_date: date.unwrap_or_default(),
            customer_id: cust.unwrap_or_default(),
            region: region.unwrap_or_default(),
            category: cat.unwrap_or_default(),
            product_id: prod.unwrap_or_default(),
            quantity: qty.unwrap_or_default(),
            price_cents: price.unwrap_or_default(),
            discount_cents: disc.unwrap_or_default(),
            net_cents: net.unwrap_or_default(),
            note: note.unwrap_or_default(),
        });
    }
    Ok(())
}
