//! The allocation-heavy workload under the plain system allocator (compare with
//! `alloc_counting`: same group and id, so criterion's numbers line up).

use criterion::{Criterion, criterion_group, criterion_main};

fn bench(c: &mut Criterion) {
    c.bench_function("alloc_heavy/system", |b| {
        b.iter(|| membench_benches::alloc_heavy(100_000))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
