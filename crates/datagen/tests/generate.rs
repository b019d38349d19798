//! Generator behaviour on small sizes: determinism, schema, both formats, bad rows, reuse.

use std::collections::BTreeMap;
use std::path::Path;

use membench_datagen::{Format, GenSpec, generate};
use membench_kernel::{BadKind, COLUMNS, LineParser, RecordReader};
use polars::prelude::*;

fn gen_in(dir: &Path, spec: &GenSpec, format: Format, force: bool) -> membench_datagen::GenOutput {
    generate(spec, format, dir, force, &mut |_| {}).expect("generation succeeds")
}

fn small(rows: u64) -> GenSpec {
    GenSpec {
        rows,
        row_group_rows: 7_000,
        ..GenSpec::default()
    }
}

#[test]
fn same_arguments_same_bytes_whatever_the_thread_count() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let spec = small(150_000); // more than two generation blocks
    for format in [Format::Csv, Format::Parquet] {
        let one = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        let x = one.install(|| gen_in(a.path(), &spec, format, false));
        let four = rayon::ThreadPoolBuilder::new()
            .num_threads(4)
            .build()
            .unwrap();
        let y = four.install(|| gen_in(b.path(), &spec, format, false));
        assert_eq!(x.meta.sha256, y.meta.sha256, "{format:?}");
        assert_eq!(x.meta.bytes, std::fs::metadata(&x.path).unwrap().len());
        // Reused when it matches its sidecar; regenerated identically with force.
        let again = gen_in(a.path(), &spec, format, false);
        assert!(again.reused);
        let forced = gen_in(a.path(), &spec, format, true);
        assert!(!forced.reused);
        assert_eq!(forced.meta.sha256, x.meta.sha256);
    }
}

#[test]
fn csv_has_the_schema_and_every_row_parses_with_the_csv_crate() {
    let dir = tempfile::tempdir().unwrap();
    let out = gen_in(dir.path(), &small(20_000), Format::Csv, false);
    assert_eq!(out.path.file_name().unwrap(), "sales-20k-s42.csv");
    let mut rdr = csv::Reader::from_path(&out.path).unwrap();
    assert_eq!(rdr.headers().unwrap().iter().collect::<Vec<_>>(), COLUMNS);
    let (mut n, mut quoted, mut non_ascii, mut big, mut no_discount) = (0, 0, 0, 0, 0);
    let mut bytes = 0usize;
    for rec in rdr.records() {
        let rec = rec.expect("valid CSV record");
        assert_eq!(rec.len(), 10);
        let note = &rec[9];
        quoted += usize::from(note.contains(',') || note.contains('"'));
        non_ascii += usize::from(!note.is_ascii());
        let q: i64 = rec[6].parse().unwrap();
        let p: f64 = rec[7].parse().unwrap();
        assert!((1..=50).contains(&q));
        big += usize::from(q as f64 * p > 1000.0);
        no_discount += usize::from(rec[8].is_empty());
        bytes += rec.as_slice().len() + 10;
        n += 1;
    }
    assert_eq!(n, 20_000);
    assert!(
        quoted > 100 && non_ascii > 100,
        "quoted {quoted}, non-ASCII {non_ascii}"
    );
    let big_share = big as f64 / n as f64;
    assert!(
        (0.05..=0.15).contains(&big_share),
        "share above 1000: {big_share}"
    );
    assert!(
        (200..=800).contains(&no_discount),
        "empty discounts: {no_discount}"
    );
    let avg = out.meta.bytes as f64 / n as f64;
    assert!(
        (170.0..=230.0).contains(&avg),
        "average row bytes {avg} ({bytes})"
    );
    // Order ids unique and increasing.
    let mut rdr = csv::Reader::from_path(&out.path).unwrap();
    let ids: Vec<i64> = rdr
        .records()
        .map(|r| r.unwrap()[0].parse().unwrap())
        .collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]));
}

