//! The strategies membench compares: each reads a `sales` file its own way and computes a
//! workload's [`Answer`] through the shared kernel (`membench-kernel`).
//!
//! A strategy is one file and one entry in `registry.rs` ([`REGISTRY`]). *How it reads* is the
//! point; what it computes is not its business: record validation and the folds come from the
//! kernel (hand-written strategies) or from one shared Polars query plan ([`polars`]), and every
//! strategy must produce the same answer, the same `rows_read`/`rows_skipped` and the same
//! bad-input error on the same file. What they read with is in [`io`]: the machinery is shared,
//! the choices are each strategy's.
//!
//! This crate must not measure anything (the runner does) and must not print.
//!
//! ```no_run
//! use membench_kernel::Workload;
//! use membench_strategies::{Params, find};
//! let p = Params::new(Workload::TOP_N, "datasets/sales-1m-s42.csv");
//! let out = find("streaming").unwrap().run(&p)?;
//! println!("{} rows, answer {}", out.rows_read, out.answer.digest());
//! # Ok::<(), membench_strategies::RunError>(())
//! ```

pub mod db;
pub mod entry;
pub mod io;
pub mod outcome;
pub mod params;
pub mod polars;

pub use entry::{Entry, Strategy};
pub use io::files::{format_of, input_files, is_multi_file};
pub use io::output::{Output, RowSink, etl_target};
pub use io::parquet::Projection;
pub use io::{checkpoint, etl_out, pipeline, threads};
pub use membench_protocol::{
    Compression, Decompress, Engine, Format, Growth, Growths, PerFormat, Queries, Requirement,
    Role, Skip, StrategyInfo,
};
pub use outcome::{Outcome, RunError};
pub use params::{
    CheckpointParams, DbParams, Observer, Params, QueryParams, Resume, set_default_postgres_url,
};

// The strategies: one file each, declared by the registry (`registry.rs`), which pairs each
// with its metadata.
macro_rules! registry {
    ($($module:ident :: $ty:ident => $info:expr),* $(,)?) => {
        $(mod $module;)*
        /// Every strategy, in registry order (from `registry.rs`: one entry each).
        pub static REGISTRY: &[Entry] = &[$(Entry { info: $info, strategy: &$module::$ty }),*];
    };
}

include!("registry.rs");

/// Looks a strategy up by name.
pub fn find(name: &str) -> Option<&'static Entry> {
    REGISTRY.iter().find(|s| s.name() == name)
}

/// The names of all strategies.
pub fn names() -> Vec<&'static str> {
    REGISTRY.iter().map(|s| s.name()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_registry_and_the_protocol_catalogue_are_the_same_data() {
        let here: Vec<&StrategyInfo> = REGISTRY.iter().map(|e| &e.info).collect();
        let there: Vec<&StrategyInfo> = membench_protocol::STRATEGIES.iter().collect();
        assert_eq!(here, there);
    }
}
