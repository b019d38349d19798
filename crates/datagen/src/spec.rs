//! What to generate, what the sidecar says, and the reuse / atomic-write logic.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

/// Version of the generator's output; part of every sidecar. Bump when bytes change (2: bad-row
/// files put their unterminated quote on the last row; the default datasets did not change).
pub const GENERATOR_VERSION: u32 = 2;
/// Average bytes per CSV row the generator aims at (the seed's ≈ 200).
pub const AVG_ROW_BYTES: u64 = 200;

pub use membench_protocol::{
    Compression, DataSchema, Format, GenSpec, ParquetCompressionName, Sidecar as Meta,
};

/// Parses `csv` or `parquet`.
pub fn parse_format(s: &str) -> Result<Format> {
    Format::parse(s).with_context(|| format!("unknown format {s:?} (expected csv or parquet)"))
}

/// Parses a Parquet codec name.
pub fn parse_compression(s: &str) -> Result<ParquetCompressionName> {
    ParquetCompressionName::parse(s).map_err(anyhow::Error::msg)
}

/// What [`generate`] produced.
#[derive(Clone, Debug)]
pub struct GenOutput {
    pub path: PathBuf,
    pub meta: Meta,
    /// True when an existing file matching its sidecar was reused.
    pub reused: bool,
    /// Said to the user: why an existing file was not reused (it changed since it was
    /// generated), so it was generated again.
    pub notice: Option<String>,
}

/// A file's modification time, in ns since the epoch.
pub(crate) fn mtime_ns(path: &Path) -> Option<u64> {
    let t = fs::metadata(path).ok()?.modified().ok()?;
    Some(t.duration_since(std::time::UNIX_EPOCH).ok()?.as_nanos() as u64)
}

/// The sha256 of a file's bytes, read in 1 MiB blocks.
pub(crate) fn file_sha256(path: &Path) -> Result<String> {
    use sha2::Digest;
    let mut f = fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut h = sha2::Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = std::io::Read::read(&mut f, &mut buf)
            .with_context(|| format!("reading {}", path.display()))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex::encode(h.finalize()))
}

/// Whether a generated file is still what its sidecar recorded.
pub(crate) enum Still {
    /// Same size and modification time.
    Same,
    /// Touched (another modification time) but the same bytes: the sidecar's time is stale.
    SameBytes(u64),
    /// Changed: why.
    Changed(String),
}

/// Checks `path` against what its sidecar recorded: its size, then its modification time; a
/// file touched since (or a sidecar without a time, from before they had one) is hashed.
pub(crate) fn still(path: &Path, bytes: u64, mtime: Option<u64>, sha256: &str) -> Result<Still> {
    let Ok(m) = fs::metadata(path) else {
        return Ok(Still::Changed("it is gone".into()));
    };
    if m.len() != bytes {
        return Ok(Still::Changed(format!(
            "{} bytes, its sidecar says {bytes}",
            m.len()
        )));
    }
    let now = mtime_ns(path);
    if now.is_some() && now == mtime {
        return Ok(Still::Same);
    }
    if file_sha256(path)? == sha256 {
        Ok(Still::SameBytes(now.unwrap_or(0)))
    } else {
        Ok(Still::Changed(
            "modified since it was generated: its sha256 is no longer its sidecar's".into(),
        ))
    }
}

/// Removes `.<name>.tmp-<pid>` and `.<name>.meta.tmp-<pid>` in `dir` left by a generation
/// that was killed (its pid no longer runs).
pub(crate) fn remove_stale_tmp(dir: &Path, name: &str) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let prefixes = [format!(".{name}.tmp-"), format!(".{name}.meta.tmp-")];
    for e in entries.flatten() {
        let file = e.file_name();
        let Some(file) = file.to_str() else { continue };
        let Some(pid) = prefixes.iter().find_map(|p| file.strip_prefix(p.as_str())) else {
            continue;
        };
        let Ok(pid) = pid.parse::<u32>() else {
            continue;
        };
        if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
            let p = e.path();
            let _ = fs::remove_dir_all(&p).or_else(|_| fs::remove_file(&p));
        }
    }
}

pub use membench_kernel::rows_label;

/// Parses `100k`, `1m`, `2.5m`, `1000` ([`membench_protocol::parse_count`]).
pub fn parse_count(s: &str) -> Result<u64> {
    membench_protocol::parse_count(s).map_err(anyhow::Error::msg)
}

/// Parses `512MiB`, `1GB`, `4096` ([`membench_protocol::parse_size`]).
pub fn parse_size(s: &str) -> Result<u64> {
    membench_protocol::parse_size(s).map_err(anyhow::Error::msg)
}

/// Rows for a target CSV size (≈ [`AVG_ROW_BYTES`] a row).
pub fn rows_for_bytes(bytes: u64) -> u64 {
    bytes.div_ceil(AVG_ROW_BYTES).max(1)
}

