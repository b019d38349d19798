//! Checkpoint and resume for `etl` (seeds 001/002): with `--checkpoint-every ROWS`, the
//! streaming-family strategies durably record their progress every so many rows; after a kill,
//! the same command with `--resume-etl` continues where the last checkpoint left off, and the
//! finished output is byte-identical to an uninterrupted run's.
//!
//! A checkpoint is `<output>.checkpoint.json`: the input (path, size, and the sha256 of its first
//! and last 64 KiB, so an input changed in place is refused), the position of the next unread
//! record (CSV: its byte offset and the physical lines before it; Parquet: its row), the rows
//! read and skipped so far, the rows written, and the output's length and sha256 at that point.
//! Order of a save: the output is flushed and synced, then the checkpoint is written to a
//! temporary file, synced, and renamed over the old one. So a checkpoint never names output
//! bytes that are not on disk; output written after it is cut off on resume, and its hash is
//! restored by re-reading the kept bytes (the hasher's inner state is not serialisable;
//! re-reading is exact and costs one read of the kept output). At the end the checkpoint is
//! removed before the whole `<output>.tmp` is renamed into place: a kill between the two leaves
//! a `.tmp` without a checkpoint (the next run starts afresh), never a checkpoint whose `.tmp`
//! is gone.
//!
//! What it must not do: resume from a checkpoint of another input, strategy or output, or
//! write a row twice. The output must be CSV, and the input uncompressed (a compressed stream
//! cannot be entered in the middle): both are refused clearly.

use std::fs::File;
use std::io::{BufReader, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use anyhow::Context;
use membench_kernel::{LineParser, RecordReader};
use serde::{Deserialize, Serialize};

use crate::io::csv::{CsvReader, READ_BUF, for_each_row, open_csv};
use crate::io::etl_out::EtlSink;
use crate::outcome::Counts;
use crate::params::Resume;
use crate::{Compression, Format, Params, RunError, etl_target};

/// Where the next unread record is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    /// CSV: the byte offset of the next record; Parquet: its row.
    pub offset: u64,
    /// CSV: physical lines before it (header included), for error line numbers.
    pub lines: u64,
}

/// The durable record of progress.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Record {
    version: u32,
    strategy: String,
    input: String,
    input_bytes: u64,
    /// sha256 of the input's first and last [`EDGE_BYTES`] (absent from version 1).
    #[serde(default)]
    input_edges_sha256: String,
    at: Position,
    rows_read: u64,
    rows_skipped: u64,
    rows_written: u64,
    output_bytes: u64,
    output_sha256: String,
}

const VERSION: u32 = 2;

/// How much of each end of the input the checkpoint's fingerprint hashes.
const EDGE_BYTES: u64 = 64 * 1024;

/// The sha256 of a file's first and last [`EDGE_BYTES`] (the whole file when smaller).
fn edges_sha256(path: &Path, len: u64) -> Result<String, RunError> {
    use sha2::Digest;
    use std::io::Read;
    let mut f = File::open(path).with_context(|| format!("{}: cannot open", path.display()))?;
    let mut h = sha2::Sha256::new();
    let mut buf = vec![0u8; EDGE_BYTES.min(len) as usize];
    f.read_exact(&mut buf)
        .with_context(|| format!("{}: cannot read", path.display()))?;
    h.update(&buf);
    if len > EDGE_BYTES {
        let tail = EDGE_BYTES.min(len - EDGE_BYTES);
        f.seek(SeekFrom::Start(len - tail))
            .and_then(|_| {
                buf.resize(tail as usize, 0);
                f.read_exact(&mut buf)
            })
            .with_context(|| format!("{}: cannot read", path.display()))?;
        h.update(&buf);
    }
    Ok(hex::encode(h.finalize()))
}

