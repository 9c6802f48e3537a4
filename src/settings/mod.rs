//! Flags, environment and project files resolved once, before any command runs.
//!
//! Precedence, highest first: a command-line flag; its environment variable
//! (clap reads those for flags that have one, see `env_vars`); the project's
//! gw.toml; `$GW_HOME/default`; the built-in defaults below.

pub mod default_build;

use std::path::{Path, PathBuf};

use crate::builds::{Layout, Platform, ReferenceError, SourceError, SourceOrder, Sources, pypi};
use crate::env_vars;
use crate::project::Project;

pub const DEFAULT_ENVOY_VERSIONS_URL: &str = "https://archive.tetratelabs.io/envoy/envoy-versions.json";
pub const DEFAULT_GITHUB_URL: &str = "https://github.com";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot find a home directory for GW_HOME; set GW_HOME or pass --home")]
    NoHome,
    #[error("{} is set to '{value}': {source}", env_vars::GW_PLATFORM.name)]
    Platform { value: String, source: ReferenceError },
    #[error("{} is set to '{value}': {source}", env_vars::GW_ENVOY_SOURCE.name)]
    SourceOrder { value: String, source: SourceError },
    #[error("cannot read the current directory: {0}")]
    Cwd(std::io::Error),
}

impl crate::diagnose::Diagnose for Error {
    fn is_input(&self) -> bool {
        !matches!(self, Error::Cwd(_))
    }
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub layout: Layout,
    pub sources: Sources,
    /// For references without a platform: GW_PLATFORM, else the host (None if unsupported).
    pub platform: Option<Platform>,
    pub project: Option<Project>,
    pub cwd: PathBuf,
}

/// What the command line contributes (GW_HOME arrives here through clap's `env`).
#[derive(Debug, Default)]
pub struct Overrides {
    pub home: Option<PathBuf>,
}

impl Settings {
    pub fn resolve(overrides: Overrides) -> Result<Settings, Error> {
        let cwd = std::env::current_dir().map_err(Error::Cwd)?;
        let home = match overrides.home {
            Some(home) => absolute(&cwd, home),
            None => std::env::home_dir().ok_or(Error::NoHome)?.join(".gw"),
        };
        let platform = match env_vars::value(&env_vars::GW_PLATFORM) {
            Some(value) => Some(value.parse().map_err(|source| Error::Platform { value, source })?),
            None => Platform::host(),
        };
        let order = match env_vars::value(&env_vars::GW_ENVOY_SOURCE) {
            Some(value) => value.parse().map_err(|source| Error::SourceOrder { value, source })?,
            None => SourceOrder::default(),
        };
        let sources = Sources {
            envoy_index: env_vars::value(&env_vars::GW_ENVOY_VERSIONS_URL)
                .unwrap_or_else(|| DEFAULT_ENVOY_VERSIONS_URL.into()),
            pypi: pypi::config::resolve(),
            order,
            github: env_vars::value(&env_vars::GW_GITHUB_URL).unwrap_or_else(|| DEFAULT_GITHUB_URL.into()),
            registry_mirror: env_vars::value(&env_vars::GW_REGISTRY_MIRROR),
        };
        let project = Project::discover(&cwd);
        Ok(Settings { layout: Layout::new(home), sources, platform, project, cwd })
    }

    pub fn lockfile(&self) -> Option<PathBuf> {
        self.project.as_ref().map(Project::lockfile)
    }
}

fn absolute(cwd: &Path, path: PathBuf) -> PathBuf {
    if path.is_absolute() { path } else { cwd.join(path) }
}
