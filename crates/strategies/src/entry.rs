//! A strategy ([`Strategy`]: how it reads) paired with its metadata ([`Entry`]); the entry
//! refuses what the metadata says the strategy cannot do before it runs.

use membench_kernel::{OnBadRow, Workload};
use membench_protocol::{Compression, Decompress, Format, Growth, Role, Skip, StrategyInfo};

use crate::io::files::is_multi_file;
use crate::outcome::{Outcome, RunError};
use crate::params::Params;

/// How a strategy reads. Its name, description, growth and abilities are data: the
/// [`StrategyInfo`] beside it in the registry.
pub trait Strategy: Sync {
    /// Computes the workload.
    fn run(&self, p: &Params) -> Result<Outcome, RunError>;

    /// Computes a user's query ([`Workload::Query`]; its plan and tables in `q`). Called only
    /// for a strategy whose metadata says it runs queries ([`crate::Queries::Runs`]).
    fn query(&self, p: &Params, q: &crate::QueryParams) -> Result<Outcome, RunError> {
        let _ = (p, q);
        Err(RunError::Unsupported(
            "its registry entry says it runs a user's query, but it has no query method".into(),
        ))
    }
}

/// A registered strategy: its metadata and its implementation.
pub struct Entry {
    pub info: StrategyInfo,
    pub(crate) strategy: &'static dyn Strategy,
}

impl std::fmt::Debug for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Entry")
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}

impl Entry {
    /// The command-line name.
    pub fn name(&self) -> &'static str {
        self.info.name
    }

    /// Declared memory growth of `workload` on `format` (`None`: it does not do it).
    pub fn growth(&self, workload: &Workload, format: Format) -> Option<Growth> {
        self.info.growth.of(workload, format)
    }

    /// Runs the strategy, first refusing what its metadata says it cannot do.
    pub fn run(&self, p: &Params) -> Result<Outcome, RunError> {
        if !self.info.does(&p.workload) {
            return Err(RunError::Unsupported(format!(
                "{} does not do the {} workload (see `cargo xtask list`)",
                self.info.name, p.workload
            )));
        }
        if let Workload::Query(_) = &p.workload {
            let q = p.query.as_ref().ok_or_else(|| {
                RunError::Unsupported("a user's query needs its plan and tables".into())
            })?;
            if let Some(why) = self.info.queries.refusal(
                self.info.name,
                q.plan.join.is_some(),
                q.plan.groups_by_keys(),
            ) {
                return Err(RunError::Unsupported(format!(
                    "{} does not run this query: {why}",
                    self.info.name
                )));
            }
            if p.on_bad_row == OnBadRow::Skip {
                return Err(RunError::Unsupported(
                    "--on-bad-row skip is not supported for a user's query: a row that breaks \
                     its column's type stops every strategy with the same error"
                        .into(),
                ));
            }
            return self.strategy.query(p, q);
        }
        if p.workload.is_join()
            && (is_multi_file(&p.input) || p.items.as_deref().is_some_and(is_multi_file))
        {
            return Err(RunError::Unsupported(
                "join reads one file per table, not a folder".into(),
            ));
        }
        if p.checkpoint.is_some() && !self.info.has(Role::Resumable) {
            return Err(RunError::Unsupported(format!(
                "{} cannot checkpoint and resume (--checkpoint-every): only {} can; {}",
                self.info.name,
                names_with(Role::Resumable),
                "the others hold their state in memory or in an engine that cannot be entered \
                 in the middle"
            )));
        }
        if p.state.is_some() && !self.info.has(Role::Incremental) {
            return Err(RunError::Unsupported(format!(
                "{} does not run incrementally (--state): only {} do",
                self.info.name,
                names_with(Role::Incremental),
            )));
        }
        let compression = Compression::of_path(&p.input);
        if let (false, Decompress::No(why)) = (compression.is_none(), self.info.compressed) {
            return Err(RunError::Unsupported(format!(
                "{} does not read {} input: {why}",
                self.info.name,
                compression.name()
            )));
        }
        if p.on_bad_row == OnBadRow::Skip && self.info.skip == Skip::Refuses {
            return Err(RunError::Unsupported(format!(
                "--on-bad-row skip is not supported by {}: its engine ({:?}) cannot report \
                 exactly which rows it skipped, so its counts would differ from the other \
                 strategies",
                self.info.name, self.info.engine
            )));
        }
        self.strategy.run(p)
    }
}

/// The strategies that play `role`, by name: `a, b, c`.
fn names_with(role: Role) -> String {
    membench_protocol::with_role(role)
        .map(|s| s.name)
        .collect::<Vec<_>>()
        .join(", ")
}
