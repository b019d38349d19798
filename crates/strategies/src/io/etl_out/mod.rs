//! The one `etl` output writer every strategy uses: cleaned rows in, a CSV or Parquet file out,
//! hashed once it is written, in a `digest` phase of its own (membench's check, not the
//! strategy's work: hashing while writing was a fifth of `streaming`'s etl time).
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

use crate::{Format, Observer, RunError};

/// CSV output is written in pieces of about this size.
const CSV_FLUSH_BYTES: usize = 256 * 1024;

/// A writer that counts the bytes written through it.
struct Counted<W> {
    inner: W,
    bytes: u64,
}

impl<W: Write> Write for Counted<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// The output file, counted as it is written. Cloneable, because Polars' Parquet writer owns its
/// writer and never gives it back.
#[derive(Clone)]
struct HashedFile(Arc<Mutex<Option<Counted<BufWriter<File>>>>>);

impl HashedFile {
    fn new(w: BufWriter<File>, bytes: u64) -> HashedFile {
        HashedFile(Arc::new(Mutex::new(Some(Counted { inner: w, bytes }))))
    }

    fn with<R>(
        &self,
        f: impl FnOnce(&mut Counted<BufWriter<File>>) -> std::io::Result<R>,
    ) -> std::io::Result<R> {
        let mut guard = self.0.lock().unwrap_or_else(|e| e.into_inner());
        match guard.as_mut() {
            Some(w) => f(w),
            None => Err(std::io::Error::other("the output is already closed")),
        }
    }

    /// Closes the file: flushes it and returns its byte count.
    fn close(&self) -> std::io::Result<u64> {
        let taken = self.0.lock().unwrap_or_else(|e| e.into_inner()).take();
        let mut w = taken.ok_or_else(|| std::io::Error::other("the output is already closed"))?;
        w.inner.flush()?;
        Ok(w.bytes)
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
    /// The sha256 of the file's first `digest.bytes()` bytes, brought up to date from the file
    /// when a checkpoint or the end needs it.
    digest: HashingWriter<std::io::Sink>,
    /// Told when the `digest` phase starts.
    observer: Option<&'static dyn Observer>,
    /// The run's checkpoint file, removed just before the finished file is renamed into place:
    /// a kill between the two leaves a whole `.tmp` and no checkpoint (the next run starts
    /// afresh), never a checkpoint whose `.tmp` is gone.
    checkpoint: Option<PathBuf>,
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
    /// Creates `<path>.tmp` and writes the header (CSV) or opens the Parquet writer; `observer`
    /// is told when the output's `digest` phase starts.
    pub fn create(
        path: &Path,
        format: Format,
        observer: Option<&'static dyn Observer>,
    ) -> Result<EtlSink, RunError> {
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("{}: cannot create the folder", dir.display()))?;
        }
        // A stale `<path>.tmp` (or a link planted there) is removed, never written through.
        let f = membench_safefs::create_fresh(&tmp, 0o644).context("cannot create")?;
        let file = HashedFile::new(BufWriter::with_capacity(64 * 1024, f), 0);
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
            digest: HashingWriter::new(std::io::sink()),
            observer,
            checkpoint: None,
        })
    }

    /// The checkpoint file to remove before the finished output is renamed into place.
    pub fn with_checkpoint(mut self, checkpoint: PathBuf) -> EtlSink {
        self.checkpoint = Some(checkpoint);
        self
    }

    /// Reopens the `<path>.tmp` of an interrupted CSV run: cut back to `len` bytes (what the
    /// last checkpoint made durable), its hash restored by reading those bytes, and checked
    /// against `sha256`; `rows` were written before.
    pub fn resume(
        path: &Path,
        len: u64,
        sha256: &str,
        rows: u64,
        observer: Option<&'static dyn Observer>,
    ) -> Result<EtlSink, RunError> {
        let mut sink = EtlSink::create_csv_continuing(path, len, observer)?;
        let have = sink
            .digest_upto(len)
            .with_context(|| format!("{}: cannot read the partial output", sink.tmp.display()))?;
        if have != sha256 {
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

    fn create_csv_continuing(
        path: &Path,
        len: u64,
        observer: Option<&'static dyn Observer>,
    ) -> Result<EtlSink, RunError> {
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        let mut f =
            membench_safefs::open_existing(&tmp).context("cannot reopen the partial output")?;
        f.set_len(len)
            .with_context(|| format!("{}: cannot cut back to {len} bytes", tmp.display()))?;
        use std::io::Seek;
        f.seek(std::io::SeekFrom::End(0)).context("seek")?;
        Ok(EtlSink {
            path: path.to_path_buf(),
            tmp,
            format: Format::Csv,
            file: HashedFile::new(BufWriter::with_capacity(64 * 1024, f), len),
            target: Target::Csv {
                buf: Vec::with_capacity(CSV_FLUSH_BYTES + 4096),
            },
            cleaner: Cleaner::new(),
            rows: 0,
            error: None,
            done: false,
            keep_partial: true,
            digest: HashingWriter::new(std::io::sink()),
            observer,
            checkpoint: None,
        })
    }

    /// The sha256 of the file's first `upto` bytes (all of them written and flushed): the
    /// digest so far, brought up to date by reading the bytes written since from the file.
    fn digest_upto(&mut self, upto: u64) -> std::io::Result<String> {
        use std::io::{Read, Seek};
        let from = self.digest.bytes();
        if upto > from {
            let mut f = membench_safefs::open_existing(&self.tmp)?;
            f.seek(std::io::SeekFrom::Start(from))?;
            let mut rest = f.take(upto - from);
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                let n = rest.read(&mut buf)?;
                if n == 0 {
                    break;
                }
                self.digest.write_all(&buf[..n])?;
            }
            if self.digest.bytes() != upto {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    format!("the file holds {} of {upto} bytes", self.digest.bytes()),
                ));
            }
        }
        Ok(self.digest.digest_so_far())
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
        let len = self
            .file
            .with(|w| {
                w.flush()?;
                w.inner.get_ref().sync_data()?;
                Ok(w.bytes)
            })
            .map_err(|e| write_err(&tmp, e))?;
        let sha = self.digest_upto(len).map_err(|e| write_err(&tmp, e))?;
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
                if !matches!(self.target, Target::Parquet { .. }) {
                    for i in 0..cols.len() {
                        self.push_clean(&cols.row(i));
                    }
                    return;
                }
                // Into the row groups column by column: the same groups as row by row.
                let mut at = 0;
                while at < cols.len() {
                    let Target::Parquet { group, .. } = &mut self.target else {
                        unreachable!("checked above")
                    };
                    let take = (ETL_ROW_GROUP_ROWS - group.len()).min(cols.len() - at);
                    group.extend_from(&cols, at..at + take);
                    self.rows += take as u64;
                    at += take;
                    if group.len() == ETL_ROW_GROUP_ROWS {
                        self.flush_group();
                    }
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
        let bytes = self.file.close().map_err(|e| write_err(&self.tmp, e))?;
        // membench's check of the answer, apart from the strategy's work.
        if let Some(o) = self.observer {
            o.phase("digest");
        }
        let sha256 = self
            .digest_upto(bytes)
            .map_err(|e| write_err(&self.tmp, e))?;
        if let Some(c) = &self.checkpoint {
            match std::fs::remove_file(c) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(RunError::Other(anyhow::anyhow!(
                        "{}: cannot remove the checkpoint: {e}",
                        c.display()
                    )));
                }
            }
        }
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
