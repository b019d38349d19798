//! Shape as an axis of the matrix: `run --key-cardinality 10,1k` generates one table per
//! cardinality (the knobs in the file name, the sidecar and every record), the report has a
//! table per shape, and `recommend` fits the shape it is asked for; knobs out of range are
//! refused with the valid range before anything runs.

use std::path::Path;
use std::process::{Command, Output};

fn membench(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_membench"))
        .args(args)
        .output()
        .unwrap()
}

fn ok(res: Output) -> String {
    assert!(
        res.status.success(),
        "{}",
        String::from_utf8_lossy(&res.stderr)
    );
    String::from_utf8_lossy(&res.stdout).into_owned()
}

#[test]
fn a_cardinality_sweep_is_an_axis_of_the_run_the_report_and_recommend() {
    let dir = tempfile::tempdir().unwrap();
    let (data, out) = (dir.path().join("datasets"), dir.path().join("run"));
    ok(membench(&[
        "run",
        "--workload",
        "group-by",
        "--format",
        "csv",
        "--rows",
        "10k,20k",
        "--key-cardinality",
        "10,1k",
        "--strategy",
        "streaming",
        "--strategy",
        "load-all",
        "--repeat",
        "1",
        "--datasets",
        data.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]));
    // One table per cardinality and size, the knob in its name and sidecar.
    for k in ["k10", "k1k"] {
        for n in ["10k", "20k"] {
            let f = data.join(format!("sales-{n}-s42-{k}.csv"));
            assert!(f.exists(), "{}", f.display());
        }
    }
    let sidecar = std::fs::read_to_string(data.join("sales-10k-s42-k1k.csv.meta.json")).unwrap();
    assert!(sidecar.contains("\"key_cardinality\": 1000"), "{sidecar}");
    // Every record carries its table's shape; the answers agree within each shape.
    let recs: Vec<serde_json::Value> = std::fs::read_to_string(out.join("results.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        recs.len(),
        2 * 2 * 2 * 2,
        "2 shapes × 2 sizes × 2 strategies × 2 allocators"
    );
    for r in &recs {
        let k = r["shape"]["key_cardinality"].as_u64().unwrap();
        assert!(k == 10 || k == 1000, "{r}");
        assert_eq!(r["status"], "ok", "{r}");
        assert!(
            r["dataset"]
                .as_str()
                .unwrap()
                .contains(&format!("-k{}", if k == 10 { "10" } else { "1k" })),
            "{r}"
        );
    }
    // The report: a table per shape, its shape in the title and in summary.csv.
    let report = std::fs::read_to_string(out.join("REPORT.md")).unwrap();
    assert!(
        report.contains("## group-by · csv · cardinality=10\n"),
        "{report}"
    );
    assert!(
        report.contains("## group-by · csv · cardinality=1k\n"),
        "{report}"
    );
    let csv = std::fs::read_to_string(out.join("summary.csv")).unwrap();
    assert!(csv.lines().next().unwrap().ends_with(",shape"));
    assert_eq!(
        csv.lines()
            .filter(|l| l.ends_with(",cardinality=1k"))
            .count(),
        4,
        "{csv}"
    );
    assert!(
        out.join("chart-group-by-csv-k1k-heap-vs-size.svg").exists(),
        "one chart per shape"
    );
    // recommend: several shapes measured, so it asks which; the one asked for is fitted.
    let rec = |extra: &[&str]| {
        let mut a = vec![
            "recommend",
            "--from",
            out.to_str().unwrap(),
            "--workload",
            "group-by",
            "--rows",
            "1m",
            "--memory",
            "1GiB",
        ];
        a.extend(extra);
        membench(&a)
    };
    let which = rec(&[]);
    assert!(!which.status.success());
    let e = String::from_utf8_lossy(&which.stderr);
    assert!(
        e.contains("--cardinality")
            && e.contains("cardinality=10;")
            && e.contains("cardinality=1k"),
        "{e}"
    );
    let text = ok(rec(&["--cardinality", "1k"]));
    assert!(text.contains("streaming"), "{text}");
    let missing = rec(&["--cardinality", "1m"]);
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("run --key-cardinality 1000000"));
}

