//! The runner's [`Observer`]: times and measures each phase a strategy announces (heap peak per
//! phase from the counting allocator), keeps the settings it reports, and samples the memory of
//! a PostgreSQL server from `/proc` on its own thread.
//!
//! The server sampler never allocates once started (fixed buffers, paths built on the stack), so
//! it adds nothing to the client's heap figures.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use membench_protocol::PhaseRecord;
use membench_strategies::Observer;

/// What the observer saw, for the record.
#[derive(Debug, Default)]
pub struct Observed {
    pub phases: Vec<PhaseRecord>,
    pub settings: Vec<String>,
    pub reused: bool,
    /// Bytes the strategy wrote to spill files (`merge-join`, `grace`).
    pub spill_bytes: Option<u64>,
    /// An incremental run: the input bytes past its watermarks that it read.
    pub new_input_bytes: Option<u64>,
    /// `adaptive`'s batches: `[first row, rows, live heap bytes]` (at most
    /// [`CellObserver::MAX_BATCHES`]; room reserved before the strategy starts).
    pub batches: Vec<[u64; 3]>,
    /// Batches beyond that room, not kept.
    pub batches_dropped: u64,
    /// The highest heap peak of any phase (phases reset the allocator's peak).
    pub max_phase_heap: Option<u64>,
}

/// The server's memory, as sampled.
#[derive(Debug, Default)]
pub struct ServerPeaks {
    pub total_peak_bytes: u64,
    pub backend_peak_bytes: u64,
    pub timeline: Vec<[u64; 2]>,
}

#[derive(Debug, Default)]
struct State {
    start: Option<Instant>,
    baseline: usize,
    counting: bool,
    open: Option<(&'static str, Instant)>,
    observed: Observed,
}

/// The observer of this process's one cell.
#[derive(Debug)]
pub struct CellObserver {
    state: Mutex<State>,
    backend_pid: AtomicU32,
    /// Server bytes: the highest since the current phase started, and the highest overall.
    phase_server_peak: AtomicU64,
    server_peak: AtomicU64,
    backend_peak: AtomicU64,
}

/// The observer handed to strategies (a cell runs once per process).
pub static OBSERVER: CellObserver = CellObserver {
    state: Mutex::new(State {
        start: None,
        baseline: 0,
        counting: false,
        open: None,
        observed: Observed {
            phases: Vec::new(),
            settings: Vec::new(),
            reused: false,
            spill_bytes: None,
            new_input_bytes: None,
            batches: Vec::new(),
            batches_dropped: 0,
            max_phase_heap: None,
        },
    }),
    backend_pid: AtomicU32::new(0),
    phase_server_peak: AtomicU64::new(0),
    server_peak: AtomicU64::new(0),
    backend_peak: AtomicU64::new(0),
};

impl CellObserver {
    /// The batches kept for the record (48 KiB reserved up front, so that recording one never
    /// allocates while the strategy is measured).
    pub const MAX_BATCHES: usize = 2048;

    /// Starts observing, just before the strategy runs: `baseline` is the live heap then,
    /// `counting` whether the heap is counted.
    pub fn begin(&self, baseline: usize, counting: bool) {
        let mut s = self.state.lock().expect("observer lock");
        s.start = Some(Instant::now());
        s.baseline = baseline;
        s.counting = counting;
        s.observed.phases.reserve(8);
        s.observed.settings.reserve(16);
        s.observed.batches.reserve_exact(Self::MAX_BATCHES);
    }

    /// Ends the last phase; returns what was observed.
    pub fn finish(&self) -> Observed {
        let mut s = self.state.lock().expect("observer lock");
        self.close_phase(&mut s);
        std::mem::take(&mut s.observed)
    }

