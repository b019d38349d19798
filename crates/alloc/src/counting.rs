//! [`CountingAlloc`]: forwards to [`System`] and updates the counters; ends the process when
//! the live heap would cross the budget.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::Ordering::Relaxed;

use crate::OOM_MESSAGE_PREFIX;
use crate::counters::{LIMITS, LIVE, bump, slot};
use crate::exit::die;

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
    die(&[
        (OOM_MESSAGE_PREFIX, None),
        (": budget_bytes=", Some(budget)),
        (" live_bytes=", Some(live)),
        (" requested_bytes=", Some(asked)),
    ])
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
