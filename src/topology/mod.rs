//! Envoy configs: gw.toml's `[topology]` planned, rendered to YAML as typed
//! v3 values, and checked against Envoy's API schema.

pub mod plan;
pub mod render;
pub mod spec;
mod v3;
pub mod validate;

use std::path::PathBuf;

use serde::Deserialize;

use crate::project::Project;
pub use plan::{ProjectModule, free_port, plan};
pub use render::{File, Filter, Plan, Schema, render};
pub use spec::{FilterKind, Spec};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("gw.toml [topology]: {0}")]
    Topology(String),
    #[error("{}: {reason}", path.display())]
    Manifest { path: PathBuf, reason: String },
    #[error("gw rendered an invalid {file}: {problems}")]
    Rendered { file: String, problems: String },
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
}

impl Error {
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::Topology(_) | Error::Manifest { .. } => {
                Some("see docs/topology.md for the keys of [topology]; without the section gw runs the default".into())
            }
            Error::Rendered { .. } => Some("a value from gw.toml may be out of range for Envoy".into()),
            Error::Io { .. } => None,
        }
    }
}

/// The project's `[topology]`, defaults filled in and references checked.
pub fn load_spec(project: &Project) -> Result<Spec, Error> {
    #[derive(Deserialize)]
    struct Manifest {
        #[serde(default)]
        topology: Spec,
    }
    let path = project.manifest();
    let text = std::fs::read_to_string(&path).map_err(|source| Error::Io { path: path.clone(), source })?;
    let manifest: Manifest = toml::from_str(&text).map_err(|e| Error::Manifest { path, reason: e.to_string() })?;
    manifest.topology.complete().map_err(Error::Topology)
}

/// Renders and checks every file: a config Envoy would refuse never reaches a process.
pub fn render_checked(plan: &Plan) -> Result<Vec<File>, Error> {
    let files = render(plan);
    for file in &files {
        let schema = match file.schema {
            Schema::Bootstrap => validate::BOOTSTRAP,
            Schema::Discovery => validate::DISCOVERY_RESPONSE,
        };
        if let Err(problems) = validate::validate_yaml_as(&file.yaml, schema) {
            let problems = problems.iter().map(|p| p.to_string()).collect::<Vec<_>>().join("; ");
            return Err(Error::Rendered { file: file.name.clone(), problems });
        }
    }
    Ok(files)
}