#[test]
fn polars_reads_both_formats_to_the_same_values() {
    let dir = tempfile::tempdir().unwrap();
    let spec = small(30_000);
    let csv = gen_in(dir.path(), &spec, Format::Csv, false);
    let pq = gen_in(dir.path(), &spec, Format::Parquet, false);
    let schema = Schema::from_iter([
        Field::new("order_id".into(), DataType::Int64),
        Field::new("order_date".into(), DataType::String),
        Field::new("customer_id".into(), DataType::Int64),
        Field::new("region".into(), DataType::String),
        Field::new("category".into(), DataType::String),
        Field::new("product_id".into(), DataType::Int64),
        Field::new("quantity".into(), DataType::Int64),
        Field::new("price".into(), DataType::Float64),
        Field::new("discount".into(), DataType::Float64),
        Field::new("note".into(), DataType::String),
    ]);
    let from_csv = CsvReadOptions::default()
        .with_schema(Some(Arc::new(schema)))
        .try_into_reader_with_file_path(Some(csv.path.clone()))
        .unwrap()
        .finish()
        .unwrap();
    let from_pq = ParquetReader::new(std::fs::File::open(&pq.path).unwrap())
        .finish()
        .unwrap();
    assert_eq!(from_csv.height(), 30_000);
    assert!(from_csv.equals_missing(&from_pq), "CSV and Parquet differ");
    let meta = ParquetReader::new(std::fs::File::open(&pq.path).unwrap())
        .get_metadata()
        .unwrap()
        .clone();
    assert_eq!(meta.row_groups.len(), 5, "30k rows in row groups of 7k");
}

#[test]
fn bad_row_counts_match_the_sidecar() {
    let dir = tempfile::tempdir().unwrap();
    let spec = GenSpec {
        bad_row_rate: 0.05,
        ..small(40_000)
    };
    let out = gen_in(dir.path(), &spec, Format::Csv, false);
    assert!(
        out.path
            .to_str()
            .unwrap()
            .ends_with("sales-40k-s42-bad0.05.csv")
    );
    let meta = &out.meta;
    let injected: u64 = meta.bad_rows.values().sum();
    assert!((1600..=2400).contains(&injected), "{:?}", meta.bad_rows);
    assert!(
        meta.bad_rows
            .iter()
            .all(|(kind, &c)| c > 150 || kind == "unterminated_quote"),
        "every kind occurs: {:?}",
        meta.bad_rows
    );

    let mut reader = RecordReader::new(
        std::io::BufReader::new(std::fs::File::open(&out.path).unwrap()),
        1 << 20,
    );
    let mut parser = LineParser::new();
    reader.next_record().unwrap().unwrap(); // header
    let mut by_kind: BTreeMap<BadKind, u64> = BTreeMap::new();
    let mut good = 0u64;
    while let Some(rec) = reader.next_record().unwrap() {
        match parser.parse_record(&rec) {
            Ok(_) => good += 1,
            Err(e) => *by_kind.entry(e.kind).or_default() += 1,
        }
    }
    let k = |name: &str| meta.bad_rows[name];
    assert_eq!(
        by_kind[&BadKind::FieldCount],
        k("too_few_fields") + k("too_many_fields") + k("multiline_extra_field")
    );
    assert_eq!(by_kind[&BadKind::NotANumber], k("non_numeric_quantity"));
    assert_eq!(by_kind[&BadKind::OutOfRange], k("negative_price"));
    assert_eq!(
        by_kind[&BadKind::UnterminatedQuote],
        k("unterminated_quote")
    );
    assert_eq!(by_kind[&BadKind::InvalidUtf8], k("invalid_utf8"));
    assert_eq!(by_kind.values().sum::<u64>(), meta.expected_rows_skipped);
    assert_eq!(good, meta.valid_rows);
    assert_eq!(k("unterminated_quote"), 1, "the last row, and only it");
    // Each two-line note adds a physical line.
    assert_eq!(reader.lines_read(), 1 + 40_000 + k("multiline_extra_field"));
}

