//! Spilling for the `join` strategies that bound their memory (`merge-join`, `grace`): a
//! fixed-size binary item record, files in a private folder of the scratch directory (removed
//! when done, whatever happens), and an external merge sort of items by `order_id`.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use membench_kernel::{ItemRow, JoinAcc};
use membench_query::text::Value;
use rustc_hash::FxHashMap;

use crate::RunError;

/// Buffer of each spill writer and reader.
const IO_BUF: usize = 64 * 1024;
/// The most runs merged at once; more are merged in several passes.
const FAN_IN: usize = 64;

/// Category names as small codes, so that an item spills as a fixed-size record. Holds one
/// entry per distinct category (24 in the generated data).
#[derive(Debug, Default)]
pub(crate) struct Categories {
    names: Vec<String>,
    index: FxHashMap<String, u32>,
}

impl Categories {
    /// The code of `name` (a new one the first time).
    #[inline]
    pub fn code(&mut self, name: &str) -> u32 {
        if let Some(&c) = self.index.get(name) {
            return c;
        }
        let c = self.names.len() as u32;
        self.names.push(name.to_owned());
        self.index.insert(name.to_owned(), c);
        c
    }

    /// Folds one item record joined `weight` times.
    #[inline]
    pub fn add(&self, acc: &mut JoinAcc, rec: &ItemRec, weight: u32) {
        acc.add_parts(
            &self.names[rec.category as usize],
            rec.quantity,
            rec.price_cents,
            weight,
        );
    }
}

/// An item as the spilling strategies keep it: what the fold needs, 28 bytes on disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ItemRec {
    pub order_id: i64,
    pub quantity: i64,
    pub price_cents: i64,
    pub category: u32,
}

const REC_BYTES: usize = 28;

impl ItemRec {
    /// The record of a validated item.
    #[inline]
    pub fn of(item: &ItemRow<'_>, cats: &mut Categories) -> ItemRec {
        ItemRec {
            order_id: item.order_id,
            quantity: item.quantity,
            price_cents: item.price_cents,
            category: cats.code(item.category),
        }
    }

    fn encode(&self) -> [u8; REC_BYTES] {
        let mut b = [0u8; REC_BYTES];
        b[0..8].copy_from_slice(&self.order_id.to_le_bytes());
        b[8..16].copy_from_slice(&self.quantity.to_le_bytes());
        b[16..24].copy_from_slice(&self.price_cents.to_le_bytes());
        b[24..28].copy_from_slice(&self.category.to_le_bytes());
        b
    }

    fn decode(b: &[u8; REC_BYTES]) -> ItemRec {
        let i = |r: std::ops::Range<usize>| i64::from_le_bytes(b[r].try_into().expect("8 bytes"));
        ItemRec {
            order_id: i(0..8),
            quantity: i(8..16),
            price_cents: i(16..24),
            category: u32::from_le_bytes(b[24..28].try_into().expect("4 bytes")),
        }
    }
}

/// A private folder in the scratch directory for one cell's spill files (`0700`, a random
/// name, made fresh); removed on drop.
#[derive(Debug)]
pub(crate) struct SpillDir {
    dir: tempfile::TempDir,
    next: u64,
    /// Bytes written to spill files so far.
    pub bytes_written: u64,
}

impl SpillDir {
    pub fn new(scratch: &Path) -> Result<SpillDir, RunError> {
        let dir = membench_safefs::private_dir(scratch, "membench-spill-")
            .context("creating the spill folder")?;
        Ok(SpillDir {
            dir,
            next: 0,
            bytes_written: 0,
        })
    }

    /// A new spill file.
    pub fn create(&mut self) -> Result<SpillWriter, RunError> {
        self.next += 1;
        let path = self.dir.path().join(format!("{}.bin", self.next));
        let file = membench_safefs::create_new(&path).context("creating a spill file")?;
        Ok(SpillWriter {
            w: BufWriter::with_capacity(IO_BUF, file),
            path,
            bytes: 0,
        })
    }

    /// Closes a spill file and counts its bytes.
    pub fn close(&mut self, w: SpillWriter) -> Result<SpillFile, RunError> {
        let SpillWriter { w, path, bytes } = w;
        w.into_inner()
            .map_err(|e| e.into_error())
            .with_context(|| format!("writing {}", path.display()))?;
        self.bytes_written += bytes;
        Ok(SpillFile { path })
    }
}

/// A spill file being written.
pub(crate) struct SpillWriter {
    w: BufWriter<File>,
    path: PathBuf,
    bytes: u64,
}

