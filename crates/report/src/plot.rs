//! Charts as SVG with plotters: memory and time against size (log-log), RSS over time at the
//! largest size, the time-vs-memory trade-off, and the decision maps (size × budget, predicted;
//! key cardinality × budget at one size, measured).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow};
use plotters::prelude::*;

use crate::Report;
use crate::format::rows;
use crate::stats::{CellStats, effective_status};
use membench_protocol::{GroupKey, InputFormat, Role, rows_label};

/// What a chart shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChartKind {
    HeapVsSize,
    RssVsSize,
    TimeVsSize,
    RssTimeline,
    HeapTimeline,
    TradeOff,
    /// `adaptive`'s batch length along the input (only where `adaptive` ran).
    Batches,
    /// Dataset size × memory budget, each region coloured by the fastest strategy predicted
    /// to fit (only for groups measured at three sizes or more).
    DecisionMap,
    /// Group-key cardinality × memory budget at one size, each region coloured by the fastest
    /// strategy measured ok within the budget (for a workload run on two `--key-cardinality`
    /// values or more).
    CardinalityMap,
}

impl ChartKind {
    const ALL: [ChartKind; 6] = [
        Self::HeapVsSize,
        Self::RssVsSize,
        Self::TimeVsSize,
        Self::RssTimeline,
        Self::HeapTimeline,
        Self::TradeOff,
    ];
    fn slug(self) -> &'static str {
        match self {
            Self::HeapVsSize => "heap-vs-size",
            Self::RssVsSize => "rss-vs-size",
            Self::TimeVsSize => "time-vs-size",
            Self::RssTimeline => "rss-timeline",
            Self::HeapTimeline => "heap-timeline",
            Self::TradeOff => "tradeoff",
            Self::Batches => "batches",
            Self::DecisionMap => "decision-map",
            Self::CardinalityMap => "cardinality-map",
        }
    }
}

/// A chart of one group (workload, format, shape).
#[derive(Clone, Debug)]
pub struct Chart {
    pub group: GroupKey,
    pub kind: ChartKind,
    pub title: String,
    /// File name inside the report folder.
    pub file: String,
    /// The SVG text once drawn.
    pub svg: Option<String>,
    /// [`ChartKind::CardinalityMap`]: the size it is drawn at (its `group` has the default
    /// shape and stands for every cardinality).
    pub at_rows: Option<u64>,
}

/// The charts a set of cells calls for.
pub fn planned_charts(cells: &[CellStats]) -> Vec<Chart> {
    let mut groups: Vec<GroupKey> = cells.iter().map(|c| c.key.group()).collect();
    groups.sort();
    groups.dedup();
    let mut out = Vec::new();
    for g in groups {
        let guarded = cells
            .iter()
            .any(|c| c.key.group() == g && guarded(&c.key.strategy) && c.status.is_ok());
        let extra = guarded.then_some(ChartKind::Batches);
        let mut sizes: Vec<u64> = cells
            .iter()
            .filter(|c| c.key.group() == g && c.status.is_ok())
            .map(|c| c.key.rows)
            .collect();
        sizes.sort_unstable();
        sizes.dedup();
        let map = (sizes.len() >= MAP_MIN_SIZES).then_some(ChartKind::DecisionMap);
        for kind in ChartKind::ALL.into_iter().chain(extra).chain(map) {
            let what = match kind {
                ChartKind::HeapVsSize => "peak heap vs rows".to_string(),
                ChartKind::RssVsSize => "peak RSS vs rows".to_string(),
                ChartKind::TimeVsSize => "time vs rows".to_string(),
                ChartKind::RssTimeline => "RSS over time at the largest size".to_string(),
                ChartKind::HeapTimeline => "heap over time at the largest size".to_string(),
                ChartKind::TradeOff => "time vs peak RSS at the largest size".to_string(),
                ChartKind::Batches => "adaptive's batch length along the file".to_string(),
                ChartKind::DecisionMap => {
                    "decision map: the fastest strategy predicted to fit".to_string()
                }
                // Planned by `cardinality_maps`, not per group.
                ChartKind::CardinalityMap => continue,
            };
            let (w, f) = (&g.workload, g.format);
            out.push(Chart {
                title: format!("{}: {what}", g.title()),
                file: format!("chart-{w}-{f}{}-{}.svg", g.shape.file_suffix(), kind.slug()),
                group: g.clone(),
                kind,
                svg: None,
                at_rows: None,
            });
        }
    }
    out.extend(cardinality_maps(cells));
    out
}

