//! Private folders: fresh ones with random names, and this user's stable one in the system temp
//! folder.

use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::file::with_path;

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
    fn the_users_temp_folder_is_private() {
        let d = user_temp_dir().unwrap();
        let meta = std::fs::symlink_metadata(&d).unwrap();
        assert!(meta.is_dir());
        assert_eq!(meta.mode() & 0o077, 0);
    }
}