impl SpillWriter {
    /// Appends an item record.
    #[inline]
    pub fn item(&mut self, rec: &ItemRec) -> Result<(), RunError> {
        self.put(&rec.encode())
    }

    /// Appends an order key.
    #[inline]
    pub fn key(&mut self, order_id: i64) -> Result<(), RunError> {
        self.put(&order_id.to_le_bytes())
    }

    /// Appends a record of any length (a user's row, encoded), its length first.
    pub fn record(&mut self, b: &[u8]) -> Result<(), RunError> {
        self.put(&(b.len() as u32).to_le_bytes())?;
        self.put(b)
    }

    fn put(&mut self, b: &[u8]) -> Result<(), RunError> {
        self.bytes += b.len() as u64;
        self.w
            .write_all(b)
            .with_context(|| format!("writing {}", self.path.display()))
            .map_err(RunError::from)
    }
}

/// A closed spill file.
#[derive(Debug)]
pub(crate) struct SpillFile {
    path: PathBuf,
}

impl SpillFile {
    fn reader(&self) -> Result<SpillReader, RunError> {
        let f =
            File::open(&self.path).with_context(|| format!("reading {}", self.path.display()))?;
        Ok(SpillReader {
            r: BufReader::with_capacity(IO_BUF, f),
            path: self.path.clone(),
        })
    }

    /// Reads every order key back.
    pub fn for_each_key(&self, mut f: impl FnMut(i64)) -> Result<(), RunError> {
        let mut r = self.reader()?;
        let mut b = [0u8; 8];
        while r.fill(&mut b)? {
            f(i64::from_le_bytes(b));
        }
        Ok(())
    }

    /// Reads every item record back.
    pub fn for_each_item(&self, mut f: impl FnMut(ItemRec)) -> Result<(), RunError> {
        let mut r = self.reader()?;
        while let Some(rec) = r.item()? {
            f(rec);
        }
        Ok(())
    }

    /// Reads every [`SpillWriter::record`] back, in order.
    pub fn for_each_record(
        &self,
        mut f: impl FnMut(&[u8]) -> Result<(), RunError>,
    ) -> Result<(), RunError> {
        let mut r = self.reader()?;
        let mut buf = Vec::new();
        while r.record(&mut buf)? {
            f(&buf)?;
        }
        Ok(())
    }

    /// Records one at a time, for a merge of sorted runs.
    pub fn records(&self) -> Result<RecordReader, RunError> {
        Ok(RecordReader {
            r: self.reader()?,
            buf: Vec::new(),
        })
    }

    /// Removes the file now (the folder goes on drop anyway).
    pub fn delete(self) {
        self.remove()
    }

    fn remove(self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

struct SpillReader {
    r: BufReader<File>,
    path: PathBuf,
}

impl SpillReader {
    /// Fills `b`; `false` at a clean end of file.
    fn fill(&mut self, b: &mut [u8]) -> Result<bool, RunError> {
        match self.r.read_exact(b) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(false),
            Err(e) => Err(anyhow::anyhow!("reading {}: {e}", self.path.display()).into()),
        }
    }

    /// The next length-prefixed record into `buf`; `false` at a clean end of file.
    fn record(&mut self, buf: &mut Vec<u8>) -> Result<bool, RunError> {
        let mut n = [0u8; 4];
        if !self.fill(&mut n)? {
            return Ok(false);
        }
        buf.resize(u32::from_le_bytes(n) as usize, 0);
        if !self.fill(buf)? {
            return Err(anyhow::anyhow!("{}: a record cut short", self.path.display()).into());
        }
        Ok(true)
    }

    #[inline]
    fn item(&mut self) -> Result<Option<ItemRec>, RunError> {
        let mut b = [0u8; REC_BYTES];
        Ok(self.fill(&mut b)?.then(|| ItemRec::decode(&b)))
    }
}

/// A spill file's records read one at a time.
pub(crate) struct RecordReader {
    r: SpillReader,
    buf: Vec<u8>,
}

impl RecordReader {
    /// The next record (`None`: the end).
    pub fn next(&mut self) -> Result<Option<&[u8]>, RunError> {
        Ok(self.r.record(&mut self.buf)?.then_some(self.buf.as_slice()))
    }
}

/// An external merge sort of items by `order_id`: sorted runs of at most `run_records` items
/// are spilled as they fill, then merged (at most [`FAN_IN`] at a time). Memory: one run,
/// then one read buffer per merged run.
pub(crate) struct ExternalSort<'d> {
    buf: Vec<ItemRec>,
    run_records: usize,
    runs: Vec<SpillFile>,
    dir: &'d mut SpillDir,
}

