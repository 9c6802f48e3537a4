//! What builds leave behind, found and removed (`gw clean`): a project's
//! `target/gw/` and its target volume in Docker, or every target volume
//! whose project is gone. Such volumes outlive the checkout they cache
//! (a deleted clone, a temp dir), so without this they pile up.

use std::path::{Path, PathBuf};

use super::container::{CACHE_LABEL, PROJECT_LABEL, target_volume};
use super::{Error, OUTPUT_DIR};
use crate::docker::Docker;

/// What a clean removes.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// The project's copied build outputs, when there are any.
    pub outputs: Option<PathBuf>,
    /// Target volumes, each with the project directory it caches builds of.
    pub volumes: Vec<(String, PathBuf)>,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.outputs.is_none() && self.volumes.is_empty()
    }
}

/// The project's outputs and, given Docker, its target volumes: those
/// labelled with its directory (one per name it has had), and one by its
/// current name made before gw labelled volumes.
pub fn for_project(root: &Path, name: &str, docker: Option<&Docker>) -> Result<Plan, Error> {
    let outputs = root.join(OUTPUT_DIR);
    let mut plan = Plan { outputs: outputs.is_dir().then_some(outputs), volumes: Vec::new() };
    let Some(docker) = docker else { return Ok(plan) };
    let label = format!("{PROJECT_LABEL}={}", root.display());
    plan.volumes = docker.volumes(&label)?.into_iter().map(|v| (v.name, root.to_path_buf())).collect();
    let named = target_volume(name, root);
    if !plan.volumes.iter().any(|(v, _)| *v == named) && docker.volume_exists(&named)? {
        plan.volumes.push((named, root.to_path_buf()));
    }
    Ok(plan)
}

/// Every target volume whose project directory no longer holds a gw project.
pub fn stale(docker: &Docker) -> Result<Plan, Error> {
    let volumes = docker.volumes(&format!("{CACHE_LABEL}=target"))?;
    let volumes = volumes
        .into_iter()
        .filter_map(|v| {
            let root = PathBuf::from(v.labels.get(PROJECT_LABEL)?);
            (!root.join(crate::project::MANIFEST).is_file()).then_some((v.name, root))
        })
        .collect();
    Ok(Plan { outputs: None, volumes })
}

/// Removes the volumes, then the outputs. A volume a running build uses
/// stops it there, before the outputs are touched.
pub fn carry_out(plan: &Plan, docker: Option<&Docker>) -> Result<(), Error> {
    if let Some(docker) = docker {
        for (name, _) in &plan.volumes {
            docker.remove_volume(name)?;
        }
    }
    if let Some(dir) = &plan.outputs {
        fs_err::remove_dir_all(dir)?;
    }
    Ok(())
}
