//! Generation memory does not grow with the number of rows (heap measured by the counting
//! allocator; one test in this binary so nothing else allocates beside it).

use membench_alloc::{CountingAlloc, measure};
use membench_datagen::{Format, GenSpec, generate};

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

#[test]
fn generation_heap_is_flat_as_rows_grow() {
    let dir = tempfile::tempdir().unwrap();
    for format in [Format::Csv, Format::Parquet] {
        let peak = |rows: u64| {
            let spec = GenSpec {
                rows,
                row_group_rows: 20_000,
                ..GenSpec::default()
            };
            let (_, s) =
                measure(|| generate(&spec, format, dir.path(), true, &mut |_| {}).unwrap());
            s.peak_heap_bytes
        };
        // Both sizes exceed the in-flight window (2 × threads blocks of 64k rows), past which
        // memory must not grow at all.
        let (small, large) = (peak(400_000), peak(1_200_000));
        eprintln!("{format:?}: peak heap {small} B at 400k rows, {large} B at 1.2m rows");
        // CSV: flat. Parquet: the writer keeps each row group's footer metadata until the
        // end, so it may grow by a little per row group (40 more here), never per row.
        let allowance = match format {
            Format::Csv => 0,
            Format::Parquet => 40 * 64 * 1024,
        };
        assert!(
            (large as f64) < 1.05 * small as f64 + allowance as f64,
            "{format:?}: heap grew from {small} to {large} bytes"
        );
    }
}
