//! Every strategy × workload × format computes the same answer, handles bad input the same way,
//! and has the memory shape it claims (heap measured in isolated runner processes).

mod common;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use membench_datagen::{Format as GenFormat, GenSpec, generate};
use membench_harness::{Status, run_cell};
use membench_kernel::{Answer, COLUMNS, OnBadRow, TopRow, Workload};
use membench_protocol::RunnerRecord;
use membench_strategies::{
    Format as SFormat, Outcome, Params, RunError, Skip, polars as membench_polars,
};
use polars::prelude::*;

/// Strategies whose metadata says they refuse `skip` (read from the registry, not listed here).
fn refuses_skip(name: &str) -> bool {
    membench_strategies::find(name).is_some_and(|s| s.info.skip == Skip::Refuses)
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// Converts a CSV of ours into Parquet with small row groups.
fn to_parquet(csv: &Path, row_group: usize) -> PathBuf {
    let mut df = membench_polars::read_eager(csv, membench_strategies::Format::Csv).unwrap();
    let out = csv.with_extension("parquet");
    ParquetWriter::new(std::fs::File::create(&out).unwrap())
        .with_row_group_size(Some(row_group))
        .finish(&mut df)
        .unwrap();
    out
}

fn line(id: i64, category: &str, q: i64, price: &str) -> String {
    format!(
        "{id},2022-03-04,{},north,{category},{},{q},{price},0.05,\"a note, with a comma\"\n",
        1000 + id,
        7 + id
    )
}

fn header() -> String {
    COLUMNS.join(",") + "\n"
}

/// A fresh `etl` output path next to `input`, in the input's format.
fn etl_output(input: &Path, strategy: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let ext = input.extension().unwrap().to_str().unwrap();
    let stem = input.file_stem().unwrap().to_str().unwrap();
    let n = N.fetch_add(1, Ordering::Relaxed);
    input.with_file_name(format!("etl-{stem}-{strategy}-{n}.{ext}"))
}

fn run_all(
    input: &Path,
    workload: &Workload,
    tweak: impl Fn(&mut Params),
) -> Vec<(&'static str, Result<Outcome, RunError>)> {
    common::registry()
        .iter()
        .map(|s| {
            let mut p = Params::new(workload.clone(), input);
            if *workload == Workload::Etl {
                p.output = Some(etl_output(input, s.name()));
            }
            tweak(&mut p);
            let r = s.run(&p);
            if let (Err(_), Some(o)) = (&r, &p.output) {
                let mut tmp = o.clone().into_os_string();
                tmp.push(".tmp");
                assert!(
                    !o.exists() && !Path::new(&tmp).exists(),
                    "{}: a failed etl left {} behind",
                    s.name(),
                    o.display()
                );
            }
            (s.name(), r)
        })
        .collect()
}

fn assert_all_agree(input: &Path, workload: Workload) -> Outcome {
    let mut first: Option<(&str, Outcome)> = None;
    for (chunk_rows, threads) in [(7, 2), (100_000, 3)] {
        for (name, r) in run_all(input, &workload, |p| {
            p.chunk_rows = chunk_rows;
            p.threads = threads;
        }) {
            let out = r.unwrap_or_else(|e| panic!("{name} on {}: {e}", input.display()));
            match &first {
                None => first = Some((name, out)),
                Some((n0, o0)) => assert_eq!(
                    &out,
                    o0,
                    "{name} disagrees with {n0} on {} {workload}",
                    input.display()
                ),
            }
        }
    }
    first.unwrap().1
}

#[test]
fn every_strategy_agrees_on_generated_data_in_both_formats() {
    let dir = tempfile::tempdir().unwrap();
    let spec = GenSpec {
        rows: 30_000,
        row_group_rows: 4_000,
        ..GenSpec::default()
    };
    for format in [GenFormat::Csv, GenFormat::Parquet] {
        let out = generate(&spec, format, dir.path(), false, &mut |_| {}).unwrap();
        for w in Workload::sales() {
            let o = assert_all_agree(&out.path, w);
            assert_eq!(o.rows_read, 30_000);
            match o.answer {
                Answer::TopN { rows } => assert_eq!(rows.len(), 100),
                Answer::GroupBy { groups } => {
                    assert_eq!(groups.iter().map(|g| g.rows).sum::<u64>(), 30_000);
                    assert!(groups.len() > 10);
                }
                Answer::Etl {
                    rows_written,
                    output_format,
                    output_bytes,
                    ..
                } => {
                    assert_eq!(rows_written, 30_000);
                    assert_eq!(output_format, format);
                    assert!(output_bytes > 30_000 * 20, "{output_bytes}");
                }
                Answer::Join { .. } | Answer::Query { .. } => unreachable!("not a sales workload"),
            }
        }
    }
}

#[test]
fn ties_at_the_boundary_are_broken_by_order_id() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = header();
    // 250 rows tie at 2000.00, written in a scrambled id order; 50 rows are bigger.
    for i in 0..250i64 {
        let id = (i * 97) % 250 + 1;
        text += &line(id, "books", 2, "1000.00");
    }
    for i in 0..50i64 {
        text += &line(1000 + i, "toys", 3, &format!("{}.25", 1000 + i));
    }
    let csv = write(dir.path(), "ties.csv", &text);
    let pq = to_parquet(&csv, 64);
    for input in [&csv, &pq] {
        let o = assert_all_agree(input, Workload::TOP_N);
        let Answer::TopN { rows } = o.answer else {
            panic!()
        };
        assert_eq!(rows.len(), 100);
        assert_eq!(
            rows[0],
            TopRow {
                order_id: 1049,
                total_cents: 3 * 104_925
            }
        );
        // After the 50 big ones: the tied rows with the 50 smallest ids, ascending.
        let tied: Vec<i64> = rows[50..].iter().map(|r| r.order_id).collect();
        assert_eq!(tied, (1..=50).collect::<Vec<_>>());
        assert!(rows[50..].iter().all(|r| r.total_cents == 200_000));
        assert_all_agree(input, Workload::GroupBy);
        assert_all_agree(input, Workload::Etl);
    }
}

