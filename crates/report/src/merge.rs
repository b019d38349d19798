//! Several run folders as one: the shards of a sweep (`run --shard I/N`), or runs of different
//! strategies on the same data. Refuses what would make the merged report lie — records from
//! different machines, different files under one dataset's name, the same repetition twice —
//! saying which folders and why. Mixed machines and mixed datasets are merged when the caller
//! allows it (`--allow-mixed`); overlapping repetitions never are.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Result, bail};

use crate::record::{Record, read_records};

/// Whether records measured on different machines, or on different files under one dataset's
/// name, may be merged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Machines {
    /// Refuse: times and RSS from two machines (or two inputs) are not comparable in one table.
    Same,
    /// Merge anyway (`--allow-mixed`).
    Mixed,
}

fn machine(r: &Record) -> String {
    let c = &r.context;
    format!(
        "{} · {} cores · {} bytes of memory · {}",
        c.cpu, c.cores, c.memory_bytes, c.os
    )
}

/// Reads `results.jsonl` of every folder and merges them, in folder order.
pub fn merge_dirs(dirs: &[PathBuf], machines: Machines) -> Result<Vec<Record>> {
    let mut runs = Vec::new();
    for d in dirs {
        let rs = read_records(&d.join("results.jsonl"))?;
        if rs.is_empty() {
            bail!("{}: no records", d.join("results.jsonl").display());
        }
        runs.push((d.clone(), rs));
    }
    merge(&runs, machines)
}

/// Merges runs (each a folder and its records).
pub fn merge(runs: &[(PathBuf, Vec<Record>)], machines: Machines) -> Result<Vec<Record>> {
    let mut machine_of: Option<(&Path, String)> = None;
    // (format, rows, dataset file name) → (bytes, folder)
    let mut datasets: BTreeMap<(membench_protocol::InputFormat, u64, String), (u64, &Path)> =
        BTreeMap::new();
    // (cell, allocator, repetition) → which run
    let mut seen: BTreeMap<(crate::record::CellKey, &str, u32), usize> = BTreeMap::new();
    let mut out = Vec::new();
    for (k, (dir, records)) in runs.iter().enumerate() {
        for r in records {
            let m = machine(r);
            match &machine_of {
                None => machine_of = Some((dir.as_path(), m)),
                Some((first, fm)) if *fm != m && machines == Machines::Same => bail!(
                    "{} ran on {m}, but {} on {fm}: one report would compare two machines \
                     (pass --allow-mixed to merge anyway)",
                    dir.display(),
                    first.display()
                ),
                Some(_) => {}
            }
            let name = Path::new(&r.dataset)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let key = (r.format, r.rows, name.clone());
            match datasets.get(&key) {
                Some(&(bytes, first)) if bytes != r.input_bytes && machines == Machines::Same => {
                    bail!(
                        "{name}: {} bytes in {} but {} bytes in {}: not the same dataset \
                     (pass --allow-mixed to merge anyway)",
                        r.input_bytes,
                        dir.display(),
                        bytes,
                        first.display()
                    )
                }
                Some(_) => {}
                None => {
                    datasets.insert(key, (r.input_bytes, dir.as_path()));
                }
            }
            let rep = (r.key(), r.allocator.name(), r.repetition);
            if let Some(j) = seen.insert(rep, k).filter(|&j| j != k) {
                bail!(
                    "{} · {} · {} · {} rows, {} repetition {}, is in both {} and {}: \
                     shards must not overlap",
                    r.workload,
                    r.format,
                    r.strategy,
                    r.rows,
                    r.allocator.name(),
                    r.repetition,
                    runs[j].0.display(),
                    dir.display()
                );
            }
            out.push(r.clone());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::RunContext;

    fn rec(strategy: &str, cpu: &str, bytes: u64) -> Record {
        Record {
            strategy: strategy.into(),
            workload: membench_protocol::Workload::TOP_N,
            format: membench_protocol::InputFormat::CSV,
            rows: 1000,
            dataset: "datasets/sales-1k-s42.csv".into(),
            input_bytes: bytes,
            repetition: 1,
            context: RunContext {
                cpu: cpu.into(),
                cores: 2,
                ..RunContext::default()
            },
            ..Record::default()
        }
    }

    #[test]
    fn disjoint_shards_merge_and_overlaps_machines_or_datasets_are_refused() {
        let a = (PathBuf::from("a"), vec![rec("streaming", "x", 10)]);
        let b = (PathBuf::from("b"), vec![rec("load-all", "x", 10)]);
        assert_eq!(merge(&[a.clone(), b], Machines::Same).unwrap().len(), 2);
        let twice = (PathBuf::from("b"), vec![rec("streaming", "x", 10)]);
        let e = merge(&[a.clone(), twice], Machines::Same).unwrap_err();
        assert!(e.to_string().contains("in both a and b"), "{e}");
        let other_cpu = (PathBuf::from("b"), vec![rec("load-all", "y", 10)]);
        let e = merge(&[a.clone(), other_cpu.clone()], Machines::Same).unwrap_err();
        assert!(e.to_string().contains("--allow-mixed"), "{e}");
        assert!(merge(&[a.clone(), other_cpu], Machines::Mixed).is_ok());
        let other_file = (PathBuf::from("b"), vec![rec("load-all", "x", 11)]);
        let e = merge(&[a.clone(), other_file.clone()], Machines::Same).unwrap_err();
        assert!(e.to_string().contains("not the same dataset"), "{e}");
        assert!(merge(&[a.clone(), other_file], Machines::Mixed).is_ok());
        // Overlaps are refused even when mixing is allowed.
        let twice = (PathBuf::from("b"), vec![rec("streaming", "x", 10)]);
        assert!(merge(&[a, twice], Machines::Mixed).is_err());
    }
}
