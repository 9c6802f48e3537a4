//! A gw project: the directory holding gw.toml (found by walking up), its
//! gw.lock, and the Envoy build it runs on.

use std::fs;
use std::path::{Path, PathBuf};

use crate::builds::Reference;

pub const MANIFEST: &str = "gw.toml";
pub const LOCKFILE: &str = "gw.lock";

/// The Envoy line new proxy-wasm projects run on; gw.lock pins its patch on first use.
pub const DEFAULT_ENVOY_BUILD: &str = "standard:1.36";

/// gw.toml for a new project: what it is, how it builds, the Envoy it runs on (the
/// topology's text comes from the topology module, `topology::manifest`).
pub fn manifest_text(name: &str, kind: Kind, template: &str) -> String {
    let mut text = format!(
        "# gw.toml: what this project is. Written by `gw init`; edit it freely.\n\n\
         [project]\nname = \"{name}\"\nkind = \"{}\"\ntemplate = \"{template}\"\n\n\
         [build]\n# \"docker\" (gw's builder image) or \"local\" (the host's cargo)\ntoolchain = \"docker\"\n",
        kind.as_str()
    );
    if kind == Kind::ProxyWasm {
        text.push_str(&format!("\n[envoy]\n# The Envoy build `gw run` uses; gw.lock pins its exact bytes.\nbuild = \"{DEFAULT_ENVOY_BUILD}\"\n"));
    }
    text
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{} is not valid TOML: {reason}", path.display())]
    Parse { path: PathBuf, reason: String },
    #[error("{}: [envoy] build = \"{value}\" is not a build reference: {reason}", path.display())]
    BadBuild { path: PathBuf, value: String, reason: String },
    #[error("{}: [project] {key} {problem}", path.display())]
    BadProject { path: PathBuf, key: &'static str, problem: String },
    #[error("not inside a gw project: no gw.toml in {} or any directory above it", start.display())]
    NotAProject { start: PathBuf },
}

impl Error {
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::NotAProject { .. } => Some(
                "run this inside a project, or make one: a directory with a gw.toml holding [project] name and kind"
                    .into(),
            ),
            _ => None,
        }
    }
}

/// What a project builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A Rust proxy-wasm filter, built to a .wasm module.
    ProxyWasm,
    /// An aya workspace: a BPF object and the user-space program that loads it.
    Ebpf,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::ProxyWasm => "proxy-wasm",
            Kind::Ebpf => "ebpf",
        }
    }
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

    /// The project in `start` or above, or an error that says how to make one.
    pub fn require(start: &Path) -> Result<Project, Error> {
        Project::discover(start).ok_or_else(|| Error::NotAProject { start: start.to_path_buf() })
    }

    /// `[project] name`, else the directory's name.
    pub fn name(&self) -> Result<String, Error> {
        let document = self.document()?;
        match document.get("project").and_then(|t| t.get("name")) {
            Some(value) => value.as_str().map(str::to_string).ok_or_else(|| Error::BadProject {
                path: self.manifest(),
                key: "name",
                problem: "must be a string".into(),
            }),
            None => {
                Ok(self.root.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "project".into()))
            }
        }
    }

    /// `[project] kind`: "proxy-wasm" or "ebpf".
    pub fn kind(&self) -> Result<Kind, Error> {
        let document = self.document()?;
        let bad = |problem: String| Error::BadProject { path: self.manifest(), key: "kind", problem };
        match document.get("project").and_then(|t| t.get("kind")).map(|v| v.as_str()) {
            Some(Some("proxy-wasm")) => Ok(Kind::ProxyWasm),
            Some(Some("ebpf")) => Ok(Kind::Ebpf),
            Some(Some(other)) => Err(bad(format!("is \"{other}\"; expected \"proxy-wasm\" or \"ebpf\""))),
            Some(None) => Err(bad("must be a string: \"proxy-wasm\" or \"ebpf\"".into())),
            None => Err(bad("is missing; add kind = \"proxy-wasm\" or kind = \"ebpf\" under [project]".into())),
        }
    }

    /// `[project] template`: the template it was made from, if recorded.
    pub fn template(&self) -> Result<Option<String>, Error> {
        let document = self.document()?;
        Ok(document.get("project").and_then(|t| t.get("template")).and_then(|v| v.as_str()).map(str::to_string))
    }

    /// `[build] toolchain` from gw.toml, if set.
    pub fn toolchain(&self) -> Result<Option<String>, Error> {
        let document = self.document()?;
        Ok(document.get("build").and_then(|t| t.get("toolchain")).and_then(|v| v.as_str()).map(str::to_string))
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