/// The dataset's file name: schema, size, seed and any non-default option.
pub fn file_name(spec: &GenSpec, format: Format) -> String {
    table_file_name("sales", spec, format)
}

/// The file name of table `table` (`sales`, `orders`, `order_items`) of a dataset.
pub fn table_file_name(table: &str, spec: &GenSpec, format: Format) -> String {
    let mut name = format!("{table}-{}-s{}", rows_label(spec.rows), spec.seed);
    if spec.shuffle_items {
        name.push_str("-shuffled");
    }
    if spec.bad_row_rate > 0.0 {
        name.push_str(&format!("-bad{}", spec.bad_row_rate));
    }
    if spec.messy {
        name.push_str("-messy");
    }
    name.push_str(&spec.shape.file_suffix());
    if format == Format::Parquet {
        let d = GenSpec::default();
        if spec.row_group_rows != d.row_group_rows {
            name.push_str(&format!("-rg{}", rows_label(spec.row_group_rows as u64)));
        }
        if spec.compression != d.compression {
            name.push_str(&format!("-{}", spec.compression.name()));
        }
    }
    format!("{name}.{}", format.name())
}

fn check(spec: &GenSpec, format: Format) -> Result<()> {
    if spec.schema == DataSchema::Orders && (spec.bad_row_rate > 0.0 || spec.messy) {
        bail!("--bad-row-rate and --messy apply to the sales schema only");
    }
    if spec.schema == DataSchema::Sales && spec.shuffle_items {
        bail!("--shuffle-items applies to the orders schema only");
    }
    if !(0.0..=1.0).contains(&spec.bad_row_rate) {
        bail!(
            "--bad-row-rate must be between 0 and 1, got {}",
            spec.bad_row_rate
        );
    }
    if format == Format::Parquet && spec.bad_row_rate > 0.0 {
        bail!(
            "--bad-row-rate applies to CSV only: a typed Parquet file cannot hold malformed rows"
        );
    }
    if spec.row_group_rows == 0 {
        bail!("--row-group-rows must be at least 1");
    }
    if spec.schema == DataSchema::Orders && !spec.shape.is_default() {
        bail!(
            "the shape knobs (--key-cardinality, --skew, --null-rate, --text-bytes, --sorted-by) \
             apply to the sales schema only"
        );
    }
    spec.shape.check().map_err(anyhow::Error::msg)?;
    Ok(())
}

/// Reads a sidecar.
pub fn read_meta(path: &Path) -> Result<Meta> {
    let text = fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

pub(crate) fn meta_path(data: &Path) -> PathBuf {
    let mut s = data.as_os_str().to_owned();
    s.push(".meta.json");
    PathBuf::from(s)
}

/// Checks an `orders` spec (crate-internal entry of [`check`]).
pub(crate) fn check_spec(spec: &GenSpec, format: Format) -> Result<()> {
    check(spec, format)
}

/// One file to write: where, its table, its rows and the other file of its pair.
pub(crate) struct Target<'a> {
    pub dir: &'a Path,
    pub name: String,
    pub table: &'a str,
    pub rows: u64,
    pub pair: Option<String>,
    /// A compressed copy of a CSV dataset.
    pub compressed: Compression,
}

/// Writes one dataset file under a temporary name with `write`, renames it, then writes its
/// sidecar the same way; reuses a file whose sidecar matches unless `force`.
pub(crate) fn write_dataset(
    t: &Target<'_>,
    spec: &GenSpec,
    format: Format,
    force: bool,
    write: &mut dyn FnMut(&Path) -> Result<Written>,
) -> Result<GenOutput> {
    fs::create_dir_all(t.dir).with_context(|| format!("creating {}", t.dir.display()))?;
    remove_stale_tmp(t.dir, &t.name);
    let path = t.dir.join(&t.name);
    let sidecar = meta_path(&path);
    let mut notice = None;
    if !force
        && let Ok(mut meta) = read_meta(&sidecar)
        && meta.options == *spec
        && meta.generator_version == GENERATOR_VERSION
        && meta.pair == t.pair
        && meta.compressed == t.compressed
    {
        match still(&path, meta.bytes, meta.mtime_ns, &meta.sha256)? {
            Still::Same => {
                return Ok(GenOutput {
                    path,
                    meta,
                    reused: true,
                    notice: None,
                });
            }
            Still::SameBytes(now) => {
                meta.mtime_ns = Some(now);
                write_meta(t.dir, &sidecar, &meta)?;
                return Ok(GenOutput {
                    path,
                    meta,
                    reused: true,
                    notice: None,
                });
            }
            Still::Changed(why) => {
                notice = Some(format!(
                    "{} changed since it was generated ({why}): generating it again",
                    path.display()
                ));
            }
        }
    }
    let tmp = t
        .dir
        .join(format!(".{}.tmp-{}", t.name, std::process::id()));
    let written = match write(&tmp) {
        Ok(w) => w,
        Err(e) => {
            let _ = fs::remove_file(&tmp);
            return Err(e.context(format!("generating {}", path.display())));
        }
    };
    fs::rename(&tmp, &path).with_context(|| format!("renaming into {}", path.display()))?;
    let mtime = mtime_ns(&path);
    let skipped: u64 = written
        .bad_rows
        .iter()
        .filter(|(k, _)| k.as_str() != "empty_line")
        .map(|(_, v)| *v)
        .sum();
    let all_bad: u64 = written.bad_rows.values().sum();
    let meta = Meta {
        schema: t.table.into(),
        format,
        file: t.name.clone(),
        rows: t.rows,
        valid_rows: t.rows - all_bad,
        expected_rows_skipped: skipped,
        bytes: written.bytes,
        seed: spec.seed,
        generator_version: GENERATOR_VERSION,
        options: spec.clone(),
        bad_rows: written.bad_rows,
        sha256: written.sha256,
        compressed: t.compressed,
        parts: Vec::new(),
        pair: t.pair.clone(),
        mtime_ns: mtime,
    };
    write_meta(t.dir, &sidecar, &meta)?;
    Ok(GenOutput {
        path,
        meta,
        reused: false,
        notice,
    })
}

