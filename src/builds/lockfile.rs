//! gw.lock: the exact bytes (sha256) of every build a project used. A later
//! download that does not match is refused.

use fs_err as fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::Error;
use super::reference::Build;
use crate::download::Sha256;

const HEADER: &str = "# gw.lock: written by gw. It pins the exact builds this project uses; commit it.\n\n";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockEntry {
    /// The build, `flavor:version/os/arch`.
    pub name: String,
    /// Where it was downloaded from (an image pinned by digest for image builds).
    pub source: String,
    /// The sha256 of the downloaded archive (tarball or wheel), or for a build read
    /// out of an image the digest its tag resolved to (hex).
    pub sha256: Sha256,
    /// The sha256 of the binary itself: the same build from another source (a tarball,
    /// a wheel, an image) is recognised by it. Absent in locks written before gw kept it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binary_sha256: Option<Sha256>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Lockfile {
    #[serde(default = "format_version")]
    version: u32,
    #[serde(default, rename = "build")]
    builds: Vec<LockEntry>,
    #[serde(skip)]
    path: PathBuf,
}

fn format_version() -> u32 {
    1
}

impl Lockfile {
    /// The lock file at `path`; an empty one if it does not exist yet.
    pub fn load(path: &Path) -> Result<Lockfile, Error> {
        let mut lock = match fs::read_to_string(path) {
            Ok(text) => {
                toml::from_str(&text).map_err(|e| Error::BadFile { path: path.to_path_buf(), reason: e.to_string() })?
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Lockfile { version: 1, ..Lockfile::default() },
            Err(e) => return Err(Error::Io(e)),
        };
        lock.path = path.to_path_buf();
        Ok(lock)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn get(&self, build: &Build) -> Option<&LockEntry> {
        let name = build.to_string();
        self.builds.iter().find(|e| e.name == name)
    }

    /// Whether any entry pins a download with this digest.
    pub fn pins(&self, digest: &Sha256) -> bool {
        self.builds.iter().any(|e| &e.sha256 == digest)
    }

    /// Refuses a download with digest `actual` when the lock pins other bytes for `build`
    /// and cannot recognise the binary inside (no binary digest pinned). With one pinned,
    /// the binary is compared once unpacked ([`Lockfile::check_binary`]).
    pub fn check(&self, build: &Build, actual: &Sha256, source_name: &str) -> Result<(), Error> {
        match self.get(build) {
            Some(entry) if &entry.sha256 != actual && entry.binary_sha256.is_none() => Err(Error::LockMismatch {
                build: build.to_string(),
                lock: self.path.clone(),
                locked: entry.sha256.clone(),
                actual: actual.clone(),
                source_name: source_name.to_string(),
            }),
            _ => Ok(()),
        }
    }

    /// Refuses a binary other than the one the lock pins for `build`.
    pub fn check_binary(&self, build: &Build, actual: &Sha256, source_name: &str) -> Result<(), Error> {
        match self.get(build) {
            Some(entry) if entry.binary_sha256.as_ref().is_some_and(|pinned| pinned != actual) => {
                Err(Error::LockBinaryMismatch(Box::new(super::BinaryMismatch {
                    build: build.to_string(),
                    lock: self.path.clone(),
                    locked: entry.binary_sha256.clone().expect("checked above"),
                    locked_source: entry.source.clone(),
                    actual: actual.clone(),
                    source_name: source_name.to_string(),
                })))
            }
            _ => Ok(()),
        }
    }

    /// Adds a pin, or the binary digest to a pin written without one, and saves; false if
    /// there was nothing to add. The project's directory is locked meanwhile and gw.lock read
    /// again under the lock, so two gw processes pinning at once both keep their entries.
    pub fn pin(
        &mut self,
        build: &Build,
        source: &str,
        sha256: &Sha256,
        binary: Option<&Sha256>,
    ) -> Result<bool, Error> {
        let _held = self.lock_directory()?;
        *self = Lockfile::load(&self.path)?;
        let name = build.to_string();
        if let Some(entry) = self.builds.iter_mut().find(|e| e.name == name) {
            if entry.binary_sha256.is_some() || binary.is_none() {
                return Ok(false);
            }
            entry.binary_sha256 = binary.cloned();
            self.save()?;
            return Ok(true);
        }
        self.builds.push(LockEntry {
            name,
            source: source.to_string(),
            sha256: sha256.clone(),
            binary_sha256: binary.cloned(),
        });
        self.builds.sort_by(|a, b| a.name.cmp(&b.name));
        self.save()?;
        Ok(true)
    }

    /// An exclusive lock on the directory that holds gw.lock (flock on the directory itself:
    /// gw.lock is replaced by rename, so it cannot carry the lock). Released when dropped.
    fn lock_directory(&self) -> Result<std::fs::File, Error> {
        let dir = self.path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let handle = std::fs::File::open(dir).map_err(crate::fsutil::at(dir))?;
        handle.lock().map_err(crate::fsutil::at(dir))?;
        Ok(handle)
    }

    fn save(&self) -> Result<(), Error> {
        let body =
            toml::to_string(self).map_err(|e| Error::BadFile { path: self.path.clone(), reason: e.to_string() })?;
        // 0644, as cargo leaves Cargo.lock: a committed file others read.
        crate::fsutil::write_atomically(&self.path, format!("{HEADER}{body}").as_bytes(), 0o644).map_err(Error::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_and_checks() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gw.lock");
        let build: Build = Build {
            flavor: super::super::Flavor::Standard,
            version: "1.36.2".parse().unwrap(),
            platform: "linux/amd64".parse().unwrap(),
        };
        let a = Sha256::of_bytes(b"a");
        let b = Sha256::of_bytes(b"b");
        let mut lock = Lockfile::load(&path).unwrap();
        assert!(lock.pin(&build, "http://x", &a, None).unwrap());
        let lock = Lockfile::load(&path).unwrap();
        assert!(lock.check(&build, &a, "x").is_ok());
        let err = lock.check(&build, &b, "the index").unwrap_err().to_string();
        assert!(err.contains(a.as_str()) && err.contains(b.as_str()), "{err}");
        assert!(fs::read_to_string(&path).unwrap().starts_with("# gw.lock"));
    }

    #[test]
    fn recognises_the_same_binary_from_another_source() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gw.lock");
        let build: Build = Build {
            flavor: super::super::Flavor::Standard,
            version: "1.40.0".parse().unwrap(),
            platform: "linux/amd64".parse().unwrap(),
        };
        let (tarball, wheel, binary, other) =
            (Sha256::of_bytes(b"t"), Sha256::of_bytes(b"w"), Sha256::of_bytes(b"b"), Sha256::of_bytes(b"o"));
        let mut lock = Lockfile::load(&path).unwrap();
        assert!(lock.pin(&build, "https://x/envoy.tar.xz", &tarball, None).unwrap());
        assert!(lock.pin(&build, "ignored", &tarball, Some(&binary)).unwrap(), "the binary digest is added");
        assert!(!lock.pin(&build, "ignored", &wheel, Some(&other)).unwrap(), "a pin is never replaced");
        let lock = Lockfile::load(&path).unwrap();
        assert!(lock.check(&build, &wheel, "the package index").is_ok(), "compared by binary instead");
        assert!(lock.check_binary(&build, &binary, "the package index").is_ok());
        let err = lock.check_binary(&build, &other, "the package index").unwrap_err().to_string();
        assert!(err.contains(binary.as_str()) && err.contains(other.as_str()), "{err}");
        assert!(err.contains("https://x/envoy.tar.xz") && err.contains("the package index"), "{err}");
    }
}
