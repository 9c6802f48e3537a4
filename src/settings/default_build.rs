//! The default build: the project's `[envoy] build` inside a project, else
//! the one `gw use` wrote to `$GW_HOME/default`.

use fs_err as fs;
use std::path::PathBuf;

use crate::builds::{Error, Layout, Reference, Result};
use crate::project::{self, Project};

/// Where a default came from, for messages.
#[derive(Debug, Clone)]
pub enum Origin {
    Project(PathBuf),
    Home(PathBuf),
}

impl Origin {
    pub fn path(&self) -> &std::path::Path {
        match self {
            Origin::Project(p) | Origin::Home(p) => p,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DefaultError {
    #[error(transparent)]
    Project(#[from] project::Error),
    #[error(transparent)]
    Builds(#[from] Error),
    #[error("{}: '{value}' is not a build reference: {reason}", path.display())]
    Bad { path: PathBuf, value: String, reason: String },
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

impl crate::diagnose::Diagnose for DefaultError {
    fn is_input(&self) -> bool {
        match self {
            DefaultError::Builds(e) => e.is_input(),
            DefaultError::Project(e) => e.is_input(),
            DefaultError::Bad { .. } => true,
            DefaultError::Io(_) => false,
        }
    }

    fn hint(&self) -> Option<String> {
        match self {
            DefaultError::Builds(e) => e.hint(),
            DefaultError::Project(e) => e.hint(),
            DefaultError::Bad { .. } => Some("set it again with `gw use <ref>`".into()),
            DefaultError::Io(_) => None,
        }
    }
}

pub fn get(layout: &Layout, project: Option<&Project>) -> Result<Option<(Reference, Origin)>, DefaultError> {
    if let Some(project) = project
        && let Some(reference) = project.envoy_build()?
    {
        return Ok(Some((reference, Origin::Project(project.manifest()))));
    }
    let path = layout.default_file();
    match fs::read_to_string(&path) {
        Ok(text) => {
            let value = text.trim().to_string();
            let reference = value.parse().map_err(|e: super::ReferenceError| DefaultError::Bad {
                path: path.clone(),
                value,
                reason: e.to_string(),
            })?;
            Ok(Some((reference, Origin::Home(path))))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::Io(e).into()),
    }
}

/// Records `reference` as the default: in gw.toml inside a project, else in GW_HOME.
pub fn set(layout: &Layout, project: Option<&Project>, reference: &Reference) -> Result<Origin, DefaultError> {
    if let Some(project) = project {
        project.set_envoy_build(reference)?;
        return Ok(Origin::Project(project.manifest()));
    }
    let path = layout.default_file();
    fs::create_dir_all(layout.home())?;
    fs::write(&path, format!("{reference}\n"))?;
    Ok(Origin::Home(path))
}
