//! A child's standard output and error, read on threads of their own and kept as a bounded tail:
//! a program that prints without end (`yes`) costs the driver at most [`Tail::cap`] bytes per
//! stream, and the driver can stop waiting for a pipe some escaped process still holds.

use std::io::Read;
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The last `cap` bytes of a stream (kept between `cap` and `2 × cap` while reading).
#[derive(Debug, Default)]
pub struct Tail {
    cap: usize,
    buf: Vec<u8>,
    /// Bytes dropped from the front.
    pub dropped: u64,
}

impl Tail {
    /// Keeps the last `cap` bytes.
    pub fn new(cap: usize) -> Tail {
        Tail {
            cap,
            buf: Vec::new(),
            dropped: 0,
        }
    }

    /// The most bytes kept.
    pub fn cap(&self) -> usize {
        self.cap
    }

    /// Appends `data`, dropping the oldest bytes past the cap.
    pub fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
        if self.buf.len() > 2 * self.cap.max(1) {
            self.trim();
        }
    }

    fn trim(&mut self) {
        let cut = self.buf.len().saturating_sub(self.cap);
        self.buf.drain(..cut);
        self.dropped += cut as u64;
    }

    /// The tail as text (lossy UTF-8; a character cut at the front becomes U+FFFD).
    pub fn text(&mut self) -> String {
        self.trim();
        String::from_utf8_lossy(&self.buf).into_owned()
    }
}

/// A stream being read into a [`Tail`] on a thread of its own.
pub struct Reader {
    tail: Arc<Mutex<Tail>>,
    done: Receiver<()>,
}

impl Reader {
    /// Starts reading `pipe`, keeping its last `cap` bytes.
    pub fn start(mut pipe: impl Read + Send + 'static, cap: usize) -> Reader {
        let tail = Arc::new(Mutex::new(Tail::new(cap)));
        let (tx, done) = channel();
        let t = tail.clone();
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                match pipe.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => t.lock().unwrap_or_else(|e| e.into_inner()).push(&buf[..n]),
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(_) => break,
                }
            }
            let _ = tx.send(());
        });
        Reader { tail, done }
    }

    /// Waits up to `limit` for the end of the stream; returns what was read and whether the
    /// end was reached (false: a process still holds the pipe open, and reading stops here).
    pub fn finish(self, limit: Duration) -> (String, bool) {
        let ended = match self.done.recv_timeout(limit) {
            Ok(()) | Err(RecvTimeoutError::Disconnected) => true,
            Err(RecvTimeoutError::Timeout) => false,
        };
        let text = self.tail.lock().unwrap_or_else(|e| e.into_inner()).text();
        (text, ended)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tail_keeps_the_last_bytes_and_counts_the_rest() {
        let mut t = Tail::new(10);
        for _ in 0..100 {
            t.push(b"0123456789abc\n");
        }
        assert!(t.buf.len() <= 20);
        let text = t.text();
        assert_eq!(text, "456789abc\n");
        assert_eq!(t.dropped + 10, 1400);
    }

    #[test]
    fn a_reader_of_an_endless_stream_stays_bounded() {
        let endless = std::io::repeat(b'y');
        let r = Reader::start(endless, 1 << 16);
        std::thread::sleep(Duration::from_millis(200));
        let (text, ended) = r.finish(Duration::from_millis(10));
        assert!(!ended);
        assert_eq!(text.len(), 1 << 16);
    }
}
