//! What the generic operators hold (counting allocator; the tests here take one lock, so no
//! other test's allocations are counted): streaming holds O(groups) for a group-by, O(k) for an
//! ordered LIMIT, O(build side) for a join — ten times the rows, the same peak — while load-all
//! holds every row.

use std::path::Path;

use membench_alloc::{CountingAlloc, measure};
use membench_protocol::TableSchema;
use membench_query::scan::{Reading, run};
use membench_query::sql::plan;
use membench_query::{CsvOptions, Table, open_table};

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

/// One measuring test at a time: the allocator's counters are process-wide.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn alone() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn answer(sql: &str, tables: &[(&str, &Table)], reading: Reading) {
    let schemas: Vec<(&str, &TableSchema)> = tables.iter().map(|(n, t)| (*n, &t.schema)).collect();
    let p = plan(sql, &schemas).unwrap();
    let inputs: Vec<&Table> = p
        .inputs
        .iter()
        .map(|n| tables.iter().find(|(t, _)| t == n).unwrap().1)
        .collect();
    run(&p, &inputs, reading).unwrap();
}

/// A generated-like file: `rows` rows, `groups` distinct keys.
fn keyed(dir: &Path, name: &str, rows: usize, groups: usize) -> Table {
    let mut text = String::with_capacity(rows * 20);
    text.push_str("k,v,note\n");
    for i in 0..rows {
        text.push_str(&format!("g{},{},some text here\n", i % groups, i % 1000));
    }
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    open_table(&p, &CsvOptions::default()).unwrap()
}

fn peak(sql: &str, t: &Table, reading: Reading) -> usize {
    let ((), stats) = measure(|| {
        answer(sql, &[("t", t)], reading);
    });
    stats.peak_heap_bytes
}

#[test]
fn streaming_holds_groups_and_k_rows_not_the_file() {
    let _alone = alone();
    let dir = tempfile::tempdir().unwrap();
    let small = keyed(dir.path(), "small.csv", 20_000, 50);
    let large = keyed(dir.path(), "large.csv", 200_000, 50);
    for sql in [
        "SELECT k, count(*), sum(v) FROM t GROUP BY k",
        "SELECT k, v FROM t ORDER BY v DESC, k LIMIT 10",
    ] {
        // Ten times the rows: the same memory (within the noise of reader buffers and of the
        // batches in flight to workers, at most 1 MiB here), whether rows are folded one at a
        // time, a thousand at a time or by two workers.
        for reading in [
            Reading::Streaming,
            Reading::Chunked(1000),
            Reading::Parallel(2),
        ] {
            let (s, l) = (peak(sql, &small, reading), peak(sql, &large, reading));
            assert!(
                l < s + (1 << 20),
                "{sql}, {reading:?}: {s} B at 20k rows, {l} B at 200k"
            );
        }
        let l = peak(sql, &large, Reading::Streaming);
        // load-all holds every row: at least ten times more at 200k rows.
        let all = peak(sql, &large, Reading::LoadAll);
        assert!(all > 10 * l, "{sql}: load-all {all} B vs streaming {l} B");
        // Columns, not rows: load-all-lean holds well under load-all's rows.
        let lean = peak(sql, &large, Reading::LoadAllLean);
        assert!(
            lean * 3 < all * 2,
            "{sql}: load-all-lean {lean} B vs load-all {all} B"
        );
    }
    // A join holds the build side (the joined input), not the streamed one.
    let build = keyed(dir.path(), "build.csv", 1_000, 1_000);
    let join = "SELECT count(*) FROM t JOIN b ON t.k = b.k";
    let j = |probe: &Table| {
        let ((), stats) = measure(|| {
            answer(join, &[("t", probe), ("b", &build)], Reading::Streaming);
        });
        stats.peak_heap_bytes
    };
    let (s, l) = (j(&small), j(&large));
    assert!(
        l < s + (256 << 10),
        "join: {s} B probing 20k rows, {l} B probing 200k"
    );
}