#[test]
fn knobs_out_of_range_are_refused_with_the_valid_range() {
    let dir = tempfile::tempdir().unwrap();
    for (flag, v, says) in [
        ("--key-cardinality", "0", "between 1 and 1000000000"),
        ("--null-rate", "2", "between 0 and 1"),
        ("--skew", "zipf:-1", "above 0"),
        ("--sorted-by", "price", "customer_id or order_date"),
    ] {
        let res = membench(&[
            "run",
            flag,
            v,
            "--out",
            dir.path().join("never").to_str().unwrap(),
        ]);
        assert!(!res.status.success());
        let e = String::from_utf8_lossy(&res.stderr);
        assert!(e.contains(says), "{flag} {v}: {e}");
        assert!(!Path::new(&dir.path().join("never")).exists());
    }
}

/// `--query` without `--input` runs over every generated table: a cardinality sweep of a
/// `GROUP BY customer_id` in one run, each shape its own group with its own answer.
#[test]
fn a_query_without_input_runs_over_each_generated_shape() {
    let dir = tempfile::tempdir().unwrap();
    let (data, out) = (dir.path().join("datasets"), dir.path().join("run"));
    ok(membench(&[
        "run",
        "--query",
        "top=SELECT customer_id, count(*) AS n FROM sales GROUP BY customer_id \
         ORDER BY n DESC, customer_id LIMIT 3",
        "--format",
        "csv",
        "--rows",
        "20k",
        "--key-cardinality",
        "10,1k",
        "--strategy",
        "streaming",
        "--strategy",
        "sort-agg",
        "--strategy",
        "spill-agg",
        "--repeat",
        "1",
        "--datasets",
        data.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]));
    let recs: Vec<serde_json::Value> = std::fs::read_to_string(out.join("results.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        recs.len(),
        2 * 3 * 2,
        "2 shapes × 3 strategies × 2 allocators"
    );
    for r in &recs {
        assert_eq!(r["status"], "ok", "{r}");
        assert_eq!(r["workload"]["name"], "top", "{r}");
        // Each key of N appears 20 000 / N times: the query read its own shape's table.
        let k = r["shape"]["key_cardinality"].as_u64().unwrap();
        assert_eq!(
            r["answer"]["rows"],
            serde_json::json!([[1, 20_000 / k], [2, 20_000 / k], [3, 20_000 / k]]),
            "{r}"
        );
    }
    let report = std::fs::read_to_string(out.join("REPORT.md")).unwrap();
    assert!(
        report.contains("## top · csv · cardinality=10\n"),
        "{report}"
    );
    assert!(
        report.contains("## top · csv · cardinality=1k\n"),
        "{report}"
    );
    // The decision per shape: one row each, the fastest that finished named.
    let by_shape = &report[report.find("## By shape").expect("a By shape section")..];
    assert!(by_shape.contains("### top · csv · 20k rows"), "{by_shape}");
    assert_eq!(
        by_shape
            .lines()
            .filter(|l| l.starts_with("| cardinality=") && l.contains("** ("))
            .count(),
        2,
        "{by_shape}"
    );
    // The cardinality map: shown under "By shape", drawn, its legend naming a strategy that ran.
    assert!(
        by_shape.contains("](chart-top-csv-cardinality-map.svg)"),
        "{by_shape}"
    );
    let map = std::fs::read_to_string(out.join("chart-top-csv-cardinality-map.svg")).unwrap();
    assert!(map.contains("distinct keys"), "{map}");
    let legend: Vec<&str> = ["streaming", "sort-agg", "spill-agg"]
        .into_iter()
        .filter(|s| map.contains(&format!("\n{s}\n")))
        .collect();
    assert!(!legend.is_empty(), "the map names no strategy");
}
