//! Snapshot tests of every exporter and structural tests of every chart, on hand-made records.

use membench_protocol::{Allocator, Status};
use membench_report::Report;
use membench_report::export::{self, Exporter};
use membench_report::plot::{self, ChartKind};
use membench_report::record::Record;

mod common;
use common::rec;

fn records() -> Vec<Record> {
    let mut v = Vec::new();
    for rep in 1..=3 {
        for (rows, f) in [(10_000u64, 1u64), (1_000_000, 100)] {
            v.push(rec("streaming", rows, rep, 262_144, 3 * f, Status::Ok));
            v.push(rec("load-all", rows, rep, 300 * rows, 8 * f, Status::Ok));
            v.push(rec("broken", rows, rep, 1000, f, Status::Ok));
        }
    }
    v.push(rec("crashy", 10_000, 1, 0, 1, Status::Crash));
    // Time repetitions under the system allocator: no heap, 10 % faster than counting.
    let timed: Vec<Record> = v
        .iter()
        .filter(|r| r.strategy == "streaming" || r.strategy == "load-all")
        .map(|r| Record {
            allocator: Allocator::System,
            measure: membench_protocol::RunnerMeasure {
                peak_heap_bytes: None,
                heap_timeline: Vec::new(),
                wall_ns: r.measure.wall_ns.map(|w| w / 11 * 10),
                ..r.measure.clone()
            },
            ..r.clone()
        })
        .collect();
    v.extend(timed);
    v
}

fn report() -> Report {
    let mut r = Report::from_records("snapshot", records());
    let dir = tempfile::tempdir().unwrap();
    plot::draw_all(&mut r, dir.path()).unwrap();
    r
}

#[test]
fn markdown_snapshot() {
    insta::assert_snapshot!(export::MarkdownExporter.render(&report()).unwrap());
}

#[test]
fn csv_snapshot() {
    insta::assert_snapshot!(export::CsvExporter.render(&report()).unwrap());
}

#[test]
fn json_snapshot() {
    insta::assert_snapshot!(export::JsonExporter.render(&report()).unwrap());
}

#[test]
fn html_is_self_contained_with_every_chart_inline() {
    let r = report();
    let html = export::HtmlExporter.render(&r).unwrap();
    assert!(html.starts_with("<!doctype html>"));
    assert_eq!(html.matches("<svg").count(), r.charts.len());
    assert!(!html.contains("src=\""), "no external files");
    assert!(html.contains("WRONG-ANSWER") && html.contains("CRASH"));
}

#[test]
fn wrong_answers_are_loud_and_growth_is_fitted() {
    let md = export::MarkdownExporter.render(&report()).unwrap();
    assert!(md.contains("**WRONG ANSWERS**"));
    assert!(md.contains("`broken` on top-n csv 10k rows"));
    assert!(md.contains("| streaming |") && md.contains("O(1) (slope 0.00; declared constant)"));
    assert!(md.contains("O(n) (slope 1.00; declared linear)"));
}

#[test]
fn every_chart_is_a_valid_svg_with_its_series() {
    let r = report();
    assert_eq!(r.charts.len(), 6);
    for chart in &r.charts {
        let svg = chart.svg.as_deref().unwrap();
        assert!(
            svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"),
            "{}",
            chart.file
        );
        assert!(
            svg.contains(&chart.title.replace('&', "&amp;")),
            "{} has its title",
            chart.file
        );
        // Ok cells only: streaming and load-all are drawn, the wrong and crashed ones are not.
        let label = |s: &str| format!("\n{s}\n</text>");
        for s in ["streaming", "load-all"] {
            assert!(svg.contains(&label(s)), "{} lacks series {s}", chart.file);
        }
        assert!(
            !svg.contains(&label("broken")) && !svg.contains(&label("crashy")),
            "{}",
            chart.file
        );
        let points = svg.matches("<circle").count();
        let expected = match chart.kind {
            ChartKind::HeapVsSize | ChartKind::RssVsSize | ChartKind::TimeVsSize => 4,
            ChartKind::TradeOff => 2,
            ChartKind::RssTimeline => 10,
            ChartKind::HeapTimeline => 6,
            ChartKind::Batches => unreachable!("drawn only where adaptive ran"),
            ChartKind::DecisionMap => unreachable!("drawn only with three sizes or more"),
            ChartKind::CardinalityMap => unreachable!("drawn only with two cardinalities or more"),
        };
        assert_eq!(points, expected, "{} points in {}", points, chart.file);
    }
}