/// The shapes of a group that differ from the default table only in their key cardinality.
fn cardinality_of(shape: &membench_protocol::Shape) -> Option<u64> {
    let k = shape.key_cardinality?;
    let mut rest = *shape;
    rest.key_cardinality = None;
    rest.is_default().then_some(k)
}

/// One [`ChartKind::CardinalityMap`] per workload and format measured at two key cardinalities
/// or more, at the largest size every one of them was measured at.
fn cardinality_maps(cells: &[CellStats]) -> Vec<Chart> {
    let mut by: std::collections::BTreeMap<(String, InputFormat), BTreeMap<u64, BTreeSet<u64>>> =
        Default::default();
    for c in cells.iter().filter(|c| c.status.is_ok()) {
        if let Some(k) = cardinality_of(&c.key.shape) {
            by.entry((c.key.workload.to_string(), c.key.format))
                .or_default()
                .entry(k)
                .or_default()
                .insert(c.key.rows);
        }
    }
    let mut out = Vec::new();
    for ((w, f), ks) in by {
        if ks.len() < 2 {
            continue;
        }
        let common = ks
            .values()
            .skip(1)
            .fold(ks.values().next().cloned().unwrap_or_default(), |a, b| {
                a.intersection(b).copied().collect()
            });
        let Some(&rows) = common.iter().max() else {
            continue;
        };
        let Some(group) = cells
            .iter()
            .find(|c| c.key.workload.to_string() == w && c.key.format == f)
            .map(|c| GroupKey {
                shape: membench_protocol::Shape::default(),
                ..c.key.group()
            })
        else {
            continue;
        };
        out.push(Chart {
            title: format!(
                "{w} · {f} at {} rows: the fastest strategy measured ok within each budget, by key cardinality",
                rows_label(rows)
            ),
            file: format!("chart-{w}-{f}-cardinality-map.svg"),
            group,
            kind: ChartKind::CardinalityMap,
            svg: None,
            at_rows: Some(rows),
        });
    }
    out
}

/// Draws every planned chart into `dir`, fills in their SVG text, returns the files.
pub fn draw_all(report: &mut Report, dir: &Path) -> Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    for i in 0..report.charts.len() {
        let svg = render(report, &report.charts[i])?;
        let path = dir.join(&report.charts[i].file);
        std::fs::write(&path, &svg).with_context(|| format!("writing {}", path.display()))?;
        report.charts[i].svg = Some(svg);
        written.push(path);
    }
    Ok(written)
}

type Series = (String, Vec<(f64, f64)>);

/// Whether a strategy's batch trace is drawn ([`ChartKind::Batches`]): its registry entry plays
/// [`Role::MemoryGuard`].
pub fn guarded(strategy: &str) -> bool {
    membench_protocol::plays(strategy, Role::MemoryGuard)
}

/// A memory guard's batches at the largest size, one series per strategy and budget: a step
/// line of the batch length (rows) against the row it started at.
fn batch_series(report: &Report, chart: &Chart, largest: u64) -> Vec<Series> {
    let mut out: Vec<Series> = Vec::new();
    for r in report.records.iter().filter(|r| {
        guarded(&r.strategy)
            && chart.group.holds(r)
            && r.rows == largest
            && effective_status(r).is_ok()
            && !r.measure.batches.is_empty()
    }) {
        let name = format!(
            "{}, budget {}",
            r.strategy,
            r.memory_limit.as_deref().unwrap_or("default (64 MiB)")
        );
        if out.iter().any(|s| s.0 == name) {
            continue;
        }
        let pts = r
            .measure
            .batches
            .iter()
            .flat_map(|b| {
                [
                    (b[0] as f64, b[1] as f64),
                    ((b[0] + b[1]) as f64, b[1] as f64),
                ]
            })
            .collect();
        out.push((name, pts));
    }
    out
}

