//! Shipping a project's filters to a Kubernetes cluster: a CiliumEnvoyConfig
//! that puts them in front of the Services named, applied with kubectl.

pub mod carry;
pub mod cilium;
pub mod kubectl;
mod names;
pub mod spec;

use std::path::PathBuf;

use crate::project::{Kind, Project};
use crate::topology::{self, plan};
pub use cilium::{CiliumConfig, Placement};
pub use spec::{ModuleSource, Overrides, Resolved, Target};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{place} {value:?} {reason}")]
    Input { place: String, value: String, reason: String },
    #[error("no Kubernetes Service is named to put the filters in front of")]
    NoServices,
    #[error("{} is an eBPF project; gw deploy cilium ships proxy-wasm filters", root.display())]
    NotProxyWasm { root: PathBuf },
    #[error(
        "Service {service} would pass no filter and carry no policy: [topology.front] has neither, and no [[topology.services]] is called {service}"
    )]
    NoFilters { service: String },
    #[error(
        "the CiliumEnvoyConfig would be {size} bytes, more than the {} the Kubernetes API stores",
        cilium::OBJECT_LIMIT
    )]
    TooLarge { size: usize },
    #[error("gw rendered an invalid CiliumEnvoyConfig: {problems}")]
    Rendered { problems: String },
    #[error("kubectl could not be started: {source}")]
    Kubectl { source: std::io::Error },
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Project(#[from] crate::project::Error),
    #[error(transparent)]
    Topology(#[from] topology::Error),
}

impl crate::diagnose::Diagnose for Error {
    /// Whether what the user gave is at fault (exit code 2).
    fn is_input(&self) -> bool {
        match self {
            Error::Input { .. }
            | Error::NoServices
            | Error::NotProxyWasm { .. }
            | Error::NoFilters { .. }
            | Error::TooLarge { .. }
            | Error::Project(_) => true,
            Error::Topology(e) => e.is_input(),
            Error::Rendered { .. } | Error::Kubectl { .. } | Error::Io(_) => false,
        }
    }

    fn hint(&self) -> Option<String> {
        match self {
            Error::NoServices => Some(
                "name them with --service NAME[:PORT], or under [deploy.cilium] in gw.toml: \
                 services = [\"checkout:8080\"] (docs/deploy.md)"
                    .into(),
            ),
            Error::NoFilters { .. } => Some("add a filter to [[topology.front.filters]] (docs/topology.md)".into()),
            Error::TooLarge { .. } => Some(
                "serve the module over HTTP(S) and let Envoy fetch it: --module-url URL, or \
                 module = \"https://...\" under [deploy.cilium] (gw pins it by its sha256)"
                    .into(),
            ),
            Error::Kubectl { .. } => Some(
                "install kubectl (https://kubernetes.io/docs/tasks/tools/), or apply the written file yourself: \
                 kubectl apply --server-side -f FILE"
                    .into(),
            ),
            Error::Project(e) => e.hint(),
            Error::Topology(e) => e.hint(),
            _ => None,
        }
    }
}

/// The project's filters as a CiliumEnvoyConfig: the front's filters, then those
/// of the `[[topology.services]]` entry named like the Service, if any.
pub fn cilium_manifest(project: &Project, overrides: Overrides) -> Result<(Resolved, CiliumConfig), Error> {
    if project.kind()? == Kind::Ebpf {
        return Err(Error::NotProxyWasm { root: project.root.clone() });
    }
    let cilium = project.gw_toml()?.deploy.cilium.clone();
    let resolved = spec::resolve(cilium, overrides, &project.name()?)?;
    let topology = topology::load_spec(project)?;
    let module = if topology.uses_project_module() {
        topology::built_module(project)?
    } else {
        topology::project_module(project)?
    };
    let front = plan::filters(&topology.front.filters, &module, "front")?;
    let (gateways, not_carried) = carry::carry(&topology, &project.root, &resolved.targets)?;
    let mut placements = Vec::new();
    for (target, gateway) in resolved.targets.iter().zip(gateways) {
        let mut filters = front.clone();
        if let Some(i) = topology.services.iter().position(|s| s.name == target.service) {
            filters.extend(plan::filters(&topology.services[i].filters, &module, &format!("services[{i}]"))?);
        }
        if filters.is_empty() && gateway.is_empty() {
            return Err(Error::NoFilters { service: target.service.clone() });
        }
        placements.push(Placement { target: target.clone(), filters, gateway });
    }
    let mut manifest = cilium::manifest(&resolved, &placements, &module.wasm)?;
    manifest.not_carried = not_carried;
    Ok((resolved, manifest))
}
