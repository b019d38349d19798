//! Incremental `top-n` and `group-by` (seeds 002 and 004: "only process new data since the last
//! run"): with `--state FILE`, a run folds only what is new since the run that wrote `FILE` into
//! the aggregate that run saved, then saves the new aggregate and watermark.
//!
//! The watermark is per input file: the bytes read (CSV: up to the end of the last record read,
//! and the physical lines before it, so errors keep their line numbers) and the sha256 of the
//! file's first [`HEAD_BYTES`] read. The next run reads new files whole and grown CSV files from
//! their watermark; an unchanged file is not opened. Data arrives as new part files (any format)
//! or as rows appended to a plain CSV file; a Parquet or compressed file cannot be entered in
//! the middle, so one that grew is refused, as is a file that shrank, changed in place or
//! disappeared (the saved state no longer describes the input: remove it to start afresh).
//!
//! Order of a save: the new state is written to a temporary file next to it (mode 0600: it
//! holds the data's group keys), synced, renamed over the old one, and the folder synced; only
//! then is the answer returned. A run killed at any point leaves the old state or the new one,
//! never a mix, so the next run's answer equals a full recompute's. Two runs on one state at
//! once are refused (an exclusive lock on `FILE.lock`).
//!
//! Must not: read a byte before a watermark, fold a row twice, or trust a state written for
//! another input or workload.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::Context;
use membench_kernel::{Accumulator, InputError, SavedAcc};
use membench_protocol::{Compression, Workload};
use serde::{Deserialize, Serialize};

use crate::io::checkpoint::{CsvCursor, Position};
use crate::io::fold::{Columns, fold_input};
use crate::outcome::Counts;
use crate::{Format, Outcome, Output, Params, RowSink, RunError, format_of, input_files};

/// How much of each file's beginning its fingerprint hashes.
const HEAD_BYTES: u64 = 4 * 1024;

const VERSION: u32 = 1;

/// The saved state: the aggregate so far and where each file was left.
#[derive(Debug, Serialize, Deserialize)]
struct State {
    version: u32,
    workload: Workload,
    /// The input as given (a folder, a glob or a file).
    input: String,
    rows_read: u64,
    rows_skipped: u64,
    files: Vec<Mark>,
    acc: SavedAcc,
}

/// One file's watermark.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Mark {
    /// The file's name (its path for a single-file input).
    pub file: String,
    /// Bytes read: the offset of the next unread record.
    pub bytes: u64,
    /// Physical lines before it (header included; 0 for Parquet and compressed files).
    pub lines: u64,
    /// sha256 of the file's first `min(bytes, HEAD_BYTES)` bytes.
    pub head_sha256: String,
}

/// What this run reads of one file.
#[derive(Debug)]
pub(crate) struct Piece {
    path: PathBuf,
    pub name: String,
    /// Where to start (0: the whole file).
    pub start: Position,
}

/// Runs `p` incrementally against the state file `state` with `workers` threads (files handed
/// out whole, as `parallel` reads a folder; one worker reads them in order).
pub(crate) fn run(p: &Params, state: &Path, workers: usize) -> Result<Outcome, RunError> {
    if !p.workload.is_aggregate() {
        return Err(RunError::Unsupported(format!(
            "--state: {} is not an aggregate; incremental runs are for top-n and group-by",
            p.workload
        )));
    }
    let _lock = lock(state)?;
    remove_stale_temporaries(state);
    let input = p.input.display().to_string();
    let saved = load(state)?;
    let (mut acc, mut counts, mut marks) = match saved {
        Some(s) => {
            if s.workload != p.workload {
                return refuse(
                    state,
                    format!("it was written for {}, not {}", s.workload, p.workload),
                );
            }
            if s.input != input {
                return refuse(
                    state,
                    format!("it describes the input {}, not {input}", s.input),
                );
            }
            let acc = Accumulator::restore(&p.workload, s.acc)
                .map_err(|e| RunError::Other(anyhow::anyhow!("{}: {e}", state.display())))?;
            let counts = Counts {
                read: s.rows_read,
                skipped: s.rows_skipped,
            };
            (acc, counts, s.files)
        }
        None => (Accumulator::new(&p.workload), Counts::default(), Vec::new()),
    };
    let pieces = plan(p, state, &marks)?;
    let done = fold_pieces(p, &pieces, workers)?;
    let mut new_bytes = 0;
    for (piece, (part, c, mark)) in pieces.iter().zip(done) {
        new_bytes += mark.bytes.saturating_sub(piece.start.offset);
        acc.merge(part);
        counts.add(c);
        match marks.iter_mut().find(|m| m.file == piece.name) {
            Some(m) => *m = mark,
            None => marks.push(mark),
        }
    }
    marks.sort_by(|a, b| a.file.cmp(&b.file));
    p.new_input(new_bytes);
    save(
        state,
        &State {
            version: VERSION,
            workload: p.workload.clone(),
            input,
            rows_read: counts.read,
            rows_skipped: counts.skipped,
            files: marks,
            acc: acc.save(),
        },
    )?;
    Output::Fold(acc).finish(&p.input, counts)
}

