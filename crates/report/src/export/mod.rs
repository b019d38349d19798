//! One [`Exporter`] per output format, one file each (hyperfine-style).

mod bencher;
mod csv;
mod github;
pub(crate) mod html;
mod json;
mod markdown;

use anyhow::Result;

use crate::Report;

pub use self::bencher::BencherExporter;
pub use self::csv::CsvExporter;
pub use self::github::GithubBenchmarkExporter;
pub use self::html::HtmlExporter;
pub use self::json::JsonExporter;
pub use self::markdown::MarkdownExporter;

/// Renders a [`Report`] into one file's text.
pub trait Exporter {
    /// The file it writes inside the report folder.
    fn file_name(&self) -> &'static str;
    /// The file's contents.
    fn render(&self, report: &Report) -> Result<String>;
}

/// Every exporter, in the order files are written.
pub fn all() -> Vec<Box<dyn Exporter>> {
    vec![
        Box::new(MarkdownExporter),
        Box::new(CsvExporter),
        Box::new(JsonExporter),
        Box::new(HtmlExporter),
        Box::new(BencherExporter),
        Box::new(GithubBenchmarkExporter),
    ]
}
