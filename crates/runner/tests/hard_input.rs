//! Hard input: valid CSV that real exports contain is accepted by every strategy with the same
//! answer (quoted line feeds, CRLF, a byte-order mark, reordered and extra columns), arithmetic is
//! checked the same way everywhere, `parallel` splits files exactly however the quotes fall, and
//! an over-long record stops the hand-written strategies early with bounded memory.

mod common;

use std::path::{Path, PathBuf};

use membench_harness::{Status, run_cell};
use membench_kernel::{Answer, COLUMNS, Workload};
use membench_strategies::{Entry, Outcome, Params, RunError};

fn write(dir: &Path, name: &str, text: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn header() -> String {
    COLUMNS.join(",")
}

/// One row in schema order with the given note (already CSV-encoded) and line end.
fn row(id: i64, q: i64, price: &str, note: &str) -> String {
    let cat = ["books", "toys", "garden"][id as usize % 3];
    format!(
        "{id},2024-01-0{},{},north,{cat},{},{q},{price},0.05,{note}",
        1 + id % 9,
        100 + id,
        7 + id
    )
}

fn run(s: &Entry, input: &Path, workload: &Workload, threads: usize) -> Result<Outcome, RunError> {
    let mut p = Params::new(workload.clone(), input);
    p.threads = threads;
    p.chunk_rows = 3;
    if *workload == Workload::Etl {
        let n = input.file_stem().unwrap().to_str().unwrap();
        p.output = Some(input.with_file_name(format!("out-{n}-{}-{threads}.csv", s.name())));
        p.output_format = Some(membench_strategies::Format::Csv);
    }
    s.run(&p)
}

/// Every strategy × workload gives one answer (etl: the same bytes); returns them.
fn all_agree(input: &Path) -> Vec<Answer> {
    let mut answers = Vec::new();
    for w in Workload::sales() {
        let mut first: Option<(&str, Outcome)> = None;
        for s in common::registry() {
            for threads in [2, 3] {
                let out = run(s, input, &w, threads)
                    .unwrap_or_else(|e| panic!("{} {w} on {}: {e}", s.name(), input.display()));
                match &first {
                    None => first = Some((s.name(), out)),
                    Some((n0, o0)) => {
                        assert_eq!(&out, o0, "{} disagrees with {n0} on {w}", s.name())
                    }
                }
            }
        }
        answers.push(first.unwrap().1.answer);
    }
    answers
}

/// Every strategy × workload fails with exactly `expected`.
fn all_fail_with(input: &Path, expected: &str) {
    for w in Workload::sales() {
        for s in common::registry() {
            match run(s, input, &w, 2) {
                Err(RunError::Input(e)) => assert_eq!(e.to_string(), expected, "{} {w}", s.name()),
                other => panic!("{} {w}: expected an input error, got {other:?}", s.name()),
            }
        }
    }
}

fn lines(rows: &[String], end: &str) -> Vec<u8> {
    let mut t = header() + end;
    for r in rows {
        t.push_str(r);
        t.push_str(end);
    }
    t.into_bytes()
}

#[test]
fn quoted_line_feeds_crlf_and_plain_files_give_the_same_answers() {
    let dir = tempfile::tempdir().unwrap();
    let plain: Vec<String> = (1..=30)
        .map(|i| row(i, i % 5 + 1, "450.25", "\"a, b\""))
        .collect();
    let multiline: Vec<String> = (1..=30)
        .map(|i| {
            row(
                i,
                i % 5 + 1,
                "450.25",
                "\"line one\nline \"\"two\"\"\r\nthree\"",
            )
        })
        .collect();
    let a = write(dir.path(), "plain.csv", &lines(&plain, "\n"));
    let b = write(dir.path(), "multi.csv", &lines(&multiline, "\n"));
    let c = write(dir.path(), "multi-crlf.csv", &lines(&multiline, "\r\n"));
    let (pa, pb, pc) = (all_agree(&a), all_agree(&b), all_agree(&c));
    // The aggregates do not read the note; etl writes it, so only its bytes differ.
    assert_eq!(pa[..2], pb[..2]);
    assert_eq!(
        pb, pc,
        "CRLF and LF line ends give the same answers, etl included"
    );
    // A bad row after the multi-line notes is reported at its physical line: header 1, then
    // three lines per row.
    let mut bad = multiline.clone();
    bad[9] = row(10, 0, "450.25", "x");
    let f = write(dir.path(), "multi-bad.csv", &lines(&bad, "\n"));
    all_fail_with(&f, &format!("{}:29: quantity: 0 is below 1", f.display()));
}

#[test]
fn a_byte_order_mark_and_a_reordered_header_with_an_extra_column_are_read_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let rows: Vec<String> = (1..=20)
        .map(|i| row(i, i % 4 + 1, "1200.50", "plain"))
        .collect();
    let base = all_agree(&write(dir.path(), "base.csv", &lines(&rows, "\n")));
    let mut bom = b"\xEF\xBB\xBF".to_vec();
    bom.extend(lines(&rows, "\n"));
    assert_eq!(all_agree(&write(dir.path(), "bom.csv", &bom)), base);
    // Columns reversed, and an unknown column in the middle (dropped by etl).
    let mut names: Vec<&str> = COLUMNS.to_vec();
    names.reverse();
    names.insert(4, "warehouse");
    let mut text = names.join(",") + "\n";
    for r in &rows {
        let mut f: Vec<&str> = r.split(',').collect();
        f.reverse();
        f.insert(4, "W-1");
        text.push_str(&(f.join(",") + "\n"));
    }
    assert_eq!(
        all_agree(&write(dir.path(), "reordered.csv", text.as_bytes())),
        base
    );
}

