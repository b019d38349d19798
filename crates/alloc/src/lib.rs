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

mod counters;
mod counting;
mod exit;
mod measure;

pub use counters::SLOTS;
pub use counting::CountingAlloc;
pub use exit::{ExitOnFailure, remove_at_oom_exit};
pub use measure::{
    AllocStats, Snapshot, is_installed, limit_memory, measure, reset_peak, set_budget, snapshot,
};
pub use membench_protocol::{ALLOC_FAILED_MESSAGE_PREFIX, OOM_EXIT_CODE, OOM_MESSAGE_PREFIX};
