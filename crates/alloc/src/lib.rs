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
//! Layout of the counters (divan's `alloc.rs` is the model):
//! - `LIVE` sits alone on its cache line: it is the one counter every allocation and
//!   deallocation must update in one shared place, because the peak is exact — the peak of the
//!   *sum* over threads cannot be recovered from per-thread tallies afterwards. One shared
//!   read-modify-write per size change is the floor of an exact peak.
//! - `PEAK` and `BUDGET` share a mostly-read line: a new peak is written only when the live
//!   heap passes the old one.
//! - Totals and call counts are per thread, in cache-padded slots that only their thread writes
//!   (a plain load and store, no locked instruction), summed on read. A thread takes a free slot
//!   the first time it allocates and gives it back when it exits; past [`SLOTS`] threads alive
//!   at once, the others share one overflow slot with atomic adds.
//!
//! Overhead: `benches/benches/alloc_counting.rs` against `alloc_system.rs` (the same workload
//! under each allocator, at 1, 2 and 4 threads); figures in ARCHITECTURE.md.
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
use std::cell::Cell;
use std::sync::atomic::{
    AtomicBool, AtomicU64, AtomicUsize, Ordering::Acquire, Ordering::Relaxed, Ordering::Release,
};

pub use membench_protocol::{ALLOC_FAILED_MESSAGE_PREFIX, OOM_EXIT_CODE, OOM_MESSAGE_PREFIX};

/// A value alone on its own cache line (128 bytes: two lines, against adjacent-line prefetch).
#[repr(align(128))]
struct Padded<T>(T);

/// The live heap: the one counter every size change updates in a shared place.
static LIVE: Padded<AtomicUsize> = Padded(AtomicUsize::new(0));

/// Read on every growth, written rarely.
struct Limits {
    peak: AtomicUsize,
    budget: AtomicUsize,
}
static LIMITS: Padded<Limits> = Padded(Limits {
    peak: AtomicUsize::new(0),
    budget: AtomicUsize::new(0),
});

/// One thread's tallies.
struct Tally {
    total: AtomicU64,
    n_alloc: AtomicU64,
    n_realloc: AtomicU64,
    n_dealloc: AtomicU64,
}

impl Tally {
    const fn new() -> Tally {
        Tally {
            total: AtomicU64::new(0),
            n_alloc: AtomicU64::new(0),
            n_realloc: AtomicU64::new(0),
            n_dealloc: AtomicU64::new(0),
        }
    }
}

/// Threads alive at once with a tally slot of their own; more share the overflow slot.
pub const SLOTS: usize = 64;
const OVERFLOW: usize = SLOTS;
static TALLIES: [Padded<Tally>; SLOTS + 1] = [const { Padded(Tally::new()) }; SLOTS + 1];
/// Which slots a living thread owns. A thread takes a free slot when it first allocates and
/// gives it back when it exits, so threads that come and go (scoped workers) reuse slots.
static TAKEN: [AtomicBool; SLOTS] = [const { AtomicBool::new(false) }; SLOTS];

/// This thread's slot + 1 (0: none taken yet). Const-initialised, so it never allocates; its
/// destructor gives the slot back when the thread exits (registered by std through the C
/// runtime, which does not allocate through this allocator).
struct SlotGuard(Cell<usize>);

impl Drop for SlotGuard {
    fn drop(&mut self) {
        let v = self.0.get();
        if v != 0 && v - 1 < SLOTS {
            // Release: the next owner sees every count this thread stored.
            TAKEN[v - 1].store(false, Release);
        }
    }
}

thread_local! {
    static SLOT: SlotGuard = const { SlotGuard(Cell::new(0)) };
}

fn take_slot() -> usize {
    (0..SLOTS)
        .find(|&i| {
            TAKEN[i]
                .compare_exchange(false, true, Acquire, Relaxed)
                .is_ok()
        })
        .unwrap_or(OVERFLOW)
}

#[inline]
fn slot() -> usize {
    SLOT.try_with(|s| {
        let v = s.0.get();
        if v != 0 {
            return v - 1;
        }
        let n = take_slot();
        s.0.set(n + 1);
        n
    })
    // During thread teardown, after the slot was given back.
    .unwrap_or(OVERFLOW)
}

/// Adds `v` to a counter of slot `i`: a plain load and store when the slot is this thread's
/// alone, an atomic add in the shared overflow slot.
#[inline]
fn bump(i: usize, counter: impl Fn(&Tally) -> &AtomicU64, v: u64) {
    let c = counter(&TALLIES[i].0);
    if i == OVERFLOW {
        c.fetch_add(v, Relaxed);
    } else {
        c.store(c.load(Relaxed) + v, Relaxed);
    }
}

fn sum(counter: impl Fn(&Tally) -> &AtomicU64) -> u64 {
    TALLIES.iter().map(|t| counter(&t.0).load(Relaxed)).sum()
}