fn series_for(report: &Report, chart: &Chart) -> (Vec<Series>, &'static str, &'static str, bool) {
    let cells: Vec<&CellStats> = report
        .cells
        .iter()
        .filter(|c| c.key.group() == chart.group && c.status.is_ok())
        .collect();
    let mut strategies: Vec<String> = cells.iter().map(|c| c.key.strategy.clone()).collect();
    strategies.sort();
    strategies.dedup();
    let largest = cells.iter().map(|c| c.key.rows).max().unwrap_or(0);
    const MIB: f64 = 1048576.0;
    let by_size = |f: &dyn Fn(&CellStats) -> Option<f64>| -> Vec<Series> {
        strategies
            .iter()
            .map(|s| {
                let mut pts: Vec<(f64, f64)> = cells
                    .iter()
                    .filter(|c| &c.key.strategy == s)
                    .filter_map(|c| f(c).map(|y| (c.key.rows as f64, y)))
                    .collect();
                pts.sort_by(|a, b| a.0.total_cmp(&b.0));
                (s.clone(), pts)
            })
            .collect()
    };
    match chart.kind {
        ChartKind::DecisionMap | ChartKind::CardinalityMap => {
            (Vec::new(), "rows", "memory budget", true)
        }
        ChartKind::Batches => (
            batch_series(report, chart, largest),
            "row the batch starts at",
            "batch length (rows)",
            false,
        ),
        ChartKind::HeapVsSize => (
            by_size(&|c| c.peak_heap_bytes.map(|s| s.median.max(1.0) / MIB)),
            "rows",
            "peak heap (MiB)",
            true,
        ),
        ChartKind::RssVsSize => (
            by_size(&|c| c.peak_rss_bytes.map(|s| s.median / MIB)),
            "rows",
            "peak RSS (MiB)",
            true,
        ),
        ChartKind::TimeVsSize => (
            by_size(&|c| c.wall_ns.map(|s| s.median.max(1.0) / 1e6)),
            "rows",
            "median time (ms)",
            true,
        ),
        ChartKind::TradeOff => (
            strategies
                .iter()
                .map(|s| {
                    let pts = cells
                        .iter()
                        .filter(|c| &c.key.strategy == s && c.key.rows == largest)
                        .filter_map(|c| {
                            Some((c.wall_ns?.median / 1e6, c.peak_rss_bytes?.median / MIB))
                        })
                        .collect();
                    (s.clone(), pts)
                })
                .collect(),
            "median time (ms)",
            "peak RSS (MiB)",
            true,
        ),
        ChartKind::RssTimeline | ChartKind::HeapTimeline => {
            let heap = chart.kind == ChartKind::HeapTimeline;
            let series = strategies
                .iter()
                .map(|s| {
                    let rec = report.records.iter().find(|r| {
                        &r.strategy == s
                            && chart.group.holds(r)
                            && r.rows == largest
                            && effective_status(r).is_ok()
                            // Timelines of the counting runs: they carry the heap samples.
                            && r.allocator == membench_protocol::Allocator::Counting
                    });
                    let pts = match rec {
                        Some(r) if heap => r
                            .measure
                            .heap_timeline
                            .iter()
                            .map(|t| (t[0] as f64 / 1e6, t[1] as f64 / MIB))
                            .collect(),
                        Some(r) => r
                            .process
                            .timeline
                            .iter()
                            .map(|t| (t[0] as f64 / 1e6, t[1] as f64 / MIB))
                            .collect(),
                        None => Vec::new(),
                    };
                    (s.clone(), pts)
                })
                .collect();
            if heap {
                (
                    series,
                    "time since the strategy started (ms)",
                    "live heap above baseline (MiB)",
                    false,
                )
            } else {
                (
                    series,
                    "time since the process started (ms)",
                    "RSS (MiB)",
                    false,
                )
            }
        }
    }
}

