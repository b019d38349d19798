//! Shared pieces of membench's criterion benchmarks (the benches themselves are in
//! `benches/benches/`).
//!
//! This crate must not be used by the product: it only holds workloads the benches share, such
//! as the allocation-heavy workload that measures the counting allocator's overhead against the
//! system allocator (two bench binaries, one per global allocator, same workload).
//!
//! ```
//! let n = membench_benches::alloc_heavy(1000);
//! assert!(n > 0);
//! ```

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
