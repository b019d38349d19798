//! `bencher.json`: Bencher Metric Format — one benchmark per cell, measures peak heap, peak RSS
//! and latency (median, with min and max as bounds).

use anyhow::Result;
use serde_json::{Map, Value, json};

use super::Exporter;
use crate::Report;
use crate::format::rows;

/// Writes `bencher.json`.
pub struct BencherExporter;

impl Exporter for BencherExporter {
    fn file_name(&self) -> &'static str {
        "bencher.json"
    }
    fn render(&self, report: &Report) -> Result<String> {
        let mut doc = Map::new();
        for c in report.cells.iter().filter(|c| c.status.is_ok()) {
            let name = format!(
                "{}/{}/{}/{}",
                c.key.workload,
                c.key.format,
                c.key.strategy,
                rows(c.key.rows)
            );
            let mut m = Map::new();
            let mut put = |measure: &str, s: Option<crate::stats::Spread>| {
                if let Some(s) = s {
                    m.insert(
                        measure.into(),
                        json!({"value": s.median, "lower_value": s.min, "upper_value": s.max}),
                    );
                }
            };
            put("peak-heap-bytes", c.peak_heap_bytes);
            put("peak-rss-bytes", c.peak_rss_bytes);
            put("latency", c.wall_ns);
            doc.insert(name, Value::Object(m));
        }
        Ok(serde_json::to_string_pretty(&Value::Object(doc))? + "\n")
    }
}
