//! Every strategy on each workload (top-n, group-by, etl) and format, on a small generated file
//! (in-process; the memory side is measured by the runner, not here).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use membench_datagen::{Format, GenSpec, generate};
use membench_kernel::Workload;
use membench_strategies::{Params, REGISTRY};

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let spec = GenSpec {
        rows: 200_000,
        row_group_rows: 50_000,
        ..GenSpec::default()
    };
    for workload in Workload::ALL {
        for format in [Format::Csv, Format::Parquet] {
            let out = generate(&spec, format, dir.path(), false, &mut |_| {}).unwrap();
            let mut g = c.benchmark_group(format!("{workload}/{}", format.name()));
            g.sample_size(10);
            g.throughput(Throughput::Bytes(out.meta.bytes));
            for s in REGISTRY {
                let mut p = Params::new(workload, &out.path);
                // etl writes its output (same format as the input) next to it, each iteration.
                p.output = Some(dir.path().join(format!("etl-output.{}", format.name())));
                g.bench_function(s.name(), |b| b.iter(|| s.run(&p).unwrap()));
            }
            g.finish();
        }
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
