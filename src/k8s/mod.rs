//! Shipping a project's filters to a Kubernetes cluster: a CiliumEnvoyConfig
//! that puts them in front of the Services named, applied with kubectl.

pub mod carry;
pub mod cilium;
mod cilium_names;
pub mod envoy_gateway;
pub mod istio;
pub mod kubectl;
mod names;
pub mod network_policy;
pub mod plugin;
mod refs;
pub mod schema;
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
    #[error("{engine} names nothing to attach the filter to")]
    NoTarget { engine: &'static str },
    #[error("{} is an eBPF project; {command} ships proxy-wasm filters", root.display())]
    NotProxyWasm { root: PathBuf, command: &'static str },
    #[error("no filter on the front runs the project's module ([[topology.front.filters]] with wasm = \"project\")")]
    NoProjectFilter,
    #[error("{engine} pulls the module from a registry, and this project has not been pushed (target/gw/pushed.json)")]
    NotPushed { engine: &'static str },
    #[error("the module was rebuilt since `gw push` published it as {image}; {engine} would run the old one")]
    PushedStale { image: String, engine: &'static str },
    #[error("the filter's configuration ({origin}) {reason}")]
    Config { origin: String, reason: String },
    #[error("{image} was pushed with credentials, so pulling it needs them too, and no pull secret is named")]
    NoPullSecret { image: String },
    #[error(
        "{place} {given:?}: gw carries the CRD of {engine} {known} only, and cannot check an object for {engine} {given}"
    )]
    UnknownEngineVersion { engine: &'static str, given: String, place: String, known: String },
    #[error("the {kind} does not match its CRD's schema ({crd}):\n{}", problems.join("\n"))]
    Schema { kind: &'static str, crd: &'static str, problems: Vec<String> },
    #[error(
        "Service {service} would pass no filter and carry no policy: [topology.front] has neither, and no [[topology.services]] is called {service}"
    )]
    NoFilters { service: String },
    #[error("the object would be {size} bytes, more than the {} the Kubernetes API stores", cilium::OBJECT_LIMIT)]
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
            | Error::NoTarget { .. }
            | Error::NotProxyWasm { .. }
            | Error::NoProjectFilter
            | Error::NotPushed { .. }
            | Error::PushedStale { .. }
            | Error::Config { .. }
            | Error::NoPullSecret { .. }
            | Error::UnknownEngineVersion { .. }
            | Error::NoFilters { .. }
            | Error::TooLarge { .. }
            | Error::Project(_) => true,
            Error::Topology(e) => e.is_input(),
            Error::Schema { .. } => true,
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
            Error::NoTarget { .. } => Some(
                "name a Gateway or route: --target-ref Gateway/NAME, or target_refs = [\"Gateway/NAME\"] \
                 under [deploy.envoy-gateway] in gw.toml (docs/deploy.md)"
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
            Error::NotPushed { .. } | Error::PushedStale { .. } => {
                Some("publish it first: gw push REGISTRY/REPOSITORY:TAG (docs/publishing.md)".into())
            }
            Error::UnknownEngineVersion { known, .. } => Some(format!(
                "name a release gw carries ({known}), or leave the version out to check against it"
            )),
            Error::NoPullSecret { .. } => Some(
                "create a docker-registry Secret in the namespace and name it: --pull-secret NAME                  (or pull_secret = \"NAME\" in gw.toml)"
                    .into(),
            ),
            Error::Project(e) => e.hint(),
            Error::Topology(e) => e.hint(),
            _ => None,
        }
    }
}

/// An object gw writes: `<name>.yaml`.
#[derive(Debug, Clone)]
pub struct Manifest {
    pub file_name: String,
    pub yaml: String,
}

/// Every object gw writes: its type, its metadata and the engine's spec.
#[derive(Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Object<S> {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub metadata: Metadata,
    pub spec: S,
}

