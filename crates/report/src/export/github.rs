//! `github-benchmark.json`: github-action-benchmark's `customSmallerIsBetter` format, one entry
//! per cell and metric.

use anyhow::Result;
use serde_json::json;

use super::Exporter;
use crate::Report;
use crate::format::rows;

/// Writes `github-benchmark.json`.
pub struct GithubBenchmarkExporter;

impl Exporter for GithubBenchmarkExporter {
    fn file_name(&self) -> &'static str {
        "github-benchmark.json"
    }
    fn render(&self, report: &Report) -> Result<String> {
        let mut out = Vec::new();
        for c in report.cells.iter().filter(|c| c.status.is_ok()) {
            let cell = format!(
                "{}/{}/{}/{}",
                c.key.workload,
                c.key.format,
                c.key.strategy,
                rows(c.key.rows)
            );
            for (metric, unit, s) in [
                ("peak heap", "bytes", c.peak_heap_bytes),
                ("peak RSS", "bytes", c.peak_rss_bytes),
                ("time", "ns", c.wall_ns),
            ] {
                if let Some(s) = s {
                    out.push(json!({
                        "name": format!("{cell} {metric}"),
                        "unit": unit,
                        "value": s.median,
                        "range": format!("{}..{}", s.min, s.max),
                        "extra": format!("{} repetitions", c.repetitions),
                    }));
                }
            }
        }
        Ok(serde_json::to_string_pretty(&out)? + "\n")
    }
}
