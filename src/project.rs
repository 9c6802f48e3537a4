//! A gw project: the directory holding gw.toml (found by walking up), its
//! gw.lock, and the Envoy build it runs on.

use fs_err as fs;
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
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error("{}: {reason}", path.display())]
    Parse { path: PathBuf, reason: String },
    #[error("not inside a gw project: no gw.toml in {} or any directory above it", start.display())]
    NotAProject { start: PathBuf },
}

impl crate::diagnose::Diagnose for Error {
    fn is_input(&self) -> bool {
        !matches!(self, Error::Io(_))
    }

    fn hint(&self) -> Option<String> {
        match self {
            Error::NotAProject { .. } => Some(
                "run this inside a project, or make one: a directory with a gw.toml holding [project] name and kind"
                    .into(),
            ),
            Error::Parse { .. } => {
                Some("the keys of gw.toml are described in docs/topology.md and docs/deploy.md".into())
            }
            _ => None,
        }
    }
}

pub use crate::gwtoml::{BuildToolchain, GwToml, Kind};

/// A project: its root, and its gw.toml, read and checked once, when first asked for.
#[derive(Debug, Clone)]
pub struct Project {
    pub root: PathBuf,
    /// The parsed gw.toml, or why it could not be read (kept as text: the error is shown
    /// each time a command asks, as the same message).
    parsed: std::sync::OnceLock<Result<GwToml, String>>,
}

impl Project {
    pub fn at(root: impl Into<PathBuf>) -> Project {
        Project { root: root.into(), parsed: std::sync::OnceLock::new() }
    }

    /// The nearest directory at or above `start` that has a gw.toml.
    pub fn discover(start: &Path) -> Option<Project> {
        start.ancestors().find(|dir| dir.join(MANIFEST).is_file()).map(Project::at)
    }

    /// The project in `start` or above, or an error that says how to make one.
    pub fn require(start: &Path) -> Result<Project, Error> {
        Project::discover(start).ok_or_else(|| Error::NotAProject { start: start.to_path_buf() })
    }

    pub fn manifest(&self) -> PathBuf {
        self.root.join(MANIFEST)
    }

    pub fn lockfile(&self) -> PathBuf {
        self.root.join(LOCKFILE)
    }

    /// gw.toml, typed and checked.
    pub fn gw_toml(&self) -> Result<&GwToml, Error> {
        let parsed = self.parsed.get_or_init(|| {
            let text = fs::read_to_string(self.manifest()).map_err(|e| e.to_string())?;
            GwToml::parse(&text).map_err(|e| e.to_string())
        });
        parsed.as_ref().map_err(|reason| Error::Parse { path: self.manifest(), reason: reason.clone() })
    }

    /// `[project] name`, else the directory's name.
    pub fn name(&self) -> Result<String, Error> {
        Ok(match &self.gw_toml()?.project.name {
            Some(name) => name.clone(),
            None => self.root.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "project".into()),
        })
    }

    /// `[project] kind`.
    pub fn kind(&self) -> Result<Kind, Error> {
        Ok(self.gw_toml()?.project.kind)
    }

    /// `[project] template`: the template it was made from, if recorded.
    pub fn template(&self) -> Result<Option<String>, Error> {
        Ok(self.gw_toml()?.project.template.clone())
    }

    /// `[build] toolchain`, if set.
    pub fn toolchain(&self) -> Result<Option<BuildToolchain>, Error> {
        Ok(self.gw_toml()?.build.toolchain)
    }

    /// `[envoy] build`, if set.
    pub fn envoy_build(&self) -> Result<Option<Reference>, Error> {
        Ok(self.gw_toml()?.envoy.build.clone())
    }

    /// Sets `[envoy] build`, keeping the rest of gw.toml (comments included) as it was.
    pub fn set_envoy_build(&self, reference: &Reference) -> Result<(), Error> {
        let path = self.manifest();
        let mut document: toml_edit::DocumentMut = fs::read_to_string(&path)?
            .parse()
            .map_err(|e: toml_edit::TomlError| Error::Parse { path: path.clone(), reason: e.to_string() })?;
        let envoy = document.entry("envoy").or_insert(toml_edit::table());
        if let Some(table) = envoy.as_table_mut() {
            table.set_implicit(false);
        }
        envoy["build"] = toml_edit::value(reference.to_string());
        Ok(fs::write(&path, document.to_string())?)
    }
}
