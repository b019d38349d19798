//! Where a strategy's valid rows go: folded into an aggregate (`top-n`, `group-by`) or cleaned
//! and written out (`etl`). Strategies feed an [`Output`] and never look at the workload again.

use membench_kernel::{Accumulator, InputError, RowRef};

use crate::io::etl_out::EtlSink;
use crate::outcome::Counts;
use crate::{Format, Outcome, Params, RunError};

/// Anything that takes validated rows.
pub trait RowSink {
    /// Takes one validated row.
    fn add(&mut self, row: &RowRef<'_>);
}

impl RowSink for Accumulator {
    #[inline]
    fn add(&mut self, row: &RowRef<'_>) {
        Accumulator::add(self, row);
    }
}

impl RowSink for EtlSink {
    #[inline]
    fn add(&mut self, row: &RowRef<'_>) {
        self.push(row);
    }
}

/// A strategy's result in the making.
#[derive(Debug)]
pub enum Output {
    Fold(Accumulator),
    Etl(Box<EtlSink>),
}

impl RowSink for crate::io::etl_out::EtlEncoder {
    #[inline]
    fn add(&mut self, row: &RowRef<'_>) {
        self.push(row);
    }
}

impl RowSink for Output {
    #[inline]
    fn add(&mut self, row: &RowRef<'_>) {
        match self {
            Output::Fold(a) => a.add(row),
            Output::Etl(s) => s.push(row),
        }
    }
}

impl Output {
    /// [`Output::new`], or with `--checkpoint-every` the output of a checkpointed run (fresh,
    /// or resumed from its checkpoint: then `Checkpoints::start` says where to read from).
    pub fn open(
        p: &Params,
        strategy: &'static str,
    ) -> Result<(Output, Option<crate::io::checkpoint::Checkpoints>), RunError> {
        match crate::io::checkpoint::Checkpoints::open(p, strategy)? {
            Some((ck, sink)) => Ok((Output::Etl(Box::new(sink)), Some(ck))),
            None => Ok((Output::new(p)?, None)),
        }
    }

    /// Saves a checkpoint when one is due (no-op without checkpoints).
    pub fn tick(
        &mut self,
        ck: &mut Option<crate::io::checkpoint::Checkpoints>,
        rows: u64,
        at: crate::io::checkpoint::Position,
        counts: crate::outcome::Counts,
    ) -> Result<(), RunError> {
        match (ck, self) {
            (Some(ck), Output::Etl(sink)) => ck.tick(rows, at, counts, sink),
            _ => Ok(()),
        }
    }

    /// [`Output::finish`], then the checkpoint (if any) is removed.
    pub fn finish_checkpointed(
        self,
        path: &std::path::Path,
        c: Counts,
        ck: Option<crate::io::checkpoint::Checkpoints>,
    ) -> Result<Outcome, RunError> {
        let outcome = self.finish(path, c)?;
        if let Some(ck) = ck {
            ck.done();
        }
        Ok(outcome)
    }

    /// An empty aggregate, or (etl) the output file created.
    pub fn new(p: &Params) -> Result<Output, RunError> {
        if p.workload.is_aggregate() {
            return Ok(Output::Fold(Accumulator::new(&p.workload)));
        }
        let (path, format) = etl_target(p)?;
        Ok(Output::Etl(Box::new(EtlSink::create(
            &path, format, p.observer,
        )?)))
    }

    /// Folds one part of the input (a chunk): aggregates go into a fresh partial result that is
    /// merged afterwards; `etl` rows are written straight through, in order.
    pub fn part<R>(&mut self, workload_part: impl FnOnce(&mut dyn RowSink) -> R) -> R {
        match self {
            Output::Fold(total) => {
                let mut part = Accumulator::new(&total.workload());
                let r = workload_part(&mut part);
                total.merge(part);
                r
            }
            Output::Etl(s) => workload_part(s.as_mut()),
        }
    }

    /// The outcome, refusing a file with no data rows.
    pub fn finish(self, path: &std::path::Path, c: Counts) -> Result<Outcome, RunError> {
        if c.read + c.skipped == 0 {
            return Err(InputError::file(path, "has a header but no data rows").into());
        }
        let answer = match self {
            Output::Fold(a) => a.finish().map_err(|e| InputError::file(path, e))?,
            Output::Etl(s) => s.finish()?,
        };
        Ok(Outcome {
            answer,
            rows_read: c.read,
            rows_skipped: c.skipped,
        })
    }
}

/// The `etl` output path and format of a run: `--output`, and `--output-format` (default: the
/// input's format).
pub fn etl_target(p: &Params) -> Result<(std::path::PathBuf, Format), RunError> {
    let path = p.output.clone().ok_or_else(|| {
        RunError::Unsupported("the etl workload needs an output path (--output FILE)".into())
    })?;
    let format = match p.output_format {
        Some(f) => f,
        None => crate::format_of(&p.input)?,
    };
    if path == p.input {
        return Err(RunError::Unsupported(format!(
            "{}: the etl output would overwrite its input",
            path.display()
        )));
    }
    Ok((path, format))
}