#[test]
fn overflow_is_the_same_input_error_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let mut rows: Vec<String> = (1..=5).map(|i| row(i, 2, "10.00", "x")).collect();
    rows.push(row(6, i64::MAX, "999999999.99", "x"));
    let f = write(dir.path(), "overflow.csv", &lines(&rows, "\n"));
    all_fail_with(
        &f,
        &format!(
            "{}:7: quantity × price overflows 64 bits: 9223372036854775807 × 999999999.99",
            f.display()
        ),
    );
    // Each product fits, the sum does not: a file-level error, the same everywhere.
    let rows: Vec<String> = (1..=4)
        .map(|i| row(i * 3, 4_000_000, "10000000000.00", "x"))
        .collect();
    let f = write(dir.path(), "sum.csv", &lines(&rows, "\n"));
    for s in common::registry() {
        let e = run(s, &f, &Workload::GroupBy, 2).unwrap_err().to_string();
        assert_eq!(
            e,
            format!(
                "{}: the sum of quantity × price over category \"books\" is out of range \
                 (64-bit): 16000000000000000000",
                f.display()
            ),
            "{}",
            s.name()
        );
        assert!(
            run(s, &f, &Workload::TOP_N, 2).is_ok(),
            "{}: top-n sums nothing",
            s.name()
        );
    }
    // An integer past i64 is "out of range", not "not an integer".
    let rows = vec![row(1, 2, "10.00", "x").replacen(",2,10.00", ",9223372036854775808,10.00", 1)];
    let f = write(dir.path(), "big.csv", &lines(&rows, "\n"));
    all_fail_with(
        &f,
        &format!(
            "{}:2: quantity: \"9223372036854775808\" is out of range (64-bit)",
            f.display()
        ),
    );
}

#[test]
fn parallel_splits_exactly_when_every_boundary_falls_inside_a_quoted_field() {
    let dir = tempfile::tempdir().unwrap();
    // Notes of 2 KiB holding line feeds, commas and quotes: for any thread count the byte
    // ranges' boundaries land inside them.
    let note = format!("\"{}\"", "a,\n\"\"b\"\" c\r\n".repeat(200));
    let rows: Vec<String> = (1..=300)
        .map(|i| row(i, i % 7 + 1, "333.33", &note))
        .collect();
    let f = write(dir.path(), "quoted.csv", &lines(&rows, "\n"));
    let streaming = membench_strategies::find("streaming").unwrap();
    let parallel = membench_strategies::find("parallel").unwrap();
    for w in Workload::sales() {
        let want = run(streaming, &f, &w, 1).unwrap();
        for threads in [2, 3, 7] {
            assert_eq!(
                run(parallel, &f, &w, threads).unwrap(),
                want,
                "{w} on {threads} threads"
            );
        }
    }
}

