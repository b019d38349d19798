//! Threads started without panicking. A thread's stack is private writable memory, so under
//! `RLIMIT_DATA` the kernel may refuse a new thread (`EAGAIN`): that is the cell running out of
//! memory, and it must reach the runner as [`RunError::Resources`] (which the runner turns into
//! the protocol's out-of-memory exit code), not as a panic whose text nobody should parse.
//!
//! Must not: leave a started thread waiting when a later one fails to start (the started ones
//! finish their work, then the error is returned).

use std::sync::Mutex;

use crate::RunError;

/// Runs `work(0..n)` on `n` scoped threads and returns each result in order (a panicking worker
/// is an error in its place); a thread the kernel refuses to start is
/// [`RunError::Resources`], returned after the started ones finished.
pub fn scoped<T: Send>(
    n: usize,
    work: impl Fn(usize) -> T + Sync,
) -> Result<Vec<Result<T, RunError>>, RunError> {
    std::thread::scope(|s| {
        let mut handles = Vec::with_capacity(n);
        for i in 0..n {
            let work = &work;
            match std::thread::Builder::new().spawn_scoped(s, move || work(i)) {
                Ok(h) => handles.push(h),
                Err(e) => return Err(RunError::Resources(e)),
            }
        }
        Ok(handles
            .into_iter()
            .map(|h| {
                h.join()
                    .map_err(|_| RunError::Other(anyhow::anyhow!("a worker panicked")))
            })
            .collect())
    })
}

/// A rayon pool of `n` threads; a thread the kernel refuses is [`RunError::Resources`] with the
/// kernel's error kind.
pub fn rayon_pool(n: usize) -> Result<rayon::ThreadPool, RunError> {
    let refused: Mutex<Option<std::io::ErrorKind>> = Mutex::new(None);
    let built = rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .spawn_handler(|t| {
            std::thread::Builder::new()
                .spawn(|| t.run())
                .map(|_| ())
                .inspect_err(|e| {
                    *refused.lock().unwrap_or_else(|p| p.into_inner()) = Some(e.kind());
                })
        })
        .build();
    match (
        built,
        refused.into_inner().unwrap_or_else(|p| p.into_inner()),
    ) {
        (Ok(pool), _) => Ok(pool),
        (Err(_), Some(kind)) => Err(RunError::Resources(kind.into())),
        (Err(e), None) => Err(RunError::Other(
            anyhow::Error::new(e).context("starting the worker pool"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_come_back_in_order_and_a_panic_is_an_error_in_its_place() {
        let out = scoped(4, |i| {
            if i == 2 {
                panic!("worker 2 panics (expected in this test)");
            }
            i * 10
        })
        .unwrap();
        assert_eq!(out[0].as_ref().unwrap(), &0);
        assert_eq!(out[3].as_ref().unwrap(), &30);
        assert!(out[2].is_err());
    }

    #[test]
    fn a_pool_starts() {
        let pool = rayon_pool(2).unwrap();
        assert_eq!(pool.install(rayon::current_num_threads), 2);
    }
}