/// A checkpointed `etl` run: where it starts and when it saves.
#[derive(Debug)]
pub struct Checkpoints {
    every: u64,
    path: PathBuf,
    strategy: &'static str,
    input: PathBuf,
    input_bytes: u64,
    input_edges_sha256: String,
    since: u64,
    /// Where this run starts reading (the start of the data, or the checkpoint's position).
    pub start: Position,
    /// Counts before `start`.
    pub counts: Counts,
    saved: u64,
}

impl Checkpoints {
    /// The checkpoint file of an output.
    pub fn file_of(output: &Path) -> PathBuf {
        let mut s = output.as_os_str().to_owned();
        s.push(".checkpoint.json");
        PathBuf::from(s)
    }

    /// Opens the run's output, fresh or resumed from its checkpoint; `None` without
    /// `--checkpoint-every`.
    pub fn open(
        p: &Params,
        strategy: &'static str,
    ) -> Result<Option<(Checkpoints, EtlSink)>, RunError> {
        let Some(cp) = p.checkpoint else {
            return Ok(None);
        };
        let unsupported =
            |why: &str| Err(RunError::Unsupported(format!("--checkpoint-every: {why}")));
        if p.workload.is_aggregate() {
            return unsupported("checkpoints are for etl (an aggregate has no output to resume)");
        }
        let Some(output) = &p.output else {
            return unsupported("needs --output (a temporary output cannot be resumed)");
        };
        if etl_target(p)?.1 != Format::Csv {
            return unsupported("the output must be CSV (a Parquet file cannot be appended to)");
        }
        if crate::is_multi_file(&p.input) {
            return unsupported("the input must be one file, not a folder");
        }
        if !Compression::of_path(&p.input).is_none() {
            return unsupported(
                "the input must be uncompressed (a compressed stream cannot be entered in the middle)",
            );
        }
        let input_bytes = std::fs::metadata(&p.input)
            .with_context(|| format!("{}: cannot open", p.input.display()))?
            .len();
        let mut ck = Checkpoints {
            every: cp.every_rows.max(1),
            path: Checkpoints::file_of(output),
            strategy,
            input: p.input.clone(),
            input_bytes,
            input_edges_sha256: edges_sha256(&p.input, input_bytes)?,
            since: 0,
            start: Position::default(),
            counts: Counts::default(),
            saved: 0,
        };
        let old = match cp.resume {
            Resume::FromCheckpoint => ck.load()?,
            Resume::Fresh => None,
        };
        let sink = match old {
            Some(r) => {
                ck.start = r.at;
                ck.counts = Counts {
                    read: r.rows_read,
                    skipped: r.rows_skipped,
                };
                EtlSink::resume(
                    output,
                    r.output_bytes,
                    &r.output_sha256,
                    r.rows_written,
                    p.observer,
                )?
            }
            None => {
                let _ = std::fs::remove_file(&ck.path);
                EtlSink::create(output, Format::Csv, p.observer)?
            }
        };
        let sink = sink.with_checkpoint(ck.path.clone());
        Ok(Some((ck, sink)))
    }

