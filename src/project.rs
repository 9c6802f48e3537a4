//! A gw project: the directory holding gw.toml (found by walking up), its
//! gw.lock, and the Envoy build it runs on.

use std::fs;
use std::path::{Path, PathBuf};

use crate::builds::Reference;

pub const MANIFEST: &str = "gw.toml";
pub const LOCKFILE: &str = "gw.lock";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{} is not valid TOML: {reason}", path.display())]
    Parse { path: PathBuf, reason: String },
    #[error("{}: [envoy] build = \"{value}\" is not a build reference: {reason}", path.display())]
    BadBuild { path: PathBuf, value: String, reason: String },
}

#[derive(Debug, Clone)]
pub struct Project {
    pub root: PathBuf,
}

impl Project {
    /// The nearest directory at or above `start` that has a gw.toml.
    pub fn discover(start: &Path) -> Option<Project> {
        start.ancestors().find(|dir| dir.join(MANIFEST).is_file()).map(|dir| Project { root: dir.to_path_buf() })
    }

    pub fn manifest(&self) -> PathBuf {
        self.root.join(MANIFEST)
    }

    pub fn lockfile(&self) -> PathBuf {
        self.root.join(LOCKFILE)
    }

    fn document(&self) -> Result<toml_edit::DocumentMut, Error> {
        let path = self.manifest();
        let text = fs::read_to_string(&path).map_err(|source| Error::Io { path: path.clone(), source })?;
        text.parse().map_err(|e: toml_edit::TomlError| Error::Parse { path, reason: e.to_string() })
    }

    /// `[envoy] build` from gw.toml, if set.
    pub fn envoy_build(&self) -> Result<Option<Reference>, Error> {
        let document = self.document()?;
        let Some(value) = document.get("envoy").and_then(|t| t.get("build")) else { return Ok(None) };
        let bad = |reason: String| Error::BadBuild {
            path: self.manifest(),
            value: value.to_string().trim().to_string(),
            reason,
        };
        let text = value.as_str().ok_or_else(|| bad("it must be a string".into()))?;
        text.parse().map(Some).map_err(|e: crate::builds::ReferenceError| bad(e.to_string()))
    }

    /// Sets `[envoy] build`, keeping the rest of gw.toml (comments included) as it was.
    pub fn set_envoy_build(&self, reference: &Reference) -> Result<(), Error> {
        let mut document = self.document()?;
        let envoy = document.entry("envoy").or_insert(toml_edit::table());
        if let Some(table) = envoy.as_table_mut() {
            table.set_implicit(false);
        }
        envoy["build"] = toml_edit::value(reference.to_string());
        let path = self.manifest();
        fs::write(&path, document.to_string()).map_err(|source| Error::Io { path, source })
    }
}
