//! `membench inspect` as a user runs it: the table and JSON on a real public file, and a located
//! error (exit status 1) on a file whose value breaks its inferred type.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn penguins() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../datasets/public/penguins.csv")
}

fn membench(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_membench"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn inspect_prints_the_schema_table_and_json_of_a_public_file() {
    let p = penguins();
    let out = membench(&["inspect", p.to_str().unwrap()]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("344 rows"), "{text}");
    assert!(
        text.contains("schema: species:string,island:string,bill_length_mm:decimal(1)"),
        "{text}"
    );
    assert!(
        text.contains("| sex | string | 11 | 2 | female | male |"),
        "{text}"
    );
    assert!(
        text.contains("predicted memory to hold it: as rows"),
        "{text}"
    );
    let out = membench(&[
        "inspect",
        "--json",
        "--schema",
        "year:string",
        p.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["rows"], 344);
    assert_eq!(v["schema"]["columns"][7]["type"], "string");
    assert_eq!(v["columns"][6]["nulls"], 11);
    assert!(v["memory"]["as_polars_columns"].as_u64().unwrap() > 0);
}

#[test]
fn inspect_stops_at_a_type_break_naming_line_column_and_value() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("t.csv");
    std::fs::write(&p, "a,b\n1,2\n3,x\n").unwrap();
    let out = membench(&["inspect", "--sample-rows", "1", p.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains(&format!(
            "{}:3: column 2 (b): value \"x\" is not int64; the type was inferred from the \
             first 1 rows: pass --schema 'b:string'",
            p.display()
        )),
        "{err}"
    );
    let out = membench(&["inspect", "--delimiter", "ab", p.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "a bad flag is a usage error");
}
