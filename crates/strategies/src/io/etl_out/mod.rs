//! The one `etl` output writer every strategy uses: cleaned rows in, a CSV or Parquet file out,
//! hashed while it is written.
//!
//! The bytes depend only on the rows and their order: CSV lines come from the kernel's encoder,
//! Parquet row groups hold exactly [`ETL_ROW_GROUP_ROWS`] rows (the last one fewer) built the same
//! way whatever strategy produced them. So every strategy writes the same file, and the answer
//! (rows written, sha256) can be compared. The file is written to `<output>.tmp` and renamed
//! when complete; a failed run leaves nothing behind.

mod encoder;
mod parquet;

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::Context;
use membench_kernel::etl::{push_csv_header, push_csv_row};
use membench_kernel::{
    Answer, Cleaner, ETL_ROW_GROUP_ROWS, EtlColumns, EtlRow, HashingWriter, RowRef,
};
use polars::prelude::*;

pub use encoder::{EtlBatch, EtlEncoder};
pub use parquet::push_frame;

use crate::{Format, RunError};

/// CSV output is written in pieces of about this size.
const CSV_FLUSH_BYTES: usize = 256 * 1024;

/// The output file, hashed and counted as it is written (the kernel's [`HashingWriter`]).
/// Cloneable, because Polars' Parquet writer owns its writer and never gives it back.
#[derive(Clone)]
struct HashedFile(Arc<Mutex<Option<HashingWriter<BufWriter<File>>>>>);

impl HashedFile {
    fn with<R>(
        &self,
        f: impl FnOnce(&mut HashingWriter<BufWriter<File>>) -> std::io::Result<R>,
    ) -> std::io::Result<R> {
        let mut guard = self.0.lock().unwrap_or_else(|e| e.into_inner());
        match guard.as_mut() {
            Some(w) => f(w),
            None => Err(std::io::Error::other("the output is already closed")),
        }
    }

    /// Closes the file: flushes it and returns its byte count and sha256.
    fn close(&self) -> std::io::Result<(u64, String)> {
        let taken = self.0.lock().unwrap_or_else(|e| e.into_inner()).take();
        let writer = taken.ok_or_else(|| std::io::Error::other("the output is already closed"))?;
        let (mut inner, bytes, sha256) = writer.finish();
        inner.flush()?;
        Ok((bytes, sha256))
    }
}

impl Write for HashedFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.with(|w| w.write(buf))
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.with(|w| w.flush())
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
    /// Keep `<output>.tmp` when dropped unfinished (a checkpointed run resumes from it).
    keep_partial: bool,
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
        // A stale `<path>.tmp` (or a link planted there) is removed, never written through.
        let f = membench_safefs::create_fresh(&tmp, 0o644).context("cannot create")?;
        let file = HashedFile(Arc::new(Mutex::new(Some(HashingWriter::new(
            BufWriter::with_capacity(64 * 1024, f),
        )))));
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
                    .batched(&parquet::etl_schema())
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
            keep_partial: false,
        })
    }

    /// Reopens the `<path>.tmp` of an interrupted CSV run: cut back to `len` bytes (what the
    /// last checkpoint made durable), its hash restored by reading those bytes, and checked
    /// against `sha256`; `rows` were written before.
    pub fn resume(path: &Path, len: u64, sha256: &str, rows: u64) -> Result<EtlSink, RunError> {
        let mut sink = EtlSink::create_csv_continuing(path, len)?;
        let tmp = sink.tmp.clone();
        let (have, kept) = sink
            .file
            .with(|w| Ok((w.digest_so_far(), w.bytes())))
            .map_err(|e| write_err(&tmp, e))?;
        if have != sha256 || kept != len {
            sink.keep_partial = true;
            return Err(RunError::Other(anyhow::anyhow!(
                "{}: the partial output does not match its checkpoint (sha256 {have}, expected \
                 {sha256}); remove the checkpoint to start again",
                sink.tmp.display()
            )));
        }
        sink.rows = rows;
        Ok(sink)
    }

    fn create_csv_continuing(path: &Path, len: u64) -> Result<EtlSink, RunError> {
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        let f = membench_safefs::open_existing(&tmp).context("cannot reopen the partial output")?;
        f.set_len(len)
            .with_context(|| format!("{}: cannot cut back to {len} bytes", tmp.display()))?;
        let mut prefix = std::io::BufReader::new(&f);
        let mut writer = HashingWriter::continuing(
            BufWriter::with_capacity(64 * 1024, f.try_clone().context("reopen")?),
            &mut prefix,
        )
        .with_context(|| format!("{}: cannot read the partial output", tmp.display()))?;
        use std::io::Seek;
        writer
            .get_mut()
            .get_mut()
            .seek(std::io::SeekFrom::End(0))
            .context("seek")?;
        Ok(EtlSink {
            path: path.to_path_buf(),
            tmp,
            format: Format::Csv,
            file: HashedFile(Arc::new(Mutex::new(Some(writer)))),
            target: Target::Csv {
                buf: Vec::with_capacity(CSV_FLUSH_BYTES + 4096),
            },
            cleaner: Cleaner::new(),
            rows: 0,
            error: None,
            done: false,
            keep_partial: true,
        })
    }

    /// Makes everything written so far durable (CSV: flushed and synced to disk) and returns
    /// (rows written, output bytes, their sha256) for a checkpoint. Keeps the partial file
    /// from then on, should the run stop.
    pub fn sync(&mut self) -> Result<(u64, u64, String), RunError> {
        self.flush_csv();
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        self.keep_partial = true;
        let tmp = self.tmp.clone();
        let (len, sha) = self
            .file
            .with(|w| {
                w.flush()?;
                w.get_mut().get_ref().sync_data()?;
                Ok((w.bytes(), w.digest_so_far()))
            })
            .map_err(|e| write_err(&tmp, e))?;
        Ok((self.rows, len, sha))
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
                let r = parquet::frame(group).and_then(|df| writer.write_batch(&df));
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
        // Drop the Parquet writer (and its handle on the file) first.
        self.target = Target::Csv { buf: Vec::new() };
        let (bytes, sha256) = self.file.close().map_err(|e| write_err(&self.tmp, e))?;
        std::fs::rename(&self.tmp, &self.path)
            .with_context(|| format!("renaming {} into place", self.tmp.display()))?;
        self.done = true;
        Ok(Answer::Etl {
            rows_written: self.rows,
            output_format: self.format,
            output_bytes: bytes,
            output_sha256: sha256,
        })
    }
}

impl Drop for EtlSink {
    fn drop(&mut self) {
        if !self.done && !self.keep_partial {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}
