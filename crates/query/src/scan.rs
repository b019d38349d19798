//! Reading a user's table for a plan: each row's used columns parsed by the table's schema (the
//! others only framed), with every error located — a type break as `inspect` reports it, an
//! expression's error (overflow, a bad CAST) at the file and line of the row — and the two ways
//! the kernel strategies run a plan through the generic operators: streaming (rows folded as
//! they are read) and load-all (every row parsed into memory first, then folded).

use std::fmt;
use std::path::PathBuf;

use membench_protocol::{ColumnType, Plan};

use crate::csv::CsvReader;
use crate::error::InputError;
use crate::eval::EvalError;
use crate::exec::{Executor, HashJoin, QueryAnswer};
use crate::infer::{FileRecords, Table};
use crate::output::ResultFile;
use crate::parquet::ParquetFile;
use crate::source::{FileKind, open_text};
use crate::text::{Value, parse_value};

/// Why a query could not be answered.
#[derive(Debug)]
pub enum QueryError {
    Input(InputError),
    /// An expression failed on a row (`None`: after the rows, e.g. a sum's overflow).
    Eval {
        at: Option<(PathBuf, u64)>,
        error: EvalError,
    },
    /// The system refused a worker thread (under a memory limit: out of memory).
    Thread(std::io::Error),
}

impl fmt::Display for QueryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QueryError::Input(e) => e.fmt(f),
            QueryError::Eval {
                at: Some((p, row)),
                error,
            } if FileKind::of(p) == FileKind::Parquet => {
                write!(f, "{}: row {row}: {error}", p.display())
            }
            QueryError::Eval {
                at: Some((p, line)),
                error,
            } => write!(f, "{}:{line}: {error}", p.display()),
            QueryError::Eval { at: None, error } => error.fmt(f),
            QueryError::Thread(e) => write!(f, "the system refused a thread: {e}"),
        }
    }
}

impl std::error::Error for QueryError {}

impl From<InputError> for QueryError {
    fn from(e: InputError) -> Self {
        QueryError::Input(e)
    }
}

impl From<EvalError> for QueryError {
    fn from(error: EvalError) -> Self {
        QueryError::Eval { at: None, error }
    }
}

/// Parses the fields `fields` (column `wanted[i]` each) of one record at `file:line` into
/// `values`, reusing a text slot's allocation from the previous row. `ascii`: the record's
/// bytes are known to be ASCII (its text needs no UTF-8 check).
fn parse_fields<'f>(
    table: &Table,
    file: &std::path::Path,
    line: u64,
    wanted: &[usize],
    (fields, ascii): (impl Iterator<Item = &'f [u8]>, bool),
    values: &mut [Value],
) -> Result<(), QueryError> {
    for ((slot, &c), f) in values.iter_mut().zip(wanted).zip(fields) {
        let ty = table.schema.columns[c].ty;
        if table.nulls.is_null(f) {
            *slot = Value::Null;
            continue;
        }
        if ty == ColumnType::String
            && let Value::Str(s) = slot
        {
            if ascii {
                s.clear();
                // SAFETY: ASCII bytes are UTF-8.
                s.push_str(unsafe { std::str::from_utf8_unchecked(f) });
                continue;
            }
            if let Ok(t) = std::str::from_utf8(f) {
                s.clear();
                s.push_str(t);
                continue;
            }
        }
        *slot = parse_value(f, ty).map_err(|why| table.type_error(file, line, c, f, why))?;
    }
    Ok(())
}

/// Reads every row of `table`, parsing the schema columns `wanted` (in that order) and handing
/// their values to `row` with the index of their file and their line (a Parquet file's: the
/// row's number in it). Returns how many rows were read.
fn scan_located(
    table: &Table,
    wanted: &[usize],
    open: Open,
    mut row: impl FnMut(&[Value], usize, u64) -> Result<(), QueryError>,
) -> Result<u64, QueryError> {
    let names = table.names();
    let mut values = vec![Value::Null; wanted.len()];
    let mut rows = 0;
    for (fi, file) in table.files.iter().enumerate() {
        if table.is_parquet() {
            rows += ParquetFile::open(file)?.for_each_row(
                file,
                &table.schema,
                wanted,
                &mut values,
                |v, n| row(v, fi, n),
            )?;
            continue;
        }
        let mut records = FileRecords::open(file, open(file)?, table.delimiter, &names)?;
        while let Some(rec) = records.next()? {
            let line = rec.line;
            parse_fields(
                table,
                file,
                line,
                wanted,
                (wanted.iter().map(|&c| rec.field(c)), rec.ascii),
                &mut values,
            )?;
            row(&values, fi, line)?;
            rows += 1;
        }
    }
    Ok(rows)
}

