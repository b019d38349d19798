//! `index.html`: one self-contained, interactive file (no network, no library). The Markdown
//! tables' content and every SVG chart are written as HTML, readable without a script; a
//! script of our own (`interactive.js`, inlined) adds navigation by workload × format, charts
//! with hover values and series toggles, sortable raw records, a size input and budget slider
//! that rank the strategies from the same fitted models as `cargo xtask recommend`, and a
//! comparison with a baseline when the report has one. The data it reads is JSON in the page,
//! written here from the report.

use std::fmt::Write as _;

use anyhow::Result;
use serde::Serialize;

use super::Exporter;
use crate::Report;
use crate::format::rows;
use crate::predict::{self, Model};
use crate::section::{cell_text, verdict};
use crate::stats::effective_status;
use membench_protocol::{GroupKey, InputFormat, Shape, Status, Workload};

/// Writes `index.html`.
pub struct HtmlExporter;

const SCRIPT: &str = include_str!("interactive.js");

const STYLE: &str = "body{font-family:sans-serif;max-width:1250px;margin:auto;padding:0 12px}\
table{border-collapse:collapse;margin:6px 0}td,th{border:1px solid #ccc;padding:3px 7px;font-size:13px}\
.bad{color:#b00;font-weight:bold}nav button{margin:2px;padding:4px 10px;border:1px solid #999;\
background:#f4f4f4;cursor:pointer}nav button.current{background:#1f77b4;color:#fff}\
#recommend{background:#f7f9fc;border:1px solid #cdd;padding:8px 14px;margin:10px 0}\
#budget{width:420px;vertical-align:middle}#rec-top{font-weight:bold}.fits-no{color:#999}\
.fits-maybe{color:#a60}input.invalid{outline:2px solid #b00}svg.chart{margin:4px}\
svg .axis{stroke:#333}svg .grid{stroke:#eee}svg .tick{font-size:11px}svg .title{font-size:14px}\
svg .legend-item{cursor:pointer}svg .off{opacity:.15}svg g.series.off{display:none}\
#tip{position:absolute;background:#222;color:#fff;padding:3px 7px;font-size:12px;border-radius:3px;\
pointer-events:none}#errors{color:#b00}th[data-key]{cursor:pointer}\
th[data-order=ascending]::after{content:' ▲'}th[data-order=descending]::after{content:' ▼'}\
td.worse{color:#b00}td.better{color:#070}#selftest:empty{display:none}";

pub(crate) fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn strip_md(s: &str) -> String {
    esc(&s.replace("**", ""))
}

/// JSON text made safe inside a `<script>` element: `<`, `>`, `&`, U+2028 and U+2029 as
/// `\uXXXX` escapes (the parsed value is unchanged).
pub fn script_safe_json(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

/// The page's data (`<script id="membench-data">`).
#[derive(Serialize)]
struct Data<'a> {
    strategies: Vec<&'a str>,
    groups: Vec<Group<'a>>,
    records: Vec<Raw<'a>>,
    baseline: Option<&'a [crate::gate::BaselineCell]>,
    baseline_label: &'a str,
    min_rel_interval: f64,
    bounded_margin: f64,
    guard_high_water: f64,
    guard_default_budget: u64,
    guard_max_growth: usize,
}

#[derive(Serialize)]
struct Group<'a> {
    id: String,
    workload: &'a Workload,
    format: InputFormat,
    #[serde(skip_serializing_if = "Shape::is_default")]
    shape: Shape,
    sizes: Vec<u64>,
    strategies: Vec<&'a str>,
    cells: Vec<Cell<'a>>,
    fitted: Vec<Fitted>,
    left_out: Vec<String>,
}

#[derive(Serialize)]
struct Cell<'a> {
    strategy: &'a str,
    rows: u64,
    status: Status,
    heap: Option<f64>,
    anon: Option<f64>,
    rss: Option<f64>,
    wall: Option<f64>,
    limit: Option<&'a str>,
}

