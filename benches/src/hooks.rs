//! The allocation-heavy workload both allocator benches run, at 1, 2 and 4 threads.

use std::collections::BTreeMap;

/// An allocation-heavy workload: many small strings, a growing vector and a map, all freed.
/// Returns a checksum so nothing is optimised away.
pub fn alloc_heavy(n: usize) -> usize {
    let mut strings: Vec<String> = Vec::new();
    let mut map: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for i in 0..n {
        let s = format!("key-{}", i % 977);
        map.entry(s.clone()).or_default().push(i as u64);
        strings.push(s);
        if strings.len() > 512 {
            strings.clear();
        }
    }
    map.values().map(Vec::len).sum::<usize>() + strings.len()
}

/// Thread counts the allocator hooks are benchmarked at (divan's model: contention shows only
/// with several threads allocating at once).
pub const HOOK_THREADS: [usize; 3] = [1, 2, 4];

/// [`alloc_heavy`] on `threads` threads at once, each doing the whole workload.
pub fn alloc_heavy_threads(n: usize, threads: usize) -> usize {
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads).map(|_| s.spawn(|| alloc_heavy(n))).collect();
        handles.into_iter().map(|h| h.join().unwrap_or(0)).sum()
    })
}

/// The hook benchmark both allocator binaries run: the same group and ids, so criterion's
/// numbers line up (`alloc_heavy/<allocator>/<threads>`).
pub fn bench_hooks(c: &mut criterion::Criterion, allocator: &str) {
    let mut g = c.benchmark_group("alloc_heavy");
    for threads in HOOK_THREADS {
        g.bench_function(format!("{allocator}/{threads}"), |b| {
            b.iter(|| alloc_heavy_threads(100_000, threads))
        });
    }
    g.finish();
}