#[test]
fn a_filter_that_keeps_nothing_and_a_one_row_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = header();
    for i in 0..40 {
        text += &line(i + 1, "garden", 1, "10.00");
    }
    text += &line(99, "garden", 10, "100.00"); // exactly 1000.00: not kept (strict)
    let csv = write(dir.path(), "none.csv", &text);
    let one = write(
        dir.path(),
        "one.csv",
        &(header() + &line(5, "music", 50, "999.99")),
    );
    for input in [
        csv.clone(),
        to_parquet(&csv, 8),
        one.clone(),
        to_parquet(&one, 8),
    ] {
        let o = assert_all_agree(&input, Workload::TOP_N);
        let expect_rows = if input.file_stem().unwrap() == "one" {
            1
        } else {
            0
        };
        let Answer::TopN { rows } = o.answer else {
            panic!()
        };
        assert_eq!(rows.len(), expect_rows, "{}", input.display());
        assert_all_agree(&input, Workload::GroupBy);
        assert_all_agree(&input, Workload::Etl);
    }
}

#[test]
fn bad_rows_fail_the_same_way_everywhere_and_skip_counts_match_the_sidecar() {
    let dir = tempfile::tempdir().unwrap();
    let spec = GenSpec {
        rows: 20_000,
        bad_row_rate: 0.01,
        ..GenSpec::default()
    };
    let out = generate(&spec, GenFormat::Csv, dir.path(), false, &mut |_| {}).unwrap();
    for w in Workload::sales() {
        let errors: Vec<(&str, String)> = run_all(&out.path, &w, |_| {})
            .into_iter()
            .map(|(n, r)| match r {
                Err(RunError::Input(e)) => (n, e.to_string()),
                other => panic!("{n}: expected an input error, got {other:?}"),
            })
            .collect();
        let first = &errors[0].1;
        assert!(
            first.starts_with(&format!("{}:", out.path.display())),
            "{first}"
        );
        assert!(
            first.split(':').nth(1).unwrap().parse::<u64>().is_ok(),
            "names a line: {first}"
        );
        for (n, e) in &errors {
            assert_eq!(e, first, "{n}");
        }
        let mut answers = Vec::new();
        for (n, r) in run_all(&out.path, &w, |p| p.on_bad_row = OnBadRow::Skip) {
            match r {
                Ok(o) => {
                    assert_eq!(o.rows_read, out.meta.valid_rows, "{n}");
                    assert_eq!(o.rows_skipped, out.meta.expected_rows_skipped, "{n}");
                    answers.push((n, o.answer));
                }
                Err(RunError::Unsupported(msg)) => {
                    assert!(refuses_skip(n), "{n} refused skip: {msg}");
                    assert!(msg.contains("skip"), "{msg}");
                }
                Err(e) => panic!("{n}: {e}"),
            }
        }
        assert_eq!(
            answers.len(),
            common::registry()
                .iter()
                .filter(|s| !refuses_skip(s.name()))
                .count()
        );
        assert!(
            answers.windows(2).all(|p| p[0].1 == p[1].1),
            "skip answers differ"
        );
    }
}

