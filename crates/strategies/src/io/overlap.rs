//! A reader whose bytes come from another thread: `parallel` decompresses a `.csv.gz` or
//! `.csv.zst` there while this thread parses (a compressed stream cannot be split into byte
//! ranges, so decompression and parsing overlap instead).
//!
//! It holds at most [`DEPTH`] buffers of [`BUF_BYTES`] in flight and recycles them, so its
//! memory is fixed. It must not lose an error: the producer's read error is handed over in
//! order, after the bytes read before it.

use std::io::{self, Read};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

/// Bytes per buffer handed over.
pub const BUF_BYTES: usize = 256 * 1024;
/// Buffers in flight (filled and waiting, or on their way back).
pub const DEPTH: usize = 4;

type Chunk = io::Result<Vec<u8>>;

/// The reading end; the producer thread stops when it is dropped.
pub struct Overlapped {
    full: Option<Receiver<Chunk>>,
    empty: Option<SyncSender<Vec<u8>>>,
    current: Vec<u8>,
    at: usize,
    done: bool,
    producer: Option<JoinHandle<()>>,
}

impl Overlapped {
    /// Starts a thread that reads `inner` ahead of this reader (a thread the kernel refuses is
    /// [`crate::RunError::Resources`]).
    pub fn spawn(mut inner: Box<dyn Read + Send>) -> Result<Overlapped, crate::RunError> {
        let (full_tx, full_rx) = sync_channel::<Chunk>(DEPTH);
        let (empty_tx, empty_rx) = sync_channel::<Vec<u8>>(DEPTH + 1);
        for _ in 0..DEPTH {
            let _ = empty_tx.send(Vec::with_capacity(BUF_BYTES));
        }
        let producer = std::thread::Builder::new().spawn(move || {
            while let Ok(mut buf) = empty_rx.recv() {
                buf.resize(BUF_BYTES, 0);
                let chunk = fill(&mut *inner, &mut buf).map(|n| {
                    buf.truncate(n);
                    buf
                });
                let end = matches!(&chunk, Ok(b) if b.is_empty()) || chunk.is_err();
                if full_tx.send(chunk).is_err() || end {
                    return;
                }
            }
        });
        let producer = producer.map_err(crate::RunError::Resources)?;
        Ok(Overlapped {
            full: Some(full_rx),
            empty: Some(empty_tx),
            current: Vec::new(),
            at: 0,
            done: false,
            producer: Some(producer),
        })
    }
}

/// Reads until `buf` is full or the input ends; the bytes read.
fn fill(inner: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match inner.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

impl Read for Overlapped {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.at == self.current.len() {
            if self.done {
                return Ok(0);
            }
            let Some(rx) = &self.full else {
                return Ok(0);
            };
            let next = rx
                .recv()
                .map_err(|_| io::Error::other("the decompression thread stopped unexpectedly"))??;
            let used = std::mem::replace(&mut self.current, next);
            self.at = 0;
            if self.current.is_empty() {
                self.done = true;
            }
            if let Some(empty) = &self.empty {
                let _ = empty.send(used);
            }
        }
        let n = out.len().min(self.current.len() - self.at);
        out[..n].copy_from_slice(&self.current[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

impl Drop for Overlapped {
    fn drop(&mut self) {
        // Closing both channels stops the producer, whether it waits to send a filled buffer or
        // to receive an empty one.
        self.full = None;
        self.empty = None;
        if let Some(p) = self.producer.take() {
            let _ = p.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hands_over_every_byte_in_order() {
        let data: Vec<u8> = (0..3 * BUF_BYTES + 12345)
            .map(|i| (i % 251) as u8)
            .collect();
        let mut r = Overlapped::spawn(Box::new(io::Cursor::new(data.clone()))).unwrap();
        let mut got = Vec::new();
        r.read_to_end(&mut got).unwrap();
        assert_eq!(got, data);
    }

    #[test]
    fn an_error_arrives_after_the_bytes_before_it() {
        struct Failing(usize);
        impl Read for Failing {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                if self.0 == 0 {
                    return Err(io::Error::new(io::ErrorKind::InvalidData, "corrupt"));
                }
                let n = buf.len().min(self.0);
                buf[..n].fill(7);
                self.0 -= n;
                Ok(n)
            }
        }
        let mut r = Overlapped::spawn(Box::new(Failing(BUF_BYTES + 10))).unwrap();
        let mut got = Vec::new();
        let e = r.read_to_end(&mut got).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
        // The first full buffer was handed over before the error.
        assert!(got.len() >= BUF_BYTES);
    }

    #[test]
    fn dropping_the_reader_early_stops_the_thread() {
        let data = vec![1u8; 20 * BUF_BYTES];
        let mut r = Overlapped::spawn(Box::new(io::Cursor::new(data))).unwrap();
        let mut one = [0u8; 10];
        r.read_exact(&mut one).unwrap();
        drop(r); // joins the producer: a hang here would fail the test by timeout
    }
}