fn runner(
    strategy: &str,
    workload: &Workload,
    input: &Path,
    extra: &[&str],
) -> membench_harness::Measured {
    run_cell(&common::cell(strategy, workload, input, extra))
}

#[test]
fn an_over_long_record_stops_every_strategy_early_with_bounded_heap() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = lines(&[row(1, 2, "10.00", "x")], "\n");
    text.extend_from_slice(b"2,2024-01-01,3,north,books,4,5,6.00,,\"");
    text.extend(std::iter::repeat_n(b'x', 8 << 20));
    text.extend_from_slice(b"\"\n");
    let f = write(dir.path(), "long.csv", &text);
    // The same without any line feed after the header: 8 MiB of one unquoted line.
    let mut flat = lines(&[row(1, 2, "10.00", "x")], "\n");
    flat.extend_from_slice(b"2,2024-01-01,3,north,books,4,5,6.00,,");
    flat.extend(std::iter::repeat_n(b'y', 8 << 20));
    let g = write(dir.path(), "no-newline.csv", &flat);
    let max = 1 << 20;
    for (f, w) in [&f, &g]
        .into_iter()
        .flat_map(|f| Workload::sales().map(move |w| (f, w)))
    {
        for s in common::registry() {
            // chunked's own batch (chunk rows × row size) is its declared cost, apart from the
            // record bound: keep it small here.
            let args = [
                "--max-record-bytes",
                "1MiB",
                "--threads",
                "2",
                "--chunk-rows",
                "1000",
            ];
            let m = runner(s.name(), &w, f, &args);
            assert_eq!(m.status, Status::Error, "{}: {}", s.name(), m.stderr_tail);
            let r = m.runner.unwrap();
            let err = r.measure.error.unwrap().message;
            assert_eq!(
                err,
                format!(
                    "{}:3: record longer than 1048576 bytes (--max-record-bytes)",
                    f.display()
                ),
                "{}",
                s.name()
            );
            let heap = r.measure.peak_heap_bytes.unwrap();
            assert!(heap < 2 * max, "{}: peak heap {heap} ≥ 2 × {max}", s.name());
        }
    }
}

/// A small valid Parquet file of ours, converted from CSV.
fn parquet_of(dir: &Path, name: &str) -> PathBuf {
    let rows: Vec<String> = (1..=50).map(|i| row(i, i % 3 + 1, "250.00", "x")).collect();
    let csv = write(dir, &format!("{name}.csv"), &lines(&rows, "\n"));
    let mut df =
        membench_strategies::polars::read_eager(&csv, membench_strategies::Format::Csv).unwrap();
    let out = dir.join(format!("{name}.parquet"));
    polars::prelude::ParquetWriter::new(std::fs::File::create(&out).unwrap())
        .with_row_group_size(Some(16))
        .finish(&mut df)
        .unwrap();
    out
}

/// Every strategy × workload fails with an input error that names the file and contains
/// `needle`, and all give the very same text.
fn all_fail_alike(input: &Path, needle: &str) {
    let mut seen = common::OneVerdict::default();
    for w in Workload::sales() {
        for s in common::registry() {
            let e = match run(s, input, &w, 2) {
                Err(RunError::Input(e)) => e.to_string(),
                other => panic!("{} {w}: expected an input error, got {other:?}", s.name()),
            };
            assert!(e.starts_with(&input.display().to_string()), "{e}");
            assert!(e.contains(needle), "{} {w}: {e}", s.name());
            seen.check(&format!("{} {w}", s.name()), e);
        }
    }
}

