//! Tar extraction that refuses anything that could write outside the target:
//! `..` and absolute names, links that resolve outside, device files.
//! (func-e and GetEnvoy trusted the archive; a mirror or proxy may not deserve it.)

use fs_err as fs;
use std::io::{self, Read};
use std::path::{Component, Path, PathBuf};

use tar::EntryType;

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
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// Unpacks a compressed tar stream into `dest` (an existing, empty directory).
pub fn unpack(reader: impl Read, format: ArchiveFormat, dest: &Path) -> Result<(), ExtractError> {
    let decoder: Box<dyn Read + '_> = match format {
        ArchiveFormat::TarGz => Box::new(flate2::read::MultiGzDecoder::new(reader)),
        ArchiveFormat::TarXz => Box::new(liblzma::read::XzDecoder::new(reader)),
    };
    let corrupt = |source| ExtractError::Corrupt { format: format.describe(), source };
    let root = fs::canonicalize(dest)?;
    let mut archive = tar::Archive::new(decoder);
    archive.set_overwrite(true);
    archive.set_unpack_xattrs(false);
    for entry in archive.entries().map_err(corrupt)? {
        let mut entry = entry.map_err(corrupt)?;
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
        entry.unpack_in(&root)?;
    }
    Ok(())
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