#[test]
fn empty_header_only_and_missing_column_are_clear_errors_for_every_strategy() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (write(dir.path(), "empty.csv", ""), "file is empty"),
        (
            write(dir.path(), "header.csv", &header()),
            "has a header but no data rows",
        ),
        (
            write(
                dir.path(),
                "missing.csv",
                "order_id,order_date,customer_id,region,category,product_id,quantity,discount,note\n1,2,3,4,5,6,7,8,9\n",
            ),
            "missing column \"price\"",
        ),
    ];
    // Parquet without a column.
    let good = write(
        dir.path(),
        "good.csv",
        &(header() + &line(1, "books", 1, "5.00")),
    );
    let mut df = membench_polars::read_eager(&good, membench_strategies::Format::Csv)
        .unwrap()
        .drop("price")
        .unwrap();
    let pq_missing = dir.path().join("missing.parquet");
    ParquetWriter::new(std::fs::File::create(&pq_missing).unwrap())
        .finish(&mut df)
        .unwrap();
    let pq_empty = write(dir.path(), "empty.parquet", "");
    let cases = cases.into_iter().chain([
        (pq_missing, "missing column \"price\""),
        (pq_empty, "file is empty"),
    ]);
    for (input, expected) in cases {
        for w in Workload::sales() {
            for (n, r) in run_all(&input, &w, |_| {}) {
                match r {
                    Err(RunError::Input(e)) => {
                        let msg = e.to_string();
                        assert!(msg.contains(expected), "{n} on {}: {msg}", input.display());
                        assert!(msg.starts_with(&input.display().to_string()), "{msg}");
                    }
                    other => panic!(
                        "{n} on {}: expected an input error, got {other:?}",
                        input.display()
                    ),
                }
            }
        }
    }
}

fn run_etl(strategy: &str, input: &Path, out: &Path, format: SFormat) -> Outcome {
    let mut p = Params::new(Workload::Etl, input);
    p.output = Some(out.to_path_buf());
    p.output_format = Some(format);
    p.chunk_rows = 1;
    membench_strategies::find(strategy)
        .unwrap()
        .run(&p)
        .unwrap_or_else(|e| panic!("{strategy} on {}: {e}", input.display()))
}

#[test]
fn etl_cleans_rows_the_same_way_in_every_strategy_and_output_format() {
    let dir = tempfile::tempdir().unwrap();
    let text = header()
        + "2,2022-03-04,11,  North-East ,BOOKS,7,3,10.50,,\"  padded, \"\"quoted\"\" note  \"\n"
        + "1,2022-03-05,12,south,Größe,8,1,999.99,0.30,plain\n";
    let csv = write(dir.path(), "messy.csv", &text);
    let pq = to_parquet(&csv, 1);
    let expected = "order_id,order_date,customer_id,region,category,product_id,quantity,\
                    price_cents,discount_cents,net_cents,note\n\
                    2,2022-03-04,11,north-east,books,7,3,1050,0,3150,\"padded, \"\"quoted\"\" note\"\n\
                    1,2022-03-05,12,south,größe,8,1,99999,30,99969,plain\n";
    let mut answers = Vec::new();
    for input in [&csv, &pq] {
        for s in common::registry() {
            // CSV output: exactly the expected text.
            let out = dir.path().join(format!("out-{}.csv", s.name()));
            let o = run_etl(s.name(), input, &out, SFormat::Csv);
            let written = std::fs::read_to_string(&out).unwrap();
            assert_eq!(written, expected, "{} on {}", s.name(), input.display());
            assert_eq!(o.rows_read, 2);
            answers.push(("csv", s.name(), o.answer));
            // Parquet output: the same values, read back.
            let out = dir.path().join(format!("out-{}.parquet", s.name()));
            let o = run_etl(s.name(), input, &out, SFormat::Parquet);
            let df = ParquetReader::new(std::fs::File::open(&out).unwrap())
                .finish()
                .unwrap();
            let strs = |c: &str| -> Vec<String> {
                df.column(c)
                    .unwrap()
                    .str()
                    .unwrap()
                    .iter()
                    .map(|v| v.unwrap().to_string())
                    .collect()
            };
            let ints = |c: &str| -> Vec<i64> {
                df.column(c)
                    .unwrap()
                    .i64()
                    .unwrap()
                    .iter()
                    .map(|v| v.unwrap())
                    .collect()
            };
            let names: Vec<&str> = df.get_column_names().iter().map(|c| c.as_str()).collect();
            assert_eq!(names, membench_kernel::ETL_COLUMNS);
            assert_eq!(strs("region"), ["north-east", "south"]);
            assert_eq!(strs("category"), ["books", "größe"]);
            assert_eq!(strs("note"), ["padded, \"quoted\" note", "plain"]);
            assert_eq!(ints("net_cents"), [3150, 99969]);
            assert_eq!(ints("discount_cents"), [0, 30]);
            answers.push(("parquet", s.name(), o.answer));
        }
    }
    // Same bytes for the same output format, whatever the strategy or input format.
    for (f, n, a) in &answers {
        let (_, n0, a0) = answers.iter().find(|(f0, _, _)| f0 == f).unwrap();
        assert_eq!(a, a0, "{n} vs {n0} ({f} output)");
    }
}

