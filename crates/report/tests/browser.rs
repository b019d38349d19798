//! The interactive `index.html` in a real browser: headless Chromium loads the page written from
//! the committed example run (with the committed baseline), and the rendered DOM must show the
//! charts drawn, no script error, the budget slider changing the recommendation, the raw table
//! sorting, a legend click hiding a series — and the page's recommendation must equal
//! `membench_report::predict`'s for the same size and budget.
//!
//! `.ci/run` installs Debian's `chromium`. Without a browser the test fails under `CI` and says
//! so elsewhere (a developer's machine without Chromium).

use std::path::{Path, PathBuf};
use std::process::Command;

use membench_protocol::{InputFormat, Workload};
use membench_report::predict::{Fits, recommend};
use membench_report::record::read_records;

fn browser() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .flat_map(|b| std::env::split_paths(&path).map(move |d| d.join(b)))
        .find(|p| p.is_file())
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The DOM after the page's scripts ran.
fn rendered(browser: &Path, page: &Path, query: &str, profile: &Path) -> String {
    let url = format!("file://{}?{query}", page.display());
    let out = Command::new("timeout")
        .arg("120")
        .arg(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--virtual-time-budget=10000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("--dump-dom")
        .arg(&url)
        .output()
        .expect("starting the browser");
    let dom = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success() && !dom.is_empty(),
        "{} failed ({}): {}",
        browser.display(),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    dom
}

/// The text inside the element whose opening tag holds `marker`.
fn inner<'a>(dom: &'a str, marker: &str) -> &'a str {
    let at = dom
        .find(marker)
        .unwrap_or_else(|| panic!("{marker} missing"));
    let open_end = at + dom[at..].find('>').unwrap() + 1;
    let close = open_end + dom[open_end..].find("</").unwrap();
    &dom[open_end..close]
}

fn attribute<'a>(dom: &'a str, marker: &str, name: &str) -> &'a str {
    let at = dom
        .find(marker)
        .unwrap_or_else(|| panic!("{marker} missing"));
    let tag = &dom[at..at + dom[at..].find('>').unwrap()];
    let key = format!("{name}=\"");
    let from = tag
        .find(&key)
        .unwrap_or_else(|| panic!("{name} missing in {tag}"))
        + key.len();
    &tag[from..from + tag[from..].find('"').unwrap()]
}

#[test]
fn the_interactive_report_renders_and_recommends_as_the_library_does() {
    let Some(browser) = browser() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "no chromium on PATH: .ci/run installs Debian's chromium for this test"
        );
        eprintln!("skipped: no chromium on PATH (apt-get install chromium)");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    std::fs::create_dir(&run).unwrap();
    let example = repo().join("reports/example/results.jsonl");
    std::fs::copy(&example, run.join("results.jsonl")).unwrap();
    let baseline = repo().join("reports/baseline.json");
    membench_report::write_report_with(&run, Some(&baseline)).unwrap();

    let (rows, budget) = (10_000_000u64, 256u64 << 20);
    let records = read_records(&example).unwrap();
    let g = membench_protocol::GroupKey {
        workload: Workload::TOP_N,
        format: InputFormat::CSV,
        shape: Default::default(),
    };
    let (ranked, _) = recommend(&records, &g, rows, budget);
    let expected = ranked
        .iter()
        .find(|c| c.fits == Fits::Yes)
        .map(|c| c.strategy.as_str())
        .unwrap_or("");
    assert!(!expected.is_empty(), "the example run recommends nothing");

    let dom = rendered(
        &browser,
        &run.join("index.html"),
        &format!("group=top-n/csv&rows=10m&budget={budget}&selftest=1"),
        &tmp.path().join("profile"),
    );
    assert_eq!(
        attribute(&dom, "<html", "data-ready"),
        "yes",
        "errors: {}",
        inner(&dom, "id=\"errors\"")
    );
    assert_eq!(inner(&dom, "id=\"errors\""), "");
    // Three charts a group, a series per strategy, points with hover values.
    let groups = dom.matches("<section class=\"group\"").count();
    assert!(groups >= 4, "{groups} groups");
    assert_eq!(
        dom.matches("class=\"chart\"").count(),
        3 * groups,
        "charts drawn"
    );
    assert!(dom.matches("<g class=\"series\"").count() >= 3 * groups * 4);
    assert!(dom.matches("data-tip=\"").count() > 100);
    // The page's choice is the library's.
    assert_eq!(attribute(&dom, "id=\"rec-top\"", "data-strategy"), expected);
    // The slider moves the recommendation: nothing fits 1 MiB, something fits 64 GiB.
    let selftest: serde_json::Value =
        serde_json::from_str(&inner(&dom, "id=\"selftest\"").replace("&quot;", "\"")).unwrap();
    assert_eq!(selftest["top_at_min_budget"], "", "{selftest}");
    assert_ne!(selftest["top_at_max_budget"], "", "{selftest}");
    assert_eq!(selftest["heap_sorted_ascending"], true, "{selftest}");
    assert!(selftest["toggled_off"].as_u64().unwrap() >= 1, "{selftest}");
    // The baseline comparison is drawn.
    assert!(dom.contains("class=\"baseline\""));
}