#[test]
fn parquet_refuses_bad_rows_and_bad_rates_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let spec = GenSpec {
        bad_row_rate: 0.1,
        ..small(10)
    };
    let err = generate(&spec, Format::Parquet, dir.path(), false, &mut |_| {}).unwrap_err();
    assert!(err.to_string().contains("CSV only"), "{err}");
    let spec = GenSpec {
        bad_row_rate: 1.5,
        ..small(10)
    };
    assert!(generate(&spec, Format::Csv, dir.path(), false, &mut |_| {}).is_err());
    // Nothing half-written is left behind.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn the_default_dataset_bytes_are_pinned_and_messy_ones_differ_only_in_notes() {
    let dir = tempfile::tempdir().unwrap();
    // The sha256 of the 100k-row default CSV since generator version 1: --messy and the
    // bad-row changes must not move it.
    let plain = gen_in(
        dir.path(),
        &GenSpec {
            rows: 100_000,
            ..GenSpec::default()
        },
        Format::Csv,
        false,
    );
    assert!(
        plain.meta.sha256.starts_with("a4fd03e97a1e"),
        "{}",
        plain.meta.sha256
    );
    let sidecar = std::fs::read_to_string(dir.path().join("sales-100k-s42.csv.meta.json")).unwrap();
    assert!(
        !sidecar.contains("messy"),
        "a default sidecar does not mention --messy"
    );
    let spec = GenSpec {
        messy: true,
        ..small(2_000)
    };
    let messy = gen_in(dir.path(), &spec, Format::Csv, false);
    assert!(
        messy
            .path
            .to_str()
            .unwrap()
            .ends_with("sales-2k-s42-messy.csv")
    );
    let text = std::fs::read(&messy.path).unwrap();
    let physical = text.iter().filter(|&&b| b == b'\n').count();
    assert!(
        physical > 2_000 + 1 + 1_000,
        "{physical} physical lines for 2k rows"
    );
    assert!(text.windows(2).any(|w| w == b"\r\n"), "CRLFs inside notes");
    // The csv crate (RFC 4180) and the Parquet twin see the same notes, line feeds included.
    let mut rdr = csv::Reader::from_path(&messy.path).unwrap();
    let notes: Vec<String> = rdr.records().map(|r| r.unwrap()[9].to_string()).collect();
    assert_eq!(notes.len(), 2_000);
    assert!(notes.iter().filter(|n| n.contains('\n')).count() >= 500);
    let pq = gen_in(dir.path(), &spec, Format::Parquet, false);
    let df = ParquetReader::new(std::fs::File::open(&pq.path).unwrap())
        .finish()
        .unwrap();
    let pq_notes: Vec<String> = df
        .column("note")
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .map(|s| s.unwrap().to_string())
        .collect();
    assert_eq!(pq_notes, notes);
}

/// A dataset edited in place (the same size: one quantity replaced by text of the same length)
/// is not reused: its modification time differs from its sidecar's and its sha256 no longer
/// matches, so it is generated again with a notice. A file only touched (same bytes) is reused.
#[test]
fn a_dataset_edited_in_place_is_generated_again_with_a_notice() {
    let dir = tempfile::tempdir().unwrap();
    let spec = small(10_000);
    let first = gen_in(dir.path(), &spec, Format::Csv, false);
    let text = std::fs::read_to_string(&first.path).unwrap();
    // The second line's quantity field (the 7th) becomes as many letters.
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let mut fields: Vec<String> = lines[1].split(',').map(str::to_string).collect();
    fields[6] = "x".repeat(fields[6].len());
    lines[1] = fields.join(",");
    std::thread::sleep(std::time::Duration::from_millis(20));
    std::fs::write(&first.path, lines.join("\n") + "\n").unwrap();
    assert_eq!(
        std::fs::metadata(&first.path).unwrap().len(),
        first.meta.bytes,
        "the edit keeps the size"
    );
    let again = gen_in(dir.path(), &spec, Format::Csv, false);
    assert!(!again.reused);
    let notice = again.notice.expect("a notice says why");
    assert!(
        notice.contains("changed since it was generated"),
        "{notice}"
    );
    assert_eq!(again.meta.sha256, first.meta.sha256);
    // Touched, not changed: reused, no notice.
    std::thread::sleep(std::time::Duration::from_millis(20));
    let bytes = std::fs::read(&first.path).unwrap();
    std::fs::write(&first.path, bytes).unwrap();
    let touched = gen_in(dir.path(), &spec, Format::Csv, false);
    assert!(touched.reused && touched.notice.is_none());
    // A killed generation's temporary file is removed by the next one.
    let stale = dir.path().join(".sales-10k-s42.csv.tmp-999999999");
    std::fs::write(&stale, "partial").unwrap();
    gen_in(dir.path(), &spec, Format::Csv, false);
    assert!(!stale.exists());
}

