//! The ordered pipeline: work items computed in parallel, consumed in index order on the
//! calling thread, with a bounded window of finished-but-unconsumed results. `parallel`'s `etl`
//! uses it to write rows in input order with memory bounded by the window, not the file.
//!
//! It must not reorder results, must not run more than `window` items ahead of the consumer,
//! and must not hide a worker's panic (it becomes an error in that item's place).
//!
//! ```
//! use membench_strategies::pipeline::ordered;
//! let mut seen = Vec::new();
//! ordered(10, 3, 3, |i| Ok(i * i), |r| {
//!     seen.push(r?);
//!     Ok(())
//! })?;
//! assert_eq!(seen, (0..10).map(|i| i * i).collect::<Vec<_>>());
//! # Ok::<(), membench_strategies::RunError>(())
//! ```

use std::collections::BTreeMap;
use std::sync::{Condvar, Mutex};

use crate::RunError;

/// Runs `work(0..n)` on `threads` scoped threads and hands the results to `consume` in index
/// order, on this thread. At most `window` results are produced but not yet consumed, which bounds
/// memory. Stops at the first error `consume` returns.
pub fn ordered<T: Send>(
    n: usize,
    threads: usize,
    window: usize,
    work: impl Fn(usize) -> Result<T, RunError> + Sync,
    mut consume: impl FnMut(Result<T, RunError>) -> Result<(), RunError>,
) -> Result<(), RunError> {
    struct State<T> {
        next: usize,
        consumed: usize,
        ready: BTreeMap<usize, Result<T, RunError>>,
        stop: bool,
    }
    let state = Mutex::new(State {
        next: 0,
        consumed: 0,
        ready: BTreeMap::new(),
        stop: false,
    });
    let cv = Condvar::new();
    let lock = || state.lock().unwrap_or_else(|e| e.into_inner());
    /// Tells the workers to stop when dropped: at the end, on an error, and when `consume`
    /// panics (the scope then waits for the workers, which must not wait for it forever).
    struct StopOnDrop<'a, F: Fn()>(&'a F);
    impl<F: Fn()> Drop for StopOnDrop<'_, F> {
        fn drop(&mut self) {
            (self.0)();
        }
    }
    let stop = || {
        lock().stop = true;
        cv.notify_all();
    };
    std::thread::scope(|scope| {
        let _stop = StopOnDrop(&stop);
        for _ in 0..threads.min(n) {
            let started = std::thread::Builder::new().spawn_scoped(scope, || {
                loop {
                    let i = {
                        let mut st = lock();
                        loop {
                            if st.stop || st.next >= n {
                                return;
                            }
                            if st.next < st.consumed + window {
                                st.next += 1;
                                break st.next - 1;
                            }
                            st = cv.wait(st).unwrap_or_else(|e| e.into_inner());
                        }
                    };
                    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(i)))
                        .unwrap_or_else(|_| {
                            Err(RunError::Other(anyhow::anyhow!("a worker panicked")))
                        });
                    lock().ready.insert(i, r);
                    cv.notify_all();
                }
            });
            if let Err(e) = started {
                // The threads already started stop (`_stop`); the kernel refused this one.
                return Err(RunError::Resources(e));
            }
        }
        let mut result = Ok(());
        for i in 0..n {
            let item = {
                let mut st = lock();
                loop {
                    if let Some(r) = st.ready.remove(&i) {
                        st.consumed = i + 1;
                        break r;
                    }
                    st = cv.wait(st).unwrap_or_else(|e| e.into_inner());
                }
            };
            cv.notify_all();
            if let Err(e) = consume(item) {
                result = Err(e);
                break;
            }
        }
        result
    })
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;

    fn err(msg: &str) -> RunError {
        RunError::Other(anyhow::anyhow!("{msg}"))
    }

    #[test]
    fn results_arrive_in_index_order_whatever_the_finishing_order() {
        let mut seen = Vec::new();
        // Early items are the slowest, so later ones finish first.
        ordered(
            12,
            4,
            4,
            |i| {
                std::thread::sleep(Duration::from_millis(((12 - i) % 4) as u64 * 3));
                Ok(i)
            },
            |r| {
                seen.push(r?);
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(seen, (0..12).collect::<Vec<_>>());
    }

    #[test]
    fn never_more_than_window_items_are_ahead_of_the_consumer() {
        let started = AtomicUsize::new(0);
        let consumed = AtomicUsize::new(0);
        let worst = AtomicUsize::new(0);
        ordered(
            40,
            3,
            2,
            |i| {
                let ahead =
                    started.fetch_add(1, Ordering::SeqCst) + 1 - consumed.load(Ordering::SeqCst);
                worst.fetch_max(ahead, Ordering::SeqCst);
                Ok(i)
            },
            |r| {
                r?;
                std::thread::sleep(Duration::from_millis(1));
                consumed.fetch_add(1, Ordering::SeqCst);
                Ok(())
            },
        )
        .unwrap();
        // An item counts as started before it is consumed; the window is 2, and the item being
        // consumed is the one more the count can see.
        assert!(
            worst.load(Ordering::SeqCst) <= 3,
            "{}",
            worst.load(Ordering::SeqCst)
        );
        assert_eq!(consumed.load(Ordering::SeqCst), 40);
    }

    #[test]
    fn the_first_error_stops_the_pipeline_early() {
        let worked = AtomicUsize::new(0);
        let mut consumed = Vec::new();
        let r = ordered(
            1000,
            2,
            2,
            |i| {
                worked.fetch_add(1, Ordering::SeqCst);
                if i == 5 {
                    Err(err("unit 5 is bad"))
                } else {
                    Ok(i)
                }
            },
            |r| {
                consumed.push(r?);
                Ok(())
            },
        );
        assert_eq!(r.unwrap_err().to_string(), "unit 5 is bad");
        assert_eq!(consumed, vec![0, 1, 2, 3, 4]);
        assert!(
            worked.load(Ordering::SeqCst) < 20,
            "kept working after the error"
        );
    }

    #[test]
    fn a_panicking_worker_is_an_error_in_its_place_not_a_hang() {
        let mut consumed = Vec::new();
        let r = ordered(
            8,
            2,
            2,
            |i| {
                if i == 3 {
                    panic!("worker 3 panics (expected in this test)");
                }
                Ok(i)
            },
            |r| {
                consumed.push(r?);
                Ok(())
            },
        );
        assert!(r.unwrap_err().to_string().contains("panicked"));
        assert_eq!(consumed, vec![0, 1, 2]);
    }

    #[test]
    fn a_panicking_consumer_is_a_panic_not_a_hang() {
        let r = std::panic::catch_unwind(|| {
            ordered(100, 2, 2, Ok, |r| {
                if r? == 3 {
                    panic!("the consumer panics (expected in this test)");
                }
                Ok(())
            })
        });
        assert!(r.is_err(), "the consumer's panic reaches the caller");
    }

    #[test]
    fn zero_items_and_more_threads_than_items_are_fine() {
        let mut n = 0;
        ordered(0, 4, 4, Ok, |_| {
            n += 1;
            Ok(())
        })
        .unwrap();
        assert_eq!(n, 0);
        ordered(2, 8, 1, Ok, |_| {
            n += 1;
            Ok(())
        })
        .unwrap();
        assert_eq!(n, 2);
    }
}