fn bounds(series: &[Series], log: bool) -> ((f64, f64), (f64, f64)) {
    let pts = series.iter().flat_map(|s| s.1.iter());
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for &(x, y) in pts {
        x0 = x0.min(x);
        x1 = x1.max(x);
        y0 = y0.min(y);
        y1 = y1.max(y);
    }
    if x0 > x1 {
        return ((1.0, 10.0), (1.0, 10.0));
    }
    if log {
        let lo = |v: f64| (v / 1.5).max(1e-6);
        ((lo(x0), x1 * 1.5), (lo(y0), y1 * 1.5))
    } else {
        ((0.0, x1.max(1.0) * 1.05), (0.0, y1.max(1.0) * 1.1))
    }
}

/// The sizes at which a strategy ran out of its budget (`oom`), for the charts against size:
/// each is drawn as a ✗ at the top of the chart, in the strategy's colour.
fn oom_markers(report: &Report, chart: &Chart) -> Vec<(String, u64)> {
    let against_size = matches!(
        chart.kind,
        ChartKind::HeapVsSize | ChartKind::RssVsSize | ChartKind::TimeVsSize
    );
    if !against_size {
        return Vec::new();
    }
    report
        .cells
        .iter()
        .filter(|c| c.key.group() == chart.group && c.status == membench_protocol::Status::Oom)
        .map(|c| (c.key.strategy.clone(), c.key.rows))
        .collect()
}

/// The legend every chart draws: upper left, on a white box.
fn draw_legend<'a, DB, CT>(c: &mut ChartContext<'a, DB, CT>) -> Result<()>
where
    DB: DrawingBackend + 'a,
    CT: CoordTranslate,
{
    c.configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(|e| anyhow!("{e:?}"))
}

/// Sizes a group needs before its decision map is drawn (two sizes leave a fit no residual).
pub const MAP_MIN_SIZES: usize = 3;

/// The decision map's grid: sizes from the smallest measured to 100× the largest, budgets from
/// 1 MiB to 64 GiB, both on log scales.
fn map_grid(report: &Report, chart: &Chart) -> (Vec<u64>, Vec<u64>) {
    let sizes: Vec<u64> = report
        .cells
        .iter()
        .filter(|c| c.key.group() == chart.group)
        .map(|c| c.key.rows)
        .collect();
    let (lo, hi) = (
        *sizes.iter().min().unwrap_or(&10_000) as f64,
        *sizes.iter().max().unwrap_or(&1_000_000) as f64 * 100.0,
    );
    let steps = 28;
    let geo = |a: f64, b: f64, i: usize| (a * (b / a).powf(i as f64 / (steps - 1) as f64)) as u64;
    let rows = (0..steps).map(|i| geo(lo, hi, i)).collect();
    let budgets = (0..steps)
        .map(|i| geo((1u64 << 20) as f64, (64u64 << 30) as f64, i))
        .collect();
    (rows, budgets)
}