    fn load(&self) -> Result<Option<Record>, RunError> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(RunError::Other(anyhow::anyhow!(
                    "{}: cannot read the checkpoint: {e}",
                    self.path.display()
                )));
            }
        };
        let r: Record = serde_json::from_str(&text)
            .with_context(|| format!("{}: not a membench checkpoint", self.path.display()))?;
        let same = r.version == VERSION
            && r.strategy == self.strategy
            && r.input == self.input.display().to_string()
            && r.input_bytes == self.input_bytes;
        if !same {
            return Err(RunError::Other(anyhow::anyhow!(
                "{}: the checkpoint is of another run ({} on {}, {} bytes); remove it to start \
                 again",
                self.path.display(),
                r.strategy,
                r.input,
                r.input_bytes
            )));
        }
        if r.input_edges_sha256 != self.input_edges_sha256 {
            return Err(RunError::Other(anyhow::anyhow!(
                "{}: {} changed since the checkpoint was written (same size, other bytes); \
                 remove the checkpoint to start again",
                self.path.display(),
                r.input
            )));
        }
        Ok(Some(r))
    }

    /// `rows` more were read, and `at` is where the next unread record starts: saves a
    /// checkpoint when `--checkpoint-every` rows have passed since the last one.
    pub fn tick(
        &mut self,
        rows: u64,
        at: Position,
        counts: Counts,
        sink: &mut EtlSink,
    ) -> Result<(), RunError> {
        self.since += rows;
        if self.since < self.every {
            return Ok(());
        }
        self.since = 0;
        self.save(at, counts, sink)
    }

    fn save(&mut self, at: Position, counts: Counts, sink: &mut EtlSink) -> Result<(), RunError> {
        let (rows_written, output_bytes, output_sha256) = sink.sync()?;
        let r = Record {
            version: VERSION,
            strategy: self.strategy.to_string(),
            input: self.input.display().to_string(),
            input_bytes: self.input_bytes,
            input_edges_sha256: self.input_edges_sha256.clone(),
            at,
            rows_read: counts.read,
            rows_skipped: counts.skipped,
            rows_written,
            output_bytes,
            output_sha256,
        };
        write_atomically(
            &self.path,
            &serde_json::to_vec_pretty(&r).context("checkpoint")?,
        )?;
        self.saved += 1;
        Ok(())
    }

    /// Checkpoints saved by this run.
    pub fn saved(&self) -> u64 {
        self.saved
    }

    /// The run finished (its output is in place): the checkpoint goes (the sink removed it
    /// before the rename already; this is for a run whose output never reached the sink).
    pub fn done(self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Writes `bytes` to `path` through a synced temporary file renamed over it.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), RunError> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let r = (|| -> std::io::Result<()> {
        let mut f = membench_safefs::create_fresh(&tmp, 0o644)?;
        std::io::Write::write_all(&mut f, bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            File::open(dir)?.sync_all()?;
        }
        Ok(())
    })();
    r.with_context(|| format!("{}: cannot write the checkpoint", path.display()))
        .map_err(RunError::Other)
}

/// A CSV input read in blocks of rows from a position (the first record, or a checkpoint's):
/// the reader, its parser set to the header's layout, and the line base of its errors.
pub struct CsvCursor {
    path: PathBuf,
    reader: CsvReader,
    parser: LineParser,
    base: u64,
    on_bad: membench_kernel::OnBadRow,
}

impl CsvCursor {
    /// Opens `p.input` (header checked) and positions it at `start`.
    pub fn open(p: &Params, start: Position) -> Result<CsvCursor, RunError> {
        let (mut reader, parser) = open_csv(&p.input, p.max_record_bytes)?;
        let mut base = 0;
        if start.offset > 0 {
            let mut file = File::open(&p.input)
                .with_context(|| format!("{}: cannot open", p.input.display()))?;
            file.seek(SeekFrom::Start(start.offset)).context("seek")?;
            let bytes: Box<dyn std::io::Read + Send> = Box::new(file);
            reader = RecordReader::with_range(
                BufReader::with_capacity(READ_BUF, bytes),
                start.offset,
                u64::MAX,
                p.max_record_bytes,
            );
            base = start.lines;
        }
        Ok(CsvCursor {
            path: p.input.clone(),
            reader,
            parser,
            base,
            on_bad: p.on_bad_row,
        })
    }

    /// Hands up to `max` more valid rows to `f` (`--on-bad-row` honoured); zero counts at the
    /// end.
    pub fn rows(
        &mut self,
        max: u64,
        f: impl FnMut(&membench_kernel::RowRef<'_>),
    ) -> Result<Counts, RunError> {
        let (path, base, on_bad) = (&self.path, self.base, self.on_bad);
        for_each_row(
            path,
            &mut self.reader,
            &mut self.parser,
            on_bad,
            base,
            max,
            f,
        )
    }

    /// Where the next unread record starts.
    pub fn position(&self) -> Position {
        Position {
            offset: self.reader.position(),
            lines: self.base + self.reader.lines_read(),
        }
    }
}