/// [`scan`] for a strategy's own pass (a spilling join's partitioning): each row's values with
/// the index of its file and its line (Parquet: row), `row` failing with an error of its own.
pub fn scan_rows<E: From<QueryError>>(
    table: &Table,
    wanted: &[usize],
    mut row: impl FnMut(&[Value], usize, u64) -> Result<(), E>,
) -> Result<u64, E> {
    let mut failed = None;
    let read = scan_located(table, wanted, open_text, |v, fi, line| {
        row(v, fi, line).map_err(|e| {
            failed = Some(e);
            QueryError::Thread(std::io::Error::other("stopped by the row's handler"))
        })
    });
    match (failed, read) {
        (Some(e), _) => Err(e),
        (None, r) => r.map_err(E::from),
    }
}

/// Reads every row of `table`, parsing the schema columns `wanted` (in that order) and handing
/// their values to `row`. Returns how many rows were read.
pub fn scan(
    table: &Table,
    wanted: &[usize],
    mut row: impl FnMut(&[Value]) -> Result<(), EvalError>,
) -> Result<u64, QueryError> {
    scan_located(table, wanted, open_text, |values, fi, line| {
        row(values).map_err(|error| QueryError::Eval {
            at: Some((table.files[fi].clone(), line)),
            error,
        })
    })
}

/// An expression's error on the `index`-th row of a table loaded whole, located by reading the
/// table again up to that row (paid only when a query fails).
fn located(table: &Table, index: usize, error: EvalError) -> QueryError {
    let mut seen = 0;
    let names = table.names();
    for file in &table.files {
        if table.is_parquet() {
            let Ok(p) = ParquetFile::open(file) else {
                break;
            };
            if index < seen + p.rows() as usize {
                return QueryError::Eval {
                    at: Some((file.clone(), (index - seen + 1) as u64)),
                    error,
                };
            }
            seen += p.rows() as usize;
            continue;
        }
        let Ok(text) = open_text(file) else { break };
        let Ok(mut records) = FileRecords::open(file, text, table.delimiter, &names) else {
            break;
        };
        while let Ok(Some(rec)) = records.next() {
            if seen == index {
                return QueryError::Eval {
                    at: Some((file.clone(), rec.line)),
                    error,
                };
            }
            seen += 1;
        }
    }
    QueryError::Eval { at: None, error }
}

/// The schema columns of input `input` the plan reads, in [`HashJoin::columns_of`] order.
pub fn wanted(plan: &Plan, input: usize) -> Vec<usize> {
    plan.columns
        .iter()
        .filter(|c| c.input == input)
        .map(|c| c.column)
        .collect()
}

/// How the rows reach the operators: each kernel strategy's way of reading, over the same
/// operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reading {
    /// Each row folded as it is read: memory is what the operators hold.
    Streaming,
    /// Every row of every input parsed into memory first (`load-all`), then folded.
    LoadAll,
    /// `load-all`, holding less (`load-all-lean`): the `FROM` input loaded as columns, not
    /// rows, each text column as dictionary codes (every distinct text once), then folded.
    LoadAllLean,
    /// This many rows materialised at a time, each chunk folded into a partial result of its
    /// own, the partials merged (`chunked`; pandas' `chunksize`).
    Chunked(usize),
    /// One thread frames the records and hands the used fields' bytes, in batches, to this
    /// many workers that parse and fold them into partial results, merged at the end
    /// (`parallel`). Quoted line breaks are framed by the one reader, so any CSV splits right.
    Parallel(usize),
}

impl Reading {
    /// Every reading, with small chunks and several workers: what the tests run each query
    /// through.
    pub const EVERY: [Reading; 5] = [
        Reading::Streaming,
        Reading::LoadAll,
        Reading::LoadAllLean,
        Reading::Chunked(7),
        Reading::Parallel(3),
    ];
}