/// The shape knobs: each changes the columns it is about and leaves the others as the default
/// table has them; exact key counts, skewed frequencies, null rates, note widths and sort
/// orders; the same values in CSV and Parquet; the same bytes when generated again.
#[test]
fn shape_knobs_set_keys_skew_nulls_width_and_order_and_nothing_else() {
    use membench_protocol::{Ratio, Shape, SortKey};
    let dir = tempfile::tempdir().unwrap();
    let rows = 70_000u64; // two generation blocks
    let read = |spec: &GenSpec| -> Vec<csv::StringRecord> {
        let out = gen_in(dir.path(), spec, Format::Csv, false);
        let mut rdr = csv::Reader::from_path(&out.path).unwrap();
        rdr.records().map(|r| r.unwrap()).collect()
    };
    let shaped = |shape: Shape| GenSpec {
        shape,
        ..small(rows)
    };
    let base = read(&small(rows));
    let ids = |rs: &[csv::StringRecord]| -> Vec<i64> {
        rs.iter().map(|r| r[2].parse().unwrap()).collect()
    };
    let counts = |v: &[i64]| {
        let mut m: BTreeMap<i64, u64> = BTreeMap::new();
        for &k in v {
            *m.entry(k).or_default() += 1;
        }
        m
    };
    let others_equal = |a: &[csv::StringRecord], b: &[csv::StringRecord], skip: &[usize]| {
        for (x, y) in a.iter().zip(b) {
            for c in (0..10).filter(|c| !skip.contains(c)) {
                assert_eq!(x[c], y[c], "column {c}");
            }
        }
    };

    // Exactly 10 keys, each rows/10 times; nothing but customer_id moved.
    let k10 = read(&shaped(Shape {
        key_cardinality: Some(10),
        ..Shape::default()
    }));
    let c = counts(&ids(&k10));
    assert_eq!(c.len(), 10);
    assert!(c.values().all(|&n| n == rows / 10), "{c:?}");
    others_equal(&base, &k10, &[2]);

    // Zipf 1.2 over 1000 keys: the hottest key ≈ 1/H(1000, 1.2) of the rows, the 10th 10^-1.2
    // of that.
    let z = read(&shaped(Shape {
        key_cardinality: Some(1000),
        zipf: Some(Ratio(1.2)),
        ..Shape::default()
    }));
    let mut freq: Vec<u64> = counts(&ids(&z)).into_values().collect();
    freq.sort_unstable_by(|a, b| b.cmp(a));
    let h: f64 = (1..=1000).map(|r| (r as f64).powf(-1.2)).sum();
    let top = freq[0] as f64 / rows as f64;
    assert!(
        (top - 1.0 / h).abs() < 0.01,
        "top key share {top}, expected {}",
        1.0 / h
    );
    let tenth = freq[9] as f64 / freq[0] as f64;
    assert!((tenth - 10f64.powf(-1.2)).abs() < 0.02, "{tenth}");
    assert!(freq.len() <= 1000);
    others_equal(&base, &z, &[2]);

    // Half the discounts null; notes about 400 bytes.
    let nw = read(&shaped(Shape {
        null_rate: Some(Ratio(0.5)),
        text_bytes: Some(400),
        ..Shape::default()
    }));
    let nulls = nw.iter().filter(|r| r[8].is_empty()).count() as f64 / rows as f64;
    assert!((nulls - 0.5).abs() < 0.01, "{nulls}");
    let mean_note = nw.iter().map(|r| r[9].len()).sum::<usize>() as f64 / rows as f64;
    assert!((350.0..450.0).contains(&mean_note), "{mean_note}");
    others_equal(&base, &nw, &[8, 9]);

    // `--row-bytes B` (notes of B − ROW_BYTES_WITHOUT_NOTE): mean row widths within 5 %.
    for want in [100u32, 189, 400, 1000] {
        let note = membench_protocol::parse_row_bytes(&want.to_string()).unwrap();
        let f = shaped(Shape {
            text_bytes: Some(note),
            ..Shape::default()
        });
        let g = gen_in(dir.path(), &f, Format::Csv, false);
        let text = std::fs::read(&g.path).unwrap();
        let header = text.iter().position(|&b| b == b'\n').unwrap() + 1;
        let width = (text.len() - header) as f64 / rows as f64;
        assert!(
            (width / f64::from(want) - 1.0).abs() < 0.05,
            "--row-bytes {want}: rows average {width:.1} bytes"
        );
    }

    // Sorted by customer_id over 1000 keys; sorted by order_date.
    let spec = shaped(Shape {
        key_cardinality: Some(1000),
        sorted_by: Some(SortKey::CustomerId),
        ..Shape::default()
    });
    let s = ids(&read(&spec));
    assert!(s.windows(2).all(|w| w[0] <= w[1]));
    assert_eq!(counts(&s).len(), 1000);
    let d = read(&shaped(Shape {
        sorted_by: Some(SortKey::OrderDate),
        ..Shape::default()
    }));
    assert!(d.windows(2).all(|w| w[0][1] <= w[1][1]));

    // Parquet holds the same keys; a shaped file regenerates to the same bytes.
    let pq = gen_in(dir.path(), &spec, Format::Parquet, false);
    let df = ParquetReader::new(std::fs::File::open(&pq.path).unwrap())
        .finish()
        .unwrap();
    let pq_ids: Vec<i64> = df
        .column("customer_id")
        .unwrap()
        .i64()
        .unwrap()
        .into_no_null_iter()
        .collect();
    assert_eq!(pq_ids, s);
    let once = gen_in(dir.path(), &spec, Format::Csv, false);
    let again = gen_in(dir.path(), &spec, Format::Csv, true);
    assert!(!again.reused);
    assert_eq!(once.meta.sha256, again.meta.sha256);
    assert!(
        once.path
            .to_str()
            .unwrap()
            .ends_with("sales-70k-s42-k1k-by_customer_id.csv")
    );
}

#[test]
fn shape_knobs_out_of_range_or_on_orders_are_refused() {
    use membench_protocol::{Ratio, Shape};
    let dir = tempfile::tempdir().unwrap();
    for (shape, says) in [
        (
            Shape {
                key_cardinality: Some(0),
                ..Shape::default()
            },
            "between 1 and 1000000000",
        ),
        (
            Shape {
                null_rate: Some(Ratio(2.0)),
                ..Shape::default()
            },
            "between 0 and 1",
        ),
    ] {
        let e = generate(
            &GenSpec { shape, ..small(10) },
            Format::Csv,
            dir.path(),
            false,
            &mut |_| {},
        )
        .unwrap_err();
        assert!(format!("{e:#}").contains(says), "{e:#}");
    }
    let e = membench_datagen::generate_orders(
        &GenSpec {
            schema: membench_datagen::DataSchema::Orders,
            shape: Shape {
                key_cardinality: Some(10),
                ..Shape::default()
            },
            ..small(10)
        },
        Format::Csv,
        dir.path(),
        false,
        &mut |_| {},
    )
    .unwrap_err();
    assert!(format!("{e:#}").contains("sales schema only"), "{e:#}");
}