/// `adaptive`'s batch trace: a chart of its own (one step line per budget) and the "Memory
/// guard" section, only where `adaptive` ran.
#[test]
fn adaptive_gets_a_batch_chart_and_a_memory_guard_section() {
    let mut records = records();
    for (limit, lens) in [
        (Some("16MiB"), [400_000u64, 200_000, 400_000]),
        (None, [500_000, 250_000, 250_000]),
    ] {
        let mut at = 0;
        let mut r = rec("adaptive", 1_000_000, 1, 9 << 20, 200, Status::Ok);
        r.memory_limit = limit.map(str::to_string);
        r.measure.batches = lens
            .iter()
            .map(|&n| {
                at += n;
                [at - n, n, 5 << 20]
            })
            .collect();
        records.push(r);
    }
    let mut r = Report::from_records("guard", records);
    let dir = tempfile::tempdir().unwrap();
    plot::draw_all(&mut r, dir.path()).unwrap();
    assert_eq!(r.charts.len(), 7);
    let chart = r
        .charts
        .iter()
        .find(|c| c.kind == ChartKind::Batches)
        .unwrap();
    let svg = chart.svg.as_deref().unwrap();
    for label in [
        "adaptive, budget 16MiB",
        "adaptive, budget default (64 MiB)",
    ] {
        assert!(svg.contains(label), "{label}");
    }
    let md = export::MarkdownExporter.render(&r).unwrap();
    assert!(md.contains("## Memory guard"));
    assert!(
        md.contains("| top-n | csv | 1m | 16MiB | 3 | 200k – 400k | 9.0 MiB |"),
        "{md}"
    );
    assert!(md.contains("| top-n | csv | 1m | default (64 MiB) | 3 | 250k – 500k |"));
    assert!(
        !export::MarkdownExporter
            .render(&report())
            .unwrap()
            .contains("Memory guard")
    );
}

/// A strategy that runs out of its budget at a size is `OOM` in the table and a ✗ marker at
/// that size in the charts against size (not in the others).
#[test]
fn an_oom_cell_is_marked_in_the_table_and_the_charts_against_size() {
    let mut records = Vec::new();
    for rep in 1..=2 {
        records.push(rec("streaming", 10_000, rep, 70_000, 3, Status::Ok));
        records.push(rec("streaming", 1_000_000, rep, 70_000, 300, Status::Ok));
        records.push(rec("load-all", 10_000, rep, 3_000_000, 8, Status::Ok));
        records.push(rec("load-all", 1_000_000, rep, 0, 1, Status::Oom));
    }
    let mut r = Report::from_records("oom", records);
    let dir = tempfile::tempdir().unwrap();
    plot::draw_all(&mut r, dir.path()).unwrap();
    for chart in &r.charts {
        let svg = chart.svg.as_deref().unwrap();
        let against_size = matches!(
            chart.kind,
            ChartKind::HeapVsSize | ChartKind::RssVsSize | ChartKind::TimeVsSize
        );
        assert_eq!(
            svg.contains("load-all: oom"),
            against_size,
            "{}",
            chart.file
        );
        assert!(!svg.contains("streaming: oom"));
    }
    let md = export::MarkdownExporter.render(&r).unwrap();
    assert!(
        md.contains("| load-all |") && md.contains("**✗ oom**"),
        "{md}"
    );
}

