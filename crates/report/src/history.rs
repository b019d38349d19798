//! The history page (`membench history report`): one self-contained `index.html` with a chart
//! per cell and metric across commits (every repetition a dot, the per-commit median a line,
//! each change point a marked vertical line), the table of changes (first commit, size of the
//! step, confidence) and a filter by strategy and workload (also set by the page's query,
//! `?strategy=…&workload=…`); the same charts as SVG files for Markdown (`CHANGES.md`).
//!
//! Must not: read a history store (the caller hands it [`Series`]) or decide a gate.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::changepoint::Step;
use crate::export::html::esc;
use crate::format::{bytes, duration_ns, md_cell};

/// A metric followed across commits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum HistoryMetric {
    /// Peak heap, from counting-allocator repetitions.
    PeakHeap,
    /// Peak RSS, from system-allocator repetitions (else every one).
    PeakRss,
    /// Wall time, from system-allocator repetitions (else every one).
    Time,
}

impl HistoryMetric {
    pub const ALL: [HistoryMetric; 3] = [Self::PeakHeap, Self::PeakRss, Self::Time];

    pub fn label(self) -> &'static str {
        match self {
            Self::PeakHeap => "peak heap",
            Self::PeakRss => "peak RSS",
            Self::Time => "time",
        }
    }

    /// A value of this metric for a reader (bytes or a duration from nanoseconds).
    pub fn format(self, v: f64) -> String {
        match self {
            Self::Time => duration_ns(v),
            _ => bytes(v),
        }
    }

    fn slug(self) -> &'static str {
        match self {
            Self::PeakHeap => "heap",
            Self::PeakRss => "rss",
            Self::Time => "time",
        }
    }
}

/// One cell's metric on one machine, commit by commit.
#[derive(Clone, Debug)]
pub struct Series {
    /// The machine's description (CPU, cores, memory, OS).
    pub machine: String,
    pub strategy: String,
    pub workload: String,
    /// `strategy · workload · format · rows[ · shape]`.
    pub cell: String,
    pub metric: HistoryMetric,
    /// The commits, in the order their first run started.
    pub commits: Vec<String>,
    /// Each commit's repetitions (never empty).
    pub reps: Vec<Vec<f64>>,
    /// The change points found in it.
    pub steps: Vec<Step>,
}

impl Series {
    fn slug(&self, index: usize) -> String {
        let clean: String = format!("{}-{}", self.cell, self.metric.slug())
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        let mut s = String::new();
        for part in clean.split('-').filter(|p| !p.is_empty()) {
            if !s.is_empty() {
                s.push('-');
            }
            s.push_str(part);
        }
        format!("{index:03}-{s}")
    }
}

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 220.0;
const LEFT: f64 = 78.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 24.0;
const BOTTOM: f64 = 34.0;

