//! Files written so that a reader (Envoy watching a listener file, another gw reading the cache)
//! sees the old content or the new, never half of it; and the path put into the errors of
//! file operations that fs-err does not wrap (temporary files).

use std::io::{self, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// Writes `bytes` to a temporary file beside `path`, sets `mode`, and renames it into place.
/// The temporary file is removed if anything fails. Errors name `path`.
pub fn write_atomically(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let write = || -> io::Result<()> {
        let mut file = tempfile::NamedTempFile::new_in(dir)?;
        file.write_all(bytes)?;
        file.as_file().set_permissions(std::fs::Permissions::from_mode(mode))?;
        file.persist(path).map_err(|e| e.error)?;
        Ok(())
    };
    write().map_err(at(path))
}

/// Puts what failed (a path, or a name such as "cargo's output") into an error that does not
/// say it, as fs-err's errors do.
pub fn at<P: AsRef<Path>>(what: P) -> impl FnOnce(io::Error) -> io::Error {
    move |e| io::Error::new(e.kind(), format!("{}: {e}", what.as_ref().display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_the_file_whole_with_the_mode_given() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.yaml");
        fs_err::write(&path, "old").unwrap();
        write_atomically(&path, b"new", 0o755).unwrap();
        assert_eq!(fs_err::read_to_string(&path).unwrap(), "new");
        assert_eq!(fs_err::metadata(&path).unwrap().permissions().mode() & 0o777, 0o755);
        assert_eq!(fs_err::read_dir(dir.path()).unwrap().count(), 1, "no temporary file left");
    }
}