/// The decision map: for each size, every strategy's predicted memory and time
/// (`predict::fit`, `predict::rank`), then per budget the fastest whose interval's top fits.
fn render_decision_map(report: &Report, chart: &Chart) -> Result<String> {
    use crate::predict::{Fits, fit, rank};
    let (sizes, budgets) = map_grid(report, chart);
    let mut names: Vec<String> = report
        .cells
        .iter()
        .filter(|c| c.key.group() == chart.group)
        .filter(|c| c.status.is_ok())
        .map(|c| c.key.strategy.clone())
        .collect();
    names.sort();
    names.dedup();
    // winner[i][j]: size i, budget j.
    let mut winner: Vec<Vec<Option<usize>>> = Vec::new();
    let (fitted, _) = fit(&report.records, &chart.group);
    for &n in &sizes {
        let ranked = rank(&fitted, n, u64::MAX);
        winner.push(
            budgets
                .iter()
                .map(|&b| {
                    ranked
                        .iter()
                        .filter(|c| c.fits == Fits::Yes && c.memory_bytes.hi <= b as f64)
                        .min_by(|x, y| x.wall_ns.mid.total_cmp(&y.wall_ns.mid))
                        .and_then(|c| names.iter().position(|s| *s == c.strategy))
                })
                .collect(),
        );
    }
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (860, 520)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| anyhow!("{e:?}"))?;
        let (x0, x1) = (sizes[0] as f64, *sizes.last().unwrap_or(&1) as f64);
        let (y0, y1) = (budgets[0] as f64, *budgets.last().unwrap_or(&1) as f64);
        let mut c = ChartBuilder::on(&root)
            .caption(&chart.title, ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(45)
            .y_label_area_size(75)
            .build_cartesian_2d((x0..x1).log_scale(), (y0..y1).log_scale())
            .map_err(|e| anyhow!("{e:?}"))?;
        c.configure_mesh()
            .x_desc("rows (predicted beyond the largest measured size)")
            .y_desc("memory budget")
            .x_label_formatter(&|v: &f64| rows(*v as u64))
            .y_label_formatter(&|v: &f64| crate::format::bytes(*v))
            .draw()
            .map_err(|e| anyhow!("{e:?}"))?;
        let step = |v: &[u64], i: usize| -> (f64, f64) {
            let a = v[i] as f64;
            let b = v
                .get(i + 1)
                .map_or(a * (a / v[i.saturating_sub(1)] as f64), |&b| b as f64);
            (a, b)
        };
        for (i, row) in winner.iter().enumerate() {
            for (j, w) in row.iter().enumerate() {
                let color = match w {
                    Some(k) => Palette99::pick(*k).to_rgba().mix(0.75),
                    None => RGBColor(225, 225, 225).to_rgba(),
                };
                let ((xa, xb), (ya, yb)) = (step(&sizes, i), step(&budgets, j));
                c.draw_series(std::iter::once(Rectangle::new(
                    [(xa, ya), (xb.min(x1), yb.min(y1))],
                    color.filled(),
                )))
                .map_err(|e| anyhow!("{e:?}"))?;
            }
        }
        let used: std::collections::BTreeSet<usize> =
            winner.iter().flatten().flatten().copied().collect();
        for k in used {
            let color = Palette99::pick(k).to_rgba();
            // A strategy whose declared constant memory its measurements contradict is placed
            // by its fit, and says so.
            let label = match fitted.get(&names[k]).and_then(|f| f.contradicted.as_ref()) {
                Some(_) => format!("{} (declared constant, grows: fitted)", names[k]),
                None => names[k].clone(),
            };
            c.draw_series(std::iter::empty::<Circle<(f64, f64), i32>>())
                .map_err(|e| anyhow!("{e:?}"))?
                .label(label)
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 4), (x + 14, y + 4)], color.filled())
                });
        }
        draw_legend(&mut c)?;
        root.present().map_err(|e| anyhow!("{e:?}"))?;
    }
    Ok(svg)
}

