//! gw.lock: the exact bytes (sha256) of every build a project used. A later
//! download that does not match is refused.

use std::fs;
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
    /// The sha256 of the downloaded archive, or for a build read out of an image
    /// the digest its tag resolved to (hex).
    pub sha256: Sha256,
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
            Err(e) => return Err(Error::Io { path: path.to_path_buf(), source: e }),
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

    /// Refuses `actual` when the lock pins something else for `build`.
    pub fn check(&self, build: &Build, actual: &Sha256, source_name: &str) -> Result<(), Error> {
        match self.get(build) {
            Some(entry) if &entry.sha256 != actual => Err(Error::LockMismatch {
                build: build.to_string(),
                lock: self.path.clone(),
                locked: entry.sha256.clone(),
                actual: actual.clone(),
                source_name: source_name.to_string(),
            }),
            _ => Ok(()),
        }
    }

    /// Adds a pin and saves; false if the build was pinned already.
    pub fn pin(&mut self, build: &Build, source: &str, sha256: &Sha256) -> Result<bool, Error> {
        if self.get(build).is_some() {
            return Ok(false);
        }
        self.builds.push(LockEntry { name: build.to_string(), source: source.to_string(), sha256: sha256.clone() });
        self.builds.sort_by(|a, b| a.name.cmp(&b.name));
        self.save()?;
        Ok(true)
    }

    fn save(&self) -> Result<(), Error> {
        let body =
            toml::to_string(self).map_err(|e| Error::BadFile { path: self.path.clone(), reason: e.to_string() })?;
        // 0644, as cargo leaves Cargo.lock: a committed file others read.
        crate::fsutil::write_atomically(&self.path, format!("{HEADER}{body}").as_bytes(), 0o644)
            .map_err(Error::io(&self.path))
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
        assert!(lock.pin(&build, "http://x", &a).unwrap());
        let lock = Lockfile::load(&path).unwrap();
        assert!(lock.check(&build, &a, "x").is_ok());
        let err = lock.check(&build, &b, "the index").unwrap_err().to_string();
        assert!(err.contains(a.as_str()) && err.contains(b.as_str()), "{err}");
        assert!(fs::read_to_string(&path).unwrap().starts_with("# gw.lock"));
    }
}
