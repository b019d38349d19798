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

mod hooks;

pub use hooks::{HOOK_THREADS, alloc_heavy, alloc_heavy_threads, bench_hooks};