#[derive(Serialize)]
struct Fitted {
    strategy: String,
    memory: Model,
    time: Model,
    /// A memory guard: its memory follows the budget (`predict::rank`'s rule, repeated in the
    /// page).
    guard: bool,
    /// A guard's peak heap model: whether it filled the default budget is judged from it.
    #[serde(skip_serializing_if = "Option::is_none")]
    guard_heap: Option<Model>,
}

#[derive(Serialize)]
struct Raw<'a> {
    strategy: &'a str,
    workload: &'a Workload,
    format: InputFormat,
    #[serde(skip_serializing_if = "Shape::is_default")]
    shape: Shape,
    rows: u64,
    repetition: u32,
    allocator: &'static str,
    status: Status,
    peak_heap_bytes: Option<u64>,
    peak_rss_bytes: u64,
    wall_ns: Option<u64>,
}

fn group_data<'a>(report: &'a Report, g: &'a GroupKey) -> Group<'a> {
    let (workload, format) = (&g.workload, g.format);
    let (cells, sizes, strategies) = report.group(g);
    let median = |s: &Option<crate::stats::Spread>| s.map(|s| s.median);
    let (fitted, left_out) = predict::fit(&report.records, g);
    Group {
        id: match g.shape.is_default() {
            true => format!("{workload}/{format}"),
            false => format!("{workload}/{format}/{}", g.shape.label()),
        },
        workload,
        format,
        shape: g.shape,
        sizes,
        strategies,
        cells: cells
            .iter()
            .map(|c| Cell {
                strategy: &c.key.strategy,
                rows: c.key.rows,
                status: c.status,
                heap: median(&c.peak_heap_bytes),
                anon: median(&c.peak_rss_anon_bytes),
                rss: median(&c.peak_rss_bytes),
                wall: median(&c.wall_ns),
                limit: c.memory_limit.as_deref(),
            })
            .collect(),
        fitted: fitted
            .into_iter()
            .map(|(strategy, f)| Fitted {
                guard: membench_protocol::plays(&strategy, membench_protocol::Role::MemoryGuard),
                guard_heap: f.guard_heap,
                strategy,
                memory: f.memory,
                time: f.time,
            })
            .collect(),
        left_out,
    }
}

fn data<'a>(report: &'a Report, groups: &'a [GroupKey]) -> Data<'a> {
    let mut strategies: Vec<&str> = report
        .cells
        .iter()
        .map(|c| c.key.strategy.as_str())
        .collect();
    strategies.sort_unstable();
    strategies.dedup();
    Data {
        strategies,
        groups: groups.iter().map(|g| group_data(report, g)).collect(),
        records: report
            .records
            .iter()
            .map(|r| Raw {
                strategy: &r.strategy,
                workload: &r.workload,
                format: r.format,
                shape: r.shape,
                rows: r.rows,
                repetition: r.repetition,
                allocator: r.allocator.name(),
                status: effective_status(r),
                peak_heap_bytes: r.measure.peak_heap_bytes,
                peak_rss_bytes: r.process.peak_rss_bytes,
                wall_ns: r.measure.wall_ns,
            })
            .collect(),
        baseline: report.baseline.as_ref().map(|(_, b)| b.cells.as_slice()),
        baseline_label: report
            .baseline
            .as_ref()
            .map(|(l, _)| l.as_str())
            .unwrap_or(""),
        min_rel_interval: predict::MIN_REL_INTERVAL,
        bounded_margin: predict::BOUNDED_MARGIN,
        guard_high_water: membench_protocol::GUARD_HIGH_WATER,
        guard_default_budget: membench_protocol::GUARD_DEFAULT_BUDGET_BYTES,
        guard_max_growth: membench_protocol::GUARD_MAX_GROWTH,
    }
}