pub(crate) fn refuse<T>(state: &Path, why: String) -> Result<T, RunError> {
    Err(RunError::Unsupported(format!(
        "--state {}: {why}; remove it to start afresh",
        state.display()
    )))
}

/// The pieces this run reads: new files whole, grown CSV files from their watermark.
pub(crate) fn plan(p: &Params, state: &Path, marks: &[Mark]) -> Result<Vec<Piece>, RunError> {
    let files = input_files(&p.input)?;
    let name_of = |f: &Path| -> String {
        if crate::is_multi_file(&p.input) {
            f.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        } else {
            f.display().to_string()
        }
    };
    let names: Vec<String> = files.iter().map(|f| name_of(f)).collect();
    if let Some(gone) = marks.iter().find(|m| !names.contains(&m.file)) {
        return refuse(
            state,
            format!(
                "{} was read by an earlier run and is no longer in the input",
                gone.file
            ),
        );
    }
    let mut pieces = Vec::new();
    for (f, name) in files.iter().zip(names) {
        let len = std::fs::metadata(f)
            .with_context(|| format!("{}: cannot open", f.display()))?
            .len();
        let Some(m) = marks.iter().find(|m| m.file == name) else {
            pieces.push(Piece {
                path: f.clone(),
                name,
                start: Position::default(),
            });
            continue;
        };
        let file_error = |why: &str| -> Result<Vec<Piece>, RunError> {
            Err(InputError::file(
                f,
                format!(
                    "{why} since the run that wrote --state {} (remove it to start afresh)",
                    state.display()
                ),
            )
            .into())
        };
        if len < m.bytes {
            return file_error(&format!("shrank from {} to {len} bytes", m.bytes));
        }
        if head_sha256(f, m.bytes)? != m.head_sha256 {
            return file_error("changed in place (its beginning differs)");
        }
        if len == m.bytes {
            continue;
        }
        let plain_csv = format_of(f)? == Format::Csv && Compression::of_path(f).is_none();
        if !plain_csv {
            return file_error(
                "grew, but a Parquet or compressed file cannot be read from the middle: new \
                 data belongs in new files",
            );
        }
        pieces.push(Piece {
            path: f.clone(),
            name,
            start: Position {
                offset: m.bytes,
                lines: m.lines,
            },
        });
    }
    Ok(pieces)
}

type Done = (Accumulator, Counts, Mark);

/// Folds every piece, each into its own accumulator, on up to `workers` threads; the error
/// reported is the first piece's in order, as a sequential read would meet it.
fn fold_pieces(p: &Params, pieces: &[Piece], workers: usize) -> Result<Vec<Done>, RunError> {
    let workers = workers.clamp(1, pieces.len().max(1));
    if workers == 1 {
        return pieces.iter().map(|x| fold_piece(p, x)).collect();
    }
    let next = AtomicUsize::new(0);
    let results: Vec<Vec<(usize, Result<Done, RunError>)>> =
        crate::io::threads::scoped(workers, |_| {
            let mut mine = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(x) = pieces.get(i) else {
                    break;
                };
                mine.push((i, fold_piece(p, x)));
            }
            mine
        })?
        .into_iter()
        .collect::<Result<_, _>>()?;
    let mut all: Vec<(usize, Result<Done, RunError>)> = results.into_iter().flatten().collect();
    all.sort_by_key(|(i, _)| *i);
    all.into_iter().map(|(_, r)| r).collect()
}

/// Folds one piece into a fresh accumulator.
fn fold_piece(p: &Params, x: &Piece) -> Result<Done, RunError> {
    let mut acc = Accumulator::new(&p.workload);
    let (counts, mark) = read_piece(p, x, Columns::WorkloadNeeds, &mut acc)?;
    Ok((acc, counts, mark))
}