/// A plan's answer and the rows read to get it (of every input).
#[derive(Debug)]
pub struct Ran {
    pub answer: QueryAnswer,
    pub rows_read: u64,
}

/// How a file's bytes are read: [`open_text`] (buffered, decompressing), or a strategy's own
/// way (`mmap`'s mapping).
pub type Open = fn(&std::path::Path) -> Result<Box<dyn std::io::BufRead + Send>, InputError>;

/// Runs a plan streaming, every file read through `open`.
pub fn run_opened(
    plan: &Plan,
    tables: &[&Table],
    open: Open,
    output: Option<ResultFile>,
) -> Result<Ran, QueryError> {
    execute(plan, tables, Reading::Streaming, None, open, output)
}

/// Where a batch of the `FROM` input ends, for strategies that fold it in batches (each batch
/// a partial result of its own, the partials merged): `chunked`'s fixed length, `adaptive`'s
/// memory guard.
pub trait Batcher {
    /// Whether the batch being filled, `rows` rows long so far, ends now.
    fn full(&mut self, rows: usize) -> bool;
    /// A batch of `rows` rows, from row `at` (0-based) of the `FROM` input, was folded.
    fn done(&mut self, at: u64, rows: usize) {
        let _ = (at, rows);
    }
}

/// Batches of one length ([`Reading::Chunked`]).
struct Fixed(usize);

impl Batcher for Fixed {
    fn full(&mut self, rows: usize) -> bool {
        rows >= self.0
    }
}

/// Runs a plan over its tables (`tables[i]` is `plan.inputs[i]`).
pub fn run(plan: &Plan, tables: &[&Table], reading: Reading) -> Result<Ran, QueryError> {
    run_to(plan, tables, reading, None)
}

/// [`run`], the result written to `output` (when given) instead of kept as the answer.
pub fn run_to(
    plan: &Plan,
    tables: &[&Table],
    reading: Reading,
    output: Option<ResultFile>,
) -> Result<Ran, QueryError> {
    match reading {
        Reading::Chunked(n) => execute(
            plan,
            tables,
            Reading::Chunked(0),
            Some(&mut Fixed(n.max(1))),
            open_text,
            output,
        ),
        r => execute(plan, tables, r, None, open_text, output),
    }
}

/// Runs a plan over its tables with the `FROM` input folded in the batches `batcher` cuts.
pub fn run_batched(
    plan: &Plan,
    tables: &[&Table],
    batcher: &mut dyn Batcher,
    output: Option<ResultFile>,
) -> Result<Ran, QueryError> {
    execute(
        plan,
        tables,
        Reading::Chunked(0),
        Some(batcher),
        open_text,
        output,
    )
}