fn header(h: &mut String, report: &Report) -> Result<()> {
    writeln!(
        h,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>membench: {}</title>\
         <style>{STYLE}</style></head><body>",
        esc(&report.title)
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
    writeln!(
        h,
        "<nav id=\"groups\"></nav>\n<section id=\"recommend\"><h2>Which strategy?</h2>\
         <label>rows <input id=\"size\" size=\"8\"></label> \
         <label>memory <input id=\"budget\" type=\"range\" min=\"20\" max=\"36\" step=\"0.25\"> \
         <span id=\"budget-label\"></span></label>\
         <p id=\"rec-top\"></p><table id=\"rec-table\"></table>\
         <p><small>Predicted from this run's measurements (peak anonymous RSS and time fitted \
         against rows, as <code>cargo xtask recommend</code>); a strategy fits when the top of \
         its interval does.</small></p></section>\
         <pre id=\"errors\" hidden></pre><pre id=\"selftest\"></pre><div id=\"tip\" hidden></div>"
    )?;
    Ok(())
}

fn cells_table(h: &mut String, report: &Report, g: &GroupKey) -> Result<()> {
    let (cells, sizes, strategies) = report.group(g);
    write!(h, "<table><tr><th>strategy</th>")?;
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
                Some(c) if !c.status.is_ok() => {
                    write!(h, "<td class=\"bad\">{}</td>", strip_md(&cell_text(c)))?
                }
                Some(c) => write!(h, "<td>{}</td>", strip_md(&cell_text(c)))?,
                None => write!(h, "<td>–</td>")?,
            }
        }
        let growth = report.growth.get(&(g.clone(), st.to_string()));
        writeln!(
            h,
            "<td>{}</td></tr>",
            growth.map(|g| g.class()).unwrap_or_else(|| "–".into())
        )?;
    }
    writeln!(h, "</table>")?;
    if let Some(v) = verdict(&cells) {
        writeln!(h, "<p>{}</p>", strip_md(&v))?;
    }
    Ok(())
}

fn group_section(h: &mut String, report: &Report, g: &GroupKey) -> Result<()> {
    let (w, f) = (esc(&g.workload.name()), esc(g.format.name()));
    let shape = esc(&g.shape.label());
    let title = esc(&g.title());
    writeln!(
        h,
        "<section class=\"group\" data-group=\"{w}/{f}{}{shape}\"><h2>{title}</h2>",
        if shape.is_empty() { "" } else { "/" }
    )?;
    cells_table(h, report, g)?;
    writeln!(
        h,
        "<div class=\"interactive\"></div><div class=\"vs-baseline\"></div>"
    )?;
    writeln!(
        h,
        "<details><summary>charts as in REPORT.md (SVG)</summary>"
    )?;
    for chart in report.charts.iter().filter(|c| c.group == *g) {
        writeln!(h, "<figure>{}</figure>", chart.svg.as_deref().unwrap_or(""))?;
    }
    writeln!(
        h,
        "</details><details><summary>raw records (click a column to sort)</summary>\
         <div class=\"raw-records\"></div></details></section>"
    )?;
    Ok(())
}

impl Exporter for HtmlExporter {
    fn file_name(&self) -> &'static str {
        "index.html"
    }
    fn render(&self, report: &Report) -> Result<String> {
        let mut h = String::new();
        header(&mut h, report)?;
        let groups = report.groups();
        for g in &groups {
            group_section(&mut h, report, g)?;
        }
        // Inside a script element, `</script`, `<!--` and friends must not appear: every `<`,
        // `>` and `&` is written as a JSON escape (still the same string to JSON.parse), and so
        // are U+2028/U+2029, which old parsers took for line ends.
        let json = script_safe_json(&serde_json::to_string(&data(report, &groups))?);
        writeln!(
            h,
            "<script type=\"application/json\" id=\"membench-data\">{json}</script>\n\
             <script>\n{SCRIPT}</script>\n</body></html>"
        )?;
        Ok(h)
    }
}
