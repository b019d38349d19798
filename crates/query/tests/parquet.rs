//! Parquet inputs: a file written by another engine (Polars, through `membench gen`) gives the
//! answers of its CSV twin; refusals (nested columns, `--schema`, mixed parts) and a located
//! error (`file: row N`) read the same from every reading.

use std::path::{Path, PathBuf};

use membench_datagen::{Format, GenSpec, generate};
use membench_protocol::TableSchema;
use membench_query::scan::{Reading, run};
use membench_query::sql::plan;
use membench_query::{CsvOptions, Table, open_table};

#[allow(dead_code)]
mod common;

fn public(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../datasets/public")
        .join(name)
}

fn answer(sql: &str, name: &str, t: &Table, reading: Reading) -> Result<String, String> {
    let schemas: [(&str, &TableSchema); 1] = [(name, &t.schema)];
    let p = plan(sql, &schemas).map_err(|e| e.to_string())?;
    run(&p, &[t], reading)
        .map(|r| r.answer.to_json().to_string())
        .map_err(|e| e.to_string())
}

#[test]
fn a_parquet_file_written_by_polars_answers_as_its_csv_twin() {
    let dir = tempfile::tempdir().unwrap();
    let spec = GenSpec {
        rows: 30_000,
        ..GenSpec::default()
    };
    let csv = generate(&spec, Format::Csv, dir.path(), false, &mut |_| {}).unwrap();
    let pq = generate(&spec, Format::Parquet, dir.path(), false, &mut |_| {}).unwrap();
    // Polars writes money as float64 and the date as text: the CSV read the same way.
    let opts = CsvOptions {
        schema: "price:float64,discount:float64,order_date:string"
            .parse()
            .unwrap(),
        ..CsvOptions::default()
    };
    let csv = open_table(&csv.path, &opts).unwrap();
    let pq = open_table(&pq.path, &CsvOptions::default()).unwrap();
    assert_eq!(csv.schema.to_string(), pq.schema.to_string());
    for sql in [
        "SELECT category, count(*), sum(quantity), sum(price), min(discount), max(price) FROM sales GROUP BY category ORDER BY category",
        "SELECT order_id, quantity * price AS total FROM sales WHERE discount IS NULL ORDER BY total DESC, order_id LIMIT 20",
        "SELECT region, count(DISTINCT customer_id), avg(quantity) FROM sales WHERE order_date LIKE '2023-%' GROUP BY region ORDER BY region",
    ] {
        let want = answer(sql, "sales", &csv, Reading::Streaming).unwrap();
        for r in Reading::EVERY {
            assert_eq!(
                answer(sql, "sales", &pq, r).unwrap(),
                want,
                "{sql} by {r:?}"
            );
        }
    }
}

#[test]
fn parquet_refusals_and_a_row_located_error_read_the_same_from_every_reading() {
    let dir = tempfile::tempdir().unwrap();
    let penguins = open_table(&public("penguins.csv"), &CsvOptions::default()).unwrap();
    let file = dir.path().join("penguins.parquet");
    common::write_parquet(&penguins, &file, 100);
    let t = open_table(&file, &CsvOptions::default()).unwrap();
    assert_eq!(t.schema.to_string(), penguins.schema.to_string());
    // An expression's error names the file and the row (Parquet has no lines).
    let sql = "SELECT CAST(island AS BIGINT) FROM p";
    for r in Reading::EVERY {
        let e = answer(sql, "p", &t, r).unwrap_err();
        assert_eq!(
            e,
            format!(
                "{}: row 1: cannot CAST \"Torgersen\" to int64",
                file.display()
            ),
            "{r:?}"
        );
    }
    let e = answer(
        "SELECT sum(year * 4611686018427387904) FROM p WHERE year = 2008",
        "p",
        &t,
        Reading::Streaming,
    )
    .unwrap_err();
    assert!(e.contains(&format!("{}: row ", file.display())), "{e}");

    // --schema is for text: a Parquet file has its own types.
    let e = open_table(
        &file,
        &CsvOptions {
            schema: "year:string".parse().unwrap(),
            ..CsvOptions::default()
        },
    )
    .unwrap_err();
    assert!(
        e.to_string()
            .contains("a Parquet file carries its own types"),
        "{e}"
    );
    // One format per input.
    let parts = dir.path().join("parts");
    std::fs::create_dir(&parts).unwrap();
    std::fs::copy(&file, parts.join("a.parquet")).unwrap();
    std::fs::copy(public("penguins.csv"), parts.join("b.csv")).unwrap();
    let e = open_table(&parts, &CsvOptions::default()).unwrap_err();
    assert!(
        e.to_string().contains("mixes Parquet and text parts"),
        "{e}"
    );
    // Parts of another schema.
    std::fs::remove_file(parts.join("b.csv")).unwrap();
    let weather = open_table(&public("seattle-weather.csv"), &CsvOptions::default()).unwrap();
    common::write_parquet(&weather, &parts.join("b.parquet"), 1000);
    let e = open_table(&parts, &CsvOptions::default()).unwrap_err();
    assert!(e.to_string().contains("differ from those of"), "{e}");
    // A nested column is named, not misread.
    let nested = dir.path().join("nested.parquet");
    write_nested(&nested);
    let e = open_table(&nested, &CsvOptions::default()).unwrap_err();
    assert!(
        e.to_string()
            .contains("column \"point\": a nested column (struct, list or map) is not read"),
        "{e}"
    );
    // Not Parquet at all.
    let fake = dir.path().join("fake.parquet");
    std::fs::write(&fake, "a,b\n1,2\n").unwrap();
    let e = open_table(&fake, &CsvOptions::default()).unwrap_err();
    assert!(e.to_string().contains("not a readable Parquet file"), "{e}");
}

/// A Parquet file with a struct column and no rows.
fn write_nested(out: &Path) {
    use parquet::basic::{Repetition, Type as Physical};
    use parquet::schema::types::Type;
    use std::sync::Arc;
    let leaf = |n: &str| {
        Arc::new(
            Type::primitive_type_builder(n, Physical::DOUBLE)
                .with_repetition(Repetition::REQUIRED)
                .build()
                .unwrap(),
        )
    };
    let point = Type::group_type_builder("point")
        .with_repetition(Repetition::OPTIONAL)
        .with_fields(vec![leaf("x"), leaf("y")])
        .build()
        .unwrap();
    let schema = Type::group_type_builder("schema")
        .with_fields(vec![leaf("id"), Arc::new(point)])
        .build()
        .unwrap();
    let file = std::fs::File::create(out).unwrap();
    parquet::file::writer::SerializedFileWriter::new(file, Arc::new(schema), Default::default())
        .unwrap()
        .close()
        .unwrap();
}
