//! An input as its files: a file, a folder of parts or a glob of parts (`data/part-*.csv`), each
//! CSV (plain, `.gz`, `.zst`; any one-byte delimiter, tab for `.tsv`) or Parquet, opened as a
//! buffered reader that decompresses as it reads.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use crate::error::InputError;

/// How a file's bytes are stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    Csv,
    CsvGz,
    CsvZst,
    Parquet,
}

impl FileKind {
    /// The kind its name says.
    pub fn of(path: &Path) -> FileKind {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        if name.ends_with(".parquet") || name.ends_with(".pq") {
            FileKind::Parquet
        } else if name.ends_with(".gz") {
            FileKind::CsvGz
        } else if name.ends_with(".zst") {
            FileKind::CsvZst
        } else {
            FileKind::Csv
        }
    }
}

/// The delimiter a file's name suggests: tab for `.tsv` (also compressed), else a comma.
pub fn default_delimiter(path: &Path) -> u8 {
    let name = path.to_string_lossy().to_ascii_lowercase();
    if name.ends_with(".tsv") || name.ends_with(".tsv.gz") || name.ends_with(".tsv.zst") {
        b'\t'
    } else {
        b','
    }
}

/// The files an input names, in order: the file itself; a folder's files (not hidden, not
/// `*.meta.json`) by name; or the files a `*`/`?` pattern in the last component matches.
pub fn input_files(path: &Path) -> Result<Vec<PathBuf>, InputError> {
    let io = |e: std::io::Error| InputError::Io {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let (dir, pattern) = if name.contains(['*', '?']) {
        let dir = path.parent().filter(|p| !p.as_os_str().is_empty());
        (dir.unwrap_or(Path::new(".")).to_path_buf(), Some(name))
    } else if path.is_dir() {
        (path.to_path_buf(), None)
    } else {
        std::fs::metadata(path).map_err(io)?;
        return Ok(vec![path.to_path_buf()]);
    };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(&dir).map_err(io)? {
        let entry = entry.map_err(io)?;
        let n = entry.file_name().to_string_lossy().into_owned();
        let wanted = match &pattern {
            Some(p) => glob_match(p.as_bytes(), n.as_bytes()),
            None => !n.starts_with('.') && !n.ends_with(".meta.json"),
        };
        if wanted && entry.file_type().map_err(io)?.is_file() {
            files.push(entry.path());
        }
    }
    files.sort();
    if files.is_empty() {
        return Err(InputError::Input {
            path: path.to_path_buf(),
            reason: "no file matches".into(),
        });
    }
    Ok(files)
}

/// `*` any run of characters, `?` one character.
fn glob_match(p: &[u8], s: &[u8]) -> bool {
    match (p.first(), s.first()) {
        (None, None) => true,
        (Some(b'*'), _) => glob_match(&p[1..], s) || (!s.is_empty() && glob_match(p, &s[1..])),
        (Some(b'?'), Some(_)) => glob_match(&p[1..], &s[1..]),
        (Some(a), Some(b)) if a == b => glob_match(&p[1..], &s[1..]),
        _ => false,
    }
}

/// Opens a CSV file (decompressing `.gz`/`.zst`) as a buffered reader.
pub fn open_text(path: &Path) -> Result<Box<dyn BufRead + Send>, InputError> {
    let io = |e: std::io::Error| InputError::Io {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let file = File::open(path).map_err(io)?;
    const BUF: usize = 1 << 20;
    Ok(match FileKind::of(path) {
        FileKind::Csv => Box::new(BufReader::with_capacity(BUF, file)),
        FileKind::CsvGz => Box::new(BufReader::with_capacity(
            BUF,
            flate2::read::MultiGzDecoder::new(BufReader::new(file)),
        )),
        FileKind::CsvZst => Box::new(BufReader::with_capacity(
            BUF,
            zstd::stream::read::Decoder::new(file).map_err(io)?,
        )),
        FileKind::Parquet => {
            return Err(InputError::Input {
                path: path.to_path_buf(),
                reason: "a Parquet file is not text".into(),
            });
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_kinds_and_delimiters() {
        assert!(glob_match(b"part-*.csv", b"part-0001.csv"));
        assert!(!glob_match(b"part-*.csv", b"part-0001.csv.gz"));
        assert!(glob_match(b"p?rt*", b"part"));
        assert_eq!(FileKind::of(Path::new("a/b.csv.zst")), FileKind::CsvZst);
        assert_eq!(FileKind::of(Path::new("b.PARQUET")), FileKind::Parquet);
        assert_eq!(default_delimiter(Path::new("x.tsv.gz")), b'\t');
        assert_eq!(default_delimiter(Path::new("x.csv")), b',');
    }
}
