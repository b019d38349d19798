//! The allocator hooks' baseline: the same workload under the plain system allocator, at 1, 2
//! and 4 threads (compare with `alloc_counting`: the same group and ids).

use criterion::{Criterion, criterion_group, criterion_main};

fn bench(c: &mut Criterion) {
    membench_benches::bench_hooks(c, "system");
}

criterion_group!(benches, bench);
criterion_main!(benches);
