//! The allocator hooks under membench's counting allocator, at 1, 2 and 4 threads (compare with
//! `alloc_system`: the same group and ids).

use criterion::{Criterion, criterion_group, criterion_main};

#[global_allocator]
static GLOBAL: membench_alloc::CountingAlloc = membench_alloc::CountingAlloc;

fn bench(c: &mut Criterion) {
    assert!(membench_alloc::is_installed());
    membench_benches::bench_hooks(c, "counting");
}

criterion_group!(benches, bench);
criterion_main!(benches);
