//! An input as its files: a file, a dataset folder, or a glob (`*`, `?` in the file name), read
//! as its files in name order; the format a path says; and a whole file memory-mapped ([`Mapped`]).

use std::path::{Path, PathBuf};

use anyhow::Context;

use membench_kernel::InputError;
use membench_protocol::{Compression, Format};

use crate::outcome::{Counts, RunError};
use crate::params::Params;

/// Runs `fold` once per input file of `p`, in order, with `input` set to that file (errors name
/// the file and its line), and sums the counts.
pub(crate) fn per_file(
    p: &Params,
    mut fold: impl FnMut(&Params) -> Result<Counts, RunError>,
) -> Result<Counts, RunError> {
    if !is_multi_file(&p.input) {
        return fold(p);
    }
    let mut counts = Counts::default();
    for f in input_files(&p.input)? {
        counts.add(fold(&p.with_input(&f))?);
    }
    Ok(counts)
}

/// The format a file name says, or the error that names the file. For a dataset folder (or a
/// glob), the format of its files.
pub fn format_of(path: &Path) -> Result<Format, RunError> {
    if is_multi_file(path) {
        let files = input_files(path)?;
        return format_of(&files[0]);
    }
    Format::of_path(path).ok_or_else(|| {
        RunError::Input(InputError::file(
            path,
            "unknown format: expected a .csv or .parquet file",
        ))
    })
}

/// Whether `--input` names several files: a folder, or a glob (`*`, `?` in the file name).
pub fn is_multi_file(path: &Path) -> bool {
    path.is_dir()
        || path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(is_glob)
}

fn is_glob(name: &str) -> bool {
    name.contains('*') || name.contains('?')
}

/// The files of `--input`: the file itself; a dataset folder's `.csv`/`.parquet` files (also
/// compressed CSV) in name order; or a glob's matches (`*` and `?` in the file name) in name
/// order. Every file of a folder or glob must be of one format, and there must be one.
pub fn input_files(path: &Path) -> Result<Vec<PathBuf>, RunError> {
    if !is_multi_file(path) {
        return Ok(vec![path.to_path_buf()]);
    }
    let (dir, pattern) = if path.is_dir() {
        (path.to_path_buf(), None)
    } else {
        let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        (
            dir.map_or_else(|| PathBuf::from("."), Path::to_path_buf),
            Some(name.to_string()),
        )
    };
    let entries = std::fs::read_dir(&dir)
        .map_err(|e| RunError::Input(InputError::file(&dir, format!("cannot list: {e}"))))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|f| f.is_file())
        .filter(|f| {
            let name = f.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            !name.starts_with('.')
                && Format::of_path(f).is_some()
                && pattern
                    .as_deref()
                    .is_none_or(|pat| wildcard(pat.as_bytes(), name.as_bytes()))
        })
        .collect();
    files.sort();
    let Some(first) = files.first() else {
        return Err(InputError::file(path, "no .csv or .parquet files in it").into());
    };
    let kind = |f: &Path| (Format::of_path(f), Compression::of_path(f));
    if let Some(odd) = files.iter().find(|f| kind(f) != kind(first)) {
        return Err(InputError::file(
            path,
            format!("mixes formats: {} and {}", first.display(), odd.display()),
        )
        .into());
    }
    Ok(files)
}

/// `*` (any run of characters) and `?` (one character) matching of a whole name, in
/// O(pattern × name) steps at worst: on a mismatch only the last `*` is retried one character
/// further (an earlier `*` never needs to be: the last one can absorb anything it could).
fn wildcard(pat: &[u8], name: &[u8]) -> bool {
    let (mut p, mut n) = (0, 0);
    // The last `*` seen and the name position it currently stands for the start of.
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        match pat.get(p) {
            Some(b'*') => {
                star = Some((p, n));
                p += 1;
            }
            Some(&c) if c == b'?' || c == name[n] => {
                p += 1;
                n += 1;
            }
            _ => match star {
                Some((sp, sn)) => {
                    star = Some((sp, sn + 1));
                    p = sp + 1;
                    n = sn + 1;
                }
                None => return false,
            },
        }
    }
    pat[p..].iter().all(|&c| c == b'*')
}

/// A read-only mapping of a whole file (an empty file maps to no bytes: `mmap` refuses a
/// length of zero).
pub(crate) struct Mapped(Option<memmap2::Mmap>);

impl Mapped {
    pub(crate) fn open(path: &std::path::Path) -> Result<Mapped, RunError> {
        Mapped::open_with(path, false)
    }

    /// [`Mapped::open`]; `populate`: every page mapped at once (`MAP_POPULATE`), for a reader
    /// that will touch them all (one call instead of a page fault per 4 KiB).
    pub(crate) fn open_with(path: &std::path::Path, populate: bool) -> Result<Mapped, RunError> {
        let file = std::fs::File::open(path)
            .with_context(|| format!("{}: cannot open", path.display()))?;
        let len = file
            .metadata()
            .with_context(|| format!("{}: cannot read its size", path.display()))?
            .len();
        if len == 0 {
            return Ok(Mapped(None));
        }
        // SAFETY: the mapping is read-only and lives as long as this value; membench's inputs
        // are not written while a cell reads them (a file truncated underneath would end the
        // process with SIGBUS, recorded as a crash).
        let mut options = memmap2::MmapOptions::new();
        if populate {
            options.populate();
        }
        let map = unsafe { options.map(&file) }
            .with_context(|| format!("{}: cannot map", path.display()))?;
        map.advise(memmap2::Advice::Sequential)
            .with_context(|| format!("{}: madvise", path.display()))?;
        Ok(Mapped(Some(map)))
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        self.0.as_deref().unwrap_or_default()
    }
}

impl AsRef<[u8]> for Mapped {
    fn as_ref(&self) -> &[u8] {
        self.bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_match_whole_names_in_linear_time() {
        let m = |p: &str, n: &str| wildcard(p.as_bytes(), n.as_bytes());
        assert!(m("part-*.csv", "part-0001.csv"));
        assert!(m("*", ""));
        assert!(m("a?c", "abc"));
        assert!(m("*a*b", "xxaxxb"));
        assert!(m("*.csv", ".csv"));
        assert!(!m("part-*.csv", "part-0001.csv.gz"));
        assert!(!m("a?c", "ac"));
        assert!(!m("", "x"));
        // Exponential for a backtracking matcher: 30 stars against 60 letters and no 'b'.
        let start = std::time::Instant::now();
        assert!(!m(
            &"*a"
                .repeat(30)
                .chars()
                .chain("b".chars())
                .collect::<String>(),
            &"a".repeat(60)
        ));
        assert!(
            start.elapsed() < std::time::Duration::from_millis(100),
            "{:?}",
            start.elapsed()
        );
    }
}