    fn close_phase(&self, s: &mut State) {
        let Some((name, started)) = s.open.take() else {
            return;
        };
        let heap = s.counting.then(|| {
            let peak = membench_alloc::snapshot()
                .peak_bytes
                .saturating_sub(s.baseline) as u64;
            membench_alloc::reset_peak();
            peak
        });
        if let Some(h) = heap {
            let m = s.observed.max_phase_heap.get_or_insert(0);
            *m = (*m).max(h);
        }
        // One sample now, so that a phase shorter than the sampling interval has one too.
        self.record_sample(sample(self.backend_pid.load(Relaxed)));
        let server = self.phase_server_peak.swap(0, Relaxed);
        s.observed.phases.push(PhaseRecord {
            name: name.to_string(),
            wall_ns: started.elapsed().as_nanos() as u64,
            peak_heap_bytes: heap,
            server_peak_rss_bytes: (server > 0).then_some(server),
        });
    }
}

impl CellObserver {
    /// Folds one server sample into the peaks; `true` when there was one.
    fn record_sample(&self, s: Option<(u64, u64)>) -> bool {
        let Some((total, backend)) = s else {
            return false;
        };
        self.phase_server_peak.fetch_max(total, Relaxed);
        self.server_peak.fetch_max(total, Relaxed);
        self.backend_peak.fetch_max(backend, Relaxed);
        true
    }
}

impl Observer for CellObserver {
    fn phase(&self, name: &'static str) {
        let mut s = self.state.lock().expect("observer lock");
        if s.open.is_none() && s.observed.phases.is_empty() && s.counting {
            // The work before the first named phase (an `etl` strategy's, before `digest`):
            // its peak counts for the run; the phase's own peak starts now.
            let before = membench_alloc::snapshot()
                .peak_bytes
                .saturating_sub(s.baseline) as u64;
            let m = s.observed.max_phase_heap.get_or_insert(0);
            *m = (*m).max(before);
            membench_alloc::reset_peak();
        }
        self.close_phase(&mut s);
        s.open = Some((name, Instant::now()));
    }

    fn setting(&self, text: String) {
        let mut s = self.state.lock().expect("observer lock");
        s.observed.settings.push(text);
    }

    fn server_backend(&self, pid: u32) {
        self.backend_pid.store(pid, Relaxed);
    }

    fn reused(&self) {
        self.state.lock().expect("observer lock").observed.reused = true;
    }

    fn batch(&self, first_row: u64, rows: u64, live_heap_bytes: u64) {
        let mut s = self.state.lock().expect("observer lock");
        let o = &mut s.observed;
        if o.batches.len() < Self::MAX_BATCHES {
            o.batches.push([first_row, rows, live_heap_bytes]);
        } else {
            o.batches_dropped += 1;
        }
    }

    fn new_input(&self, bytes: u64) {
        self.state
            .lock()
            .expect("observer lock")
            .observed
            .new_input_bytes = Some(bytes);
    }

    fn spilled(&self, bytes: u64) {
        self.state
            .lock()
            .expect("observer lock")
            .observed
            .spill_bytes = Some(bytes);
    }
}

/// Samples the server of [`OBSERVER`]'s backend, once it is known.
pub struct ServerSampler {
    stop: Arc<AtomicBool>,
    handle: std::thread::JoinHandle<ServerPeaks>,
}

impl ServerSampler {
    const CAPACITY: usize = 100_000;

    /// Starts the thread (before measurement: its start-up allocations are not the cell's).
    pub fn start(interval: Duration) -> std::io::Result<ServerSampler> {
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = stop.clone();
        let mut timeline: Vec<[u64; 2]> = Vec::with_capacity(Self::CAPACITY);
        let ready = Arc::new(std::sync::Barrier::new(2));
        let ready2 = ready.clone();
        let handle = std::thread::Builder::new().spawn(move || {
            let t0 = Instant::now();
            ready2.wait();
            while !stop2.load(Relaxed) {
                let s = sample(OBSERVER.backend_pid.load(Relaxed));
                if OBSERVER.record_sample(s) && timeline.len() < timeline.capacity() {
                    let total = s.map_or(0, |s| s.0);
                    timeline.push([t0.elapsed().as_nanos() as u64, total]);
                }
                std::thread::sleep(interval);
            }
            let step = timeline.len().div_ceil(200).max(1);
            ServerPeaks {
                total_peak_bytes: OBSERVER.server_peak.load(Relaxed),
                backend_peak_bytes: OBSERVER.backend_peak.load(Relaxed),
                timeline: timeline.iter().step_by(step).copied().collect(),
            }
        })?;
        ready.wait();
        Ok(ServerSampler { stop, handle })
    }

