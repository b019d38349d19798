//! Multi-file datasets (`--files N`, seed 004 §2): the rows of one dataset spread over N part
//! files in a folder, `part-00000.csv` …, each with its own header (CSV) or schema (Parquet),
//! and one sidecar for the folder. Read in name order, the parts hold exactly the single file's
//! rows, so every strategy computes the same answers from either.
//!
//! CSV parts are cut from the single file at record boundaries found by the kernel's reader
//! (quoted line feeds stay inside their record); Parquet parts are generated from the same row
//! ranges. Written into a temporary folder and renamed into place, like every dataset.

use std::fs;
use std::io::{BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use membench_kernel::{HashingWriter, RecordReader};
use membench_protocol::PartMeta;
use sha2::{Digest, Sha256};

use crate::spec::{
    Format, GenOutput, Still, meta_path, mtime_ns, read_meta, remove_stale_tmp, still, write_meta,
};

/// The folder name of `plain` split into `n` files: `sales-1m-s42.csv` → `sales-1m-s42-files4.csv`.
pub fn folder_name(plain_file: &str, n: usize) -> String {
    match plain_file.rsplit_once('.') {
        Some((stem, ext)) => format!("{stem}-files{n}.{ext}"),
        None => format!("{plain_file}-files{n}"),
    }
}

/// Splits the dataset `plain` into `n` part files in a folder next to it (or reuses one).
pub fn split_into_files(plain: &GenOutput, n: usize, force: bool) -> Result<GenOutput> {
    if n < 2 {
        bail!("--files must be at least 2 (one file is the dataset itself)");
    }
    if !plain.meta.compressed.is_none() || plain.meta.pair.is_some() {
        bail!(
            "--files applies to plain sales datasets (not compressed copies, not the orders tables)"
        );
    }
    if n as u64 > plain.meta.rows {
        bail!(
            "--files {n} is more files than the {} rows",
            plain.meta.rows
        );
    }
    let dir = plain.path.parent().unwrap_or(Path::new("."));
    let name = folder_name(&plain.meta.file, n);
    let folder = dir.join(&name);
    let sidecar = meta_path(&folder);
    remove_stale_tmp(dir, &name);
    let mut notice = None;
    if !force
        && let Ok(mut meta) = read_meta(&sidecar)
        && meta.options == plain.meta.options
        && meta.generator_version == plain.meta.generator_version
        && meta.parts.len() == n
    {
        let mut changed = None;
        let mut touched = false;
        for p in &mut meta.parts {
            match still(&folder.join(&p.file), p.bytes, p.mtime_ns, &p.sha256)? {
                Still::Same => {}
                Still::SameBytes(now) => {
                    p.mtime_ns = Some(now);
                    touched = true;
                }
                Still::Changed(why) => {
                    changed = Some(format!("{}: {why}", p.file));
                    break;
                }
            }
        }
        match changed {
            None => {
                if touched {
                    write_meta(dir, &sidecar, &meta)?;
                }
                return Ok(GenOutput {
                    path: folder,
                    meta,
                    reused: true,
                    notice: None,
                });
            }
            Some(why) => {
                notice = Some(format!(
                    "{} changed since it was generated ({why}): generating it again",
                    folder.display()
                ));
            }
        }
    }
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let _ = fs::remove_dir_all(&tmp);
    fs::create_dir_all(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
    let parts = match write_parts(plain, n, &tmp) {
        Ok(p) => p,
        Err(e) => {
            let _ = fs::remove_dir_all(&tmp);
            return Err(e.context(format!("splitting {}", plain.path.display())));
        }
    };
    let _ = fs::remove_dir_all(&folder);
    fs::rename(&tmp, &folder).with_context(|| format!("renaming into {}", folder.display()))?;
    let parts: Vec<PartMeta> = parts
        .into_iter()
        .map(|p| PartMeta {
            mtime_ns: mtime_ns(&folder.join(&p.file)),
            ..p
        })
        .collect();
    let mut all = Sha256::new();
    for p in &parts {
        all.update(format!("{}:{}\n", p.file, p.sha256).as_bytes());
    }
    let mut meta = plain.meta.clone();
    meta.file = name;
    meta.bytes = parts.iter().map(|p| p.bytes).sum();
    meta.sha256 = hex::encode(all.finalize());
    meta.parts = parts;
    meta.mtime_ns = None;
    write_meta(dir, &sidecar, &meta)?;
    Ok(GenOutput {
        path: folder,
        meta,
        reused: false,
        notice,
    })
}

/// The part files' row ranges: `n` nearly equal pieces of `rows`.
fn ranges(rows: u64, n: usize) -> Vec<std::ops::Range<u64>> {
    let n = n as u64;
    (0..n).map(|k| rows * k / n..rows * (k + 1) / n).collect()
}

fn write_parts(plain: &GenOutput, n: usize, dir: &Path) -> Result<Vec<PartMeta>> {
    let ext = plain.meta.format.name();
    let names: Vec<String> = (0..n).map(|k| format!("part-{k:05}.{ext}")).collect();
    match plain.meta.format {
        Format::Csv => split_csv(&plain.path, plain.meta.rows, &names, dir),
        Format::Parquet => ranges(plain.meta.rows, n)
            .into_iter()
            .zip(&names)
            .map(|(range, name)| {
                let rows = range.end - range.start;
                let w = crate::parquet_out::write_parquet_rows(
                    &plain.meta.options,
                    &dir.join(name),
                    range,
                    &mut |_| {},
                )?;
                Ok(PartMeta {
                    file: name.clone(),
                    rows,
                    bytes: w.bytes,
                    sha256: w.sha256,
                    mtime_ns: None,
                })
            })
            .collect(),
    }
}

/// Cuts a CSV file into parts of nearly equal record counts, each with the header.
fn split_csv(path: &Path, rows: u64, names: &[String], dir: &Path) -> Result<Vec<PartMeta>> {
    let open = || -> Result<RecordReader<BufReader<fs::File>>> {
        let f = fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
        Ok(RecordReader::new(
            BufReader::with_capacity(1 << 20, f),
            usize::MAX / 4,
        ))
    };
    // Pass 1: the byte offset where each part's first record starts.
    let mut reader = open()?;
    let read_err = |e: membench_kernel::ReadError| anyhow::anyhow!("{}: {e:?}", path.display());
    reader.next_record().map_err(read_err)?;
    let header_end = reader.position();
    let cuts: Vec<u64> = ranges(rows, names.len()).iter().map(|r| r.start).collect();
    let mut starts = Vec::with_capacity(names.len());
    let mut record = 0u64;
    let mut counts = vec![0u64; names.len()];
    loop {
        let at = reader.position();
        while starts.len() < cuts.len() && cuts[starts.len()] <= record {
            starts.push(at);
        }
        if reader.next_record().map_err(read_err)?.is_none() {
            break;
        }
        counts[starts.len().saturating_sub(1)] += 1;
        record += 1;
    }
    let end = reader.position();
    while starts.len() < names.len() {
        starts.push(end);
    }
    // Pass 2: header + the byte range of each part.
    let mut src = fs::File::open(path)?;
    let mut header = vec![0u8; header_end as usize];
    src.read_exact(&mut header)?;
    let file_end = src.metadata()?.len();
    let mut out = Vec::with_capacity(names.len());
    for (k, name) in names.iter().enumerate() {
        let (from, to) = (starts[k], starts.get(k + 1).copied().unwrap_or(file_end));
        let f = membench_safefs::create_new_mode(&dir.join(name), 0o644)?;
        let mut w = HashingWriter::new(std::io::BufWriter::with_capacity(1 << 20, f));
        w.write_all(&header)?;
        src.seek(SeekFrom::Start(from))?;
        std::io::copy(&mut (&mut src).take(to - from), &mut w)?;
        let (inner, bytes, sha256) = w.finish();
        inner.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        out.push(PartMeta {
            file: name.clone(),
            rows: counts[k],
            bytes,
            sha256,
            mtime_ns: None,
        });
    }
    Ok(out)
}

/// The part files of a multi-file dataset folder, in order.
pub fn part_paths(folder: &Path, parts: &[PartMeta]) -> Vec<PathBuf> {
    parts.iter().map(|p| folder.join(&p.file)).collect()
}
