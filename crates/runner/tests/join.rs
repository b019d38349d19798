//! The `join` workload: every join strategy gives the answer of an independent nested-loop
//! oracle (generated data, ordered and shuffled, CSV and Parquet; hand-written edge cases), bad
//! rows fail and skip the same way everywhere, the runner emits the answer, and the heap shapes
//! each strategy declares hold (isolated runner processes).

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use membench_datagen::{DataSchema, Format, GenSpec, generate_orders};
use membench_harness::run_cell;
use membench_kernel::{Answer, DateRange, GroupRow, Workload};
use membench_protocol::{RunnerRecord, Skip, Status};
use membench_strategies::{Outcome, Params, RunError};

const ORDERS_HEADER: &str = "order_id,order_date,customer_id,region,status\n";
const ITEMS_HEADER: &str = "order_id,line_no,product_id,category,quantity,price\n";

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn gen_pair(dir: &Path, orders: u64, format: Format, shuffle_items: bool) -> (PathBuf, PathBuf) {
    let spec = GenSpec {
        schema: DataSchema::Orders,
        shuffle_items,
        rows: orders,
        row_group_rows: 4_000,
        ..GenSpec::default()
    };
    let [o, i] = generate_orders(&spec, format, dir, false, &mut |_| {}).unwrap();
    (o.path, i.path)
}

/// Every join strategy on the pair, in process.
fn run_all(
    orders: &Path,
    items: &Path,
    tweak: impl Fn(&mut Params),
) -> Vec<(&'static str, Result<Outcome, RunError>)> {
    common::join_registry()
        .into_iter()
        .map(|s| {
            let mut p = Params::new(Workload::JOIN, orders);
            p.items = Some(items.to_path_buf());
            p.scratch = orders.parent().unwrap().to_path_buf();
            tweak(&mut p);
            (s.name(), s.run(&p))
        })
        .collect()
}

/// The answer of an inner join computed the plainest way: every item against every order in
/// range (CSV without quotes, as generated and as written here).
fn oracle(orders: &Path, items: &Path, dates: &DateRange) -> Answer {
    let rows = |p: &Path| -> Vec<Vec<String>> {
        std::fs::read_to_string(p)
            .unwrap()
            .lines()
            .skip(1)
            .filter(|l| !l.is_empty())
            .map(|l| l.split(',').map(String::from).collect())
            .collect()
    };
    let in_range: Vec<i64> = rows(orders)
        .iter()
        .filter(|o| dates.contains(&o[1]))
        .map(|o| o[0].parse().unwrap())
        .collect();
    let mut groups: BTreeMap<String, (u64, i64, i64)> = BTreeMap::new();
    for i in rows(items) {
        let id: i64 = i[0].parse().unwrap();
        let q: i64 = i[4].parse().unwrap();
        let cents = (i[5].parse::<f64>().unwrap() * 100.0).round() as i64;
        for _ in in_range.iter().filter(|&&o| o == id) {
            let g = groups.entry(i[3].clone()).or_default();
            g.0 += 1;
            g.1 += q;
            g.2 += q * cents;
        }
    }
    Answer::Join {
        groups: groups
            .into_iter()
            .map(
                |(category, (rows, sum_quantity, sum_total_cents))| GroupRow {
                    category,
                    rows,
                    sum_quantity,
                    sum_total_cents,
                },
            )
            .collect(),
    }
}

fn assert_all_give(orders: &Path, items: &Path, want: &Answer, tweak: impl Fn(&mut Params)) {
    let mut rows_read = None;
    for (name, r) in run_all(orders, items, tweak) {
        let out = r.unwrap_or_else(|e| panic!("{name} on {}: {e}", items.display()));
        assert_eq!(&out.answer, want, "{name} on {}", items.display());
        let first = *rows_read.get_or_insert(out.rows_read);
        assert_eq!(out.rows_read, first, "{name}: rows read");
    }
}

