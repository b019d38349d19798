//! Every strategy on each workload (top-n, group-by, etl; join on the `orders` tables, ordered
//! and shuffled) and format, on small generated files (in-process; the memory side is measured
//! by the runner, not here). `postgres` runs when `MEMBENCH_POSTGRES_URL` names a server.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use membench_datagen::{DataSchema, Format, GenSpec, generate, generate_orders};
use membench_kernel::Workload;
use membench_strategies::{Entry, Params, REGISTRY};

/// Whether `s` can run here (a strategy that needs a server runs only when one is given).
fn runnable(s: &Entry) -> bool {
    if s.info.needs.is_empty() || std::env::var_os("MEMBENCH_POSTGRES_URL").is_some() {
        return true;
    }
    eprintln!(
        "skipping {}: needs a server (set MEMBENCH_POSTGRES_URL)",
        s.name()
    );
    false
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let spec = GenSpec {
        rows: 200_000,
        row_group_rows: 50_000,
        ..GenSpec::default()
    };
    for workload in Workload::sales() {
        for format in [Format::Csv, Format::Parquet] {
            let out = generate(&spec, format, dir.path(), false, &mut |_| {}).unwrap();
            let mut g = c.benchmark_group(format!("{workload}/{}", format.name()));
            g.sample_size(10);
            g.throughput(Throughput::Bytes(out.meta.bytes));
            for s in REGISTRY {
                if !s.info.does(&workload) || !runnable(s) {
                    continue;
                }
                let mut p = Params::new(workload.clone(), &out.path);
                // etl writes its output (same format as the input) next to it, each iteration.
                p.output = Some(dir.path().join(format!("etl-output.{}", format.name())));
                g.bench_function(s.name(), |b| b.iter(|| s.run(&p).unwrap()));
            }
            g.finish();
        }
    }
}

fn bench_join(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    for shuffle_items in [false, true] {
        let spec = GenSpec {
            schema: DataSchema::Orders,
            shuffle_items,
            rows: 100_000,
            row_group_rows: 50_000,
            ..GenSpec::default()
        };
        for format in [Format::Csv, Format::Parquet] {
            let [orders, items] =
                generate_orders(&spec, format, dir.path(), false, &mut |_| {}).unwrap();
            let order = if shuffle_items { "shuffled" } else { "ordered" };
            let mut g = c.benchmark_group(format!("join-{order}/{}", format.name()));
            g.sample_size(10);
            g.throughput(Throughput::Bytes(orders.meta.bytes + items.meta.bytes));
            for s in REGISTRY {
                if !s.info.does(&membench_kernel::Workload::JOIN) || !runnable(s) {
                    continue;
                }
                let mut p = Params::new(Workload::JOIN, &orders.path);
                p.items = Some(items.path.clone());
                p.scratch = dir.path().to_path_buf();
                g.bench_function(s.name(), |b| b.iter(|| s.run(&p).unwrap()));
            }
            g.finish();
        }
    }
}

criterion_group!(benches, bench, bench_join);
criterion_main!(benches);