/// The counting allocator. Install it with `#[global_allocator]`.
#[derive(Debug, Clone, Copy, Default)]
pub struct CountingAlloc;

/// Adds `size` to the live heap (ending the process if that crosses the budget) and returns
/// the new live total, for [`note_peak`] once the allocation succeeded.
#[inline]
fn grow(size: usize) -> usize {
    let live = LIVE.0.fetch_add(size, Relaxed) + size;
    let budget = LIMITS.0.budget.load(Relaxed);
    if budget != 0 && live > budget {
        budget_exceeded(budget, live - size, size);
    }
    live
}

/// Raises the peak to `live` (an allocation that made it so succeeded).
#[inline]
fn note_peak(live: usize) {
    let limits = &LIMITS.0;
    if live > limits.peak.load(Relaxed) {
        limits.peak.fetch_max(live, Relaxed);
    }
}

#[inline]
fn shrink(size: usize) {
    LIVE.0.fetch_sub(size, Relaxed);
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
// An allocation `System` refuses (a null pointer) takes back what it added to the live heap,
// so a failed `try_reserve` leaves the counters as they were.
unsafe impl GlobalAlloc for CountingAlloc {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let live = grow(layout.size());
        let i = slot();
        bump(i, |t| &t.total, layout.size() as u64);
        bump(i, |t| &t.n_alloc, 1);
        // SAFETY: forwarded contract.
        let p = unsafe { System.alloc(layout) };
        if p.is_null() {
            shrink(layout.size());
        } else {
            note_peak(live);
        }
        p
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let live = grow(layout.size());
        let i = slot();
        bump(i, |t| &t.total, layout.size() as u64);
        bump(i, |t| &t.n_alloc, 1);
        // SAFETY: forwarded contract.
        let p = unsafe { System.alloc_zeroed(layout) };
        if p.is_null() {
            shrink(layout.size());
        } else {
            note_peak(live);
        }
        p
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        shrink(layout.size());
        bump(slot(), |t| &t.n_dealloc, 1);
        // SAFETY: forwarded contract.
        unsafe { System.dealloc(ptr, layout) }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let old = layout.size();
        let i = slot();
        let mut live = None;
        if new_size > old {
            live = Some(grow(new_size - old));
            bump(i, |t| &t.total, (new_size - old) as u64);
        } else {
            shrink(old - new_size);
        }
        bump(i, |t| &t.n_realloc, 1);
        // SAFETY: forwarded contract.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        match (p.is_null(), live) {
            (false, Some(live)) => note_peak(live),
            (false, None) => {}
            // A refused realloc leaves the old block as it was: undo the size change.
            (true, Some(_)) => shrink(new_size - old),
            (true, None) => {
                LIVE.0.fetch_add(old - new_size, Relaxed);
            }
        }
        p
    }
}

/// Wraps an allocator so that an allocation it refuses ends the process with
/// [`OOM_EXIT_CODE`] (after a message starting with [`ALLOC_FAILED_MESSAGE_PREFIX`] on
/// stderr), instead of Rust's abort. The runners use it: under a kernel limit (`RLIMIT_DATA`)
/// a refused allocation is the cell running out of memory, and the parent must learn that from
/// the exit code, never from text on stderr (which the data could contain).
#[derive(Debug, Clone, Copy, Default)]
pub struct ExitOnFailure<A>(pub A);

#[cold]
fn allocation_failed(asked: usize) -> ! {
    let mut buf = [0u8; 160];
    let mut n = 0;
    let mut put = |s: &[u8]| {
        let k = s.len().min(buf.len() - n);
        buf[n..n + k].copy_from_slice(&s[..k]);
        n += k;
    };
    let mut num = itoa::Buffer::new();
    put(ALLOC_FAILED_MESSAGE_PREFIX.as_bytes());
    put(b": requested_bytes=");
    put(num.format(asked).as_bytes());
    put(b"\n");
    // SAFETY: writing a valid buffer to fd 2 and exiting without running destructors.
    unsafe {
        libc::write(2, buf.as_ptr().cast(), n);
        libc::_exit(OOM_EXIT_CODE);
    }
}

// SAFETY: every method forwards to the wrapped allocator with the same arguments; a null
// result never returns (the process ends).
unsafe impl<A: GlobalAlloc> GlobalAlloc for ExitOnFailure<A> {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded contract.
        let p = unsafe { self.0.alloc(layout) };
        if p.is_null() {
            allocation_failed(layout.size());
        }
        p
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded contract.
        let p = unsafe { self.0.alloc_zeroed(layout) };
        if p.is_null() {
            allocation_failed(layout.size());
        }
        p
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded contract.
        unsafe { self.0.dealloc(ptr, layout) }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded contract.
        let p = unsafe { self.0.realloc(ptr, layout, new_size) };
        if p.is_null() {
            allocation_failed(new_size);
        }
        p
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
