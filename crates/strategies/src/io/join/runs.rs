//! An external merge sort of a user query's rows on a key of one or more columns (`merge-join`
//! sorts each input on its join key, `sort-agg` the rows of groups it could not hold on their
//! group key): runs of a bounded size held, sorted and spilled in the compact binary form
//! ([`encode_row`]); then merged through a heap, at most [`FAN_IN`] runs at once (more are
//! merged into longer runs first). A sort that never filled a run stays in memory.

use membench_query::text::Value;
use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

use super::spill::{RecordReader, SpillDir, SpillFile, decode_row, encode_row};
use crate::RunError;

/// The most runs merged at once.
const FAN_IN: usize = 64;
/// Bytes a held row costs beyond its encoding, estimated (its key, its vector, the run's slot).
const ROW_OVERHEAD: usize = 64;

/// Two keys compared column by column ([`Value::key_cmp`]).
pub(crate) fn keys_cmp(a: &[Value], b: &[Value]) -> Ordering {
    a.iter()
        .zip(b)
        .map(|(x, y)| x.key_cmp(y))
        .find(|o| o.is_ne())
        .unwrap_or(Ordering::Equal)
}

/// An external sort's state: the run being filled (its rows' keys and encodings) and the runs
/// spilled.
pub(crate) struct Runs {
    run: Vec<(Vec<Value>, Vec<u8>)>,
    run_bytes: usize,
    limit: usize,
    spilled: Vec<SpillFile>,
}

impl Runs {
    /// A sort whose held run is spilled once it reaches about `limit` bytes.
    pub fn new(limit: usize) -> Self {
        Runs {
            run: Vec::new(),
            run_bytes: 0,
            limit,
            spilled: Vec::new(),
        }
    }

    /// Adds `row` under `key` (the key is also among the row's values: the merge reads it
    /// there).
    pub fn push(
        &mut self,
        key: &[Value],
        row: &[Value],
        spill: &mut SpillDir,
    ) -> Result<(), RunError> {
        let mut b = Vec::new();
        encode_row(row, &mut b);
        self.run_bytes += b.len() + ROW_OVERHEAD;
        self.run.push((key.to_vec(), b));
        if self.run_bytes >= self.limit {
            self.flush(spill)?;
        }
        Ok(())
    }

    /// Whether nothing was pushed.
    pub fn is_empty(&self) -> bool {
        self.run.is_empty() && self.spilled.is_empty()
    }

    /// Whether a run was spilled.
    pub fn spilled(&self) -> bool {
        !self.spilled.is_empty()
    }

    fn flush(&mut self, spill: &mut SpillDir) -> Result<(), RunError> {
        if self.run.is_empty() {
            return Ok(());
        }
        self.run.sort_by(|a, b| keys_cmp(&a.0, &b.0));
        let mut w = spill.create()?;
        for (_, b) in self.run.drain(..) {
            w.record(&b)?;
        }
        self.spilled.push(spill.close(w)?);
        self.run_bytes = 0;
        Ok(())
    }

    /// Every row in key order, the key's columns at positions `key` among its values: the runs
    /// merged (a run still in memory is not spilled).
    pub fn sorted(mut self, spill: &mut SpillDir, key: Vec<usize>) -> Result<Sorted, RunError> {
        if self.spilled.is_empty() {
            self.run.sort_by(|a, b| keys_cmp(&a.0, &b.0));
            let mut rows = Vec::with_capacity(self.run.len());
            for (_, b) in self.run {
                let mut r = Vec::new();
                decode_row(&b, &mut r)?;
                rows.push(r);
            }
            rows.reverse();
            return Ok(Sorted::Held(rows));
        }
        self.flush(spill)?;
        let mut runs = std::mem::take(&mut self.spilled);
        // More runs than one merge opens: merged into longer ones first.
        while runs.len() > FAN_IN {
            let rest = runs.split_off(FAN_IN);
            let mut merged = Merge::open(runs, key.clone())?;
            let mut w = spill.create()?;
            let mut b = Vec::new();
            while let Some(r) = merged.next()? {
                encode_row(&r, &mut b);
                w.record(&b)?;
            }
            for f in merged.files {
                f.delete();
            }
            runs = rest;
            runs.push(spill.close(w)?);
        }
        Ok(Sorted::Merged(Merge::open(runs, key)?))
    }
}