    /// Stops; `None` when no server was ever sampled.
    pub fn finish(self) -> Option<ServerPeaks> {
        self.stop.store(true, Relaxed);
        let peaks = self.handle.join().ok()?;
        (peaks.total_peak_bytes > 0).then_some(peaks)
    }
}

/// The server's memory now: (postmaster and its children, shared pages counted once — the sum of
/// their `Pss`; the backend's `Rss`). `None` when `backend` is 0 or not a local PostgreSQL
/// process (a remote server).
fn sample(backend: u32) -> Option<(u64, u64)> {
    if backend == 0 {
        return None;
    }
    let mut buf = [0u8; 8192];
    let comm = read_proc(backend, b"comm", &mut buf)?;
    if !comm.starts_with(b"postgres") {
        return None;
    }
    let backend_rss = kib_field(read_proc(backend, b"smaps_rollup", &mut buf)?, b"Rss:")?;
    let postmaster = ppid(read_proc(backend, b"stat", &mut buf)?)?;
    let mut total = kib_field(read_proc(postmaster, b"smaps_rollup", &mut buf)?, b"Pss:")?;
    let mut children = [0u32; 256];
    let n = child_pids(postmaster, &mut children);
    for &c in &children[..n] {
        if let Some(pss) =
            read_proc(c, b"smaps_rollup", &mut buf).and_then(|t| kib_field(t, b"Pss:"))
        {
            total += pss;
        }
    }
    Some((total * 1024, backend_rss * 1024))
}

/// Reads `/proc/<pid>/<file>` into `buf` without allocating.
fn read_proc<'a>(pid: u32, file: &[u8], buf: &'a mut [u8]) -> Option<&'a [u8]> {
    let mut path = [0u8; 64];
    let mut n = 0;
    let mut digits = itoa::Buffer::new();
    for part in [
        b"/proc/".as_slice(),
        digits.format(pid).as_bytes(),
        b"/",
        file,
    ] {
        path.get_mut(n..n + part.len())?.copy_from_slice(part);
        n += part.len();
    }
    // `path` ends with at least one zero byte: a C string.
    if n >= path.len() {
        return None;
    }
    // SAFETY: a NUL-terminated path; `buf` is valid for `buf.len()` bytes.
    unsafe {
        let fd = libc::open(path.as_ptr().cast(), libc::O_RDONLY | libc::O_CLOEXEC);
        if fd < 0 {
            return None;
        }
        let mut len = 0usize;
        while len < buf.len() {
            let r = libc::read(fd, buf[len..].as_mut_ptr().cast(), buf.len() - len);
            if r <= 0 {
                break;
            }
            len += r as usize;
        }
        libc::close(fd);
        Some(&buf[..len])
    }
}

/// The number after `key` on its line, in kB.
fn kib_field(text: &[u8], key: &[u8]) -> Option<u64> {
    let at = memchr::memmem::find(text, key)? + key.len();
    let digits = text[at..]
        .iter()
        .skip_while(|b| **b == b' ')
        .take_while(|b| b.is_ascii_digit());
    let mut v = 0u64;
    let mut any = false;
    for d in digits {
        v = v * 10 + u64::from(d - b'0');
        any = true;
    }
    any.then_some(v)
}

/// The parent pid from `/proc/<pid>/stat` (the field after the `)` that closes the name).
fn ppid(stat: &[u8]) -> Option<u32> {
    let close = memchr::memrchr(b')', stat)?;
    let mut fields = stat[close + 1..]
        .split(|b| *b == b' ')
        .filter(|f| !f.is_empty());
    let _state = fields.next()?;
    std::str::from_utf8(fields.next()?).ok()?.parse().ok()
}

/// The postmaster's children (`/proc/<pid>/task/<pid>/children`); how many were written.
fn child_pids(pid: u32, out: &mut [u32]) -> usize {
    let mut buf = [0u8; 4096];
    let mut digits = itoa::Buffer::new();
    let mut file = [0u8; 40];
    let parts = [
        b"task/".as_slice(),
        digits.format(pid).as_bytes(),
        b"/children",
    ];
    let mut n = 0;
    for part in parts {
        file[n..n + part.len()].copy_from_slice(part);
        n += part.len();
    }
    let Some(text) = read_proc(pid, &file[..n], &mut buf) else {
        return 0;
    };
    let mut count = 0;
    for f in text
        .split(|b| b.is_ascii_whitespace())
        .filter(|f| !f.is_empty())
    {
        if count == out.len() {
            break;
        }
        if let Some(p) = std::str::from_utf8(f).ok().and_then(|s| s.parse().ok()) {
            out[count] = p;
            count += 1;
        }
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_parsing_reads_this_process() {
        let me = std::process::id();
        let mut buf = [0u8; 8192];
        let rollup = read_proc(me, b"smaps_rollup", &mut buf).unwrap();
        assert!(kib_field(rollup, b"Pss:").unwrap() > 0);
        let stat = read_proc(me, b"stat", &mut buf).unwrap();
        assert_eq!(ppid(stat), Some(std::os::unix::process::parent_id()));
        assert_eq!(kib_field(b"Rss:     1234 kB\nPss: 5 kB", b"Pss:"), Some(5));
        // Not a PostgreSQL process: nothing sampled.
        assert_eq!(sample(me), None);
    }
}