#[test]
fn every_join_strategy_agrees_with_the_oracle_on_generated_data() {
    let dir = tempfile::tempdir().unwrap();
    for shuffle in [false, true] {
        let (orders, items) = gen_pair(dir.path(), 20_000, Format::Csv, shuffle);
        let want = oracle(&orders, &items, &DateRange::default());
        let Answer::Join { groups } = &want else {
            unreachable!()
        };
        assert!(groups.len() > 10, "{groups:?}");
        assert_all_give(&orders, &items, &want, |_| {});
        let (po, pi) = gen_pair(dir.path(), 20_000, Format::Parquet, shuffle);
        assert_all_give(&po, &pi, &want, |_| {});
        // Another range, and (merge-join) runs small enough to spill and merge many.
        let q1 = DateRange::parse("2022-01-01..2022-03-31").unwrap();
        let want = oracle(&orders, &items, &q1);
        assert_all_give(&orders, &items, &want, |p| {
            p.workload = Workload::Join(q1);
            p.memory_budget_bytes = Some(256 << 10);
        });
    }
}

#[test]
fn merge_join_merges_in_several_passes_when_runs_exceed_its_fan_in() {
    let dir = tempfile::tempdir().unwrap();
    // 60k orders ≈ 150k items; 64 KiB runs hold 2,048 items: > 64 runs.
    let (orders, items) = gen_pair(dir.path(), 60_000, Format::Csv, true);
    let want = oracle(&orders, &items, &DateRange::default());
    let s = membench_strategies::find("merge-join").unwrap();
    let mut p = Params::new(Workload::JOIN, &orders);
    p.items = Some(items);
    p.scratch = dir.path().to_path_buf();
    p.memory_budget_bytes = Some(256 << 10);
    assert_eq!(s.run(&p).unwrap().answer, want);
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("membench-spill"))
        .collect();
    assert!(left.is_empty(), "spill folders left behind: {left:?}");
}

#[test]
fn edge_cases_follow_the_inner_join_rule() {
    let dir = tempfile::tempdir().unwrap();
    // Orders out of order_id order; 1 has no items; 3 is out of range; 5 appears twice in range
    // (its items count twice); 9 (an item's order) does not exist.
    let orders = write(
        dir.path(),
        "orders.csv",
        &format!(
            "{ORDERS_HEADER}5,2023-03-01,1,north,paid\n1,2023-01-01,1,north,paid\n\
             2,2023-12-31,2,south,placed\n3,2022-12-31,3,east,paid\n4,2023-06-30,4,west,paid\n\
             5,2023-07-01,1,north,returned\n"
        ),
    );
    let items = write(
        dir.path(),
        "items.csv",
        &format!(
            "{ITEMS_HEADER}2,1,10,books,2,3.50\n2,2,11,toys,1,10\n3,1,12,books,5,1.00\n\
             9,1,13,books,7,1.00\n4,1,14,toys,3,0.25\n5,1,15,books,1,2.00\n"
        ),
    );
    let want = Answer::Join {
        groups: vec![
            GroupRow {
                category: "books".into(),
                rows: 3,
                sum_quantity: 4,
                sum_total_cents: 700 + 2 * 200,
            },
            GroupRow {
                category: "toys".into(),
                rows: 2,
                sum_quantity: 4,
                sum_total_cents: 1000 + 75,
            },
        ],
    };
    assert_eq!(oracle(&orders, &items, &DateRange::default()), want);
    assert_all_give(&orders, &items, &want, |_| {});
    // Items out of order too.
    let shuffled = write(
        dir.path(),
        "items-shuffled.csv",
        &format!(
            "{ITEMS_HEADER}5,1,15,books,1,2.00\n2,2,11,toys,1,10\n9,1,13,books,7,1.00\n\
             4,1,14,toys,3,0.25\n2,1,10,books,2,3.50\n3,1,12,books,5,1.00\n"
        ),
    );
    assert_all_give(&orders, &shuffled, &want, |_| {});
    // No order in range; and tables with a header only.
    let empty = Answer::Join { groups: vec![] };
    let none = DateRange::parse("2030-01-01..2030-12-31").unwrap();
    assert_all_give(&orders, &items, &empty, |p| {
        p.workload = Workload::Join(none)
    });
    let no_orders = write(dir.path(), "no-orders.csv", ORDERS_HEADER);
    let no_items = write(dir.path(), "no-items.csv", ITEMS_HEADER);
    assert_all_give(&no_orders, &items, &empty, |_| {});
    assert_all_give(&orders, &no_items, &empty, |_| {});
}