fn execute(
    plan: &Plan,
    tables: &[&Table],
    reading: Reading,
    batcher: Option<&mut dyn Batcher>,
    open: Open,
    output: Option<ResultFile>,
) -> Result<Ran, QueryError> {
    let mut exec = match output {
        Some(f) => Executor::writing(plan, f),
        None => Executor::new(plan),
    };
    let mut rows_read = 0;
    let mut join = plan.join.map(|_| HashJoin::new(plan));
    // The joined input is held whole (the build side); the `FROM` input is read the strategy's
    // way.
    if let Some(j) = &mut join {
        match reading {
            Reading::LoadAll | Reading::LoadAllLean => {
                for r in load(tables[1], &wanted(plan, 1), &mut rows_read)? {
                    j.build(r);
                }
            }
            _ => {
                rows_read += scan_located(tables[1], &wanted(plan, 1), open, |r, _, _| {
                    j.build(r.to_vec());
                    Ok(())
                })?;
            }
        }
    }
    let join = join.as_ref();
    let from = tables[0];
    let cols = wanted(plan, 0);
    let mut buf = join.map(HashJoin::row_buffer).unwrap_or_default();
    match reading {
        Reading::Streaming => {
            rows_read += scan_located(from, &cols, open, |r, fi, line| {
                fold(&mut exec, join, &mut buf, r).map_err(|error| QueryError::Eval {
                    at: Some((from.files[fi].clone(), line)),
                    error,
                })
            })?;
        }
        Reading::LoadAll => {
            for (i, r) in load(from, &cols, &mut rows_read)?.iter().enumerate() {
                fold(&mut exec, join, &mut buf, r).map_err(|e| located(from, i, e))?;
            }
        }
        Reading::LoadAllLean => {
            let (lean, rows) = load_lean(from, &cols)?;
            rows_read += rows;
            let mut row = vec![Value::Null; cols.len()];
            for i in 0..rows as usize {
                lean.row(i, &mut row);
                fold(&mut exec, join, &mut buf, &row).map_err(|e| located(from, i, e))?;
            }
        }
        Reading::Chunked(_) => {
            let batcher = batcher.expect("batches need a batcher");
            let mut chunk: Vec<(Vec<Value>, usize, u64)> = Vec::new();
            let mut at = 0u64;
            let mut fold_chunk = |chunk: &mut Vec<(Vec<Value>, usize, u64)>,
                                  batcher: &mut dyn Batcher| {
                if chunk.is_empty() {
                    return Ok(());
                }
                let rows = chunk.len();
                let mut part = exec.fork();
                for (r, fi, line) in chunk.drain(..) {
                    fold(&mut part, join, &mut buf, &r).map_err(|error| QueryError::Eval {
                        at: Some((from.files[fi].clone(), line)),
                        error,
                    })?;
                }
                exec.merge(part);
                batcher.done(at, rows);
                at += rows as u64;
                Ok::<(), QueryError>(())
            };
            rows_read += scan_located(from, &cols, open, |r, fi, line| {
                chunk.push((r.to_vec(), fi, line));
                if batcher.full(chunk.len()) {
                    fold_chunk(&mut chunk, &mut *batcher)?;
                }
                Ok(())
            })?;
            fold_chunk(&mut chunk, batcher)?;
        }
        Reading::Parallel(threads) => {
            let forks = || (0..threads.max(1)).map(|_| exec.fork()).collect();
            let (parts, rows) = match parallel_ranges(from, &cols, join, forks()) {
                Some(done) => done,
                None => parallel(from, &cols, join, forks())?,
            };
            rows_read += rows;
            for p in parts {
                exec.merge(p);
            }
        }
    }
    Ok(Ran {
        answer: exec.finish()?,
        rows_read,
    })
}

/// Folds one row of the `FROM` input: through the join when there is one.
fn fold<'p>(
    exec: &mut Executor<'p>,
    join: Option<&HashJoin<'p>>,
    buf: &mut [Value],
    r: &[Value],
) -> Result<(), EvalError> {
    match join {
        Some(j) => j.probe_with(r, buf, &mut |row| exec.push(row)),
        None => exec.push(r),
    }
}

/// Every row of `table` (its columns `cols`), parsed into memory.
fn load(table: &Table, cols: &[usize], rows_read: &mut u64) -> Result<Vec<Vec<Value>>, QueryError> {
    let mut all = Vec::new();
    *rows_read += scan(table, cols, |r| {
        all.push(r.to_vec());
        Ok(())
    })?;
    Ok(all)
}

/// A table held as columns ([`Reading::LoadAllLean`]).
struct Lean {
    columns: Vec<LeanColumn>,
}

enum LeanColumn {
    /// Each row's code into `dict` (`u32::MAX`: null); every distinct text once.
    Text { dict: Vec<String>, codes: Vec<u32> },
    /// Any other type, one value per row (no per-row allocation).
    Values(Vec<Value>),
}

impl Lean {
    /// Row `i`'s values into `row`, reusing its text slots' allocations.
    fn row(&self, i: usize, row: &mut [Value]) {
        for (slot, c) in row.iter_mut().zip(&self.columns) {
            match c {
                LeanColumn::Values(v) => *slot = v[i].clone(),
                LeanColumn::Text { dict, codes } => match codes[i] {
                    u32::MAX => *slot = Value::Null,
                    code => {
                        let text = &dict[code as usize];
                        match slot {
                            Value::Str(s) => {
                                s.clear();
                                s.push_str(text);
                            }
                            other => *other = Value::Str(text.clone()),
                        }
                    }
                },
            }
        }
    }
}