/// Writes a sidecar atomically (a temporary file in `dir`, renamed over it).
pub(crate) fn write_meta(dir: &Path, sidecar: &Path, meta: &Meta) -> Result<()> {
    use std::io::Write;
    let tmp_meta = dir.join(format!(".{}.meta.tmp-{}", meta.file, std::process::id()));
    membench_safefs::create_fresh(&tmp_meta, 0o644)
        .and_then(|mut f| f.write_all((serde_json::to_string_pretty(meta)? + "\n").as_bytes()))
        .with_context(|| format!("writing {}", tmp_meta.display()))?;
    fs::rename(&tmp_meta, sidecar).with_context(|| format!("renaming into {}", sidecar.display()))
}

/// The file a writer produced: its sink flushed and synced, its size and sha256.
pub(crate) fn close(
    sink: membench_kernel::HashingWriter<std::io::BufWriter<fs::File>>,
    tmp: &Path,
    bad_rows: BTreeMap<String, u64>,
) -> Result<Written> {
    let (w, bytes, sha256) = sink.finish();
    w.into_inner()
        .map_err(|e| e.into_error())
        .and_then(|f| f.sync_all())
        .with_context(|| format!("writing {}", tmp.display()))?;
    Ok(Written {
        bytes,
        sha256,
        bad_rows,
    })
}

/// What a format writer reports.
pub(crate) struct Written {
    pub bytes: u64,
    pub sha256: String,
    pub bad_rows: BTreeMap<String, u64>,
}

/// Writes a compressed copy of the CSV dataset `plain` (`<file>.gz` or `<file>.zst`) with its own
/// sidecar (the compressed bytes and sha256; the content's rows and options), or reuses one.
/// Deterministic: gzip with no file name and a zero time stamp, zstd at level 3 on one thread,
/// so the same dataset always compresses to the same bytes.
pub fn compress(plain: &GenOutput, codec: Compression, force: bool) -> Result<GenOutput> {
    if plain.meta.format != Format::Csv || codec.is_none() {
        bail!("only CSV datasets are compressed (Parquet compresses inside the file)");
    }
    let dir = plain.path.parent().unwrap_or(Path::new("."));
    let t = Target {
        dir,
        name: format!("{}{}", plain.meta.file, codec.suffix()),
        table: &plain.meta.schema,
        rows: plain.meta.rows,
        pair: plain.meta.pair.clone(),
        compressed: codec,
    };
    write_dataset(&t, &plain.meta.options, Format::Csv, force, &mut |tmp| {
        let file = membench_safefs::create_fresh(tmp, 0o644)
            .with_context(|| format!("creating {}", tmp.display()))?;
        let sink =
            membench_kernel::HashingWriter::new(std::io::BufWriter::with_capacity(1 << 20, file));
        let mut src = std::io::BufReader::with_capacity(
            1 << 20,
            fs::File::open(&plain.path)
                .with_context(|| format!("opening {}", plain.path.display()))?,
        );
        let sink = match codec {
            Compression::Gzip => {
                let mut enc = flate2::GzBuilder::new()
                    .mtime(0)
                    .write(sink, flate2::Compression::default());
                std::io::copy(&mut src, &mut enc)?;
                enc.finish()?
            }
            Compression::Zstd => {
                let mut enc = zstd::stream::write::Encoder::new(sink, 3)?;
                std::io::copy(&mut src, &mut enc)?;
                enc.finish()?
            }
            Compression::None => unreachable!("checked above"),
        };
        close(sink, tmp, plain.meta.bad_rows.clone())
    })
}
