//! `REPORT.md`: the [`crate::section`]s, in order.

use anyhow::Result;

use super::Exporter;
use crate::Report;

/// Writes `REPORT.md`.
pub struct MarkdownExporter;

impl Exporter for MarkdownExporter {
    fn file_name(&self) -> &'static str {
        "REPORT.md"
    }
    fn render(&self, report: &Report) -> Result<String> {
        Ok(crate::section::all()
            .iter()
            .map(|s| s.render(report))
            .collect())
    }
}