/// The metadata of every object gw writes.
#[derive(Debug, serde::Serialize)]
pub(crate) struct Metadata {
    name: String,
    /// None for a cluster-scoped kind.
    #[serde(skip_serializing_if = "Option::is_none")]
    namespace: Option<String>,
    labels: std::collections::BTreeMap<&'static str, &'static str>,
}

impl Metadata {
    /// `namespace` None: a cluster-scoped object.
    pub(crate) fn new(name: &str, namespace: Option<&str>) -> Metadata {
        Metadata {
            name: name.to_string(),
            namespace: namespace.map(str::to_string),
            labels: [("app.kubernetes.io/managed-by", "gw")].into(),
        }
    }
}

/// The namespace and name: a flag, else gw.toml's key under `section`, else `default` and
/// `gw-<project>`; both checked against Kubernetes' rules.
pub(crate) fn place(
    namespace: (Option<String>, Option<String>),
    name: (Option<String>, Option<String>),
    project: &str,
    section: &str,
) -> Result<(String, String), Error> {
    let bad = |place: String, value: &str, reason: String| Error::Input { place, value: value.into(), reason };
    let (ns, at) = match namespace {
        (Some(ns), _) => (ns, "--namespace".to_string()),
        (None, Some(ns)) => (ns, format!("{section} namespace")),
        (None, None) => ("default".into(), String::new()),
    };
    names::label(&ns).map_err(|e| bad(at, &ns, e))?;
    let (name, at) = match name {
        (Some(name), _) => (name, "--name".to_string()),
        (None, Some(name)) => (name, format!("{section} name")),
        (None, None) => (format!("gw-{}", names::to_subdomain(project)), format!("the project name {project:?}")),
    };
    names::subdomain(&name)
        .map_err(|e| bad(at, &name, format!("{e}; set name = \"...\" under {section}, or pass --name")))?;
    Ok((ns, name))
}

/// The object as the YAML file gw writes, within what etcd stores.
pub(crate) fn to_manifest(name: &str, object: &serde_json::Value) -> Result<Manifest, Error> {
    let body = crate::yaml_write::to_string(object).map_err(|e| Error::Rendered { problems: e.to_string() })?;
    let yaml = format!("# Written by gw deploy from gw.toml; it writes the file again on every run.\n{body}");
    if yaml.len() > cilium::OBJECT_LIMIT {
        return Err(Error::TooLarge { size: yaml.len() });
    }
    Ok(Manifest { file_name: format!("{name}.yaml"), yaml })
}

/// The project's filters as a CiliumEnvoyConfig: the front's filters, then those
/// of the `[[topology.services]]` entry named like the Service, if any.
pub fn cilium_manifest(project: &Project, overrides: Overrides) -> Result<(Resolved, CiliumConfig), Error> {
    if project.kind()? == Kind::Ebpf {
        return Err(Error::NotProxyWasm { root: project.root.clone(), command: "gw deploy cilium" });
    }
    let cilium = project.gw_toml()?.deploy.cilium.clone();
    let mut resolved = spec::resolve(cilium, overrides, &project.name()?)?;
    let topology = topology::load_spec(project)?;
    let ebpf_denied = match &topology.ebpf {
        Some(ebpf) => ebpf.denied().map_err(topology::Error::Topology)?,
        None => Vec::new(),
    };
    network_policy::deny_also(&mut resolved.network_policies, &ebpf_denied);
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
    if !ebpf_denied.is_empty() && resolved.network_policies.is_empty() {
        manifest.not_carried.push(
            "topology.ebpf deny: not carried; name the pods under [deploy.cilium.network_policy.<service>] \
             and the CiliumNetworkPolicy denies these addresses"
                .into(),
        );
    }
    if !resolved.network_policies.is_empty() {
        let routes = plan::routes(&topology)?;
        let policy =
            network_policy::manifest(&resolved.name, &resolved.namespace, &resolved.network_policies, &routes)?;
        manifest.yaml.push_str("---\n");
        manifest.yaml.push_str(&to_manifest(&resolved.name, &policy)?.yaml);
        manifest.policies = network_policy::describe(&resolved.network_policies, &routes);
    }
    Ok((resolved, manifest))
}