/// The cardinality map: per measured key cardinality (a band each, in order) and budget (1 MiB
/// to the run's memory limit, or 64 GiB without one), the fastest strategy whose cell at that
/// size ended ok with its median memory (anonymous RSS, else heap, plus a server's RSS) within
/// the budget. Measured, not predicted: a strategy that was `oom` under the run's limit is in
/// no region.
fn render_cardinality_map(report: &Report, chart: &Chart) -> Result<String> {
    let rows_at = chart.at_rows.unwrap_or(0);
    let g = &chart.group;
    let mut cards: BTreeMap<u64, Vec<(String, f64, f64)>> = BTreeMap::new();
    let mut limit: Option<u64> = None;
    for r in &report.records {
        if r.workload.to_string() != g.workload.to_string() || r.format != g.format {
            continue;
        }
        if let Some(l) = r
            .memory_limit
            .as_deref()
            .and_then(|l| membench_protocol::parse_size(l).ok())
        {
            limit = Some(limit.map_or(l, |x: u64| x.max(l)));
        }
    }
    for c in report
        .cells
        .iter()
        .filter(|c| c.status.is_ok() && c.key.rows == rows_at)
    {
        if c.key.workload.to_string() != g.workload.to_string() || c.key.format != g.format {
            continue;
        }
        let Some(k) = cardinality_of(&c.key.shape) else {
            continue;
        };
        let memory = c
            .peak_rss_anon_bytes
            .as_ref()
            .filter(|s| s.median > 0.0)
            .or(c.peak_heap_bytes.as_ref())
            .map(|s| s.median);
        if let (Some(m), Some(t)) = (memory, c.wall_ns.as_ref()) {
            cards
                .entry(k)
                .or_default()
                .push((c.key.strategy.clone(), m, t.median));
        }
    }
    let mut names: Vec<String> = cards.values().flatten().map(|c| c.0.clone()).collect();
    names.sort();
    names.dedup();
    let (b0, b1) = ((1u64 << 20) as f64, limit.unwrap_or(64u64 << 30) as f64);
    let steps = 40;
    let budgets: Vec<f64> = (0..=steps)
        .map(|i| b0 * (b1 / b0).powf(i as f64 / steps as f64))
        .collect();
    let ks: Vec<u64> = cards.keys().copied().collect();
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (860, 120 + 70 * ks.len() as u32))
            .into_drawing_area();
        root.fill(&WHITE).map_err(|e| anyhow!("{e:?}"))?;
        let mut c = ChartBuilder::on(&root)
            .caption(&chart.title, ("sans-serif", 16))
            .margin(12)
            .x_label_area_size(45)
            .y_label_area_size(90)
            .build_cartesian_2d((b0..b1).log_scale(), 0f64..ks.len() as f64)
            .map_err(|e| anyhow!("{e:?}"))?;
        let labels = ks.clone();
        c.configure_mesh()
            .x_desc(if limit.is_some() {
                "memory budget (up to the run's limit)"
            } else {
                "memory budget"
            })
            .y_desc("distinct keys")
            .y_labels(ks.len() * 2 + 1)
            .x_label_formatter(&|v: &f64| crate::format::bytes(*v))
            .y_label_formatter(&move |v: &f64| {
                let i = v.floor() as usize;
                if (v - i as f64 - 0.5).abs() < 0.01 && i < labels.len() {
                    rows_label(labels[i])
                } else {
                    String::new()
                }
            })
            .disable_y_mesh()
            .draw()
            .map_err(|e| anyhow!("{e:?}"))?;
        let mut used = BTreeSet::new();
        for (i, k) in ks.iter().enumerate() {
            for j in 0..steps {
                let (xa, xb) = (budgets[j], budgets[j + 1]);
                let best = cards[k]
                    .iter()
                    .filter(|(_, m, _)| *m <= xa)
                    .min_by(|a, b| a.2.total_cmp(&b.2))
                    .and_then(|(s, _, _)| names.iter().position(|n| n == s));
                let color = match best {
                    Some(n) => {
                        used.insert(n);
                        Palette99::pick(n).to_rgba().mix(0.75)
                    }
                    None => RGBColor(225, 225, 225).to_rgba(),
                };
                c.draw_series(std::iter::once(Rectangle::new(
                    [(xa, i as f64 + 0.05), (xb, i as f64 + 0.95)],
                    color.filled(),
                )))
                .map_err(|e| anyhow!("{e:?}"))?;
            }
        }
        for n in used {
            let color = Palette99::pick(n).to_rgba();
            c.draw_series(std::iter::empty::<Circle<(f64, f64), i32>>())
                .map_err(|e| anyhow!("{e:?}"))?
                .label(names[n].clone())
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 4), (x + 14, y + 4)], color.filled())
                });
        }
        draw_legend(&mut c)?;
        root.present().map_err(|e| anyhow!("{e:?}"))?;
    }
    Ok(svg)
}

