//! An exclusive file lock per build, so concurrent installers of one build
//! wait for a single download instead of racing on the same directory.

use fs_err::{self as fs, File, OpenOptions};
use std::path::{Path, PathBuf};

use super::Error;

/// Held while installing; released when dropped (or when the process dies).
#[derive(Debug)]
pub struct InstallLock {
    _file: File,
    pub path: PathBuf,
}

impl InstallLock {
    /// Takes the lock, calling `on_wait` once if another process holds it.
    pub fn acquire(path: &Path, on_wait: impl FnOnce()) -> Result<InstallLock, Error> {
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir)?;
        }
        let file = OpenOptions::new().create(true).truncate(false).write(true).open(path)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                on_wait();
                file.lock().map_err(crate::fsutil::at(&path))?;
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(Error::Io(e)),
        }
        Ok(InstallLock { _file: file, path: path.to_path_buf() })
    }
}
