//! The sections of `REPORT.md`, one [`Section`] per file, in the order [`all`] lists them. A
//! section reads the [`Report`] (its cells or its raw records) and returns its Markdown, or
//! nothing when the run has nothing for it. A new figure the report shows is one new section
//! (or a change to the one that shows its kind), nothing else.

mod claims;
mod compression;
mod database;
mod groups;
mod guard;
mod header;
mod incremental;
mod phases;
mod shapes;
mod skipped;

use crate::Report;
use crate::stats::CellStats;

pub use self::groups::{cell_text, verdict};
pub use self::incremental::table as incremental_table;

/// One part of `REPORT.md`.
pub trait Section {
    /// Its Markdown, ending with a blank line; empty when the run has nothing for it.
    fn render(&self, report: &Report) -> String;
}

/// Every section, in the order they appear.
pub fn all() -> Vec<Box<dyn Section>> {
    vec![
        Box::new(header::Header),
        Box::new(groups::Groups),
        Box::new(shapes::Shapes),
        Box::new(skipped::Skipped),
        Box::new(database::Databases),
        Box::new(phases::Phases),
        Box::new(guard::Guard),
        Box::new(incremental::Incremental),
        Box::new(compression::Compression),
        Box::new(claims::Claims),
    ]
}

fn median_text(s: Option<crate::stats::Spread>, f: fn(f64) -> String) -> String {
    s.map(|s| f(s.median)).unwrap_or_else(|| "–".into())
}

/// Whether a cell's strategy is a database (its memory is partly outside our process).
fn is_database(c: &CellStats) -> bool {
    use membench_protocol::Engine;
    membench_protocol::strategy(&c.key.strategy)
        .is_some_and(|s| matches!(s.engine, Engine::Sqlite | Engine::Postgres))
}
