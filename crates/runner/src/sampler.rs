//! Samples the live heap on its own thread into a buffer allocated before measurement starts,
//! so sampling adds nothing to the measured peak.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

/// A running heap sampler.
pub struct HeapSampler {
    stop: Arc<AtomicBool>,
    handle: std::thread::JoinHandle<Vec<(u64, usize)>>,
}

impl HeapSampler {
    /// Room for this many samples (at 10 ms, over 16 minutes); later samples are dropped.
    const CAPACITY: usize = 100_000;

    /// Starts sampling every `interval` (the kernel may refuse the thread under a memory limit).
    pub fn start(interval: Duration) -> std::io::Result<HeapSampler> {
        let stop = Arc::new(AtomicBool::new(false));
        let ready = Arc::new(Barrier::new(2));
        let mut buf: Vec<(u64, usize)> = Vec::with_capacity(Self::CAPACITY);
        let (stop2, ready2) = (stop.clone(), ready.clone());
        let handle = std::thread::Builder::new().spawn(move || {
            let t0 = Instant::now();
            ready2.wait();
            while !stop2.load(Ordering::Relaxed) {
                if buf.len() < buf.capacity() {
                    buf.push((
                        t0.elapsed().as_nanos() as u64,
                        membench_alloc::snapshot().live_bytes,
                    ));
                }
                std::thread::sleep(interval);
            }
            buf
        })?;
        // The thread's own start-up allocations happen before this returns.
        ready.wait();
        Ok(HeapSampler { stop, handle })
    }

    /// Stops sampling; returns at most ~200 evenly spaced `[t_ns, heap above baseline]` pairs.
    pub fn finish(self, baseline: usize) -> Vec<[u64; 2]> {
        self.stop.store(true, Ordering::Relaxed);
        let samples = self.handle.join().unwrap_or_default();
        let step = samples.len().div_ceil(200).max(1);
        samples
            .iter()
            .step_by(step)
            .map(|&(t, live)| [t, live.saturating_sub(baseline) as u64])
            .collect()
    }
}