#[test]
fn etl_output_does_not_depend_on_the_input_format_and_reads_back_consistently() {
    let dir = tempfile::tempdir().unwrap();
    let spec = GenSpec {
        rows: 150_000,
        row_group_rows: 30_000,
        ..GenSpec::default()
    };
    let csv = generate(&spec, GenFormat::Csv, dir.path(), false, &mut |_| {}).unwrap();
    let pq = generate(&spec, GenFormat::Parquet, dir.path(), false, &mut |_| {}).unwrap();
    for out_format in [SFormat::Csv, SFormat::Parquet] {
        let ext = out_format.name();
        let a = run_etl(
            "streaming",
            &csv.path,
            &dir.path().join(format!("a.{ext}")),
            out_format,
        );
        let b = run_etl(
            "parallel",
            &pq.path,
            &dir.path().join(format!("b.{ext}")),
            out_format,
        );
        assert_eq!(a, b, "{ext} output from CSV and Parquet input");
    }
    // 150k rows make three row groups of 65,536 rows or fewer; the values hold the rules.
    let df = ParquetReader::new(std::fs::File::open(dir.path().join("a.parquet")).unwrap())
        .finish()
        .unwrap();
    assert_eq!(df.height(), 150_000);
    let check = df
        .lazy()
        .select([
            (col("net_cents").eq(col("quantity") * col("price_cents") - col("discount_cents")))
                .all(true)
                .alias("net"),
            col("region")
                .eq(col("region").str().to_lowercase())
                .all(true)
                .alias("lower"),
            col("discount_cents")
                .is_null()
                .any(true)
                .alias("null_discount"),
        ])
        .collect()
        .unwrap();
    let flag = |c: &str| check.column(c).unwrap().bool().unwrap().get(0).unwrap();
    assert!(flag("net") && flag("lower") && !flag("null_discount"));
    let meta = ParquetReader::new(std::fs::File::open(dir.path().join("a.parquet")).unwrap())
        .get_metadata()
        .unwrap()
        .clone();
    let groups: Vec<usize> = meta.row_groups.iter().map(|g| g.num_rows()).collect();
    assert_eq!(groups, [65_536, 65_536, 18_928]);
}

// ---- Through the runner binary: --emit-answer and heap shapes (isolated processes). ----

fn runner_cell(strategy: &str, workload: &Workload, input: &Path, extra: &[&str]) -> RunnerRecord {
    let m = run_cell(&common::cell(strategy, workload, input, extra));
    assert_eq!(
        m.status,
        Status::Ok,
        "{strategy} {workload}: {}",
        m.stderr_tail
    );
    m.runner.unwrap()
}

fn peak(strategy: &str, input: &Path, extra: &[&str]) -> u64 {
    peak_of(strategy, &Workload::TOP_N, input, extra)
}

fn peak_of(strategy: &str, workload: &Workload, input: &Path, extra: &[&str]) -> u64 {
    runner_cell(strategy, workload, input, extra)
        .measure
        .peak_heap_bytes
        .unwrap()
}

#[test]
fn runner_emits_the_answer_for_every_strategy() {
    let dir = tempfile::tempdir().unwrap();
    let spec = GenSpec {
        rows: 5_000,
        row_group_rows: 1_000,
        ..GenSpec::default()
    };
    for format in [GenFormat::Csv, GenFormat::Parquet] {
        let out = generate(&spec, format, dir.path(), false, &mut |_| {}).unwrap();
        for w in Workload::sales() {
            let mut digests = Vec::new();
            for s in common::registry() {
                let v = runner_cell(s.name(), &w, &out.path, &["--emit-answer"]);
                let answer: Answer = serde_json::from_value(v.measure.answer.unwrap()).unwrap();
                assert_eq!(v.measure.answer_digest.unwrap(), answer.digest());
                assert_eq!(v.measure.rows_read, Some(5_000));
                // The input's reading unit, from the file's footer (`recommend` reads it).
                let groups = (format == GenFormat::Parquet).then_some(1_000);
                assert_eq!(
                    v.measure.row_group_rows,
                    groups,
                    "{} {w} {format:?}",
                    s.name()
                );
                digests.push(answer.digest());
            }
            assert!(
                digests.windows(2).all(|d| d[0] == d[1]),
                "{w} {format:?}: {digests:?}"
            );
        }
    }
}