/// Every row of `table` (its columns `cols`) loaded as [`Lean`] columns.
fn load_lean(table: &Table, cols: &[usize]) -> Result<(Lean, u64), QueryError> {
    let mut index: Vec<rustc_hash::FxHashMap<String, u32>> =
        cols.iter().map(|_| Default::default()).collect();
    let mut columns: Vec<LeanColumn> = cols
        .iter()
        .map(|&c| match table.schema.columns[c].ty {
            ColumnType::String => LeanColumn::Text {
                dict: Vec::new(),
                codes: Vec::new(),
            },
            _ => LeanColumn::Values(Vec::new()),
        })
        .collect();
    let rows = scan(table, cols, |r| {
        for ((v, c), idx) in r.iter().zip(&mut columns).zip(&mut index) {
            match c {
                LeanColumn::Values(vs) => vs.push(v.clone()),
                LeanColumn::Text { dict, codes } => codes.push(match v {
                    Value::Str(s) => match idx.get(s.as_str()) {
                        Some(&code) => code,
                        None => {
                            let code = dict.len() as u32;
                            dict.push(s.clone());
                            idx.insert(s.clone(), code);
                            code
                        }
                    },
                    _ => u32::MAX,
                }),
            }
        }
        Ok(())
    })?;
    // The lookup index is needed only while loading.
    drop(index);
    Ok((Lean { columns }, rows))
}

/// Rows per batch handed to a [`Reading::Parallel`] worker.
const BATCH_ROWS: usize = 4096;

/// The used fields of [`BATCH_ROWS`] records, as bytes: framed by the reader, parsed by a
/// worker.
#[derive(Default)]
struct RawBatch {
    file: usize,
    lines: Vec<u64>,
    /// A Parquet input's rows, decoded by the reader (`cols.len()` per row).
    values: Vec<Value>,
    bytes: Vec<u8>,
    /// Where each field ends in `bytes` (`cols.len()` per record).
    ends: Vec<usize>,
}

/// Sends the batch `b` (leaving an empty one of the same file) to the next worker, round
/// robin; `false` when that worker has stopped (its error is reported).
fn send_batch(
    b: &mut RawBatch,
    senders: &[std::sync::mpsc::SyncSender<RawBatch>],
    next: &mut usize,
) -> bool {
    let sent = std::mem::replace(
        b,
        RawBatch {
            file: b.file,
            ..RawBatch::default()
        },
    );
    let ok = senders[*next % senders.len()].send(sent).is_ok();
    *next += 1;
    ok
}

