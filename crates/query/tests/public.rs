//! Schema inference and `inspect` on the real public datasets in `datasets/public` (expected
//! counts from Python's `csv` module), on their compressed and split copies, and on hostile
//! files: a type break late in a file, a short row, parts whose headers differ.

use std::io::Write;
use std::path::{Path, PathBuf};

use membench_protocol::ColumnType;
use membench_query::{CsvOptions, InputError, Inspection, inspect, open_table};

fn public(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../datasets/public")
        .join(name)
}

fn inspected(path: &Path) -> Inspection {
    inspect(path, &CsvOptions::default()).unwrap_or_else(|e| panic!("{e}"))
}

fn column<'a>(i: &'a Inspection, name: &str) -> &'a membench_query::ColumnStats {
    i.columns.iter().find(|c| c.name == name).unwrap()
}

#[test]
fn the_public_files_are_typed_as_their_values_say() {
    let cases = [
        (
            "penguins.csv",
            344,
            "species:string,island:string,bill_length_mm:decimal(1),bill_depth_mm:decimal(1),\
             flipper_length_mm:int64,body_mass_g:int64,sex:string,year:int64",
        ),
        (
            "seattle-weather.csv",
            1461,
            "date:date,precipitation:decimal(1),temp_max:decimal(1),temp_min:decimal(1),\
             wind:decimal(1),weather:string",
        ),
        ("seattle-temps.csv", 8759, "date:timestamp,temp:decimal(1)"),
        (
            "airports.csv",
            3376,
            "iata:string,name:string,city:string,state:string,country:string,\
             latitude:float64,longitude:float64",
        ),
        (
            "stocks.csv",
            560,
            "symbol:string,date:string,price:decimal(2)",
        ),
    ];
    for (file, rows, schema) in cases {
        let i = inspected(&public(file));
        assert_eq!(i.rows, rows, "{file}");
        assert_eq!(i.schema.to_string(), schema, "{file}");
    }
}

#[test]
fn penguins_nulls_distincts_extremes_and_frequent_values() {
    let i = inspected(&public("penguins.csv"));
    let nulls: Vec<u64> = i.columns.iter().map(|c| c.nulls).collect();
    assert_eq!(nulls, [0, 0, 2, 2, 2, 2, 11, 0]);
    let nullable: Vec<bool> = i.schema.columns.iter().map(|c| c.nullable).collect();
    assert_eq!(
        nullable,
        [false, false, true, true, true, true, true, false]
    );
    // Distinct values counted exactly while few (Python: 3, 3, 55, 94, 2, 3 distinct texts).
    let distinct: Vec<u64> = i.columns.iter().map(|c| c.distinct_estimate).collect();
    assert_eq!(distinct[0..2], [3, 3]);
    assert_eq!(distinct[4..8], [55, 94, 2, 3]);
    let species = column(&i, "species");
    assert!(species.top_values_exact);
    let top: Vec<(&str, u64)> = species
        .top_values
        .iter()
        .map(|t| (t.value.as_str(), t.count))
        .collect();
    assert_eq!(top, [("Adelie", 152), ("Gentoo", 124), ("Chinstrap", 68)]);
    let bill = column(&i, "bill_length_mm");
    assert_eq!(
        (bill.min.as_deref(), bill.max.as_deref()),
        (Some("32.1"), Some("59.6"))
    );
    let w = inspected(&public("seattle-weather.csv"));
    let t = column(&w, "temp_max");
    assert_eq!(
        (t.min.as_deref(), t.max.as_deref()),
        (Some("-1.6"), Some("35.6"))
    );
    assert_eq!(column(&w, "weather").top_values[0].value, "sun");
    assert_eq!(column(&w, "weather").top_values[0].count, 714);
    let d = column(&w, "date");
    assert_eq!(
        (d.min.as_deref(), d.max.as_deref()),
        (Some("2012-01-01"), Some("2015-12-31"))
    );
}

