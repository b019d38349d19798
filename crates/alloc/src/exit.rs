//! [`ExitOnFailure`]: an allocator wrapper that turns a refused allocation into the out-of-memory
//! exit code, and the allocation-free message-and-exit both allocators use.

use std::alloc::{GlobalAlloc, Layout};
use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::OnceLock;

use crate::{ALLOC_FAILED_MESSAGE_PREFIX, OOM_EXIT_CODE};

/// Wraps an allocator so that an allocation it refuses ends the process with
/// [`OOM_EXIT_CODE`] (after a message starting with [`ALLOC_FAILED_MESSAGE_PREFIX`] on
/// stderr), instead of Rust's abort. The runners use it: under a kernel limit (`RLIMIT_DATA`)
/// a refused allocation is the cell running out of memory, and the parent must learn that from
/// the exit code, never from text on stderr (which the data could contain).
#[derive(Debug, Clone, Copy, Default)]
pub struct ExitOnFailure<A>(pub A);

#[cold]
fn allocation_failed(asked: usize) -> ! {
    die(&[
        (ALLOC_FAILED_MESSAGE_PREFIX, None),
        (": requested_bytes=", Some(asked)),
    ])
}

/// What the out-of-memory exit removes: its `_exit` runs no destructor, so a runner's
/// temporary files would outlive it otherwise.
static REMOVE_AT_OOM_EXIT: OnceLock<Vec<CString>> = OnceLock::new();

/// Registers files and then folders (in that order) for the out-of-memory exit to remove, as
/// `TempDir`'s drop would: a runner's temporary output. Set once, before the work starts; the
/// exit removes them with `unlink(2)` and `rmdir(2)`, allocating nothing.
pub fn remove_at_oom_exit(paths: &[&Path]) {
    let paths = paths
        .iter()
        .filter_map(|p| CString::new(p.as_os_str().as_bytes()).ok())
        .collect();
    let _ = REMOVE_AT_OOM_EXIT.set(paths);
}

/// Writes one line to stderr (each part's text, then its number if any) and ends the process
/// with [`OOM_EXIT_CODE`] — without allocating: the line is formatted into a stack buffer
/// (cut at 256 bytes), written with `write(2)`, and no destructor runs.
#[cold]
pub(crate) fn die(parts: &[(&str, Option<usize>)]) -> ! {
    let mut buf = [0u8; 256];
    let mut n = 0;
    let mut put = |s: &[u8]| {
        let k = s.len().min(buf.len() - 1 - n);
        buf[n..n + k].copy_from_slice(&s[..k]);
        n += k;
    };
    let mut num = itoa::Buffer::new();
    for (text, value) in parts {
        put(text.as_bytes());
        if let Some(v) = value {
            put(num.format(*v).as_bytes());
        }
    }
    buf[n] = b'\n';
    n += 1;
    // SAFETY: writing a valid buffer to fd 2, removing registered paths (NUL-terminated
    // strings made before the work started) and exiting without running destructors, which
    // might allocate.
    unsafe {
        libc::write(2, buf.as_ptr().cast(), n);
        if let Some(paths) = REMOVE_AT_OOM_EXIT.get() {
            for p in paths {
                if libc::unlink(p.as_ptr()) != 0 {
                    libc::rmdir(p.as_ptr());
                }
            }
        }
        libc::_exit(OOM_EXIT_CODE);
    }
}

// SAFETY: every method forwards to the wrapped allocator with the same arguments; a null
// result never returns (the process ends).
unsafe impl<A: GlobalAlloc> GlobalAlloc for ExitOnFailure<A> {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded contract.
        let p = unsafe { self.0.alloc(layout) };
        if p.is_null() {
            allocation_failed(layout.size());
        }
        p
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded contract.
        let p = unsafe { self.0.alloc_zeroed(layout) };
        if p.is_null() {
            allocation_failed(layout.size());
        }
        p
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded contract.
        unsafe { self.0.dealloc(ptr, layout) }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded contract.
        let p = unsafe { self.0.realloc(ptr, layout, new_size) };
        if p.is_null() {
            allocation_failed(new_size);
        }
        p
    }
}