/// A six-column file (integer, date, text, two-digit decimal, boolean, text with nulls).
fn wide_file(dir: &Path, rows: u64) -> std::path::PathBuf {
    let mut text = String::from("id,day,city,amount,flag,note\n");
    for i in 0..rows {
        let note = if i % 5 == 0 {
            ""
        } else {
            "a note of some length"
        };
        text.push_str(&format!(
            "{i},2024-{:02}-{:02},city-{},{}.{:02},{},{note}\n",
            i % 12 + 1,
            i % 28 + 1,
            i % 300,
            i % 997,
            i % 100,
            i % 2 == 0
        ));
    }
    let path = dir.join("wide.csv");
    std::fs::write(&path, text).unwrap();
    path
}

/// `inspect`'s prediction of holding a table as rows, against the measured peak of loading it
/// whole (every column of every row as a `Value` vector, as the generic `load-all` holds it).
#[test]
fn the_as_rows_prediction_is_within_a_quarter_of_a_measured_load_all() {
    let _alone = alone();
    use membench_query::inspect;
    use membench_query::scan::scan;
    use membench_query::text::Value;
    let dir = tempfile::tempdir().unwrap();
    let path = wide_file(dir.path(), 100_000);
    let t = open_table(&path, &CsvOptions::default()).unwrap();
    let predicted = inspect(&path, &CsvOptions::default())
        .unwrap()
        .memory
        .as_rows;
    let all: Vec<usize> = (0..t.schema.columns.len()).collect();
    let (rows, stats) = measure(|| {
        let mut rows: Vec<Vec<Value>> = Vec::new();
        scan(&t, &all, |r| {
            rows.push(r.to_vec());
            Ok(())
        })
        .unwrap();
        rows
    });
    assert_eq!(rows.len(), 100_000);
    let measured = stats.peak_heap_bytes as f64;
    let error = (measured - predicted as f64).abs() / measured;
    eprintln!(
        "as rows: predicted {predicted} B, measured {measured} B ({:.1} % off)",
        error * 100.0
    );
    assert!(
        error < 0.25,
        "predicted {predicted} B, measured {measured} B"
    );
}

/// `inspect`'s prediction of holding a table as Polars columns, against what Polars holds
/// after reading it (live heap after the read, with the same column types; decimals as
/// `Float64`, since membench's Polars is built without its decimal type).
#[test]
fn the_polars_prediction_is_within_a_quarter_of_what_polars_holds() {
    use membench_alloc::snapshot;
    use membench_query::inspect;
    use polars::prelude::*;
    let _alone = alone();
    let dir = tempfile::tempdir().unwrap();
    let path = wide_file(dir.path(), 200_000);
    let predicted = inspect(&path, &CsvOptions::default())
        .unwrap()
        .memory
        .as_polars_columns;
    let schema = Schema::from_iter([
        Field::new("id".into(), DataType::Int64),
        Field::new("day".into(), DataType::Date),
        Field::new("city".into(), DataType::String),
        Field::new("amount".into(), DataType::Float64),
        Field::new("flag".into(), DataType::Boolean),
        Field::new("note".into(), DataType::String),
    ]);
    let before = snapshot().live_bytes;
    let mut df = CsvReadOptions::default()
        .with_has_header(true)
        .with_schema(Some(Arc::new(schema)))
        .try_into_reader_with_file_path(Some(path.clone()))
        .unwrap()
        .finish()
        .unwrap();
    // One chunk per column, as a loaded table is held.
    df.rechunk_mut();
    let held = snapshot().live_bytes.saturating_sub(before) as f64;
    assert_eq!(df.height(), 200_000);
    let error = (held - predicted as f64).abs() / held;
    eprintln!(
        "as Polars columns: predicted {predicted} B, Polars holds {held} B ({:.1} % off)",
        error * 100.0
    );
    assert!(
        error < 0.25,
        "predicted {predicted} B, Polars holds {held} B"
    );
}
