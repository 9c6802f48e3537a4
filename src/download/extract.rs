//! Tar extraction that refuses anything that could write outside the target
//! (`..` and absolute names, links that resolve outside, device files) or
//! cost more than an honest archive does (see [`Budget`]).
//! (func-e and GetEnvoy trusted the archive; a mirror or proxy may not deserve it.)

use fs_err as fs;
use std::cell::Cell;
use std::io::{self, Read};
use std::path::{Component, Path, PathBuf};
use std::rc::Rc;

use tar::EntryType;

use crate::limits;

/// Compression of a tarball, from its file name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArchiveFormat {
    TarGz,
    TarXz,
}

impl ArchiveFormat {
    pub fn from_name(name: &str) -> Option<ArchiveFormat> {
        if name.ends_with(".tar.gz") || name.ends_with(".tgz") {
            Some(ArchiveFormat::TarGz)
        } else if name.ends_with(".tar.xz") || name.ends_with(".txz") {
            Some(ArchiveFormat::TarXz)
        } else {
            None
        }
    }

    fn describe(self) -> &'static str {
        match self {
            ArchiveFormat::TarGz => "tar.gz",
            ArchiveFormat::TarXz => "tar.xz",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    #[error("archive entry '{entry}' {reason}; nothing was installed")]
    Unsafe { entry: String, reason: String },
    #[error("the archive is damaged or is not a {format}: {source}")]
    Corrupt { format: &'static str, source: io::Error },
    #[error("the archive {reason}; refusing it, nothing was installed")]
    TooLarge { reason: String },
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// What one archive may cost: bytes unpacked, in all and against the bytes
/// downloaded; entries; depth.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    pub max_bytes: u64,
}

impl Budget {
    /// The limits of docs/security.md, with the byte cap from GW_MAX_UNPACKED.
    pub fn from_env() -> Result<Budget, limits::Invalid> {
        Ok(Budget { max_bytes: limits::max_unpacked()? })
    }
}

/// Unpacks a compressed tar stream into `dest` (an existing, empty directory),
/// refusing it as soon as it crosses `budget`.
pub fn unpack(reader: impl Read, format: ArchiveFormat, dest: &Path, budget: Budget) -> Result<(), ExtractError> {
    let (counted, compressed) = Counted::new(reader);
    let decoder: Box<dyn Read + '_> = match format {
        ArchiveFormat::TarGz => Box::new(flate2::read::MultiGzDecoder::new(counted)),
        ArchiveFormat::TarXz => Box::new(liblzma::read::XzDecoder::new(counted)),
    };
    let crossed = Rc::new(Cell::new(None));
    let bounded = Bounded::new(decoder, compressed, budget.max_bytes, Rc::clone(&crossed));
    let over = |crossed: &Cell<Option<String>>| crossed.take().map(|reason| ExtractError::TooLarge { reason });
    let corrupt = |source| over(&crossed).unwrap_or(ExtractError::Corrupt { format: format.describe(), source });
    let root = fs::canonicalize(dest)?;
    let mut archive = tar::Archive::new(bounded);
    archive.set_overwrite(true);
    archive.set_unpack_xattrs(false);
    let mut declared = 0u64;
    for (index, entry) in archive.entries().map_err(corrupt)?.enumerate() {
        let mut entry = entry.map_err(corrupt)?;
        if index as u64 >= limits::ENTRIES {
            return Err(ExtractError::TooLarge { reason: format!("has more than {} entries", limits::ENTRIES) });
        }
        declared = declared.saturating_add(entry.size());
        if declared > budget.max_bytes {
            let reason = format!("unpacks to more than {}", limits::bytes(budget.max_bytes));
            return Err(ExtractError::TooLarge { reason });
        }
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let unsafe_entry = |reason: &str| ExtractError::Unsafe { entry: name.clone(), reason: reason.to_string() };
        let kind = entry.header().entry_type();
        match kind {
            EntryType::XGlobalHeader | EntryType::XHeader => continue,
            EntryType::Char | EntryType::Block => return Err(unsafe_entry("is a device file")),
            EntryType::Fifo => return Err(unsafe_entry("is a named pipe")),
            EntryType::Regular | EntryType::Continuous | EntryType::Directory => {}
            EntryType::Symlink | EntryType::Link => {}
            _ => return Err(unsafe_entry("has a type gw does not install")),
        }
        let Some(relative) = contained(Path::new(&name)) else {
            return Err(unsafe_entry("has an absolute path or a '..' component"));
        };
        if relative.as_os_str().is_empty() {
            continue; // "./" itself
        }
        if relative.components().count() > limits::DEPTH {
            return Err(unsafe_entry(&format!("is nested more than {} directories deep", limits::DEPTH)));
        }
        let parent = relative.parent().unwrap_or(Path::new(""));
        let parent_dir = root.join(parent);
        fs::create_dir_all(&parent_dir)?;
        let physical = fs::canonicalize(&parent_dir)?;
        let Ok(below) = physical.strip_prefix(&root) else {
            return Err(unsafe_entry("is written through a link that leads outside the archive"));
        };
        if kind == EntryType::Symlink || kind == EntryType::Link {
            let target = entry
                .link_name()
                .map_err(corrupt)?
                .ok_or_else(|| unsafe_entry("is a link without a target"))?
                .into_owned();
            let inside = if kind == EntryType::Symlink {
                symlink_stays_inside(&target, below.components().count())
            } else {
                hardlink_stays_inside(&target, &root)
            };
            if !inside {
                let what = if kind == EntryType::Symlink { "symbolic" } else { "hard" };
                return Err(unsafe_entry(&format!("is a {what} link to '{}', outside the archive", target.display())));
            }
        }
        entry.unpack_in(&root).map_err(|e| over(&crossed).unwrap_or(ExtractError::Io(e)))?;
    }
    Ok(())
}

/// Refuses a symbolic link under `root` that leads out of it. The archive's
/// own checks judge links against where it was unpacked; this judges them
/// against the directory that is kept (an archive's single top directory).
pub fn links_stay_inside(root: &Path) -> Result<(), ExtractError> {
    let mut stack = vec![(root.to_path_buf(), 0usize)];
    while let Some((dir, depth)) = stack.pop() {
        for entry in fs::read_dir(&dir)? {
            let entry = entry.map_err(crate::fsutil::at(&dir))?;
            let kind = entry.file_type().map_err(crate::fsutil::at(entry.path()))?;
            if kind.is_dir() {
                stack.push((entry.path(), depth + 1));
            } else if kind.is_symlink() {
                let target = fs::read_link(entry.path())?;
                if !symlink_stays_inside(&target, depth) {
                    let name = entry.path().strip_prefix(root).unwrap_or(&entry.path()).display().to_string();
                    return Err(ExtractError::Unsafe {
                        entry: name,
                        reason: format!("is a symbolic link to '{}', outside the build", target.display()),
                    });
                }
            }
        }
    }
    Ok(())
}

/// Counts the compressed bytes the decoder takes.
pub struct Counted<R> {
    inner: R,
    count: Rc<Cell<u64>>,
}

impl<R> Counted<R> {
    /// The reader, and the count it keeps.
    pub fn new(inner: R) -> (Counted<R>, Rc<Cell<u64>>) {
        let count = Rc::new(Cell::new(0));
        (Counted { inner, count: Rc::clone(&count) }, count)
    }
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.set(self.count.get() + n as u64);
        Ok(n)
    }
}