/// Hands one piece's valid rows to `sink`: a plain CSV file from its start position to its end
/// (the new watermark is where the reading ended), any other file whole (`columns`: which
/// Parquet columns to decode).
pub(crate) fn read_piece(
    p: &Params,
    x: &Piece,
    columns: Columns,
    sink: &mut (impl RowSink + ?Sized),
) -> Result<(Counts, Mark), RunError> {
    let fp = p.with_input(&x.path);
    let plain_csv = format_of(&x.path)? == Format::Csv && Compression::of_path(&x.path).is_none();
    let (counts, at) = if plain_csv {
        let mut csv = CsvCursor::open(&fp, x.start)?;
        let c = csv.rows(u64::MAX, |r| sink.add(r))?;
        (c, csv.position())
    } else {
        // Read whole; its size before the read is its watermark (such a file never grows).
        let len = std::fs::metadata(&x.path)
            .with_context(|| format!("{}: cannot open", x.path.display()))?
            .len();
        let c = fold_input(&fp, columns, sink)?;
        let at = Position {
            offset: len,
            lines: 0,
        };
        (c, at)
    };
    let mark = Mark {
        file: x.name.clone(),
        bytes: at.offset,
        lines: at.lines,
        head_sha256: head_sha256(&x.path, at.offset)?,
    };
    Ok((counts, mark))
}

/// sha256 of a file's first `min(bytes, HEAD_BYTES)` bytes.
fn head_sha256(path: &Path, bytes: u64) -> Result<String, RunError> {
    use sha2::Digest;
    let mut buf = Vec::new();
    File::open(path)
        .and_then(|f| f.take(bytes.min(HEAD_BYTES)).read_to_end(&mut buf))
        .with_context(|| format!("{}: cannot read", path.display()))?;
    Ok(hex::encode(sha2::Sha256::digest(&buf)))
}

/// The saved state, or `None` when there is none yet.
fn load(state: &Path) -> Result<Option<State>, RunError> {
    let text = match std::fs::read(state) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(anyhow::anyhow!("--state {}: cannot read: {e}", state.display()).into());
        }
    };
    let s: State = serde_json::from_slice(&text).map_err(|e| {
        anyhow::anyhow!(
            "--state {}: not a membench incremental state ({e})",
            state.display()
        )
    })?;
    if s.version != VERSION {
        return refuse(
            state,
            format!("written by state version {}, this is {VERSION}", s.version),
        );
    }
    Ok(Some(s))
}

/// The temporary file a save writes before renaming it over the state.
fn temporary(state: &Path) -> PathBuf {
    let mut tmp = state.as_os_str().to_owned();
    tmp.push(format!("{TMP_MARK}{}", std::process::id()));
    PathBuf::from(tmp)
}

const TMP_MARK: &str = ".tmp-";

/// Removes the temporary files of saves that were killed before their rename (under the lock,
/// so none is another live run's).
fn remove_stale_temporaries(state: &Path) {
    let (Some(dir), Some(name)) = (state.parent(), state.file_name()) else {
        return;
    };
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let prefix = format!("{}{TMP_MARK}", name.to_string_lossy());
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        if e.file_name().to_string_lossy().starts_with(&prefix) {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// Saves `s` over `state` atomically: a temporary file beside it, synced, renamed, the folder
/// synced.
fn save(state: &Path, s: &State) -> Result<(), RunError> {
    let dir = state
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = temporary(state);
    let write = || -> std::io::Result<()> {
        let _ = std::fs::remove_file(&tmp);
        let f = membench_safefs::create_new_mode(&tmp, 0o600)?;
        let mut w = std::io::BufWriter::new(f);
        serde_json::to_writer(&mut w, s)?;
        w.write_all(b"\n")?;
        w.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        std::fs::rename(&tmp, state)?;
        File::open(dir)?.sync_all()
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        RunError::Other(anyhow::anyhow!(
            "--state {}: cannot save: {e}",
            state.display()
        ))
    })
}

/// An exclusive lock on `<state>.lock`, held while the run reads and saves (released when the
/// file is closed, also by a kill).
pub(crate) fn lock(state: &Path) -> Result<File, RunError> {
    let mut path = state.as_os_str().to_owned();
    path.push(".lock");
    let path = PathBuf::from(path);
    match membench_safefs::lock_exclusive(&path) {
        Ok(Some(f)) => Ok(f),
        Ok(None) => Err(RunError::Unsupported(format!(
            "--state {}: another run is using it (it holds {})",
            state.display(),
            path.display()
        ))),
        Err(e) => Err(anyhow::anyhow!("--state {}: cannot lock: {e}", state.display()).into()),
    }
}
