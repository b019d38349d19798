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

mod dir;
mod file;

pub use dir::{private_dir, user_temp_dir};
pub use file::{create_fresh, create_new, create_new_mode, lock_exclusive, open_existing};
