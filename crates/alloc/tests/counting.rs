//! The counting allocator counts exactly and sees every thread.
//!
//! `harness = false`: the counters are process-wide, so these run one after another on the
//! main thread with no test-runner threads allocating beside them.

use membench_alloc::{CountingAlloc, measure};

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

fn peak_is_exact_for_one_allocation() {
    for n in [1usize, 4096, 3_000_000] {
        let (_, s) = measure(|| {
            let v: Vec<u8> = Vec::with_capacity(n);
            std::hint::black_box(&v);
        });
        assert_eq!(s.peak_heap_bytes, n);
        assert_eq!(s.n_allocs, 1);
        assert_eq!(s.end_heap_bytes, 0);
    }
}

fn allocations_on_four_threads_are_all_counted() {
    let (_, s) = measure(|| {
        let handles: Vec<_> = (0..4)
            .map(|_| {
                std::thread::spawn(|| {
                    let mut keep = Vec::new();
                    for _ in 0..100 {
                        keep.push(std::hint::black_box(vec![1u8; 10_000]));
                    }
                    std::thread::sleep(std::time::Duration::from_millis(50));
                    keep.len()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap())
            .sum::<usize>()
    });
    // 4 threads × 100 × 10,000 bytes live at once at the peak (all threads sleep holding them).
    assert!(s.peak_heap_bytes >= 4_000_000, "{s:?}");
    assert!(s.total_allocated_bytes >= 4_000_000, "{s:?}");
    assert!(s.n_allocs >= 400, "{s:?}");
}

fn realloc_growth_counts_toward_peak() {
    let (_, s) = measure(|| {
        let mut v: Vec<u8> = Vec::with_capacity(1000);
        v.reserve_exact(5000);
        std::hint::black_box(&v);
    });
    assert!(
        s.peak_heap_bytes >= 5000 && s.peak_heap_bytes <= 6000,
        "{s:?}"
    );
}

fn limit_memory_catches_an_over_limit_closure() {
    let quiet = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let r = std::panic::catch_unwind(|| {
        membench_alloc::limit_memory(10_000, || std::hint::black_box(vec![0u8; 100_000]).len())
    });
    std::panic::set_hook(quiet);
    let msg = r.expect_err("must panic");
    let msg = msg.downcast_ref::<String>().expect("a formatted message");
    assert!(msg.contains("exceeds the limit of 10000 bytes"), "{msg}");
}

fn limit_memory_passes_an_under_limit_closure() {
    let (n, s) =
        membench_alloc::limit_memory(10_000, || std::hint::black_box(vec![0u8; 1000]).len());
    assert_eq!(n, 1000);
    assert_eq!(s.peak_heap_bytes, 1000);
}

/// An allocation the system refuses (64 TiB: more than this machine has, so `malloc` returns
/// null) leaves the live heap and the peak as they were.
fn a_refused_allocation_is_not_counted_as_live() {
    let before = membench_alloc::snapshot();
    let (refused, s) = measure(|| {
        let mut v: Vec<u8> = Vec::new();
        let r = v.try_reserve_exact(1 << 46).is_err();
        let mut w: Vec<u8> = Vec::with_capacity(16);
        let g = w.try_reserve_exact(1 << 46).is_err();
        std::hint::black_box((&v, &w));
        r && g
    });
    assert!(
        refused,
        "the system granted 64 TiB: this test needs a smaller machine"
    );
    let after = membench_alloc::snapshot();
    assert_eq!(after.live_bytes, before.live_bytes, "{s:?}");
    assert!(s.peak_heap_bytes < 1 << 20, "{s:?}");
}

fn main() {
    let tests: [(&str, fn()); 6] = [
        (
            "a_refused_allocation_is_not_counted_as_live",
            a_refused_allocation_is_not_counted_as_live,
        ),
        (
            "peak_is_exact_for_one_allocation",
            peak_is_exact_for_one_allocation,
        ),
        (
            "allocations_on_four_threads_are_all_counted",
            allocations_on_four_threads_are_all_counted,
        ),
        (
            "realloc_growth_counts_toward_peak",
            realloc_growth_counts_toward_peak,
        ),
        (
            "limit_memory_catches_an_over_limit_closure",
            limit_memory_catches_an_over_limit_closure,
        ),
        (
            "limit_memory_passes_an_under_limit_closure",
            limit_memory_passes_an_under_limit_closure,
        ),
    ];
    let mut failed = 0;
    for (name, t) in tests {
        let ok = std::panic::catch_unwind(t).is_ok();
        println!("test {name} ... {}", if ok { "ok" } else { "FAILED" });
        failed += usize::from(!ok);
    }
    println!("{} passed, {failed} failed", tests.len() - failed);
    if failed > 0 {
        std::process::exit(1);
    }
}
