//! Twins of real public tables (`datasets/public`): at 1× a twin has the original's per-column
//! statistics within the bounds below, the same profile, rows and seed give the same bytes,
//! and at 10× a growing key continues past the original's maximum.

use std::path::{Path, PathBuf};

use membench_protocol::{ColumnType, NullTokens, SchemaOverride};
use membench_query::{CsvOptions, Inspection, profile as inspect};
use membench_twin::{SORTED_SHARE, TwinSpec, delimiter_of, generate_twin};

fn public(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../datasets/public")
        .join(name)
}

fn opts(schema: SchemaOverride) -> CsvOptions {
    CsvOptions {
        delimiter: None,
        nulls: NullTokens::default(),
        schema,
        sample_rows: 20_000,
    }
}

fn twin(original: &Inspection, rows: u64, seed: u64, dir: &Path, copy: bool) -> (PathBuf, String) {
    let spec = TwinSpec {
        rows,
        seed,
        copy_values: copy,
    };
    let out = generate_twin(
        original,
        delimiter_of(original),
        &spec,
        dir,
        true,
        &mut |_| {},
    )
    .expect("twin written");
    (out.path, out.meta.sha256)
}

fn number(s: &Option<String>, ty: ColumnType) -> Option<f64> {
    let s = s.as_deref()?;
    match ty {
        ColumnType::Date => membench_query::text::parse_date(s.as_bytes())
            .ok()
            .map(f64::from),
        _ => s.parse().ok(),
    }
}

/// The bounds a 1× twin holds, column by column.
fn assert_faithful(name: &str) {
    let dir = tempfile::tempdir().unwrap();
    let original = inspect(&public(name), &opts(SchemaOverride::default())).unwrap();
    let (path, sha) = twin(&original, original.rows, 7, dir.path(), true);
    let same_types = SchemaOverride::from_schema(&original.schema);
    let copy = inspect(&path, &opts(same_types)).unwrap();
    assert_eq!(copy.rows, original.rows, "{name}: rows");
    let n = original.rows as f64;
    for (o, t) in original.columns.iter().zip(&copy.columns) {
        let col = format!("{name}: {}", o.name);
        // Null rate: within 3 standard deviations of a binomial draw, plus half a percent.
        let (po, pt) = (o.nulls as f64 / n, t.nulls as f64 / n);
        let sd = (po * (1.0 - po) / n).sqrt();
        assert!(
            (po - pt).abs() <= 3.0 * sd + 0.005,
            "{col}: null rate {po:.4} vs twin {pt:.4}"
        );
        // Distinct count: within 25 % for text, booleans and keys; within 50 % for other
        // numbers (measurements: drawn from the quantiles and rounded, their distinct count
        // emerges rather than being set).
        let (d_o, d_t) = (o.distinct_estimate as f64, t.distinct_estimate as f64);
        let values = (original.rows - o.nulls) as f64;
        let numeric = !matches!(o.ty, ColumnType::String | ColumnType::Bool);
        let within = if numeric && d_o < 0.95 * values {
            0.5
        } else {
            0.25
        };
        assert!(
            (d_t - d_o).abs() <= within * d_o,
            "{col}: distinct {d_o} vs twin {d_t} (within {within})"
        );
        // Mean text length: within 15 %.
        let (lo, lt) = (o.mean_text_length, t.mean_text_length);
        assert!(
            (lt - lo).abs() <= 0.15 * lo.max(1.0),
            "{col}: mean length {lo:.2} vs twin {lt:.2}"
        );
        // Numbers stay inside the original's range, and reach within 15 % of it at both ends.
        if let (Some(a), Some(b), Some(x), Some(y)) = (
            number(&o.min, o.ty),
            number(&o.max, o.ty),
            number(&t.min, o.ty),
            number(&t.max, o.ty),
        ) {
            let slack = 0.15 * (b - a).abs().max(1e-9);
            assert!(
                x >= a - 1e-9 && x <= a + slack,
                "{col}: min {a} vs twin {x}"
            );
            assert!(
                y <= b + 1e-9 && y >= b - slack,
                "{col}: max {b} vs twin {y}"
            );
        }
        // Order: a sorted column stays sorted; an unsorted one does not become sorted.
        let (so, st) = (o.profile.sorted_fraction, t.profile.sorted_fraction);
        if so >= SORTED_SHARE {
            assert!(st >= SORTED_SHARE, "{col}: sorted {so} vs {st}");
        } else {
            assert!(st < SORTED_SHARE, "{col}: unsorted {so} vs {st}");
        }
    }
    // Deterministic: the same profile, rows and seed give the same bytes; another seed not.
    let (_, again) = twin(&original, original.rows, 7, dir.path(), true);
    assert_eq!(sha, again, "{name}: regenerated twin differs");
    let (_, other) = twin(&original, original.rows, 8, dir.path(), true);
    assert_ne!(sha, other, "{name}: another seed gave the same twin");
}

#[test]
fn a_penguins_twin_has_the_originals_column_statistics() {
    assert_faithful("penguins.csv");
}

#[test]
fn a_seattle_weather_twin_has_the_originals_column_statistics() {
    assert_faithful("seattle-weather.csv");
}

#[test]
fn an_airports_twin_has_the_originals_column_statistics() {
    assert_faithful("airports.csv");
}

#[test]
fn a_10x_twin_continues_its_keys_and_keeps_its_categories() {
    let dir = tempfile::tempdir().unwrap();
    let original = inspect(
        &public("seattle-weather.csv"),
        &opts(SchemaOverride::default()),
    )
    .unwrap();
    let rows = original.rows * 10;
    let (path, _) = twin(&original, rows, 1, dir.path(), true);
    let same_types = SchemaOverride::from_schema(&original.schema);
    let big = inspect(&path, &opts(same_types)).unwrap();
    assert_eq!(big.rows, rows);
    let col = |i: &Inspection, n: &str| i.columns.iter().find(|c| c.name == n).unwrap().clone();
    // `date` is a sorted key: ten times the days, still sorted, past the original's last day.
    let (d, bd) = (col(&original, "date"), col(&big, "date"));
    assert!(bd.distinct_estimate as f64 >= 9.0 * d.distinct_estimate as f64);
    assert!(bd.profile.sorted_fraction >= 0.99);
    assert!(bd.max > d.max, "{:?} vs {:?}", bd.max, d.max);
    // `weather` is a bounded category: the same five values, copied.
    let (w, bw) = (col(&original, "weather"), col(&big, "weather"));
    assert_eq!(bw.distinct_estimate, w.distinct_estimate);
    let names = |c: &membench_query::ColumnStats| {
        let mut v: Vec<String> = c.top_values.iter().map(|t| t.value.clone()).collect();
        v.sort();
        v
    };
    assert_eq!(names(&bw), names(&w));
}

#[test]
fn a_twin_without_values_copies_no_category() {
    let dir = tempfile::tempdir().unwrap();
    let original = inspect(&public("penguins.csv"), &opts(SchemaOverride::default())).unwrap();
    let (path, _) = twin(&original, original.rows, 3, dir.path(), false);
    let text = std::fs::read_to_string(&path).unwrap();
    for word in [
        "Adelie",
        "Gentoo",
        "Chinstrap",
        "Torgersen",
        "Biscoe",
        "Dream",
        "female",
    ] {
        assert!(
            !text.contains(word),
            "{word} copied into a --no-values twin"
        );
    }
    let same_types = SchemaOverride::from_schema(&original.schema);
    let copy = inspect(&path, &opts(same_types)).unwrap();
    let species = &copy.columns[0];
    assert_eq!(species.distinct_estimate, 3, "still three species, renamed");
}