#[test]
fn heap_shapes_streaming_flat_chunked_bounded_load_all_growing() {
    let dir = tempfile::tempdir().unwrap();
    let gen_at = |rows: u64, format| {
        let spec = GenSpec {
            rows,
            row_group_rows: 20_000,
            ..GenSpec::default()
        };
        generate(&spec, format, dir.path(), false, &mut |_| {})
            .unwrap()
            .path
    };
    let (small, large) = (
        gen_at(100_000, GenFormat::Csv),
        gen_at(1_000_000, GenFormat::Csv),
    );

    // streaming on CSV: the same ±5 % on 100k and 1M rows, and under 1 MiB.
    let (s1, s2) = (
        peak("streaming", &small, &[]),
        peak("streaming", &large, &[]),
    );
    eprintln!("streaming CSV peak heap: {s1} B (100k rows), {s2} B (1M rows)");
    assert!(s2 < 1 << 20, "streaming peak {s2} B");
    assert!(
        (s2 as f64 - s1 as f64).abs() <= 0.05 * s1 as f64,
        "{s1} vs {s2}"
    );
    // The same cell measured twice gives the same peak (deterministic counting).
    assert_eq!(peak("streaming", &small, &[]), s1);

    // load-all-lean loads less than load-all: the aggregates' few columns in narrow types take
    // under a tenth of load-all's rows, and etl's every column (dictionary codes, one note
    // buffer) at least 30 % less — the articles' "30–70 %".
    for (w, share) in [
        (Workload::TOP_N, 0.10),
        (Workload::GroupBy, 0.10),
        (Workload::Etl, 0.70),
    ] {
        let lean = peak_of("load-all-lean", &w, &large, &[]);
        let all = peak_of("load-all", &w, &large, &[]);
        eprintln!("{w} on 1M CSV rows: load-all-lean {lean} B, load-all {all} B");
        assert!((lean as f64) < share * all as f64, "{w}: {lean} vs {all}");
    }

    // mmap parses in place: no read buffer, no copy of a record; the same on 100k and 1M rows,
    // for every workload (etl: its output buffer), and under 1 MiB.
    for w in Workload::sales() {
        let (m1, m2) = (
            peak_of("mmap", &w, &small, &[]),
            peak_of("mmap", &w, &large, &[]),
        );
        eprintln!("mmap CSV {w} peak heap: {m1} B (100k rows), {m2} B (1M rows)");
        assert!(m2 < 1 << 20, "mmap {w} peak {m2} B");
        assert!(
            (m2 as f64 - m1 as f64).abs() <= 0.05 * m1 as f64,
            "{m1} vs {m2}"
        );
        if w.is_aggregate() {
            // Without streaming's 64 KiB read buffer.
            assert!(m2 + 60_000 < peak_of("streaming", &w, &large, &[]), "{m2}");
        }
    }

    // chunked: bounded by the chunk, not the file.
    let c_small = peak("chunked", &large, &["--chunk-rows", "2000"]);
    let c_large = peak("chunked", &large, &["--chunk-rows", "20000"]);
    eprintln!(
        "chunked CSV peak heap on 1M rows: {c_small} B (2k-row chunks), {c_large} B (20k-row chunks)"
    );
    assert!(c_large < 20_000 * 600 + (1 << 20), "{c_large}");
    assert!(c_small < 2_000 * 600 + (1 << 20), "{c_small}");
    assert!(
        c_large > 5 * c_small,
        "grows with the chunk: {c_small} → {c_large}"
    );

    // etl: streaming writes through reused buffers (flat, under 1 MiB); parallel holds about
    // `threads` 1 MiB units ahead of the writer; chunked one chunk.
    let etl = |s: &str, input: &Path, extra: &[&str]| peak_of(s, &Workload::Etl, input, extra);
    let (e1, e2) = (etl("streaming", &small, &[]), etl("streaming", &large, &[]));
    eprintln!("streaming etl CSV→CSV peak heap: {e1} B (100k rows), {e2} B (1M rows)");
    assert!(e2 < 1 << 20, "streaming etl peak {e2} B");
    assert!(
        (e2 as f64 - e1 as f64).abs() <= 0.05 * e1 as f64,
        "{e1} vs {e2}"
    );
    let (f1, f2) = (etl("parallel", &small, &[]), etl("parallel", &large, &[]));
    eprintln!("parallel etl CSV→CSV peak heap: {f1} B (100k rows), {f2} B (1M rows)");
    assert!(f2 < 16 << 20, "parallel etl peak {f2} B");
    // Not byte-exact like streaming: how far the workers run ahead depends on scheduling. Ten
    // times the rows must not double it.
    assert!(f2 < 2 * f1, "{f1} → {f2}");
    let g = etl("chunked", &large, &["--chunk-rows", "20000"]);
    eprintln!("chunked etl CSV→CSV peak heap on 1M rows: {g} B (20k-row chunks)");
    assert!(g < 20_000 * 600 + (2 << 20), "{g}");

    // load-all grows with the file.
    let (l1, l2) = (peak("load-all", &small, &[]), peak("load-all", &large, &[]));
    eprintln!("load-all CSV peak heap: {l1} B (100k rows), {l2} B (1M rows)");
    assert!(l2 > 8 * l1, "{l1} → {l2}");

    // streaming on Parquet: bounded by one row group.
    let (p_small, p_large) = (
        gen_at(100_000, GenFormat::Parquet),
        gen_at(1_000_000, GenFormat::Parquet),
    );
    let (q1, q2) = (
        peak("streaming", &p_small, &[]),
        peak("streaming", &p_large, &[]),
    );
    eprintln!(
        "streaming Parquet peak heap: {q1} B (100k rows), {q2} B (1M rows), row groups of 20k"
    );
    // What grows is the file's parsed footer (its row-group metadata, ≈ 6 KiB a row group in
    // memory, read once per slice): 45 more row groups may add at most 8 KiB each. (Before the
    // row-group reads decoded on Polars' thread pool, its buffers masked this within 1.2×.)
    assert!(q2 <= q1 + 45 * 8192, "{q1} → {q2}");
    assert!(
        q2 < 20_000 * 300,
        "one 20k-row group of the needed columns: {q2}"
    );

    // parallel on Parquet: about workers × one row group, whatever the file (a nested rayon
    // pool once let it hold far more row groups than workers).
    // On the small file (5 row groups) the two workers may or may not overlap at their peak,
    // depending on scheduling: take the largest of three runs as its peak, so that the growth
    // check compares like with like (one run once gave 2.4 MB against the usual 3.1 MB).
    let r1 = (0..3)
        .map(|_| peak("parallel", &p_small, &[]))
        .max()
        .unwrap();
    let r2 = peak("parallel", &p_large, &[]);
    eprintln!("parallel Parquet peak heap: {r1} B (100k rows), {r2} B (1M rows), 2 workers");
    assert!(r2 < 3 * q2, "{r2} vs one row group {q2}");
    // Since the projection a row group holds four columns (≈ 0.7 MB), so whether the two
    // workers' groups overlap at the peak decides most of it: up to 2× (measured 1.58 → 2.10
    // MB once). Ten times the rows must not double it.
    assert!((r2 as f64) < 2.0 * r1 as f64, "{r1} → {r2}");

    // etl Parquet→Parquet, streaming: one input row group plus one 65,536-row output group,
    // whatever the file (the writer's footer grows a little per row group).
    let (t1, t2) = (
        etl("streaming", &p_small, &[]),
        etl("streaming", &p_large, &[]),
    );
    eprintln!("streaming etl Parquet→Parquet peak heap: {t1} B (100k rows), {t2} B (1M rows)");
    assert!((t2 as f64) < 1.25 * t1 as f64, "{t1} → {t2}");
}

