//! The allocation-heavy workload under membench's counting allocator.

use criterion::{Criterion, criterion_group, criterion_main};

#[global_allocator]
static GLOBAL: membench_alloc::CountingAlloc = membench_alloc::CountingAlloc;

fn bench(c: &mut Criterion) {
    assert!(membench_alloc::is_installed());
    c.bench_function("alloc_heavy/counting", |b| {
        b.iter(|| membench_benches::alloc_heavy(100_000))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