/// A run whose strategy names are hostile (older records: the command line now refuses them) —
/// `<!--<script>=true` once kept the page from ever getting ready, and a `"` broke its
/// selectors — still renders, ready and without a script error, in a real browser.
#[test]
fn hostile_strategy_names_do_not_break_the_page() {
    let Some(browser) = browser() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "no chromium on PATH: .ci/run installs Debian's chromium for this test"
        );
        eprintln!("skipped: no chromium on PATH (apt-get install chromium)");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    std::fs::create_dir(&run).unwrap();
    let records = read_records(&repo().join("reports/example/results.jsonl")).unwrap();
    let renamed: String = records
        .into_iter()
        .filter(|r| r.workload == Workload::TOP_N && r.format == InputFormat::CSV)
        .map(|mut r| {
            r.strategy = match r.strategy.as_str() {
                "streaming" => "<!--<script>=true".into(),
                "lazy" => "a\"b|c,d".into(),
                other => other.to_string(),
            };
            serde_json::to_string(&r).unwrap() + "\n"
        })
        .collect();
    std::fs::write(run.join("results.jsonl"), renamed).unwrap();
    membench_report::write_report_with(&run, None).unwrap();
    let dom = rendered(
        &browser,
        &run.join("index.html"),
        "group=top-n/csv&selftest=1",
        &tmp.path().join("profile"),
    );
    assert_eq!(
        attribute(&dom, "<html", "data-ready"),
        "yes",
        "errors: {}",
        inner(&dom, "id=\"errors\"")
    );
    assert_eq!(inner(&dom, "id=\"errors\""), "");
}

/// The history page (`membench history report`) in Chromium: every series charted with its
/// change points, the query's filter hiding other strategies' series and changes, no script
/// error.
#[test]
fn the_history_page_renders_its_charts_changes_and_filter() {
    use membench_report::changepoint::{Detector, steps};
    use membench_report::history::{HistoryMetric, Series, write_page};
    let Some(browser) = browser() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "no chromium on PATH: .ci/run installs Debian's chromium for this test"
        );
        eprintln!("skipped: no chromium on PATH (apt-get install chromium)");
        return;
    };
    let mut series = Vec::new();
    for strategy in ["streaming", "load-all"] {
        for metric in HistoryMetric::ALL {
            // 30 commits; load-all's heap steps up 10 % at commit 20.
            let reps: Vec<Vec<f64>> = (0..30)
                .map(|i| {
                    let step =
                        strategy == "load-all" && metric == HistoryMetric::PeakHeap && i >= 20;
                    let v = if step { 1.1e6 } else { 1e6 };
                    vec![v, v * 1.001, v * 0.999]
                })
                .collect();
            let detector = match metric {
                HistoryMetric::PeakHeap => Detector::heap(0.02, 0.01),
                HistoryMetric::PeakRss => Detector::rss(0.01, 0.10),
                HistoryMetric::Time => Detector::time(0.01, 0.10),
            };
            series.push(Series {
                machine: "AMD EPYC · 2 cores · 24 GiB · Linux".into(),
                strategy: strategy.into(),
                workload: "top-n".into(),
                cell: format!("{strategy} · top-n · csv · 100k rows"),
                metric,
                steps: steps(&reps, &detector),
                commits: (0..30).map(|i| format!("c{i:02}")).collect(),
                reps,
            });
        }
    }
    let tmp = tempfile::tempdir().unwrap();
    let page = tmp.path().join("history");
    write_page(&page, &series).unwrap();
    let all = rendered(
        &browser,
        &page.join("index.html"),
        "",
        &tmp.path().join("profile"),
    );
    assert_eq!(attribute(&all, "<html", "data-ready"), "yes");
    assert_eq!(inner(&all, "id=\"errors\""), "");
    assert_eq!(inner(&all, "id=\"shown\""), "6 series shown");
    assert_eq!(all.matches("class=\"change\"").count(), 1);
    assert!(all.contains("<td>c20</td>"), "the step's first commit");
    assert_eq!(all.matches("<circle").count(), 6 * 30 * 3);
    let filtered = rendered(
        &browser,
        &page.join("index.html"),
        "strategy=streaming",
        &tmp.path().join("profile2"),
    );
    assert_eq!(inner(&filtered, "id=\"shown\""), "3 series shown");
    // Each element of a strategy: whether its opening tag carries `hidden`.
    let hidden = |strategy: &str| -> Vec<bool> {
        let key = format!("data-strategy=\"{strategy}\"");
        filtered
            .match_indices(&key)
            .map(|(at, _)| {
                let start = filtered[..at].rfind('<').unwrap();
                let end = at + filtered[at..].find('>').unwrap();
                filtered[start..end].contains(" hidden")
            })
            .collect()
    };
    // load-all's 3 series and its change row hidden; streaming's 3 series shown.
    assert_eq!(hidden("load-all"), [true; 4]);
    assert_eq!(hidden("streaming"), [false; 3]);
}
