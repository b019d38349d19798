//! "Skipped": the strategies that did not run here, once each, with the reason.

use std::fmt::Write as _;

use membench_protocol::Status;

use super::Section;
use crate::Report;

/// The strategies that did not run here, once each, with the reason.
pub struct Skipped;

impl Section for Skipped {
    fn render(&self, report: &Report) -> String {
        let cells = &report.cells;
        let mut seen = std::collections::BTreeMap::new();
        for c in cells.iter().filter(|c| c.status == Status::Skipped) {
            seen.entry(c.key.strategy.as_str())
                .or_insert_with(|| c.error.clone().unwrap_or_default());
        }
        if seen.is_empty() {
            return String::new();
        }
        let mut md = String::from("## Skipped\n\n");
        for (strategy, reason) in seen {
            let _ = writeln!(md, "- `{strategy}`: {reason}");
        }
        md.push('\n');
        md
    }
}