#[test]
fn distinct_counts_are_exact_while_tracked_then_estimated_within_five_percent() {
    // Python's csv module: 3376 distinct codes, 3375 latitudes, 2675 cities (one of them the
    // empty field, a null here) — below the tracked limit, so exact.
    let i = inspected(&public("airports.csv"));
    for (name, exact) in [("iata", 3376), ("latitude", 3375), ("city", 2674)] {
        let c = column(&i, name);
        assert!(c.top_values_exact, "{name}");
        assert_eq!(c.distinct_estimate, exact, "{name}");
        assert_eq!(c.nulls, if name == "city" { 12 } else { 0 });
    }
    // 8759 hourly timestamps, and some 47 000 distinct texts: HyperLogLog++ at 2^12 registers
    // (1.6 % standard error).
    let t = inspected(&public("seattle-temps.csv"));
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("k\n");
    let mut keys = std::collections::HashSet::new();
    for i in 0..60_000u32 {
        let k = i.wrapping_mul(2_654_435_761) % 50_000;
        keys.insert(k);
        text.push_str(&format!("key-{k}\n"));
    }
    let synthetic = inspected(&write(dir.path(), "k.csv", text.as_bytes()));
    for (c, exact) in [
        (column(&t, "date"), 8759.0),
        (&synthetic.columns[0], keys.len() as f64),
    ] {
        assert!(!c.top_values_exact, "{}", c.name);
        let e = c.distinct_estimate as f64;
        assert!(
            (e - exact).abs() / exact < 0.05,
            "{}: {e} vs {exact}",
            c.name
        );
        // Counts that are only lower bounds of 1 say nothing, and are not listed.
        assert!(c.top_values.iter().all(|t| t.count >= 2), "{}", c.name);
    }
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

#[test]
fn compressed_split_and_tab_separated_copies_inspect_alike() {
    let text = std::fs::read(public("penguins.csv")).unwrap();
    let whole = inspected(&public("penguins.csv"));
    let dir = tempfile::tempdir().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&text).unwrap();
    let gz = write(dir.path(), "p.csv.gz", &gz.finish().unwrap());
    let zst = write(
        dir.path(),
        "p.csv.zst",
        &zstd::encode_all(&text[..], 1).unwrap(),
    );
    let tsv = write(
        dir.path(),
        "p.tsv",
        &text
            .iter()
            .map(|&b| if b == b',' { b'\t' } else { b })
            .collect::<Vec<_>>(),
    );
    // Two parts, each with the header.
    let lines: Vec<&[u8]> = text.split_inclusive(|&b| b == b'\n').collect();
    let parts = dir.path().join("parts");
    std::fs::create_dir(&parts).unwrap();
    write(&parts, "part-0.csv", &lines[..100].concat());
    write(
        &parts,
        "part-1.csv",
        &[&lines[..1], &lines[100..]].concat().concat(),
    );
    for p in [gz, zst, tsv, parts.clone(), parts.join("part-*.csv")] {
        let i = inspected(&p);
        assert_eq!(i.rows, whole.rows, "{}", p.display());
        assert_eq!(i.schema, whole.schema, "{}", p.display());
        let nulls = |i: &Inspection| i.columns.iter().map(|c| c.nulls).collect::<Vec<_>>();
        assert_eq!(nulls(&i), nulls(&whole), "{}", p.display());
    }
    // A part with another header is refused, naming it.
    let bad = write(&parts, "part-2.csv", b"species,isle\nA,B\n");
    let e = inspect(&parts, &CsvOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with(&bad.display().to_string()) && e.contains("header differs"),
        "{e}"
    );
}

/// 30 000 integer rows, then one value that is not an integer.
fn late_break(dir: &Path) -> PathBuf {
    let mut t = String::from("id,qty\n");
    for i in 0..30_000 {
        t.push_str(&format!("{i},{}\n", i % 7));
    }
    t.push_str("30000,12.5\n");
    write(dir, "late.csv", t.as_bytes())
}

