//! Files and folders that no other local user can redirect: private folders with random names
//! (`0700`, made fresh, never an existing one), and files created new without following a
//! symbolic link. Every temporary, spill, scratch and staging file of membench is made here, so
//! a folder shared with other users (the system temp folder) gives them nothing to plant.
//!
//! This crate must stay small: `std`, `libc` and `tempfile` only; it knows nothing of datasets
//! or records.
//!
//! ```
//! let parent = tempfile::tempdir().unwrap();
//! let dir = membench_safefs::private_dir(parent.path(), "membench-spill-").unwrap();
//! let f = membench_safefs::create_new(&dir.path().join("1.bin")).unwrap();
//! assert!(membench_safefs::create_new(&dir.path().join("1.bin")).is_err());
//! # drop(f);
//! ```

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// A new folder `prefix` + random characters in `parent`, mode `0700`, created by this call
/// (never one that was already there); removed with its contents when dropped, unless
/// [`tempfile::TempDir::keep`] is called.
pub fn private_dir(parent: &Path, prefix: &str) -> io::Result<tempfile::TempDir> {
    let dir = tempfile::Builder::new()
        .prefix(prefix)
        .permissions(std::fs::Permissions::from_mode(0o700))
        .tempdir_in(parent)
        .map_err(|e| with_path(e, parent))?;
    // The umask may have taken bits away, never added: set exactly 0700.
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700))?;
    Ok(dir)
}

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

/// This user's private folder in the system temp folder, `membench-<uid>`: created `0700`, or,
/// when it exists, accepted only if it is a real folder (not a link) owned by this user with
/// no access for anyone else. For defaults that must be stable across processes (a shared
/// database file), where a random name cannot be.
pub fn user_temp_dir() -> io::Result<PathBuf> {
    // SAFETY: no arguments, cannot fail.
    let uid = unsafe { libc::geteuid() };
    let dir = std::env::temp_dir().join(format!("membench-{uid}"));
    match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
        Ok(()) => return Ok(dir),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(with_path(e, &dir)),
    }
    let meta = std::fs::symlink_metadata(&dir)?;
    if !meta.is_dir() || meta.uid() != uid || meta.mode() & 0o077 != 0 {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!(
                "{} exists but is not a private folder of this user (owner {}, mode {:o}): \
                 remove it or choose another folder",
                dir.display(),
                meta.uid(),
                meta.mode() & 0o7777
            ),
        ));
    }
    Ok(dir)
}

fn with_path(e: io::Error, path: &Path) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_private_folder_is_new_random_and_0700() {
        let parent = tempfile::tempdir().unwrap();
        let a = private_dir(parent.path(), "x-").unwrap();
        let b = private_dir(parent.path(), "x-").unwrap();
        assert_ne!(a.path(), b.path());
        let mode = std::fs::metadata(a.path()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
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

    #[test]
    fn the_users_temp_folder_is_private() {
        let d = user_temp_dir().unwrap();
        let meta = std::fs::symlink_metadata(&d).unwrap();
        assert!(meta.is_dir());
        assert_eq!(meta.mode() & 0o077, 0);
    }
}