#[test]
fn bad_rows_fail_the_same_way_everywhere_orders_first_and_skip_counts_agree() {
    let dir = tempfile::tempdir().unwrap();
    let orders = write(
        dir.path(),
        "orders.csv",
        &format!(
            "{ORDERS_HEADER}1,2023-01-01,1,north,paid\n2,2023-02-01,x,south,paid\n\
             3,2023-03-01,3,east,paid\n"
        ),
    );
    let good_orders = write(
        dir.path(),
        "good-orders.csv",
        &format!("{ORDERS_HEADER}1,2023-01-01,1,north,paid\n3,2023-03-01,3,east,paid\n"),
    );
    let items = write(
        dir.path(),
        "items.csv",
        &format!(
            "{ITEMS_HEADER}1,1,10,books,0,3.50\n1,2,11,toys,1,10\n3,1,12,books,2,1.005\n\
             3,2,12,books,2,1.00\n"
        ),
    );
    let orders_error = format!(
        "{}:3: customer_id: \"x\" is not an integer",
        orders.display()
    );
    let items_error = format!("{}:2: quantity: 0 is below 1", items.display());
    for (o, want) in [(&orders, &orders_error), (&good_orders, &items_error)] {
        for (name, r) in run_all(o, &items, |_| {}) {
            let e = r.expect_err(name);
            assert_eq!(&e.to_string(), want, "{name}");
        }
    }
    let mut counted = None;
    for (name, r) in run_all(&orders, &items, |p| {
        p.on_bad_row = membench_kernel::OnBadRow::Skip
    }) {
        let info = membench_strategies::find(name).unwrap().info;
        if info.skip == Skip::Refuses {
            assert!(matches!(r, Err(RunError::Unsupported(_))), "{name}");
            continue;
        }
        let out = r.unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!((out.rows_read, out.rows_skipped), (4, 3), "{name}");
        let first = counted.get_or_insert(out.answer.clone());
        assert_eq!(&out.answer, first, "{name}");
    }
}

fn runner_cell(strategy: &str, orders: &Path, items: &Path, extra: &[&str]) -> RunnerRecord {
    let scratch = orders.parent().unwrap();
    let flags = ["--strategy", strategy, "--workload", "join", "--input"]
        .into_iter()
        .map(std::ffi::OsStr::new)
        .chain([orders.as_os_str()])
        .chain(["--items".as_ref(), items.as_os_str()])
        .chain(["--scratch".as_ref(), scratch.as_os_str()])
        .chain(["--db-dir".as_ref(), scratch.as_os_str()])
        .chain(extra.iter().map(std::ffi::OsStr::new));
    let m = run_cell(&common::runner_job_pg(
        env!("CARGO_BIN_EXE_membench-runner"),
        flags,
    ));
    let mut r = m.runner.unwrap_or_default();
    if m.status != Status::Ok {
        r.measure
            .error
            .get_or_insert(membench_protocol::RunnerError {
                kind: membench_protocol::ErrorKind::Other,
                message: format!("{:?}: {}", m.status, m.stderr_tail),
            });
    }
    r
}

fn ok_peak(strategy: &str, orders: &Path, items: &Path, extra: &[&str]) -> u64 {
    let r = runner_cell(strategy, orders, items, extra);
    assert!(
        r.measure.error.is_none(),
        "{strategy}: {:?}",
        r.measure.error
    );
    r.measure.peak_heap_bytes.unwrap()
}

#[test]
fn the_runner_emits_the_join_answer_for_every_strategy() {
    let dir = tempfile::tempdir().unwrap();
    let (orders, items) = gen_pair(dir.path(), 5_000, Format::Parquet, true);
    let mut digests = Vec::new();
    for s in common::join_registry() {
        let r = runner_cell(s.name(), &orders, &items, &["--emit-answer"]);
        assert!(
            r.measure.error.is_none(),
            "{}: {:?}",
            s.name(),
            r.measure.error
        );
        let answer: Answer = serde_json::from_value(r.measure.answer.unwrap()).unwrap();
        assert_eq!(r.measure.answer_digest.unwrap(), answer.digest());
        assert!(r.items.is_some() && r.input_bytes.unwrap() > 0);
        digests.push((s.name(), answer.digest()));
    }
    assert!(digests.windows(2).all(|d| d[0].1 == d[1].1), "{digests:?}");
    // Without --items the runner says what a join needs.
    let flags = ["--strategy", "streaming", "--workload", "join", "--input"]
        .into_iter()
        .map(std::ffi::OsStr::new)
        .chain([orders.as_os_str()]);
    let m = run_cell(&common::runner_job(
        env!("CARGO_BIN_EXE_membench-runner"),
        flags,
    ));
    assert!(m.stderr_tail.contains("--items"), "{}", m.stderr_tail);
}

