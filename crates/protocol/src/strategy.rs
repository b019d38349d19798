//! Strategy metadata as data: what each strategy is, how its memory grows, what it needs.

use serde::Serialize;

use crate::{Format, Growth, Workload};

/// A value per input format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct PerFormat<T> {
    pub csv: T,
    pub parquet: T,
}

impl<T: Copy> PerFormat<T> {
    /// The same value for every format.
    pub const fn same(v: T) -> PerFormat<T> {
        PerFormat { csv: v, parquet: v }
    }

    /// The value for `format`.
    pub fn of(&self, format: Format) -> T {
        match format {
            Format::Csv => self.csv,
            Format::Parquet => self.parquet,
        }
    }
}

/// A strategy's declared memory growth per workload family; `None` where it does not do that
/// family (its cells are not part of the matrix, and the runner refuses them).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Growths {
    /// The workloads over one `sales` file (`top-n`, `group-by`, `etl`), per input format.
    pub sales: Option<PerFormat<Growth>>,
    /// `join` (`orders` ⋈ `order_items`), the same on every format: growth against the number
    /// of orders.
    pub join: Option<Growth>,
    /// A strategy of users' queries only: its growth on them.
    pub queries: Option<Growth>,
}

impl Growths {
    /// A strategy of the `sales` workloads only.
    pub const fn sales(g: PerFormat<Growth>) -> Growths {
        Growths {
            sales: Some(g),
            join: None,
            queries: None,
        }
    }

    /// A strategy of the `join` workload only.
    pub const fn join_only(g: Growth) -> Growths {
        Growths {
            sales: None,
            join: Some(g),
            queries: None,
        }
    }

    /// The same, also doing `join` with growth `g`.
    pub const fn and_join(self, g: Growth) -> Growths {
        Growths {
            sales: self.sales,
            join: Some(g),
            queries: self.queries,
        }
    }

    /// A strategy of users' queries only (no built-in workload), growing `g` on them.
    pub const fn queries_only(g: Growth) -> Growths {
        Growths {
            sales: None,
            join: None,
            queries: Some(g),
        }
    }

    /// The declared growth of `workload` on `format`, or `None` when the strategy does not do
    /// it.
    pub fn of(&self, workload: &Workload, format: Format) -> Option<Growth> {
        let sales = self.sales.map(|g| g.of(format));
        match (workload.is_join(), workload.query().is_some()) {
            (true, false) => self.join,
            // A user's join: the built-in join's growth, else the strategy's own reading's.
            (true, true) => self.join.or(sales).or(self.queries),
            (false, true) => sales.or(self.queries),
            (false, false) => sales,
        }
    }
}

/// Whether a strategy can honour `--on-bad-row skip` with exact counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Skip {
    /// Skips bad rows and counts them exactly like every other strategy.
    Counts,
    /// Refuses `skip` (its engine cannot say exactly which rows it would drop).
    Refuses,
}

/// What computes the answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    /// membench's own kernel (`membench-kernel`).
    Kernel,
    /// Polars (one shared query plan).
    Polars,
    /// SQLite, embedded (rows validated by the kernel while loading).
    Sqlite,
    /// A PostgreSQL server (rows validated by the kernel while loading).
    Postgres,
}

/// Whether a strategy runs a user's query (`run --input … --query SQL`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Queries {
    /// It does: through the generic typed operators (`membench-query`), read its own way, or
    /// (a database) by loading the typed tables and running the plan as SQL.
    Runs,
    /// Only a query that joins two inputs (a join strategy); any other query's cells are
    /// recorded as skipped, saying so.
    Joins,
    /// Only a query of one input that groups rows by keys (`GROUP BY`: a spilling
    /// aggregation); any other query's cells are recorded as skipped, saying so.
    Groups,
    /// Not yet, for this reason: its cells are recorded as skipped with it.
    No(&'static str),
}

impl Queries {
    /// Why strategy `name` does not run a query, or `None` when it does (`joins`: whether
    /// the query joins two inputs; `groups`: whether it groups rows by keys).
    pub fn refusal(self, name: &str, joins: bool, groups: bool) -> Option<String> {
        match self {
            Queries::Runs => None,
            Queries::Joins if joins => None,
            Queries::Joins => Some(format!(
                "{name} joins two inputs; this query reads one table"
            )),
            Queries::Groups if groups && !joins => None,
            Queries::Groups if joins => Some(format!(
                "{name} aggregates the groups of one input; this query joins two"
            )),
            Queries::Groups => Some(format!(
                "{name} aggregates groups; this query has no GROUP BY keys"
            )),
            Queries::No(why) => Some(why.to_string()),
        }
    }
}

/// How a strategy reads compressed CSV (`.csv.gz`, `.csv.zst`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Decompress {
    /// Decompresses as it reads, one buffer at a time: memory does not grow.
    Streaming,
    /// Decompresses on a thread of its own, overlapped with parsing on another.
    Overlapped,
    /// Decompresses the whole file into memory first, then reads that (Polars' eager reader
    /// does the same with a compressed file).
    Whole,
    /// Cannot read it, for this reason.
    No(&'static str),
}

impl Decompress {
    /// One word for tables: `streaming`, `overlapped`, `whole`, `no`.
    pub fn name(self) -> &'static str {
        match self {
            Decompress::Streaming => "streaming",
            Decompress::Overlapped => "overlapped",
            Decompress::Whole => "whole",
            Decompress::No(_) => "no",
        }
    }
}

/// Something a strategy needs from the machine to run; when it is missing, the strategy's cells
/// are recorded as `skipped` with the reason.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Requirement {
    /// A program that must be found on `PATH` (or in the named folder).
    Program {
        name: &'static str,
        why: &'static str,
    },
    /// A PostgreSQL server: its binaries (`initdb`, `pg_ctl`; membench starts a throw-away
    /// cluster) or `--postgres-url`.
    PostgresServer,
}