/// Seed 001's memory guard, measured: under a budget where `chunked` with a fixed chunk as long
/// as the file runs out of heap, `adaptive` started at the same length shrinks its batches and
/// finishes under the budget with the same answer.
#[test]
fn adaptive_finishes_under_a_budget_where_fixed_chunks_run_out() {
    let dir = tempfile::tempdir().unwrap();
    let spec = GenSpec {
        rows: 200_000,
        row_group_rows: 20_000,
        ..GenSpec::default()
    };
    // Parquet decodes only the columns a workload reads (top-n: 32 B a row), so a chunk of the
    // whole file fits 16 MiB there: its budget is smaller.
    for (format, workloads, mib) in [
        (
            GenFormat::Csv,
            &Workload::sales().collect::<Vec<_>>()[..],
            16u64,
        ),
        (
            GenFormat::Parquet,
            &Workload::sales().take(2).collect::<Vec<_>>()[..],
            4,
        ),
    ] {
        let budget = mib << 20;
        let budget_arg = format!("{mib}MiB");
        let limit = ["--memory-limit", &budget_arg, "--chunk-rows", "200000"];
        let input = generate(&spec, format, dir.path(), false, &mut |_| {})
            .unwrap()
            .path;
        for w in workloads {
            let name = w.name();
            let flags = ["--strategy", "chunked", "--workload", &name, "--input"]
                .into_iter()
                .map(std::ffi::OsStr::new)
                .chain([input.as_os_str()])
                .chain(limit.iter().map(std::ffi::OsStr::new));
            let cmd = common::runner_job(env!("CARGO_BIN_EXE_membench-runner"), flags);
            assert_eq!(run_cell(&cmd).status, Status::Oom, "chunked {w} {format:?}");
            let r = runner_cell("adaptive", w, &input, &limit);
            let heap = r.measure.peak_heap_bytes.unwrap() + r.measure.baseline_heap_bytes.unwrap();
            assert!(heap <= budget, "adaptive {w} {format:?}: {heap} B");
            assert!(!r.measure.batches.is_empty());
            assert!(
                r.measure.batches.iter().any(|b| b[1] < 200_000),
                "adaptive {w} {format:?} never shrank: {:?}",
                r.measure.batches
            );
            let rows: u64 = r.measure.batches.iter().map(|b| b[1]).sum();
            assert_eq!(rows, 200_000, "the batches cover the file once");
            let reference = runner_cell("streaming", w, &input, &[]);
            assert_eq!(
                r.measure.answer_digest, reference.measure.answer_digest,
                "{w} {format:?}"
            );
        }
    }
}