#[test]
fn heap_shapes_of_the_join_strategies() {
    let dir = tempfile::tempdir().unwrap();
    let (o_small, i_small) = gen_pair(dir.path(), 100_000, Format::Csv, false);
    let (o_large, i_large) = gen_pair(dir.path(), 1_000_000, Format::Csv, false);

    // merge-join on ordered input: flat (±5 %) from 100k to 1M orders, and under 1 MiB.
    let m1 = ok_peak("merge-join", &o_small, &i_small, &[]);
    let m2 = ok_peak("merge-join", &o_large, &i_large, &[]);
    eprintln!("merge-join peak heap: {m1} B (100k orders), {m2} B (1M orders)");
    assert!(m2 < 1 << 20, "{m2}");
    assert!(
        (m2 as f64 - m1 as f64).abs() <= 0.05 * m1 as f64,
        "{m1} vs {m2}"
    );

    // grace under a 32 MiB budget on 1M orders, where load-all runs out.
    let budget = ["--memory-limit", "32MiB"];
    let g = ok_peak("grace", &o_large, &i_large, &budget);
    eprintln!("grace peak heap under 32 MiB on 1M orders: {g} B");
    assert!(g < 32 << 20);
    let l = runner_cell("load-all", &o_large, &i_large, &budget);
    let msg = format!("{:?}", l.measure.error);
    assert!(msg.contains("Oom"), "load-all under 32 MiB: {msg}");

    // streaming grows with the orders in range, not with the items: a month of orders holds a
    // fraction of what a year does, on the same files.
    let year = ok_peak("streaming", &o_large, &i_large, &[]);
    let month = ok_peak(
        "streaming",
        &o_large,
        &i_large,
        &["--dates", "2023-01-01..2023-01-31"],
    );
    eprintln!("streaming peak heap on 1M orders: {year} B (a year), {month} B (a month)");
    assert!(month * 4 < year, "{month} vs {year}");
}

/// The scratch folder may be shared with other users (the system temp folder): a folder
/// planted there under any name the spilling strategies once used (`membench-spill-p<pid>_<n>`),
/// holding a link to another file, is never used — spill folders are new, private (`0700`) and
/// randomly named, and spill files never follow a link.
#[test]
fn a_planted_spill_folder_never_makes_a_strategy_write_elsewhere() {
    let dir = tempfile::tempdir().unwrap();
    let (orders, items) = gen_pair(dir.path(), 20_000, Format::Csv, true);
    let scratch = dir.path().join("shared");
    std::fs::create_dir(&scratch).unwrap();
    let victim = dir.path().join("victim.txt");
    std::fs::write(&victim, "precious").unwrap();
    for n in 0..2_000 {
        let planted = scratch.join(format!("membench-spill-p{}_{n}", std::process::id()));
        std::fs::create_dir(&planted).unwrap();
        for f in 1..=4 {
            std::os::unix::fs::symlink(&victim, planted.join(format!("{f}.bin"))).unwrap();
        }
    }
    for name in ["grace", "merge-join"] {
        let s = membench_strategies::find(name).unwrap();
        let mut p = Params::new(Workload::JOIN, &orders);
        p.items = Some(items.clone());
        p.scratch = scratch.clone();
        p.memory_budget_bytes = Some(256 << 10);
        s.run(&p).unwrap();
    }
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    let ours: Vec<_> = std::fs::read_dir(&scratch)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with(&format!("membench-spill-p{}_", std::process::id())))
        .collect();
    assert!(ours.is_empty(), "spill folders left behind: {ours:?}");
}
