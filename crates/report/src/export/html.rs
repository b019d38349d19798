//! `index.html`: the Markdown tables' content as HTML with every chart inlined, one
//! self-contained file.

use std::fmt::Write as _;

use anyhow::Result;

use super::Exporter;
use super::markdown::{cell_text, verdict};
use crate::Report;
use crate::format::rows;

/// Writes `index.html`.
pub struct HtmlExporter;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn strip_md(s: &str) -> String {
    esc(&s.replace("**", ""))
}

impl Exporter for HtmlExporter {
    fn file_name(&self) -> &'static str {
        "index.html"
    }
    fn render(&self, report: &Report) -> Result<String> {
        let mut h = String::new();
        writeln!(
            h,
            "<!doctype html><html><head><meta charset=\"utf-8\"><title>membench: {}</title>",
            esc(&report.title)
        )?;
        writeln!(
            h,
            "<style>body{{font-family:sans-serif;max-width:1200px;margin:auto}}table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:4px 8px;font-size:13px}}.bad{{color:#b00;font-weight:bold}}</style></head><body>"
        )?;
        writeln!(h, "<h1>membench report: {}</h1>", esc(&report.title))?;
        let c = &report.context;
        writeln!(
            h,
            "<p>{} · git {} · {} · {} cores · {}</p>",
            esc(&c.started_at),
            esc(&c.git_rev),
            esc(&c.cpu),
            c.cores,
            esc(&c.os)
        )?;
        for (workload, format) in report.groups() {
            let (cells, sizes, strategies) = report.group(&workload, &format);
            writeln!(
                h,
                "<h2>{} · {}</h2><table><tr><th>strategy</th>",
                esc(&workload),
                esc(&format)
            )?;
            for s in &sizes {
                write!(h, "<th>{} rows</th>", rows(*s))?;
            }
            writeln!(h, "<th>growth</th></tr>")?;
            for st in &strategies {
                write!(h, "<tr><td>{}</td>", esc(st))?;
                for s in &sizes {
                    match cells
                        .iter()
                        .find(|c| c.key.strategy == *st && c.key.rows == *s)
                    {
                        Some(c) if !c.status.is_ok() => write!(
                            h,
                            "<td class=\"bad\">{}</td>",
                            esc(&c.status.name().to_uppercase())
                        )?,
                        Some(c) => write!(h, "<td>{}</td>", strip_md(&cell_text(c)))?,
                        None => write!(h, "<td>–</td>")?,
                    }
                }
                let g = report
                    .growth
                    .get(&(workload.clone(), format.clone(), st.to_string()));
                writeln!(
                    h,
                    "<td>{}</td></tr>",
                    g.map(|g| g.class()).unwrap_or_else(|| "–".into())
                )?;
            }
            writeln!(h, "</table>")?;
            if let Some(v) = verdict(&cells) {
                writeln!(h, "<p>{}</p>", strip_md(&v))?;
            }
            for chart in report
                .charts
                .iter()
                .filter(|c| c.workload == workload && c.format == format)
            {
                writeln!(h, "<figure>{}</figure>", chart.svg.as_deref().unwrap_or(""))?;
            }
        }
        writeln!(h, "</body></html>")?;
        Ok(h)
    }
}
