//! `mmap`: the file is memory-mapped (seed 003) and the kernel parses each record straight from
//! the mapping ([`SliceRecords`]: records borrow the mapped bytes, nothing is copied into the
//! heap), with `madvise(MADV_SEQUENTIAL)` so the kernel reads ahead aggressively. The heap holds
//! only the parser's and the fold's own state; the pages read show up as file-backed RSS
//! (`peak_rss_file_bytes`: the whole file by the end, on a machine with memory to spare),
//! which the kernel can reclaim under pressure, unlike anonymous memory. Parquet has to be decoded into columns anyway: there it reads one row group
//! at a time like `streaming` (Polars maps the file itself).

use membench_kernel::{LineParser, SliceRecords};

use crate::io::csv::{check_header, fold_all};
use crate::io::files::Mapped;
use crate::io::fold::{Columns, fold_input};
use crate::{Format, Outcome, Output, Params, RunError, Strategy, format_of};

pub struct Mmap;

impl Strategy for Mmap {
    fn run(&self, p: &Params) -> Result<Outcome, RunError> {
        let mut out = Output::new(p)?;
        let counts = crate::io::files::per_file(p, |file| match format_of(&file.input)? {
            Format::Csv => {
                let map = Mapped::open(&file.input)?;
                let mut records = SliceRecords::new(map.bytes(), file.max_record_bytes);
                let mut parser = LineParser::new();
                check_header(&file.input, &mut records, &mut parser)?;
                fold_all(&file.input, &mut records, &mut parser, file.on_bad_row, &mut out)
            }
            Format::Parquet => fold_input(file, Columns::WorkloadNeeds, &mut out),
        })?;
        out.finish(&p.input, counts)
    }

    /// A user's query: each file mapped and its records split in place in the mapping by the
    /// same reader as the others' (a simple line is never copied), folded as they are read.
    fn query(&self, _: &Params, q: &crate::QueryParams) -> Result<Outcome, RunError> {
        crate::io::query::opened(q, open_mapped)
    }
}

/// [`Mapped`] as a reader: its bytes handed out whole from where the reader is.
fn open_mapped(
    path: &std::path::Path,
) -> Result<Box<dyn std::io::BufRead + Send>, membench_query::InputError> {
    let map = Mapped::open(path).map_err(|e| membench_query::InputError::Io {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    Ok(Box::new(MappedReader { map, at: 0 }))
}

struct MappedReader {
    map: Mapped,
    at: usize,
}

impl std::io::Read for MappedReader {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let n = std::io::Read::read(&mut &self.map.bytes()[self.at..], out)?;
        self.at += n;
        Ok(n)
    }
}

impl std::io::BufRead for MappedReader {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        Ok(&self.map.bytes()[self.at..])
    }

    fn consume(&mut self, n: usize) {
        self.at = (self.at + n).min(self.map.bytes().len());
    }
}