/// One series as an SVG chart.
pub fn chart_svg(s: &Series) -> String {
    let all: Vec<f64> = s.reps.iter().flatten().copied().collect();
    let (mut lo, mut hi) = all
        .iter()
        .fold((f64::MAX, f64::MIN), |(a, b), &v| (a.min(v), b.max(v)));
    if !lo.is_finite() || !hi.is_finite() {
        (lo, hi) = (0.0, 1.0);
    }
    let pad = ((hi - lo) * 0.1).max(hi.abs() * 0.01).max(1e-9);
    let (lo, hi) = ((lo - pad).max(0.0), hi + pad);
    let n = s.reps.len().max(2) as f64;
    let x = |i: usize| LEFT + (WIDTH - LEFT - RIGHT) * i as f64 / (n - 1.0);
    let y = |v: f64| TOP + (HEIGHT - TOP - BOTTOM) * (1.0 - (v - lo) / (hi - lo));
    let mut svg = String::new();
    let _ = write!(
        svg,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"history-chart\" viewBox=\"0 0 {WIDTH} \
         {HEIGHT}\" width=\"{WIDTH}\" height=\"{HEIGHT}\" font-family=\"sans-serif\" \
         font-size=\"11\"><title>{}</title>\
         <rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>\
         <text x=\"{LEFT}\" y=\"15\" font-size=\"13\">{}</text>",
        esc(&format!("{} — {}", s.cell, s.metric.label())),
        esc(&format!("{} — {}", s.cell, s.metric.label()))
    );
    // Axes: the value range at left, the first and last commit below.
    for v in [lo, (lo + hi) / 2.0, hi] {
        let _ = write!(
            svg,
            "<line x1=\"{LEFT}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"#ddd\"/>\
             <text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            WIDTH - RIGHT,
            LEFT - 4.0,
            y(v) + 4.0,
            esc(&s.metric.format(v)),
            y = y(v)
        );
    }
    if let (Some(first), Some(last)) = (s.commits.first(), s.commits.last()) {
        let _ = write!(
            svg,
            "<text x=\"{LEFT}\" y=\"{}\">{}</text><text x=\"{}\" y=\"{}\" \
             text-anchor=\"end\">{} ({} commits)</text>",
            HEIGHT - 10.0,
            esc(first),
            WIDTH - RIGHT,
            HEIGHT - 10.0,
            esc(last),
            s.commits.len()
        );
    }
    for st in &s.steps {
        let colour = if st.effect > 0.0 { "#c00" } else { "#070" };
        let at = x(st.at) - (x(1) - x(0)) / 2.0;
        let _ = write!(
            svg,
            "<line class=\"change\" x1=\"{at:.1}\" x2=\"{at:.1}\" y1=\"{TOP}\" y2=\"{}\" \
             stroke=\"{colour}\" stroke-dasharray=\"4 3\"><title>{}: {:+.1} % from {}</title>\
             </line>",
            HEIGHT - BOTTOM,
            esc(s.metric.label()),
            st.effect * 100.0,
            esc(&s.commits[st.at])
        );
    }
    for (i, reps) in s.reps.iter().enumerate() {
        for &v in reps {
            let _ = write!(
                svg,
                "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"1.6\" fill=\"#8ab\"/>",
                x(i),
                y(v)
            );
        }
    }
    let points: Vec<String> = s
        .reps
        .iter()
        .enumerate()
        .map(|(i, r)| format!("{:.1},{:.1}", x(i), y(median(r))))
        .collect();
    let _ = write!(
        svg,
        "<polyline class=\"median\" fill=\"none\" stroke=\"#246\" stroke-width=\"1.5\" \
         points=\"{}\"/></svg>",
        points.join(" ")
    );
    svg
}

