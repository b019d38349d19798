//! The generic operators (a built-in workload written as SQL, planned, run by
//! `membench-query`'s streaming and parallel readings) against the hand-specialised `streaming` and
//! `parallel` strategies on the same generated `sales` CSV, in bytes per second — the issue's
//! target is ≥ 0.9× — and a hash group-by over a 1 M-row real-shaped file (`inspect` too).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use membench_datagen::{Format, GenSpec, generate};
use membench_kernel::Workload;
use membench_protocol::TableSchema;
use membench_query::scan::{Reading, run};
use membench_query::sql::plan;
use membench_query::{CsvOptions, inspect, open_table};
use membench_strategies::{Params, find};

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let rows = std::env::var("MEMBENCH_BENCH_ROWS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(1_000_000);
    let spec = GenSpec {
        rows,
        ..GenSpec::default()
    };
    let out = generate(&spec, Format::Csv, dir.path(), false, &mut |_| {}).unwrap();
    let table = open_table(&out.path, &CsvOptions::default()).unwrap();
    let schemas: Vec<(&str, &TableSchema)> = vec![("sales", &table.schema)];
    for workload in [Workload::TOP_N, Workload::GroupBy] {
        let sql = workload.sql().unwrap();
        let p = plan(&sql, &schemas).unwrap();
        let mut g = c.benchmark_group(format!("generic/{workload}"));
        g.sample_size(10);
        g.throughput(Throughput::Bytes(out.meta.bytes));
        for name in ["streaming", "parallel"] {
            let s = find(name).unwrap();
            let params = Params::new(workload.clone(), &out.path);
            g.bench_function(name, |b| b.iter(|| s.run(&params).unwrap()));
        }
        g.bench_function("generic-streaming", |b| {
            b.iter(|| run(&p, &[&table], Reading::Streaming).unwrap())
        });
        // Two workers, as `parallel`'s default `--threads`.
        g.bench_function("generic-parallel", |b| {
            b.iter(|| run(&p, &[&table], Reading::Parallel(2)).unwrap())
        });
        g.finish();
    }
    let mut g = c.benchmark_group("generic/inspect");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(out.meta.bytes));
    g.bench_function("inspect", |b| {
        b.iter(|| inspect(&out.path, &CsvOptions::default()).unwrap())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
