//! Files created new (or opened) without following a symbolic link.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// Creates `path` as a new file for writing, mode `0600`: fails if anything is there, and
/// never follows a symbolic link.
pub fn create_new(path: &Path) -> io::Result<File> {
    create_new_mode(path, 0o600)
}

/// [`create_new`] with the given mode (before the umask): `0o644` for a file the user keeps.
pub fn create_new_mode(path: &Path, mode: u32) -> io::Result<File> {
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .map_err(|e| with_path(e, path))
}

/// Creates `path` anew: whatever is there (a stale file, a symbolic link — removed, never
/// followed) goes first, then [`create_new_mode`]. If another process puts something there
/// in between, this fails rather than writing through it.
pub fn create_fresh(path: &Path, mode: u32) -> io::Result<File> {
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(with_path(e, path)),
    }
    create_new_mode(path, mode)
}

/// Opens an existing regular file for reading and writing without following a symbolic link
/// (resuming a partial output).
pub fn open_existing(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .map_err(|e| with_path(e, path))
}

/// An exclusive lock on `path` (created `0600` if absent, never through a symbolic link), held
/// until the returned file is dropped — or its process ends, killed or not. `None` when another
/// process holds it.
pub fn lock_exclusive(path: &Path) -> io::Result<Option<File>> {
    use std::os::unix::io::AsRawFd;
    let f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .map_err(|e| with_path(e, path))?;
    // SAFETY: flock on a descriptor this function owns.
    if unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
        return Ok(Some(f));
    }
    let e = io::Error::last_os_error();
    match e.kind() {
        io::ErrorKind::WouldBlock => Ok(None),
        _ => Err(with_path(e, path)),
    }
}

pub(crate) fn with_path(e: io::Error, path: &Path) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lock_is_held_once_and_freed_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("state.lock");
        let held = lock_exclusive(&p).unwrap().expect("free at first");
        assert!(lock_exclusive(&p).unwrap().is_none(), "held: refused");
        drop(held);
        assert!(lock_exclusive(&p).unwrap().is_some(), "dropped: free again");
    }

    #[test]
    fn a_planted_link_is_never_written_through() {
        let parent = tempfile::tempdir().unwrap();
        let victim = parent.path().join("victim");
        std::fs::write(&victim, "keep me").unwrap();
        let link = parent.path().join("spill.bin");
        std::os::unix::fs::symlink(&victim, &link).unwrap();
        assert!(create_new(&link).is_err());
        assert!(open_existing(&link).is_err());
        // create_fresh removes the link itself, then creates a file of its own.
        let mut f = create_fresh(&link, 0o600).unwrap();
        std::io::Write::write_all(&mut f, b"mine").unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep me");
        assert!(!std::fs::symlink_metadata(&link).unwrap().is_symlink());
    }
}
