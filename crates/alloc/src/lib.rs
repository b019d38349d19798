//! A counting global allocator: process-wide live/peak/total bytes and call counts, an optional
//! heap budget, and a "run this closure and tell me what it allocated" API.
//!
//! It wraps [`std::alloc::System`] and keeps its counters in static atomics, so it sees every
//! thread of the process (Polars' and rayon's pools included). It never allocates inside
//! itself: the budget message is formatted on the stack and written with `write(2)`.
//!
//! What it must not do: allocate, lock, or print through `std::io` from inside `alloc`. The
//! counters are process-wide, so a measurement taken while other threads allocate (e.g. tests
//! running in parallel in one binary) includes their allocations.
//!
//! Overhead: see `benches/benches/alloc_overhead.rs` and ARCHITECTURE.md.
//!
//! ```
//! use membench_alloc::{CountingAlloc, measure};
//! #[global_allocator]
//! static GLOBAL: CountingAlloc = CountingAlloc;
//!
//! let (v, stats) = measure(|| vec![0u8; 1 << 20]);
//! assert!(stats.peak_heap_bytes >= 1 << 20);
//! drop(v);
//! ```

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
static TOTAL: AtomicU64 = AtomicU64::new(0);
static N_ALLOC: AtomicU64 = AtomicU64::new(0);
static N_REALLOC: AtomicU64 = AtomicU64::new(0);
static N_DEALLOC: AtomicU64 = AtomicU64::new(0);
static BUDGET: AtomicUsize = AtomicUsize::new(0);

/// Exit code of a process whose heap budget was exceeded.
pub const OOM_EXIT_CODE: i32 = 97;
/// First words of the message printed when the heap budget is exceeded.
pub const OOM_MESSAGE_PREFIX: &str = "membench: heap budget exceeded";

/// The counting allocator. Install it with `#[global_allocator]`.
#[derive(Debug, Clone, Copy, Default)]
pub struct CountingAlloc;

#[inline]
fn grow(size: usize) {
    let live = LIVE.fetch_add(size, Relaxed) + size;
    let budget = BUDGET.load(Relaxed);
    if budget != 0 && live > budget {
        budget_exceeded(budget, live - size, size);
    }
    if live > PEAK.load(Relaxed) {
        PEAK.fetch_max(live, Relaxed);
    }
    TOTAL.fetch_add(size as u64, Relaxed);
}

#[cold]
fn budget_exceeded(budget: usize, live: usize, asked: usize) -> ! {
    // No allocation here: format into a stack buffer.
    let mut buf = [0u8; 256];
    let mut n = 0;
    let mut put = |s: &[u8]| {
        let k = s.len().min(buf.len() - n);
        buf[n..n + k].copy_from_slice(&s[..k]);
        n += k;
    };
    let mut num = itoa::Buffer::new();
    put(OOM_MESSAGE_PREFIX.as_bytes());
    put(b": budget_bytes=");
    put(num.format(budget).as_bytes());
    put(b" live_bytes=");
    put(num.format(live).as_bytes());
    put(b" requested_bytes=");
    put(num.format(asked).as_bytes());
    put(b"\n");
    // SAFETY: writing a valid buffer to fd 2 and exiting without running destructors, which
    // might allocate.
    unsafe {
        libc::write(2, buf.as_ptr().cast(), n);
        libc::_exit(OOM_EXIT_CODE);
    }
}

// SAFETY: every method forwards to `System` with the same layout and only updates atomics.
unsafe impl GlobalAlloc for CountingAlloc {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        grow(layout.size());
        N_ALLOC.fetch_add(1, Relaxed);
        // SAFETY: forwarded contract.
        unsafe { System.alloc(layout) }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        grow(layout.size());
        N_ALLOC.fetch_add(1, Relaxed);
        // SAFETY: forwarded contract.
        unsafe { System.alloc_zeroed(layout) }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Relaxed);
        N_DEALLOC.fetch_add(1, Relaxed);
        // SAFETY: forwarded contract.
        unsafe { System.dealloc(ptr, layout) }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let old = layout.size();
        if new_size > old {
            grow(new_size - old);
        } else {
            LIVE.fetch_sub(old - new_size, Relaxed);
        }
        N_REALLOC.fetch_add(1, Relaxed);
        // SAFETY: forwarded contract.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

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
        live_bytes: LIVE.load(Relaxed),
        peak_bytes: PEAK.load(Relaxed),
        total_allocated_bytes: TOTAL.load(Relaxed),
        n_allocs: N_ALLOC.load(Relaxed),
        n_reallocs: N_REALLOC.load(Relaxed),
        n_deallocs: N_DEALLOC.load(Relaxed),
    }
}

/// Sets the peak to the current live bytes, so the next peak belongs to what runs after.
pub fn reset_peak() {
    PEAK.store(LIVE.load(Relaxed), Relaxed);
}

/// Sets (or with `None` clears) the heap budget in bytes of live heap. The allocation that would
/// cross it ends the process with [`OOM_EXIT_CODE`] and a message starting with
/// [`OOM_MESSAGE_PREFIX`].
pub fn set_budget(bytes: Option<usize>) {
    BUDGET.store(bytes.unwrap_or(0), Relaxed);
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
    let before = N_ALLOC.load(Relaxed);
    let b = std::hint::black_box(Box::new(0u64));
    drop(b);
    N_ALLOC.load(Relaxed) > before
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