impl Requirement {
    /// One line: what is needed and how to provide it.
    pub fn describe(&self) -> String {
        match self {
            Requirement::Program { name, why } => format!("the program `{name}` ({why})"),
            Requirement::PostgresServer => "PostgreSQL: its server binaries (initdb, pg_ctl: \
                 `apt-get install postgresql`; membench starts a throw-away server) or \
                 --postgres-url URL"
                .to_string(),
        }
    }
}

/// A part a strategy plays besides computing its answer. Each role is data here: the code that
/// cares asks [`StrategyInfo::has`] (or [`with_role`]), never a list of names of its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Its answer is the one every other is compared with (exactly one strategy has it; when it
    /// fails on an input, another ok strategy's answer serves).
    Reference,
    /// It checkpoints and resumes `etl` (`--checkpoint-every`, `--resume-etl`).
    Resumable,
    /// It runs `top-n` and `group-by` incrementally (`--state FILE`): the aggregate and a
    /// watermark per file saved atomically, the next run reading only what is new.
    Incremental,
    /// It sizes its own memory from `--memory-limit` (`min-budget` bisects it rather than
    /// taking its measured peak).
    SizedFromBudget,
    /// It reports its batches (a memory guard): the report draws them and describes the guard.
    MemoryGuard,
}

/// One strategy's metadata. Every field is data: `cargo xtask list` prints it, the tests, the
/// gate and the report read it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct StrategyInfo {
    /// The command-line name.
    pub name: &'static str,
    /// One line: how it reads.
    pub description: &'static str,
    /// Declared memory growth per workload family and input format, asserted by the gate.
    pub growth: Growths,
    /// Whether it honours `--on-bad-row skip`.
    pub skip: Skip,
    /// What computes the answer.
    pub engine: Engine,
    /// How it reads compressed CSV.
    pub compressed: Decompress,
    /// What it needs from the machine.
    pub needs: &'static [Requirement],
    /// The parts it plays besides computing its answer.
    pub roles: &'static [Role],
    /// Whether `cargo xtask run` includes it when no `--strategy` is given.
    pub on_by_default: bool,
    /// Whether it runs a user's query.
    pub queries: Queries,
}

impl StrategyInfo {
    /// Whether it does `workload`.
    pub fn does(&self, workload: &Workload) -> bool {
        // A user's query: every strategy runs it or says why not (`queries`), so none is left
        // out of its cells unseen.
        workload.query().is_some() || self.growth.of(workload, Format::Csv).is_some()
    }

    /// Whether it plays `role`.
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// Whether it reads input so compressed.
    pub fn reads(&self, compression: crate::Compression) -> bool {
        compression.is_none() || !matches!(self.compressed, Decompress::No(_))
    }
}

macro_rules! registry {
    ($($module:ident :: $ty:ident => $info:expr),* $(,)?) => {
        /// Every strategy's metadata, in registry order (from `crates/strategies/src/registry.rs`).
        pub static STRATEGIES: &[StrategyInfo] = &[$($info),*];
    };
}

include!("../../strategies/src/registry.rs");

/// Looks a strategy's metadata up by name.
pub fn strategy(name: &str) -> Option<&'static StrategyInfo> {
    STRATEGIES.iter().find(|s| s.name == name)
}

/// The strategies that play `role`, in registry order.
pub fn with_role(role: Role) -> impl Iterator<Item = &'static StrategyInfo> {
    STRATEGIES.iter().filter(move |s| s.has(role))
}

/// Whether the strategy named `name` (a registry name; an external program plays no role)
/// plays `role`.
/// A memory guard ([`Role::MemoryGuard`]) ends a batch when its live heap passes this share of
/// its budget: under a budget B it grows toward `GUARD_HIGH_WATER × B` on a large input.
pub const GUARD_HIGH_WATER: f64 = 0.70;
/// The budget a memory guard keeps to without `--memory-limit`.
pub const GUARD_DEFAULT_BUDGET_BYTES: u64 = 64 << 20;
/// A memory guard's longest batch, as a multiple of `--chunk-rows`: however large its budget,
/// its batches (and so its memory) grow at most this much past where they start.
pub const GUARD_MAX_GROWTH: usize = 8;

pub fn plays(name: &str, role: Role) -> bool {
    strategy(name).is_some_and(|s| s.has(role))
}

/// The name of the strategy whose answer is the reference ([`Role::Reference`]).
pub fn reference_strategy() -> &'static str {
    with_role(Role::Reference)
        .next()
        .expect("the registry names a reference strategy")
        .name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_lowercase() {
        let mut names: Vec<&str> = STRATEGIES.iter().map(|s| s.name).collect();
        assert!(names.iter().all(|n| {
            n.chars()
                .all(|c| c.is_ascii_lowercase() || c == '-' || c.is_ascii_digit())
        }));
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(before, names.len(), "duplicate strategy names");
    }

    #[test]
    fn exactly_one_strategy_is_the_reference() {
        assert_eq!(with_role(Role::Reference).count(), 1);
        assert_eq!(reference_strategy(), "streaming");
    }

    #[test]
    fn metadata_serializes_with_growth_per_format() {
        let v = serde_json::to_value(strategy("adaptive").unwrap()).unwrap();
        assert_eq!(v["growth"]["sales"]["csv"], "constant");
        assert_eq!(v["growth"]["sales"]["parquet"], "linear");
        let lazy = serde_json::to_value(strategy("lazy").unwrap()).unwrap();
        assert_eq!(lazy["skip"], "refuses");
    }
}