/// `.csv.gz` and `.csv.zst` (written by the generator, messy notes with quoted line feeds
/// included) give every strategy that reads compressed input the answer `streaming` gives on
/// the plain CSV; the others refuse with their reason; a damaged stream is the same input error
/// everywhere.
#[test]
fn compressed_csv_gives_the_same_answers_and_damage_is_one_error() {
    use membench_strategies::{Compression, Decompress};
    let dir = tempfile::tempdir().unwrap();
    let spec = GenSpec {
        rows: 30_000,
        messy: true,
        ..GenSpec::default()
    };
    let plain = generate(&spec, GenFormat::Csv, dir.path(), false, &mut |_| {}).unwrap();
    for w in Workload::sales() {
        let mut reference = Params::new(w.clone(), &plain.path);
        reference.output = Some(dir.path().join(format!("ref-{w}.csv")));
        let expected = membench_strategies::find("streaming")
            .unwrap()
            .run(&reference)
            .unwrap();
        for codec in Compression::CODECS {
            let packed = membench_datagen::compress(&plain, codec, false).unwrap();
            // Deterministic: the same bytes again.
            let again = membench_datagen::compress(&plain, codec, true).unwrap();
            assert_eq!(packed.meta.sha256, again.meta.sha256, "{codec:?}");
            assert!(packed.meta.bytes < plain.meta.bytes / 2);
            for s in common::registry() {
                let mut p = Params::new(w.clone(), &packed.path);
                p.output = Some(dir.path().join(format!("out-{}-{w}.csv", s.name())));
                match (s.info.compressed, s.run(&p)) {
                    (Decompress::No(_), Err(RunError::Unsupported(m))) => {
                        assert!(m.contains(codec.name()), "{m}")
                    }
                    (Decompress::No(_), other) => panic!("{} should refuse: {other:?}", s.name()),
                    (_, Ok(o)) => {
                        assert_eq!(o.answer, expected.answer, "{} {w} {codec:?}", s.name());
                        assert_eq!(o.rows_read, expected.rows_read);
                    }
                    (_, Err(e)) => panic!("{} {w} {codec:?}: {e}", s.name()),
                }
            }
        }
    }
    // A truncated gzip file: one input error, naming the file, from every strategy that reads it.
    let gz = membench_datagen::compress(&plain, Compression::Gzip, false).unwrap();
    let bytes = std::fs::read(&gz.path).unwrap();
    let cut = write(dir.path(), "cut.csv.gz", "");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let mut seen = common::OneVerdict::default();
    for s in common::registry() {
        if matches!(s.info.compressed, Decompress::No(_)) {
            continue;
        }
        let mut p = Params::new(Workload::TOP_N, &cut);
        p.output = None;
        let e = match s.run(&p) {
            Err(RunError::Input(e)) => e.to_string(),
            other => panic!("{}: expected an input error, got {other:?}", s.name()),
        };
        assert!(
            e.starts_with(&cut.display().to_string()) && e.contains("compressed"),
            "{e}"
        );
        seen.check(s.name(), e);
    }
}