#[test]
fn a_value_that_breaks_the_inferred_type_names_file_line_column_and_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let p = late_break(dir.path());
    let e = inspect(&p, &CsvOptions::default()).unwrap_err();
    assert!(matches!(e, InputError::Type(_)));
    assert_eq!(
        e.to_string(),
        format!(
            "{}:30002: column 2 (qty): value \"12.5\" is not int64; the type was inferred from \
             the first 20000 rows: pass --schema 'qty:float64'",
            p.display()
        )
    );
    // The hint works.
    let opts = CsvOptions {
        schema: "qty:decimal(1)".parse().unwrap(),
        ..CsvOptions::default()
    };
    let i = inspect(&p, &opts).unwrap();
    assert_eq!(i.schema.columns[1].ty, ColumnType::Decimal { scale: 1 });
    assert_eq!(i.columns[1].max.as_deref(), Some("12.5"));
    // A type given by --schema says so.
    let opts = CsvOptions {
        schema: "id:bool".parse().unwrap(),
        ..CsvOptions::default()
    };
    let e = inspect(&p, &opts).unwrap_err().to_string();
    assert!(
        e.ends_with(":2: column 1 (id): value \"0\" is not bool; --schema gave the type"),
        "{e}"
    );
}

#[test]
fn hostile_headers_rows_and_overrides() {
    let dir = tempfile::tempdir().unwrap();
    let short = write(dir.path(), "short.csv", b"a,b\n1,2\n\"x\ny\",3\n4\n");
    let e = inspect(&short, &CsvOptions::default())
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        format!("{}:5: 1 fields where the header has 2", short.display())
    );
    let dup = write(dir.path(), "dup.csv", b"a,b,a\n1,2,3\n");
    let e = inspect(&dup, &CsvOptions::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("columns 1 and 3 are both named \"a\""), "{e}");
    let empty = write(dir.path(), "empty.csv", b"");
    let e = inspect(&empty, &CsvOptions::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("a header line is needed"), "{e}");
    let opts = CsvOptions {
        schema: "nope:int64".parse().unwrap(),
        ..CsvOptions::default()
    };
    let e = inspect(&public("penguins.csv"), &opts)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("\"nope\", which the header does not have (columns: species, island,"),
        "{e}"
    );
    let missing = inspect(&dir.path().join("none-*.csv"), &CsvOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        missing.ends_with("none-*.csv: no file matches"),
        "{missing}"
    );
}

#[test]
fn null_tokens_decide_what_is_missing() {
    // Without `NA` as a null token, the penguins' measurements are text.
    let opts = CsvOptions {
        nulls: "".parse().unwrap(),
        ..CsvOptions::default()
    };
    let t = open_table(&public("penguins.csv"), &opts).unwrap();
    assert_eq!(t.schema.columns[2].ty, ColumnType::String);
    let dir = tempfile::tempdir().unwrap();
    let dates = write(
        dir.path(),
        "d.csv",
        b"when,n\n01/02/2000,1\n03/04/2000,\n05/06/2000,NULL\n",
    );
    let t = open_table(&dates, &CsvOptions::default()).unwrap();
    assert_eq!(t.schema.to_string(), "when:string,n:int64");
    assert!(t.schema.columns[1].nullable);
    assert_eq!(t.notes.len(), 1);
    assert!(t.notes[0].contains("01/02/2000") && t.notes[0].contains("day/month"));
}

#[test]
fn the_memory_prediction_follows_its_formulas() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = String::from("n,flag,name\n");
    for i in 0..1000 {
        // Names of 20 bytes, 10 distinct; every tenth flag null.
        let flag = if i % 10 == 0 { "" } else { "true" };
        t.push_str(&format!("{i},{flag},name-{:015}\n", i % 10));
    }
    let p = write(dir.path(), "m.csv", t.as_bytes());
    let m = inspected(&p).memory;
    let value = std::mem::size_of::<membench_query::text::Value>() as u64;
    assert_eq!(m.as_rows, 1000 * (24 + 3 * value) + 1000 * 20);
    // int64 8/row; bool a bitmap plus validity; strings as 16-byte views plus the bytes.
    assert_eq!(
        m.as_polars_columns,
        8000 + 125 + 125 + 16 * 1000 + 20 * 1000
    );
    // Lean strings: a dictionary (4-byte codes, 10 offsets + 1, 10 × 20 bytes).
    assert_eq!(m.as_lean_columns, 8000 + 125 + 125 + 4000 + 8 * 11 + 200);
}