/// [`Reading::Parallel`] without a framing thread, as the `parallel` strategy reads: each plain
/// CSV file cut into `forks.len()` byte ranges, each worker reading its own range and folding
/// the records that *start* in it. A range after the first speculates that its record
/// boundary is the first line start at or after its cut; the speculation held when every
/// range's first record starts exactly where the range before it stopped (the first record it
/// did not take), which proves, from the header on, that every worker read the records a
/// sequential reader reads. The ranges after the first that does not chain run again, the
/// first of them from where the proved ones stopped (a cut inside a quoted field costs a second
/// reading of those ranges, never a wrong record). `None` — nothing decided, the caller runs
/// [`parallel`] — on an error in a proved range (whose line a range cannot know: the exact
/// reading reports it), for a compressed or Parquet input, or when rows are written to a file
/// as they come.
fn parallel_ranges<'p>(
    table: &Table,
    cols: &[usize],
    join: Option<&HashJoin<'p>>,
    forks: Vec<Executor<'p>>,
) -> Option<(Vec<Executor<'p>>, u64)> {
    use std::io::{BufRead, BufReader, Seek, SeekFrom};
    if table.is_parquet()
        || forks.iter().any(Executor::writes_file)
        || table.files.iter().any(|f| FileKind::of(f) != FileKind::Csv)
    {
        return None;
    }
    let names = table.names();
    let mut rows = 0u64;
    // Fresh executors are forked from this one for every range run; a file's proved ranges
    // are merged into `acc`, one per worker.
    let template = forks.first()?.fork();
    let mut acc: Vec<Executor<'p>> = Vec::new();
    for file in &table.files {
        // The header, checked as every reader checks it; the data starts after it.
        let head = FileRecords::open(file, open_text(file).ok()?, table.delimiter, &names).ok()?;
        let data = head.position();
        drop(head);
        let len = std::fs::metadata(file).ok()?.len();
        let n = forks.len() as u64;
        let cut = |i: u64| {
            if i == n {
                len
            } else {
                data + (len.saturating_sub(data)) * i / n
            }
        };
        // Range `i` from `exact` (a record start known to be true), else from its cut.
        let worker = |i: u64,
                      exact: Option<u64>,
                      mut exec: Executor<'p>|
         -> Option<(Executor<'p>, u64, u64, u64)> {
            let (lo, hi) = (cut(i), cut(i + 1));
            let mut rdr = BufReader::with_capacity(RANGE_BUF, std::fs::File::open(file).ok()?);
            let from = if let Some(at) = exact.or((i == 0).then_some(lo)) {
                rdr.seek(SeekFrom::Start(at)).ok()?;
                at
            } else {
                // The speculation: a record starts right after the line feed at or after
                // the cut.
                rdr.seek(SeekFrom::Start(lo - 1)).ok()?;
                lo - 1 + rdr.skip_until(b'\n').ok()? as u64
            };
            let mut csv = CsvReader::mid_file(rdr, table.delimiter);
            let mut values = vec![Value::Null; cols.len()];
            let mut buf = join.map(HashJoin::row_buffer).unwrap_or_default();
            let (mut first, mut taken) = (None, 0u64);
            let stop = loop {
                let Some(rec) = csv.next_record().ok()? else {
                    break len;
                };
                let at = from + rec.start;
                first.get_or_insert(at);
                if at >= hi {
                    break at;
                }
                if rec.len() != names.len() {
                    return None;
                }
                parse_fields(
                    table,
                    file,
                    rec.line,
                    cols,
                    (cols.iter().map(|&c| rec.field(c)), rec.ascii),
                    &mut values,
                )
                .ok()?;
                fold(&mut exec, join, &mut buf, &values).ok()?;
                taken += 1;
            };
            Some((exec, taken, first.unwrap_or(len), stop))
        };
        // Rounds: the ranges not yet proved run in parallel, the first of them from the record
        // start the proved ones stopped at; each range must then begin where the one before it
        // stopped. The ranges that chain are kept; the others run again (a cut inside a quoted
        // field costs a second reading of the ranges after it, never a wrong record).
        let mut proved: Vec<(Executor<'p>, u64, u64, u64)> = Vec::new();
        let mut exact = None;
        while (proved.len() as u64) < n {
            let next = proved.len() as u64;
            let parts = std::thread::scope(|s| {
                let handles: Vec<_> = (next..n)
                    .map(|i| {
                        let exec = template.fork();
                        let from = if i == next { exact } else { None };
                        std::thread::Builder::new()
                            .name("membench-query".into())
                            .spawn_scoped(s, move || worker(i, from, exec))
                    })
                    .collect();
                // A thread the system refused: the exact reading says so.
                let handles: Vec<_> = handles.into_iter().collect::<Result<_, _>>().ok()?;
                Some(
                    handles
                        .into_iter()
                        .map(|h| h.join().expect("a query worker panicked"))
                        .collect::<Vec<_>>(),
                )
            })?;
            // The first range of a round starts at a true record start: its failure is the
            // input's error (the exact reading reports it). A later range's failure, like a
            // range that does not begin where the one before stopped, only ends the chain.
            let mut parts = parts.into_iter();
            let mut last = parts.next()??;
            let mut chain = Vec::new();
            for p in parts {
                match p {
                    Some(p) if p.2 == last.3 => chain.push(std::mem::replace(&mut last, p)),
                    _ => break,
                }
            }
            chain.push(last);
            // The ranges that did not chain are dropped with their executors.
            exact = chain.last().map(|p| p.3);
            proved.extend(chain);
        }
        for (k, (exec, taken, _, _)) in proved.into_iter().enumerate() {
            rows += taken;
            match acc.get_mut(k) {
                Some(a) => a.merge(exec),
                None => acc.push(exec),
            }
        }
    }
    Some((acc, rows))
}

/// A range worker's read buffer.
const RANGE_BUF: usize = 64 << 10;

/// [`Reading::Parallel`] exactly, whatever the input: the reader frames records on this thread and sends batches round
/// robin to `threads` workers, each folding into its own executor. The error reported is the
/// first in file order: the workers' (in batches sent before any the reader failed on) by
/// file and line, else the reader's.
fn parallel<'p>(
    table: &Table,
    cols: &[usize],
    join: Option<&HashJoin<'p>>,
    forks: Vec<Executor<'p>>,
) -> Result<(Vec<Executor<'p>>, u64), QueryError> {
    use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
    let names = table.names();
    std::thread::scope(|s| {
        let mut senders: Vec<SyncSender<RawBatch>> = Vec::new();
        let mut workers = Vec::new();
        for mut exec in forks {
            let (tx, rx): (SyncSender<RawBatch>, Receiver<RawBatch>) = sync_channel(2);
            senders.push(tx);
            let worker = std::thread::Builder::new().name("membench-query".into());
            workers.push(
                worker
                    .spawn_scoped(s, move || {
                        let mut values = vec![Value::Null; cols.len()];
                        let mut buf = join.map(HashJoin::row_buffer).unwrap_or_default();
                        for b in rx {
                            let file = &table.files[b.file];
                            if table.is_parquet() {
                                let w = cols.len();
                                for (r, &row) in b.lines.iter().enumerate() {
                                    fold(&mut exec, join, &mut buf, &b.values[r * w..(r + 1) * w])
                                        .map_err(|error| {
                                            let at = Some((file.clone(), row));
                                            (b.file, row, QueryError::Eval { at, error })
                                        })?;
                                }
                                continue;
                            }
                            let mut start = 0;
                            for (r, &line) in b.lines.iter().enumerate() {
                                let ends = &b.ends[r * cols.len()..(r + 1) * cols.len()];
                                let fields = ends.iter().scan(start, |at, &end| {
                                    let f = &b.bytes[*at..end];
                                    *at = end;
                                    Some(f)
                                });
                                let located = |e: QueryError| (b.file, line, e);
                                parse_fields(table, file, line, cols, (fields, false), &mut values)
                                    .map_err(located)?;
                                start = *ends.last().unwrap_or(&start);
                                fold(&mut exec, join, &mut buf, &values).map_err(|error| {
                                    located(QueryError::Eval {
                                        at: Some((file.clone(), line)),
                                        error,
                                    })
                                })?;
                            }
                        }
                        Ok::<_, (usize, u64, QueryError)>(exec)
                    })
                    .map_err(QueryError::Thread)?,
            );
        }
        let read = (|| {
            let mut rows = 0u64;
            let mut next = 0;
            for (fi, file) in table.files.iter().enumerate() {
                if table.is_parquet() {
                    let mut b = RawBatch {
                        file: fi,
                        ..RawBatch::default()
                    };
                    let mut values = vec![Value::Null; cols.len()];
                    let mut stopped = false;
                    rows += ParquetFile::open(file)?
                        .for_each_row(file, &table.schema, cols, &mut values, |v, n| {
                            b.lines.push(n);
                            b.values.extend_from_slice(v);
                            if b.lines.len() == BATCH_ROWS
                                && !send_batch(&mut b, &senders, &mut next)
                            {
                                stopped = true;
                                return Err(QueryError::Thread(std::io::Error::other(
                                    "a worker stopped",
                                )));
                            }
                            Ok(())
                        })
                        .or_else(|e| if stopped { Ok(0) } else { Err(e) })?;
                    if stopped {
                        return Ok(rows);
                    }
                    if !b.lines.is_empty() && !send_batch(&mut b, &senders, &mut next) {
                        return Ok(rows);
                    }
                    continue;
                }
                let mut records =
                    FileRecords::open(file, open_text(file)?, table.delimiter, &names)?;
                let mut b = RawBatch {
                    file: fi,
                    ..RawBatch::default()
                };
                loop {
                    let rec = records.next()?;
                    let full = b.lines.len() == BATCH_ROWS;
                    if ((rec.is_none() && !b.lines.is_empty()) || full)
                        && !send_batch(&mut b, &senders, &mut next)
                    {
                        return Ok(rows); // a worker failed: its error is reported
                    }
                    let Some(rec) = rec else { break };
                    b.lines.push(rec.line);
                    for &c in cols {
                        b.bytes.extend_from_slice(rec.field(c));
                        b.ends.push(b.bytes.len());
                    }
                    rows += 1;
                }
            }
            Ok::<u64, QueryError>(rows)
        })();
        drop(senders);
        let mut parts = Vec::new();
        let mut first: Option<(usize, u64, QueryError)> = None;
        for w in workers {
            match w.join().expect("a query worker panicked") {
                Ok(e) => parts.push(e),
                Err(e) => {
                    if first.as_ref().is_none_or(|f| (e.0, e.1) < (f.0, f.1)) {
                        first = Some(e);
                    }
                }
            }
        }
        match (first, read) {
            (Some((_, _, e)), _) => Err(e),
            (None, Err(e)) => Err(e),
            (None, Ok(rows)) => Ok((parts, rows)),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CsvOptions, open_table};

    /// A table of `rows` records `id,name,amount`; every `quoted`-th name a quoted text of
    /// several lines that look like records.
    fn file(dir: &std::path::Path, rows: u64, quoted: u64) -> Table {
        let mut text = String::from("id,name,amount\n");
        for i in 0..rows {
            if quoted > 0 && i % quoted == 7 {
                text.push_str(&format!("{i},\"a\n{i},fake,1\n{i},fake,2\",{}\n", i % 97));
            } else {
                text.push_str(&format!("{i},n{},{}\n", i % 13, i % 97));
            }
        }
        let path = dir.join(format!("t-{rows}-{quoted}.csv"));
        std::fs::write(&path, text).unwrap();
        open_table(&path, &CsvOptions::default()).unwrap()
    }

    const SQL: &str =
        "SELECT name, count(*) AS n, sum(amount) AS s FROM t GROUP BY name ORDER BY name";

    fn answer(t: &Table, reading: Reading) -> (QueryAnswer, u64) {
        let p = crate::sql::plan(SQL, &[("t", &t.schema)]).unwrap();
        let ran = run(&p, &[t], reading).unwrap();
        (ran.answer, ran.rows_read)
    }

    #[test]
    fn parallel_ranges_read_their_own_ranges_and_read_again_after_a_cut_inside_quotes() {
        let dir = tempfile::tempdir().unwrap();
        // Plain lines: every cut's speculation holds, whatever the worker count.
        let plain = file(dir.path(), 5000, 0);
        let p = crate::sql::plan(SQL, &[("t", &plain.schema)]).unwrap();
        let cols = wanted(&p, 0);
        for workers in [1, 2, 3, 7] {
            let exec = Executor::new(&p);
            let forks = (0..workers).map(|_| exec.fork()).collect();
            let (parts, rows) = parallel_ranges(&plain, &cols, None, forks)
                .unwrap_or_else(|| panic!("{workers} ranges over plain lines fell back"));
            assert_eq!((parts.len(), rows), (workers, 5000));
        }
        // One long quoted field of record-like lines across the middle: the second range's
        // speculation starts inside it and reads lines that are not records; the chain check
        // refuses it, and it runs again from where the first range stopped.
        let dir2 = tempfile::tempdir().unwrap();
        let mut text = String::from("id,name,amount\n");
        for i in 0..100 {
            text.push_str(&format!("{i},n{},{i}\n", i % 5));
        }
        text.push_str("100,\"");
        for i in 0..200 {
            text.push_str(&format!("{i},fake,{i}\n"));
        }
        text.push_str("\",1\n");
        for i in 101..200 {
            text.push_str(&format!("{i},n{},{i}\n", i % 5));
        }
        let path = dir2.path().join("straddle.csv");
        std::fs::write(&path, text).unwrap();
        let straddle = open_table(&path, &CsvOptions::default()).unwrap();
        for workers in [2, 3] {
            let exec = Executor::new(&p);
            let forks = (0..workers).map(|_| exec.fork()).collect();
            let (parts, rows) = parallel_ranges(&straddle, &cols, None, forks).unwrap();
            assert_eq!((parts.len(), rows), (workers, 200), "{workers} ranges");
        }
        // Either way the answer is the sequential reader's.
        for t in [&plain, &straddle, &file(dir.path(), 3000, 50)] {
            let (want, n) = answer(t, Reading::Streaming);
            for workers in [2, 3, 5] {
                let (got, m) = answer(t, Reading::Parallel(workers));
                assert_eq!(
                    (got.rows.clone(), m),
                    (want.rows.clone(), n),
                    "{workers} workers"
                );
            }
        }
    }
}
