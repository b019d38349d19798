//! Reading the counters: snapshots, the peak of a closure, the budget, in-test limits.

use std::sync::atomic::Ordering::Relaxed;

use crate::counters::{LIMITS, LIVE, sum};

/// A reading of the counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Snapshot {
    pub live_bytes: usize,
    pub peak_bytes: usize,
    pub total_allocated_bytes: u64,
    pub n_allocs: u64,
    pub n_reallocs: u64,
    pub n_deallocs: u64,
}

/// Reads the counters now.
pub fn snapshot() -> Snapshot {
    Snapshot {
        live_bytes: LIVE.0.load(Relaxed),
        peak_bytes: LIMITS.0.peak.load(Relaxed),
        total_allocated_bytes: sum(|t| &t.total),
        n_allocs: sum(|t| &t.n_alloc),
        n_reallocs: sum(|t| &t.n_realloc),
        n_deallocs: sum(|t| &t.n_dealloc),
    }
}

/// Sets the peak to the current live bytes, so the next peak belongs to what runs after.
pub fn reset_peak() {
    LIMITS.0.peak.store(LIVE.0.load(Relaxed), Relaxed);
}

/// Sets (or with `None` clears) the heap budget in bytes of live heap. The allocation that would
/// cross it ends the process with [`OOM_EXIT_CODE`] and a message starting with
/// [`OOM_MESSAGE_PREFIX`].
pub fn set_budget(bytes: Option<usize>) {
    LIMITS.0.budget.store(bytes.unwrap_or(0), Relaxed);
}

/// What a closure allocated, relative to the heap live when it started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AllocStats {
    /// Heap live when the closure started (not included in `peak_heap_bytes`).
    pub baseline_heap_bytes: usize,
    /// Highest live heap above the baseline while the closure ran.
    pub peak_heap_bytes: usize,
    /// Live heap above the baseline when it returned (what it kept, e.g. its result).
    pub end_heap_bytes: isize,
    /// Sum of all allocation sizes (realloc growth included).
    pub total_allocated_bytes: u64,
    pub n_allocs: u64,
    pub n_reallocs: u64,
    pub n_deallocs: u64,
}

/// Runs `f` and returns its result with what it allocated. Requires [`CountingAlloc`] to be the
/// global allocator (otherwise every count is zero).
pub fn measure<R>(f: impl FnOnce() -> R) -> (R, AllocStats) {
    let before = snapshot();
    reset_peak();
    let r = f();
    let after = snapshot();
    let stats = AllocStats {
        baseline_heap_bytes: before.live_bytes,
        peak_heap_bytes: after.peak_bytes.saturating_sub(before.live_bytes),
        end_heap_bytes: after.live_bytes as isize - before.live_bytes as isize,
        total_allocated_bytes: after.total_allocated_bytes - before.total_allocated_bytes,
        n_allocs: after.n_allocs - before.n_allocs,
        n_reallocs: after.n_reallocs - before.n_reallocs,
        n_deallocs: after.n_deallocs - before.n_deallocs,
    };
    (r, stats)
}

/// Whether [`CountingAlloc`] is the global allocator of this process.
pub fn is_installed() -> bool {
    let before = sum(|t| &t.n_alloc);
    let b = std::hint::black_box(Box::new(0u64));
    drop(b);
    sum(|t| &t.n_alloc) > before
}

/// Runs `f` and panics if its peak heap exceeds `limit_bytes` — an in-test memory assertion in
/// the spirit of pytest-memray's `limit_memory`. Returns `f`'s result and stats otherwise.
///
/// ```
/// use membench_alloc::{CountingAlloc, limit_memory};
/// #[global_allocator]
/// static GLOBAL: CountingAlloc = CountingAlloc;
///
/// let (sum, _) = limit_memory(64 * 1024, || (0..1000u64).sum::<u64>());
/// assert_eq!(sum, 499_500);
/// let too_much = std::panic::catch_unwind(|| limit_memory(1024, || vec![1u8; 1 << 20]));
/// assert!(too_much.is_err());
/// ```
///
/// # Panics
/// When the peak heap of `f` is above `limit_bytes`, or the counting allocator is not installed.
#[track_caller]
pub fn limit_memory<R>(limit_bytes: usize, f: impl FnOnce() -> R) -> (R, AllocStats) {
    assert!(
        is_installed(),
        "limit_memory needs `#[global_allocator] static A: membench_alloc::CountingAlloc`"
    );
    let (r, stats) = measure(f);
    assert!(
        stats.peak_heap_bytes <= limit_bytes,
        "peak heap {} bytes exceeds the limit of {} bytes ({} allocations, {} bytes allocated in total)",
        stats.peak_heap_bytes,
        limit_bytes,
        stats.n_allocs,
        stats.total_allocated_bytes
    );
    (r, stats)
}