impl<'d> ExternalSort<'d> {
    /// A sort whose runs hold at most `run_bytes` of items in memory.
    pub fn new(dir: &'d mut SpillDir, run_bytes: usize) -> ExternalSort<'d> {
        ExternalSort {
            buf: Vec::new(),
            run_records: (run_bytes / std::mem::size_of::<ItemRec>()).max(1024),
            runs: Vec::new(),
            dir,
        }
    }

    /// Adds an item.
    #[inline]
    pub fn push(&mut self, rec: ItemRec) -> Result<(), RunError> {
        if self.buf.capacity() == 0 {
            self.buf.reserve_exact(self.run_records);
        }
        self.buf.push(rec);
        if self.buf.len() == self.run_records {
            self.spill_run()?;
        }
        Ok(())
    }

    fn spill_run(&mut self) -> Result<(), RunError> {
        self.buf.sort_unstable_by_key(|r| r.order_id);
        let mut w = self.dir.create()?;
        for rec in &self.buf {
            w.item(rec)?;
        }
        self.runs.push(self.dir.close(w)?);
        self.buf.clear();
        Ok(())
    }

    /// Every item pushed, in `order_id` order (a sort that never filled a run stays in memory).
    pub fn finish(mut self) -> Result<Sorted, RunError> {
        if self.runs.is_empty() {
            self.buf.sort_unstable_by_key(|r| r.order_id);
            return Ok(Sorted::Memory(std::mem::take(&mut self.buf).into_iter()));
        }
        if !self.buf.is_empty() {
            self.spill_run()?;
        }
        self.buf = Vec::new();
        let mut runs = std::mem::take(&mut self.runs);
        while runs.len() > FAN_IN {
            let rest = runs.split_off(FAN_IN);
            let mut merged = Merge::open(runs)?;
            let mut w = self.dir.create()?;
            while let Some(rec) = merged.next()? {
                w.item(&rec)?;
            }
            merged.remove();
            let mut next = rest;
            next.push(self.dir.close(w)?);
            runs = next;
        }
        Ok(Sorted::Merge(Merge::open(runs)?))
    }
}

/// Items in `order_id` order.
pub(crate) enum Sorted {
    Memory(std::vec::IntoIter<ItemRec>),
    Merge(Merge),
}

impl Sorted {
    /// The next item.
    #[inline]
    pub fn next(&mut self) -> Result<Option<ItemRec>, RunError> {
        match self {
            Sorted::Memory(it) => Ok(it.next()),
            Sorted::Merge(m) => m.next(),
        }
    }
}

/// A k-way merge of sorted runs.
pub(crate) struct Merge {
    runs: Vec<SpillFile>,
    readers: Vec<SpillReader>,
    heads: BinaryHeap<Reverse<(i64, usize)>>,
    current: Vec<Option<ItemRec>>,
}

impl Merge {
    fn open(runs: Vec<SpillFile>) -> Result<Merge, RunError> {
        let mut readers = runs
            .iter()
            .map(SpillFile::reader)
            .collect::<Result<Vec<_>, _>>()?;
        let mut heads = BinaryHeap::with_capacity(runs.len());
        let mut current = Vec::with_capacity(runs.len());
        for (i, r) in readers.iter_mut().enumerate() {
            let rec = r.item()?;
            if let Some(rec) = &rec {
                heads.push(Reverse((rec.order_id, i)));
            }
            current.push(rec);
        }
        Ok(Merge {
            runs,
            readers,
            heads,
            current,
        })
    }

    #[inline]
    fn next(&mut self) -> Result<Option<ItemRec>, RunError> {
        let Some(Reverse((_, i))) = self.heads.pop() else {
            return Ok(None);
        };
        let out = self.current[i].take();
        let rec = self.readers[i].item()?;
        if let Some(rec) = &rec {
            self.heads.push(Reverse((rec.order_id, i)));
        }
        self.current[i] = rec;
        Ok(out)
    }

    fn remove(self) {
        drop(self.readers);
        for r in self.runs {
            r.remove();
        }
    }
}

/// A user query's row in the spill files' compact binary form ([`Value::encode`]).
pub(crate) fn encode_row(row: &[Value], buf: &mut Vec<u8>) {
    buf.clear();
    for v in row {
        v.encode(buf);
    }
}

/// A row written by [`encode_row`].
pub(crate) fn decode_row(mut b: &[u8], out: &mut Vec<Value>) -> Result<(), RunError> {
    out.clear();
    while !b.is_empty() {
        out.push(
            Value::decode(&mut b)
                .ok_or_else(|| anyhow::anyhow!("a spilled row does not decode"))?,
        );
    }
    Ok(())
}