#[test]
fn bad_values_in_parquet_are_the_same_error_everywhere() {
    use polars::prelude::*;
    let dir = tempfile::tempdir().unwrap();
    let good = parquet_of(dir.path(), "values");
    for (name, column, value) in [
        ("overflow", "quantity", i64::MAX),
        ("zero-quantity", "quantity", 0),
    ] {
        let mut df = polars_frame(&good);
        let mut v: Vec<i64> = df
            .column(column)
            .unwrap()
            .i64()
            .unwrap()
            .into_no_null_iter()
            .collect();
        v[37] = value;
        df.with_column(Column::new(column.into(), v)).unwrap();
        if name == "overflow" {
            let price: Vec<f64> = vec![999_999_999.99; df.height()];
            df.with_column(Column::new("price".into(), price)).unwrap();
        }
        let p = dir.path().join(format!("{name}.parquet"));
        ParquetWriter::new(std::fs::File::create(&p).unwrap())
            .with_row_group_size(Some(16))
            .finish(&mut df)
            .unwrap();
        all_fail_alike(&p, "row 38: ");
    }
}

/// The row-group readers decode only the columns a workload reads (`io::parquet::Projection`),
/// so a null in a column the workload does not read (`customer_id` for every aggregate,
/// `category` for top-n, `order_id` for group-by) must still be the same bad row everywhere:
/// the statistics show the null and the column is decoded.
#[test]
fn a_null_in_a_column_the_workload_does_not_read_is_still_the_bad_row() {
    use polars::prelude::*;
    let dir = tempfile::tempdir().unwrap();
    let good = parquet_of(dir.path(), "nulls");
    for column in ["order_id", "customer_id", "product_id", "category"] {
        let mut df = polars_frame(&good);
        let c = df.column(column).unwrap().clone();
        let mask: BooleanChunked = (0..df.height()).map(|i| Some(i != 41)).collect();
        let with_null = c
            .as_materialized_series()
            .zip_with(
                &mask,
                &Series::full_null("x".into(), df.height(), c.dtype()),
            )
            .unwrap();
        df.with_column(with_null.with_name(column.into()).into())
            .unwrap();
        let p = dir.path().join(format!("null-{column}.parquet"));
        ParquetWriter::new(std::fs::File::create(&p).unwrap())
            .with_row_group_size(Some(16))
            .finish(&mut df)
            .unwrap();
        all_fail_alike(&p, "row 42: ");
    }
    // Without nulls the projection leaves the unread columns out.
    let top = membench_strategies::Projection::of(&good, &Workload::TOP_N).unwrap();
    assert_eq!(
        top.columns().unwrap(),
        ["order_id", "quantity", "price", "discount"]
    );
}

#[test]
fn hostile_parquet_is_the_same_clear_error_everywhere() {
    use polars::prelude::*;
    let dir = tempfile::tempdir().unwrap();
    let good = parquet_of(dir.path(), "good");
    let bytes = std::fs::read(&good).unwrap();
    // Truncated: half the file, footer gone.
    let t = write(dir.path(), "truncated.parquet", &bytes[..bytes.len() / 2]);
    all_fail_alike(&t, "not a readable Parquet file");
    // A corrupted footer: the metadata length and magic overwritten.
    let mut c = bytes.clone();
    let n = c.len();
    c[n - 8..n - 4].copy_from_slice(&[0xff, 0xff, 0xff, 0x7f]);
    let c = write(dir.path(), "footer.parquet", &c);
    all_fail_alike(&c, "not a readable Parquet file");
    // A CSV file named .parquet.
    let csv = write(
        dir.path(),
        "csv.parquet",
        &lines(&[row(1, 1, "1.00", "x")], "\n"),
    );
    all_fail_alike(&csv, "not a readable Parquet file");
    // A column of the wrong type: quantity as text.
    let mut df = polars_frame(&good);
    let q = df
        .column("quantity")
        .unwrap()
        .cast(&DataType::String)
        .unwrap();
    df.with_column(q).unwrap();
    let wrong = dir.path().join("wrong-type.parquet");
    ParquetWriter::new(std::fs::File::create(&wrong).unwrap())
        .finish(&mut df)
        .unwrap();
    all_fail_alike(&wrong, "column \"quantity\" has type");
}

fn polars_frame(p: &Path) -> polars::prelude::DataFrame {
    membench_strategies::polars::read_eager(p, membench_strategies::Format::Parquet).unwrap()
}