/// A dataset spread over part files (`--files`), read as a folder or a glob, gives every
/// strategy the answer `streaming` gives on the single file (etl: the same output bytes); a
/// bad row in a later part is the same error everywhere, naming that part and its line.
#[test]
fn a_folder_of_part_files_gives_the_single_files_answers() {
    let dir = tempfile::tempdir().unwrap();
    let spec = GenSpec {
        rows: 30_000,
        row_group_rows: 4_000,
        messy: true,
        ..GenSpec::default()
    };
    for format in [GenFormat::Csv, GenFormat::Parquet] {
        let single = generate(&spec, format, dir.path(), false, &mut |_| {}).unwrap();
        let folder = membench_datagen::split_into_files(&single, 3, false).unwrap();
        assert_eq!(folder.meta.parts.len(), 3);
        assert_eq!(
            folder.meta.parts.iter().map(|p| p.rows).sum::<u64>(),
            30_000
        );
        let ext = single.meta.format.name();
        let glob = folder.path.join(format!("part-*.{ext}"));
        for w in Workload::sales() {
            let out = |name: &str| dir.path().join(format!("{name}-{w}-{ext}.csv"));
            let mut reference = Params::new(w.clone(), &single.path);
            reference.output = Some(out("reference"));
            reference.output_format = Some(SFormat::Csv);
            let expected = membench_strategies::find("streaming")
                .unwrap()
                .run(&reference)
                .unwrap();
            for s in common::registry() {
                for input in [&folder.path, &glob] {
                    let mut p = Params::new(w.clone(), input);
                    p.output = Some(out(s.name()));
                    p.output_format = Some(SFormat::Csv);
                    let o = s
                        .run(&p)
                        .unwrap_or_else(|e| panic!("{} {w} {}: {e}", s.name(), input.display()));
                    assert_eq!(
                        o.answer,
                        expected.answer,
                        "{} {w} {}",
                        s.name(),
                        input.display()
                    );
                    assert_eq!(o.rows_read, expected.rows_read);
                }
            }
        }
    }
    // A bad row in the second part: the same error from every strategy, naming that part.
    let single = generate(
        &GenSpec {
            rows: 9_000,
            ..GenSpec::default()
        },
        GenFormat::Csv,
        dir.path(),
        false,
        &mut |_| {},
    )
    .unwrap();
    let folder = membench_datagen::split_into_files(&single, 3, false).unwrap();
    let part = folder.path.join(&folder.meta.parts[1].file);
    let text = std::fs::read_to_string(&part).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    let bad = line(1, "books", 0, "1.00");
    lines[5] = bad.trim_end();
    std::fs::write(&part, lines.join("\n") + "\n").unwrap();
    let mut seen = common::OneVerdict::default();
    for w in Workload::sales() {
        for s in common::registry() {
            let mut p = Params::new(w.clone(), &folder.path);
            p.output = Some(dir.path().join(format!("bad-{}.csv", s.name())));
            let e = match s.run(&p) {
                Err(RunError::Input(e)) => e.to_string(),
                other => panic!("{} {w}: expected an input error, got {other:?}", s.name()),
            };
            assert!(
                e.starts_with(&format!("{}:6:", part.display())),
                "{} {w}: {e}",
                s.name()
            );
            seen.check(&format!("{} {w}", s.name()), e);
        }
    }
}

#[test]
fn an_etl_that_ends_out_of_memory_leaves_no_temporary_output_behind() {
    // The out-of-memory exit runs no destructor; the runner registered its temporary output
    // folder and files for that exit to remove.
    let dir = tempfile::tempdir().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let spec = GenSpec {
        rows: 50_000,
        ..GenSpec::default()
    };
    let out = generate(&spec, GenFormat::Csv, dir.path(), false, &mut |_| {}).unwrap();
    let m = run_cell(
        &common::cell(
            "load-all",
            &Workload::Etl,
            &out.path,
            &["--memory-limit", "4MiB"],
        )
        .env("TMPDIR", tmp.path()),
    );
    assert_eq!(m.status, Status::Oom, "{}", m.stderr_tail);
    let left: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(left.is_empty(), "left in TMPDIR: {left:?}");
}
