//! Queries and files that must be refused or answered with one clear text: unknown names,
//! constructs outside the subset, type mismatches, a value that breaks its column's type late in
//! a file, an overflow, division by zero, a left join's unmatched rows.

use std::path::{Path, PathBuf};

use membench_protocol::TableSchema;
use membench_query::scan::{Reading, run};
use membench_query::sql::{PlanError, plan};
use membench_query::{CsvOptions, Table, open_table};

fn public(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../datasets/public")
        .join(name)
}

fn table(path: &Path) -> Table {
    open_table(path, &CsvOptions::default()).unwrap()
}

fn refusal(sql: &str, t: &[(&str, &TableSchema)]) -> PlanError {
    plan(sql, t).expect_err(sql)
}

#[test]
fn unknown_names_unsupported_constructs_and_type_mismatches_are_refused_before_running() {
    let p = table(&public("penguins.csv"));
    let w = table(&public("seattle-weather.csv"));
    let t = [("penguins", &p.schema), ("weather", &w.schema)];
    let e = refusal("SELECT bil_length_mm FROM penguins", &t);
    assert_eq!(
        e.to_string(),
        "unknown column \"bil_length_mm\" (columns: species, island, bill_length_mm, \
         bill_depth_mm, flipper_length_mm, body_mass_g, sex, year)"
    );
    assert!(matches!(
        refusal("SELECT * FROM pengiuns", &t),
        PlanError::UnknownTable { .. }
    ));
    for (sql, construct) in [
        ("SELECT DISTINCT species FROM penguins", "SELECT DISTINCT"),
        (
            "SELECT species FROM penguins UNION SELECT weather FROM weather",
            "UNION",
        ),
        ("WITH x AS (SELECT 1) SELECT * FROM penguins", "WITH"),
        ("SELECT * FROM penguins, weather", "several tables in FROM"),
        (
            "SELECT * FROM penguins FULL JOIN weather ON year = wind",
            "FullOuter join",
        ),
        ("SELECT count(*) OVER () FROM penguins", "OVER"),
        (
            "SELECT * FROM penguins WHERE year IN (SELECT 1)",
            "a subquery",
        ),
        ("SELECT sqrt(year) FROM penguins", "the function sqrt()"),
        ("SELECT * FROM penguins LIMIT 1 OFFSET 2", "only LIMIT n"),
        ("DELETE FROM penguins", "a statement other than SELECT"),
        (
            "SELECT * FROM penguins p JOIN weather w ON p.year < w.wind",
            "one a = b",
        ),
    ] {
        let e = refusal(sql, &t);
        assert!(matches!(e, PlanError::Unsupported(_)), "{sql}: {e:?}");
        let text = e.to_string();
        assert!(
            text.contains(construct) && text.contains("membench runs: SELECT of columns"),
            "{sql}: {text}"
        );
    }
    for (sql, says) in [
        ("SELECT sum(species) FROM penguins", "sum of a string"),
        (
            "SELECT * FROM penguins WHERE species > 3",
            "cannot be compared",
        ),
        (
            "SELECT * FROM weather WHERE weather > DATE '2015-01-01'",
            "cannot be compared",
        ),
        (
            "SELECT species, count(*) FROM penguins",
            "must be in GROUP BY",
        ),
        ("SELECT * FROM penguins WHERE year", "a condition is needed"),
        (
            "SELECT * FROM penguins WHERE count(*) > 1",
            "an aggregate inside WHERE",
        ),
        (
            "SELECT year FROM penguins p JOIN weather w ON p.species = w.wind",
            "the join compares",
        ),
    ] {
        let e = refusal(sql, &t);
        assert!(e.to_string().contains(says), "{sql}: {e}");
    }
    assert!(matches!(
        refusal("SELEC * FROM penguins", &t),
        PlanError::Parse(_)
    ));
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn answer(sql: &str, tables: &[(&str, &Table)], reading: Reading) -> Result<String, String> {
    let schemas: Vec<(&str, &TableSchema)> = tables.iter().map(|(n, t)| (*n, &t.schema)).collect();
    let p = plan(sql, &schemas).map_err(|e| e.to_string())?;
    let inputs: Vec<&Table> = p
        .inputs
        .iter()
        .map(|n| tables.iter().find(|(t, _)| t == n).unwrap().1)
        .collect();
    run(&p, &inputs, reading)
        .map(|a| a.answer.to_json()["rows"].to_string())
        .map_err(|e| e.to_string())
}

#[test]
fn bad_values_overflows_and_zeros_say_the_same_from_every_reading() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("k,v\n");
    for i in 0..25_000 {
        text.push_str(&format!("{},{}\n", i % 3, i));
    }
    text.push_str("1,oops\n");
    let late = table(&write(dir.path(), "late.csv", &text));
    let big = table(&write(
        dir.path(),
        "big.csv",
        "k,v\n1,9223372036854775807\n1,1\n2,0\n",
    ));
    for reading in Reading::EVERY {
        let e = answer("SELECT sum(v) FROM t", &[("t", &late)], reading).unwrap_err();
        assert_eq!(
            e,
            format!(
                "{}:25002: column 2 (v): value \"oops\" is not int64; the type was inferred \
                 from the first 20000 rows: pass --schema 'v:string'",
                late.files[0].display()
            )
        );
        let e = answer("SELECT v + 1 FROM t", &[("t", &big)], reading).unwrap_err();
        assert_eq!(
            e,
            format!(
                "{}:2: integer overflow (the result does not fit 64 bits)",
                big.files[0].display()
            )
        );
        let e = answer("SELECT sum(v) FROM t", &[("t", &big)], reading).unwrap_err();
        assert_eq!(e, "sum overflows 64 bits (CAST the column to double)");
        let zero = answer(
            "SELECT k / v, v / 0, 0 / v, k % v FROM t WHERE k = 2",
            &[("t", &big)],
            reading,
        )
        .unwrap();
        assert_eq!(zero, r#"[["inf","nan","nan",null]]"#);
    }
}

#[test]
fn a_left_join_keeps_unmatched_rows_with_nulls_and_null_keys_never_match() {
    let dir = tempfile::tempdir().unwrap();
    let a = table(&write(dir.path(), "a.csv", "id,name\n1,x\n2,y\n,z\n3,w\n"));
    let b = table(&write(
        dir.path(),
        "b.csv",
        "id,qty\n1,10\n1,11\n3,30\n,99\n",
    ));
    for reading in Reading::EVERY {
        let inner = answer(
            "SELECT a.name, b.qty FROM a JOIN b ON a.id = b.id ORDER BY 1, 2",
            &[("a", &a), ("b", &b)],
            reading,
        )
        .unwrap();
        assert_eq!(inner, r#"[["w",30],["x",10],["x",11]]"#);
        let left = answer(
            "SELECT a.name, b.qty FROM a LEFT JOIN b ON a.id = b.id ORDER BY 1, 2",
            &[("a", &a), ("b", &b)],
            reading,
        )
        .unwrap();
        assert_eq!(
            left,
            r#"[["w",30],["x",10],["x",11],["y",null],["z",null]]"#
        );
    }
}