#[test]
fn a_messy_generated_dataset_gives_the_same_answers_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let spec = membench_datagen::GenSpec {
        rows: 8_000,
        messy: true,
        row_group_rows: 3_000,
        ..membench_datagen::GenSpec::default()
    };
    let csv = membench_datagen::generate(
        &spec,
        membench_datagen::Format::Csv,
        dir.path(),
        false,
        &mut |_| {},
    )
    .unwrap();
    let answers = all_agree(&csv.path);
    // parallel on 2, 3 and 7 threads against streaming, every workload.
    let streaming = membench_strategies::find("streaming").unwrap();
    let parallel = membench_strategies::find("parallel").unwrap();
    for w in Workload::sales() {
        let want = run(streaming, &csv.path, &w, 1).unwrap();
        for threads in [2, 3, 7] {
            assert_eq!(
                run(parallel, &csv.path, &w, threads).unwrap(),
                want,
                "{w}, {threads} threads"
            );
        }
    }
    // The Parquet twin holds the same rows: the same aggregates.
    let pq = membench_datagen::generate(
        &spec,
        membench_datagen::Format::Parquet,
        dir.path(),
        false,
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(all_agree(&pq.path)[..2], answers[..2]);
}

/// Money in Parquet is a float: every strategy applies the one rule of
/// `membench_kernel::rules::float_cents` (finite, a whole number of cents, within the exact
/// range) and reports the same located error — never a silent 0 for NaN or a rounded 12.345.
#[test]
fn float_money_that_is_not_whole_cents_is_the_same_error_everywhere() {
    use polars::prelude::*;
    let dir = tempfile::tempdir().unwrap();
    let good = parquet_of(dir.path(), "money");
    for (name, value, reason) in [
        ("nan", f64::NAN, "row 38: price: NaN is not a finite number"),
        (
            "inf",
            f64::INFINITY,
            "row 38: price: inf is not a finite number",
        ),
        (
            "-inf",
            f64::NEG_INFINITY,
            "row 38: price: -inf is not a finite number",
        ),
        (
            "cents3",
            12.345,
            "row 38: price: 12.345 is not a whole number of cents",
        ),
        (
            "huge",
            1e17,
            "row 38: price: 100000000000000000 is out of range",
        ),
    ] {
        let mut df = polars_frame(&good);
        let mut v: Vec<f64> = df
            .column("price")
            .unwrap()
            .f64()
            .unwrap()
            .into_no_null_iter()
            .collect();
        v[37] = value;
        df.with_column(Column::new("price".into(), v)).unwrap();
        let p = dir.path().join(format!("{name}.parquet"));
        ParquetWriter::new(std::fs::File::create(&p).unwrap())
            .with_row_group_size(Some(16))
            .finish(&mut df)
            .unwrap();
        all_fail_with(&p, &format!("{}: {reason}", p.display()));
    }
    // Float noise around a whole cent (0.1 + 0.2) is money.
    let mut df = polars_frame(&good);
    let v: Vec<f64> = vec![0.1 + 0.2; df.height()];
    df.with_column(Column::new("price".into(), v)).unwrap();
    let p = dir.path().join("noise.parquet");
    ParquetWriter::new(std::fs::File::create(&p).unwrap())
        .with_row_group_size(Some(16))
        .finish(&mut df)
        .unwrap();
    all_agree(&p);
}

/// A value that reads like an out-of-memory message is bad input like any other: every
/// runner's status is `error` (from its exit code), never `oom` (text on stderr decides
/// nothing for a built-in runner).
#[test]
fn a_value_that_reads_like_out_of_memory_is_an_error_not_oom() {
    let dir = tempfile::tempdir().unwrap();
    let mut rows: Vec<String> = (1..=5).map(|i| row(i, 2, "10.00", "x")).collect();
    rows[1] = rows[1].replace(",2,10.00,", ",memory allocation of 8 bytes failed,10.00,");
    let f = write(dir.path(), "oom-text.csv", &lines(&rows, "\n"));
    for s in common::registry() {
        for extra in [&[][..], &["--memory-limit", "1GiB"][..]] {
            let m = runner(s.name(), &Workload::TOP_N, &f, extra);
            assert_eq!(
                m.status,
                Status::Error,
                "{} {extra:?}: {}",
                s.name(),
                m.stderr_tail
            );
            let err = m.runner.unwrap().measure.error.unwrap().message;
            assert!(err.contains("memory allocation of"), "{}: {err}", s.name());
        }
    }
}
