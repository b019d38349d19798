//! Dataset generation throughput (bytes of output per second).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use membench_datagen::{Format, GenSpec, generate};

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let mut g = c.benchmark_group("generate");
    g.sample_size(10);
    for format in [Format::Csv, Format::Parquet] {
        let spec = GenSpec {
            rows: 500_000,
            ..GenSpec::default()
        };
        let bytes = generate(&spec, format, dir.path(), true, &mut |_| {})
            .unwrap()
            .meta
            .bytes;
        g.throughput(Throughput::Bytes(bytes));
        g.bench_function(format!("{}-500k", format.name()), |b| {
            b.iter(|| generate(&spec, format, dir.path(), true, &mut |_| {}).unwrap())
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
