//! Every strategy on each workload (top-n, group-by, etl) and format, on a small generated file
//! (in-process; the memory side is measured by the runner, not here). `postgres` runs when
//! `MEMBENCH_POSTGRES_URL` names a server.

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
                // A strategy that needs a server runs only when one is given.
                if !s.info.needs.is_empty() && std::env::var_os("MEMBENCH_POSTGRES_URL").is_none() {
                    eprintln!(
                        "skipping {}: needs {} (set MEMBENCH_POSTGRES_URL)",
                        s.name(),
                        s.info
                            .needs
                            .iter()
                            .map(|r| r.describe())
                            .collect::<Vec<_>>()
                            .join("; ")
                    );
                    continue;
                }
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