/// The decision map: drawn for a group measured at three sizes or more; a fast strategy whose
/// memory grows with the file wins where it fits, a slow bounded one elsewhere, and below
/// every strategy's need nothing does.
#[test]
fn the_decision_map_colours_each_size_and_budget_by_the_fastest_that_fits() {
    let mut records = Vec::new();
    for rows in [10_000u64, 100_000, 1_000_000] {
        records.push(rec(
            "load-all",
            rows,
            1,
            300 * rows,
            rows / 10_000 + 1,
            Status::Ok,
        ));
        records.push(rec(
            "streaming",
            rows,
            1,
            70_000,
            rows / 1_000 + 1,
            Status::Ok,
        ));
    }
    let mut r = Report::from_records("map", records);
    let dir = tempfile::tempdir().unwrap();
    plot::draw_all(&mut r, dir.path()).unwrap();
    let map = r
        .charts
        .iter()
        .find(|c| c.kind == ChartKind::DecisionMap)
        .expect("three sizes: a decision map");
    let svg = map.svg.as_deref().unwrap();
    let label = |s: &str| format!("\n{s}\n</text>");
    assert!(svg.contains(&label("load-all")) && svg.contains(&label("streaming")));
    // Budgets under 4 MiB: nothing fits (grey).
    assert!(
        svg.to_ascii_uppercase().contains("FILL=\"#E1E1E1\""),
        "no 'none fits' region"
    );
    // Two sizes only: no map.
    let two: Vec<_> = r
        .records
        .iter()
        .filter(|x| x.rows != 100_000)
        .cloned()
        .collect();
    let r2 = Report::from_records("two", two);
    assert!(r2.charts.iter().all(|c| c.kind != ChartKind::DecisionMap));
}

/// Names the command line now refuses may still be in older records: every exporter escapes
/// them — the page's embedded JSON cannot end its script or open a comment, a `|` adds no
/// Markdown column, a `,` or `"` shifts no CSV field.
#[test]
fn hostile_names_in_records_are_escaped_by_every_exporter() {
    let hostile = ["<!--<script>=true", "a|b", "c,d\"e", "</script><b>x"];
    let mut v = Vec::new();
    for name in hostile {
        for rep in 1..=2 {
            v.push(rec(name, 10_000, rep, 1000, 1, Status::Ok));
        }
    }
    let mut r = Report::from_records("hostile", v);
    let dir = tempfile::tempdir().unwrap();
    plot::draw_all(&mut r, dir.path()).unwrap();
    // HTML: the data script holds no markup, and parses back to the names.
    let html = export::HtmlExporter.render(&r).unwrap();
    let start = html.find("id=\"membench-data\">").unwrap() + "id=\"membench-data\">".len();
    let end = start + html[start..].find("</script>").unwrap();
    let json = &html[start..end];
    assert!(!json.contains('<') && !json.contains('>') && !json.contains('&'));
    let parsed: serde_json::Value = serde_json::from_str(json).unwrap();
    for name in hostile {
        assert!(
            parsed
                .to_string()
                .contains(&serde_json::to_string(name).unwrap())
        );
    }
    // Markdown: every row of the group table has the header's column count.
    let md = export::MarkdownExporter.render(&r).unwrap();
    let columns = |line: &str| line.replace("\\|", "").matches('|').count();
    let table: Vec<&str> = md
        .lines()
        .skip_while(|l| !l.starts_with("| strategy |"))
        .take_while(|l| l.starts_with('|'))
        .collect();
    assert_eq!(table.len(), 2 + hostile.len(), "{md}");
    assert!(
        table.iter().all(|l| columns(l) == columns(table[0])),
        "{table:#?}"
    );
    // CSV: every row has the header's field count, and the names come back whole.
    let csv_text = export::CsvExporter.render(&r).unwrap();
    let mut rdr = csv::Reader::from_reader(csv_text.as_bytes());
    let width = rdr.headers().unwrap().len();
    let names: Vec<String> = rdr
        .records()
        .map(|row| {
            let row = row.unwrap();
            assert_eq!(row.len(), width);
            row[2].to_string()
        })
        .collect();
    for name in hostile {
        assert!(names.iter().any(|n| n == name), "{name} in {names:?}");
    }
}

/// When the usual reference failed on an input, the report says whose answer served instead.
#[test]
fn the_report_names_a_fallback_reference() {
    let mut v = records();
    for r in v.iter_mut().filter(|r| r.rows == 10_000) {
        r.reference_strategy = Some("load-all".into());
    }
    let md = export::MarkdownExporter
        .render(&Report::from_records("x", v))
        .unwrap();
    assert!(md.contains("compared with `load-all` at 10k rows"), "{md}");
    assert!(
        !export::MarkdownExporter
            .render(&report())
            .unwrap()
            .contains("Reference answer")
    );
}
