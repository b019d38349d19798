//! SQLite's memory routed through Rust's global allocator (`SQLITE_CONFIG_MALLOC`), so that in
//! the runner the counting allocator sees the engine's page cache, sorter and statements: peak
//! heap includes the engine, and the heap budget applies to it. Nothing here counts; it only
//! routes.

use std::alloc::{Layout, alloc, dealloc, realloc};
use std::ffi::{c_int, c_void};
use std::sync::OnceLock;

use rusqlite::ffi;

/// Each block starts with its size, so `xSize` and `xFree` know it (16 bytes keep the
/// alignment SQLite expects).
const HEADER: usize = 16;

fn layout(n: usize) -> Layout {
    Layout::from_size_align(n + HEADER, 16).expect("SQLite asks for less than isize::MAX")
}

unsafe extern "C" fn x_malloc(n: c_int) -> *mut c_void {
    let n = n.max(1) as usize;
    // SAFETY: the layout has a non-zero size; the header is written inside the block.
    unsafe {
        let base = alloc(layout(n));
        if base.is_null() {
            return std::ptr::null_mut();
        }
        base.cast::<usize>().write(n);
        base.add(HEADER).cast()
    }
}

/// The block's start and size, from a pointer `x_malloc` returned.
///
/// # Safety
/// `p` came from `x_malloc`/`x_realloc` and was not freed.
unsafe fn block(p: *mut c_void) -> (*mut u8, usize) {
    // SAFETY: per the contract, the header sits HEADER bytes before `p`.
    unsafe {
        let base = p.cast::<u8>().sub(HEADER);
        (base, base.cast::<usize>().read())
    }
}

unsafe extern "C" fn x_free(p: *mut c_void) {
    if p.is_null() {
        return;
    }
    // SAFETY: SQLite frees only what it allocated through these routines.
    unsafe {
        let (base, n) = block(p);
        dealloc(base, layout(n));
    }
}

unsafe extern "C" fn x_realloc(p: *mut c_void, n: c_int) -> *mut c_void {
    if p.is_null() {
        // SAFETY: same as a fresh allocation.
        return unsafe { x_malloc(n) };
    }
    let n = n.max(1) as usize;
    // SAFETY: `p` is a live block of ours; the new size is non-zero.
    unsafe {
        let (base, old) = block(p);
        let grown = realloc(base, layout(old), n + HEADER);
        if grown.is_null() {
            return std::ptr::null_mut();
        }
        grown.cast::<usize>().write(n);
        grown.add(HEADER).cast()
    }
}

unsafe extern "C" fn x_size(p: *mut c_void) -> c_int {
    if p.is_null() {
        return 0;
    }
    // SAFETY: `p` is a live block of ours.
    unsafe { block(p).1 as c_int }
}

unsafe extern "C" fn x_roundup(n: c_int) -> c_int {
    (n + 7) & !7
}

unsafe extern "C" fn x_init(_: *mut c_void) -> c_int {
    ffi::SQLITE_OK
}

unsafe extern "C" fn x_shutdown(_: *mut c_void) {}

/// Installs the routing, once per process, before the first connection opens. An error means
/// SQLite was already initialised with its own allocator (its memory would go unseen).
pub fn install() -> Result<(), String> {
    static DONE: OnceLock<Result<(), String>> = OnceLock::new();
    DONE.get_or_init(|| {
        let methods = ffi::sqlite3_mem_methods {
            xMalloc: Some(x_malloc),
            xFree: Some(x_free),
            xRealloc: Some(x_realloc),
            xSize: Some(x_size),
            xRoundup: Some(x_roundup),
            xInit: Some(x_init),
            xShutdown: Some(x_shutdown),
            pAppData: std::ptr::null_mut(),
        };
        // SAFETY: SQLite copies the struct; called before any connection exists in this
        // process (the OnceLock runs it first).
        let rc = unsafe { ffi::sqlite3_config(ffi::SQLITE_CONFIG_MALLOC, &raw const methods) };
        if rc == ffi::SQLITE_OK {
            Ok(())
        } else {
            Err(format!(
                "sqlite3_config(SQLITE_CONFIG_MALLOC) failed with code {rc}: SQLite's memory \
                 would not be counted"
            ))
        }
    })
    .clone()
}