/// The decompressed stream, cut off once it is larger than the byte cap or
/// [`limits::RATIO`] times what was downloaded (plus [`limits::SLACK`]): a bomb
/// is refused after a few megabytes, not after filling the disk.
pub struct Bounded<R> {
    inner: R,
    read: u64,
    compressed: Rc<Cell<u64>>,
    max: u64,
    /// Set to why, when the cap was crossed (the tar reader turns errors into its own).
    crossed: Rc<Cell<Option<String>>>,
}

impl<R> Bounded<R> {
    pub fn new(inner: R, compressed: Rc<Cell<u64>>, max: u64, crossed: Rc<Cell<Option<String>>>) -> Bounded<R> {
        Bounded { inner, read: 0, compressed, max, crossed }
    }
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        let compressed = self.compressed.get();
        let by_ratio = compressed.saturating_mul(limits::RATIO).saturating_add(limits::SLACK);
        let reason = if self.read > self.max {
            format!("unpacks to more than {}", limits::bytes(self.max))
        } else if self.read > by_ratio {
            format!(
                "unpacks to more than {} times the {} read so far (a decompression bomb)",
                limits::RATIO,
                limits::bytes(compressed)
            )
        } else {
            return Ok(n);
        };
        self.crossed.set(Some(reason.clone()));
        Err(io::Error::other(reason))
    }
}

/// `dest` itself, or its only entry when that is a directory: archives
/// usually wrap everything in one `name-version-platform/` folder.
pub fn single_top_dir(dest: &Path) -> io::Result<PathBuf> {
    let mut entries = fs::read_dir(dest)?.collect::<io::Result<Vec<_>>>()?;
    if entries.len() == 1 && entries[0].file_type()?.is_dir() {
        return Ok(entries.remove(0).path());
    }
    Ok(dest.to_path_buf())
}

/// The path without `.` parts, or None if it is absolute or has `..`.
fn contained(path: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::Normal(part) => out.push(part),
            Component::CurDir => {}
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(out)
}

/// A symlink's target may climb (`..`) only at its start and no higher than
/// the link's own depth below the root; after that, plain names. The names
/// can be links too, and each of those was checked the same way when it was
/// made, so resolution never leaves the root.
fn symlink_stays_inside(target: &Path, depth: usize) -> bool {
    let mut climbs = 0;
    let mut descended = false;
    for component in target.components() {
        match component {
            Component::ParentDir if !descended => climbs += 1,
            Component::Normal(_) => descended = true,
            Component::CurDir => {}
            _ => return false,
        }
    }
    climbs <= depth
}

/// A hard link names another entry of the archive, relative to the root.
fn hardlink_stays_inside(target: &Path, root: &Path) -> bool {
    let Some(relative) = contained(target) else { return false };
    match root.join(relative).canonicalize() {
        Ok(resolved) => resolved.starts_with(root),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symlink_rules() {
        assert!(symlink_stays_inside(Path::new("envoy-1.2"), 0));
        assert!(symlink_stays_inside(Path::new("../lib/x"), 1));
        assert!(!symlink_stays_inside(Path::new("../x"), 0));
        assert!(!symlink_stays_inside(Path::new("/etc/passwd"), 3));
        assert!(!symlink_stays_inside(Path::new("a/../../x"), 1));
    }

    #[test]
    fn contained_paths() {
        assert_eq!(contained(Path::new("./a/./b")).unwrap(), PathBuf::from("a/b"));
        assert!(contained(Path::new("a/../b")).is_none());
        assert!(contained(Path::new("/a")).is_none());
    }
}
