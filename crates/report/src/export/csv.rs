//! `summary.csv`: one row per cell.

use anyhow::Result;

use super::Exporter;
use crate::Report;

/// Writes `summary.csv`.
pub struct CsvExporter;

const HEADER: &str = "workload,format,strategy,rows,status,repetitions,input_bytes,\
peak_heap_bytes_median,peak_heap_bytes_min,peak_heap_bytes_max,peak_rss_bytes_median,\
peak_rss_anon_bytes_median,wall_ns_median,wall_ns_min,wall_ns_max,mb_per_s,growth_slope,\
time_allocator,counting_overhead,shape";

impl Exporter for CsvExporter {
    fn file_name(&self) -> &'static str {
        "summary.csv"
    }
    fn render(&self, report: &Report) -> Result<String> {
        // Through the csv crate: a name with a comma or a quote is quoted, never a shifted row.
        let mut w = csv::WriterBuilder::new()
            .terminator(csv::Terminator::Any(b'\n'))
            .from_writer(Vec::new());
        w.write_record(HEADER.split(','))?;
        let opt = |v: Option<f64>| v.map(|x| format!("{x:.0}")).unwrap_or_default();
        for c in &report.cells {
            let g = report.growth.get(&crate::stats::strategy_key(&c.key));
            let row = [
                c.key.workload.to_string(),
                c.key.format.to_string(),
                c.key.strategy.clone(),
                c.key.rows.to_string(),
                c.status.to_string(),
                c.repetitions.to_string(),
                c.input_bytes.to_string(),
                opt(c.peak_heap_bytes.map(|s| s.median)),
                opt(c.peak_heap_bytes.map(|s| s.min)),
                opt(c.peak_heap_bytes.map(|s| s.max)),
                opt(c.peak_rss_bytes.map(|s| s.median)),
                opt(c.peak_rss_anon_bytes.map(|s| s.median)),
                opt(c.wall_ns.map(|s| s.median)),
                opt(c.wall_ns.map(|s| s.min)),
                opt(c.wall_ns.map(|s| s.max)),
                c.mb_per_s.map(|x| format!("{x:.1}")).unwrap_or_default(),
                g.map(|g| format!("{:.3}", g.slope)).unwrap_or_default(),
                c.time_allocator.name().to_string(),
                c.counting_overhead
                    .map(|x| format!("{x:.3}"))
                    .unwrap_or_default(),
                c.key.shape.label(),
            ];
            w.write_record(&row)?;
        }
        Ok(String::from_utf8(w.into_inner()?)?)
    }
}
