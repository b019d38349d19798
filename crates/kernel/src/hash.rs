//! A writer that hashes (sha256) and counts every byte that passes through it: the generator's
//! datasets and the `etl` outputs are both hashed this way, while they are written.

use std::io::{self, Write};

use sha2::{Digest, Sha256};

/// Wraps a writer; everything written is hashed and counted.
///
/// ```
/// use std::io::Write;
/// use membench_kernel::HashingWriter;
/// let mut w = HashingWriter::new(Vec::new());
/// w.write_all(b"abc")?;
/// let (bytes, len, sha) = w.finish();
/// assert_eq!((bytes, len), (b"abc".to_vec(), 3));
/// assert!(sha.starts_with("ba7816bf"));
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    bytes: u64,
}

impl<W> HashingWriter<W> {
    /// Starts hashing what is written to `inner`.
    pub fn new(inner: W) -> Self {
        HashingWriter {
            inner,
            hasher: Sha256::new(),
            bytes: 0,
        }
    }

    /// Continues a hash over `prefix` (bytes already written to `inner`, e.g. the part of a
    /// file a resumed run keeps): the result hashes as if the prefix had gone through it.
    pub fn continuing(inner: W, prefix: &mut impl io::Read) -> io::Result<Self> {
        let mut w = HashingWriter::new(inner);
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            let n = prefix.read(&mut buf)?;
            if n == 0 {
                return Ok(w);
            }
            w.hasher.update(&buf[..n]);
            w.bytes += n as u64;
        }
    }

    /// Bytes written so far.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// The hex sha256 of everything written so far (the hash goes on).
    pub fn digest_so_far(&self) -> String {
        hex::encode(self.hasher.clone().finalize())
    }

    /// The inner writer (writing to it directly bypasses the hash).
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.inner
    }

    /// The inner writer, the byte count and the hex sha256 of everything written.
    pub fn finish(self) -> (W, u64, String) {
        (self.inner, self.bytes, hex::encode(self.hasher.finalize()))
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}