fn median(x: &[f64]) -> f64 {
    let mut v = x.to_vec();
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

/// Writes `index.html`, `CHANGES.md` and `charts/*.svg` into `dir`; returns the files written.
pub fn write_page(dir: &Path, series: &[Series]) -> Result<Vec<PathBuf>> {
    let charts = dir.join("charts");
    std::fs::create_dir_all(&charts).with_context(|| format!("creating {}", charts.display()))?;
    let mut written = Vec::new();
    let mut html = String::new();
    let mut md = String::from("# Memory over history\n\n");
    let strategies = distinct(series.iter().map(|s| s.strategy.as_str()));
    let workloads = distinct(series.iter().map(|s| s.workload.as_str()));
    let options = |v: &[&str]| -> String {
        v.iter()
            .map(|o| format!("<option value=\"{0}\">{0}</option>", esc(o)))
            .collect()
    };
    let _ = write!(
        html,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>membench — memory over history</title><style>{STYLE}</style></head><body>\
         <h1>Memory over history</h1>\
         <p>{} series over {} commits at most; change points marked (red: worse, green: \
         better).</p>\
         <p><label>strategy <select id=\"strategy\"><option value=\"\">all</option>{}</select>\
         </label> <label>workload <select id=\"workload\"><option value=\"\">all</option>{}\
         </select></label> <span id=\"shown\"></span></p><p id=\"errors\"></p>\
         <h2>Changes</h2><table id=\"changes\"><thead><tr><th>cell</th><th>metric</th>\
         <th>machine</th><th>first commit</th><th>before</th><th>after</th><th>step</th>\
         <th>confidence</th></tr></thead><tbody>",
        series.len(),
        series.iter().map(|s| s.commits.len()).max().unwrap_or(0),
        options(&strategies),
        options(&workloads)
    );
    md.push_str(
        "| cell | metric | first commit | before | after | step | confidence |\n\
         |---|---|---|---:|---:|---:|---|\n",
    );
    let mut changes = 0;
    for s in series {
        for st in &s.steps {
            changes += 1;
            let confidence = match st.p {
                Some(p) => format!("p = {p:.1e}"),
                None => "deterministic".to_string(),
            };
            let kind = if st.effect > 0.0 { "worse" } else { "better" };
            let _ = write!(
                html,
                "<tr class=\"{kind}\" data-strategy=\"{}\" data-workload=\"{}\"><td>{}</td>\
                 <td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:+.1} %</td>\
                 <td>{}</td></tr>",
                esc(&s.strategy),
                esc(&s.workload),
                esc(&s.cell),
                s.metric.label(),
                esc(&s.machine),
                esc(&s.commits[st.at]),
                esc(&s.metric.format(st.before)),
                esc(&s.metric.format(st.after)),
                st.effect * 100.0,
                confidence
            );
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} | {:+.1} % | {} |",
                md_cell(&s.cell),
                s.metric.label(),
                md_cell(&s.commits[st.at]),
                s.metric.format(st.before),
                s.metric.format(st.after),
                st.effect * 100.0,
                confidence
            );
        }
    }
    if changes == 0 {
        html.push_str("<tr><td colspan=\"8\">no change point</td></tr>");
        md.push_str("| no change point | | | | | | |\n");
    }
    html.push_str("</tbody></table><h2>Series</h2>");
    md.push_str("\n## Series\n\n");
    let mut machine = "";
    for (i, s) in series.iter().enumerate() {
        if s.machine != machine {
            machine = &s.machine;
            let _ = write!(html, "<h3>{}</h3>", esc(machine));
            let _ = writeln!(md, "### {}\n", md_cell(machine));
        }
        let svg = chart_svg(s);
        let file = format!("{}.svg", s.slug(i));
        let path = charts.join(&file);
        std::fs::write(&path, &svg).with_context(|| format!("writing {}", path.display()))?;
        written.push(path);
        let _ = write!(
            html,
            "<section class=\"series\" data-strategy=\"{}\" data-workload=\"{}\" \
             data-changes=\"{}\">{svg}</section>",
            esc(&s.strategy),
            esc(&s.workload),
            s.steps.len()
        );
        let _ = writeln!(
            md,
            "![{} — {}](charts/{file})\n",
            md_cell(&s.cell),
            s.metric.label()
        );
    }
    let _ = write!(html, "<script>{SCRIPT}</script></body></html>");
    for (name, text) in [("index.html", html), ("CHANGES.md", md)] {
        let path = dir.join(name);
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
        written.push(path);
    }
    Ok(written)
}

fn distinct<'a>(v: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut out: Vec<&str> = v.collect();
    out.sort_unstable();
    out.dedup();
    out
}

const STYLE: &str = "body{font-family:sans-serif;margin:1.5em;max-width:1400px}\
table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;padding:3px 6px}\
tr.worse td{color:#a00}tr.better td{color:#070}section.series{display:inline-block;margin:4px}\
[hidden]{display:none!important}";

/// The filter: the selects (or the page's query) hide the series and changes of other
/// strategies and workloads.
const SCRIPT: &str = "window.onerror=function(m){document.getElementById('errors').textContent+=m;};\
(function(){var q=new URLSearchParams(location.search);\
var s=document.getElementById('strategy'),w=document.getElementById('workload');\
if(q.get('strategy'))s.value=q.get('strategy');if(q.get('workload'))w.value=q.get('workload');\
function apply(){var n=0;document.querySelectorAll('[data-strategy]').forEach(function(e){\
var ok=(!s.value||e.dataset.strategy===s.value)&&(!w.value||e.dataset.workload===w.value);\
e.hidden=!ok;if(ok&&e.classList.contains('series'))n++;});\
document.getElementById('shown').textContent=n+' series shown';}\
s.addEventListener('change',apply);w.addEventListener('change',apply);apply();\
document.documentElement.dataset.ready='yes';})();";