/// Renders one chart as SVG text.
pub fn render(report: &Report, chart: &Chart) -> Result<String> {
    if chart.kind == ChartKind::DecisionMap {
        return render_decision_map(report, chart);
    }
    if chart.kind == ChartKind::CardinalityMap {
        return render_cardinality_map(report, chart);
    }
    let (mut series, x_desc, y_desc, log) = series_for(report, chart);
    let ooms = oom_markers(report, chart);
    // A strategy that ran out of memory at every size still gets its legend colour.
    for (s, _) in &ooms {
        if !series.iter().any(|x| &x.0 == s) {
            series.push((s.clone(), Vec::new()));
        }
    }
    series.sort_by(|a, b| a.0.cmp(&b.0));
    let ((mut x0, mut x1), (y0, y1)) = bounds(&series, log);
    for &(_, n) in &ooms {
        let n = n as f64;
        (x0, x1) = if log {
            (x0.min(n / 1.5), x1.max(n * 1.5))
        } else {
            (x0.min(n), x1.max(n * 1.05))
        };
    }
    // Where an `oom` marker sits: near the top of the chart.
    let marker_y = if log { y1 / 1.3 } else { y1 * 0.95 };
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (860, 520)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| anyhow!("{e:?}"))?;
        let mut builder = ChartBuilder::on(&root);
        builder
            .caption(&chart.title, ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(45)
            .y_label_area_size(75);
        macro_rules! draw {
            ($chart:expr, $xfmt:expr) => {{
                let mut c = $chart;
                c.configure_mesh()
                    .x_desc(x_desc)
                    .y_desc(y_desc)
                    .x_label_formatter($xfmt)
                    .draw()
                    .map_err(|e| anyhow!("{e:?}"))?;
                for (i, (name, pts)) in series.iter().enumerate() {
                    let color = Palette99::pick(i).to_rgba();
                    if chart.kind == ChartKind::Batches {
                        c.draw_series(LineSeries::new(pts.iter().copied(), color.stroke_width(2)))
                            .map_err(|e| anyhow!("{e:?}"))?
                            .label(name.as_str())
                            .legend(move |(x, y)| {
                                Rectangle::new([(x, y - 4), (x + 14, y + 4)], color.filled())
                            });
                        continue;
                    }
                    if chart.kind != ChartKind::TradeOff {
                        c.draw_series(LineSeries::new(pts.iter().copied(), color.stroke_width(2)))
                            .map_err(|e| anyhow!("{e:?}"))?;
                    }
                    c.draw_series(pts.iter().map(|&p| Circle::new(p, 4, color.filled())))
                        .map_err(|e| anyhow!("{e:?}"))?
                        .label(name.as_str())
                        .legend(move |(x, y)| {
                            Rectangle::new([(x, y - 4), (x + 14, y + 4)], color.filled())
                        });
                }
                for (name, n) in &ooms {
                    let i = series.iter().position(|s| &s.0 == name).unwrap_or(0);
                    let color = Palette99::pick(i).to_rgba();
                    let at = (*n as f64, marker_y);
                    c.draw_series(std::iter::once(Cross::new(at, 7, color.stroke_width(3))))
                        .map_err(|e| anyhow!("{e:?}"))?;
                    c.draw_series(std::iter::once(Text::new(
                        format!("{name}: oom"),
                        at,
                        ("sans-serif", 13).into_font().color(&color),
                    )))
                    .map_err(|e| anyhow!("{e:?}"))?;
                }
                draw_legend(&mut c)?;
            }};
        }
        let row_fmt = |v: &f64| {
            if *v >= 1000.0 {
                rows(*v as u64)
            } else {
                format!("{v:.0}")
            }
        };
        if log && chart.kind != ChartKind::TradeOff {
            draw!(
                builder
                    .build_cartesian_2d((x0..x1).log_scale(), (y0..y1).log_scale())
                    .map_err(|e| anyhow!("{e:?}"))?,
                &|v: &f64| row_fmt(v)
            );
        } else if log {
            draw!(
                builder
                    .build_cartesian_2d((x0..x1).log_scale(), (y0..y1).log_scale())
                    .map_err(|e| anyhow!("{e:?}"))?,
                &|v: &f64| format!("{v:.0}")
            );
        } else if chart.kind == ChartKind::Batches {
            draw!(
                builder
                    .build_cartesian_2d(x0..x1, y0..y1)
                    .map_err(|e| anyhow!("{e:?}"))?,
                &|v: &f64| row_fmt(v)
            );
        } else {
            draw!(
                builder
                    .build_cartesian_2d(x0..x1, y0..y1)
                    .map_err(|e| anyhow!("{e:?}"))?,
                &|v: &f64| format!("{v:.0}")
            );
        }
        root.present().map_err(|e| anyhow!("{e:?}"))?;
    }
    Ok(svg)
}