/// A run's next row in the merge: ordered by its key, then by its run.
struct Head {
    key: Vec<Value>,
    run: usize,
}

impl PartialEq for Head {
    fn eq(&self, o: &Self) -> bool {
        self.cmp(o) == Ordering::Equal
    }
}
impl Eq for Head {}
impl PartialOrd for Head {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Head {
    fn cmp(&self, o: &Self) -> Ordering {
        keys_cmp(&self.key, &o.key).then(self.run.cmp(&o.run))
    }
}

/// A k-way merge of sorted runs through a heap.
pub(crate) struct Merge {
    readers: Vec<RecordReader>,
    rows: Vec<Option<Vec<Value>>>,
    heap: BinaryHeap<Reverse<Head>>,
    key: Vec<usize>,
    files: Vec<SpillFile>,
}

impl Merge {
    fn open(files: Vec<SpillFile>, key: Vec<usize>) -> Result<Merge, RunError> {
        let mut m = Merge {
            readers: files
                .iter()
                .map(SpillFile::records)
                .collect::<Result<_, _>>()?,
            rows: Vec::new(),
            heap: BinaryHeap::with_capacity(files.len()),
            key,
            files,
        };
        for run in 0..m.readers.len() {
            m.rows.push(None);
            m.advance(run)?;
        }
        Ok(m)
    }

    /// Reads run `run`'s next row into its slot and the heap.
    fn advance(&mut self, run: usize) -> Result<(), RunError> {
        self.rows[run] = match self.readers[run].next()? {
            Some(b) => {
                let mut r = Vec::new();
                decode_row(b, &mut r)?;
                self.heap.push(Reverse(Head {
                    key: self.key.iter().map(|&i| r[i].clone()).collect(),
                    run,
                }));
                Some(r)
            }
            None => None,
        };
        Ok(())
    }

    fn next(&mut self) -> Result<Option<Vec<Value>>, RunError> {
        let Some(Reverse(h)) = self.heap.pop() else {
            return Ok(None);
        };
        let row = self.rows[h.run].take();
        self.advance(h.run)?;
        Ok(row)
    }
}

/// Rows in key order.
pub(crate) enum Sorted {
    /// Sorted in memory, last first (popped).
    Held(Vec<Vec<Value>>),
    /// Sorted runs merged.
    Merged(Merge),
}

impl Sorted {
    /// The next row.
    pub fn next(&mut self) -> Result<Option<Vec<Value>>, RunError> {
        match self {
            Sorted::Held(rows) => Ok(rows.pop()),
            Sorted::Merged(m) => m.next(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs of one row each: more than [`FAN_IN`] of them, merged in two passes, come out in
    /// key order (two columns), every row once.
    #[test]
    fn many_runs_merge_in_passes_into_key_order() {
        let scratch = tempfile::tempdir().unwrap();
        let mut spill = SpillDir::new(scratch.path()).unwrap();
        let mut runs = Runs::new(1);
        let mut want = Vec::new();
        for i in 0..300i64 {
            let row = vec![
                Value::Int(i),
                Value::Str(format!("k{}", (i * 37) % 11)),
                Value::Int((i * 101) % 7),
            ];
            runs.push(&row[1..], &row, &mut spill).unwrap();
            want.push(row);
        }
        assert!(runs.spilled());
        want.sort_by(|a, b| keys_cmp(&a[1..], &b[1..]).then(a[0].key_cmp(&b[0])));
        let mut sorted = runs.sorted(&mut spill, vec![1, 2]).unwrap();
        let mut got = Vec::new();
        while let Some(r) = sorted.next().unwrap() {
            got.push(r);
        }
        assert_eq!(got.len(), 300);
        // Key order; rows of one key in any order.
        assert!(
            got.windows(2)
                .all(|w| keys_cmp(&w[0][1..], &w[1][1..]).is_le())
        );
        got.sort_by(|a, b| keys_cmp(&a[1..], &b[1..]).then(a[0].key_cmp(&b[0])));
        assert_eq!(got, want);
    }
}
