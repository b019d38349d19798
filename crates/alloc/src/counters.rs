//! The counters: the live heap and its peak in shared atomics, totals and call counts in
//! per-thread slots summed on read. Only the allocators write them; only `measure` reads them.

use std::cell::Cell;
use std::sync::atomic::{
    AtomicBool, AtomicU64, AtomicUsize, Ordering::Acquire, Ordering::Relaxed, Ordering::Release,
};

/// A value alone on its own cache line (128 bytes: two lines, against adjacent-line prefetch).
#[repr(align(128))]
pub(crate) struct Padded<T>(pub(crate) T);

/// The live heap: the one counter every size change updates in a shared place.
pub(crate) static LIVE: Padded<AtomicUsize> = Padded(AtomicUsize::new(0));

/// Read on every growth, written rarely.
pub(crate) struct Limits {
    pub(crate) peak: AtomicUsize,
    pub(crate) budget: AtomicUsize,
}
pub(crate) static LIMITS: Padded<Limits> = Padded(Limits {
    peak: AtomicUsize::new(0),
    budget: AtomicUsize::new(0),
});

/// One thread's tallies.
pub(crate) struct Tally {
    pub(crate) total: AtomicU64,
    pub(crate) n_alloc: AtomicU64,
    pub(crate) n_realloc: AtomicU64,
    pub(crate) n_dealloc: AtomicU64,
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
pub(crate) fn slot() -> usize {
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
pub(crate) fn bump(i: usize, counter: impl Fn(&Tally) -> &AtomicU64, v: u64) {
    let c = counter(&TALLIES[i].0);
    if i == OVERFLOW {
        c.fetch_add(v, Relaxed);
    } else {
        c.store(c.load(Relaxed) + v, Relaxed);
    }
}

pub(crate) fn sum(counter: impl Fn(&Tally) -> &AtomicU64) -> u64 {
    TALLIES.iter().map(|t| counter(&t.0).load(Relaxed)).sum()
}
