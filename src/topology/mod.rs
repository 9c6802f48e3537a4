//! Envoy configs: gw.toml's `[topology]` planned, rendered to YAML as typed
//! v3 values, and checked against Envoy's API schema.

pub mod accesslog;
pub mod devcert;
pub mod devjwt;
pub mod echo;
pub mod initial;
pub mod plan;
pub mod policy;
pub mod render;
pub mod serving;
pub mod sources;
pub mod spec;
pub mod up;

use std::path::PathBuf;

use crate::builds::Reference;
use crate::project::Project;
pub use plan::{ProjectModule, free_port, plan};
pub use render::{File, Filter, Plan, Schema, render};
pub use spec::{FilterKind, Spec};

/// Upstream Envoy has a wasm filter from this minor version (1.17) on.
pub const FIRST_WASM_MINOR: u32 = 17;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("gw.toml [topology]: {0}")]
    Topology(String),
    #[error(
        "the topology runs wasm filters, and Envoy {reference} has no wasm filter (upstream Envoy has one from 1.{})",
        FIRST_WASM_MINOR
    )]
    NoWasm { reference: String },
    #[error("{}: {reason}", file.display())]
    ScenarioConfig { file: PathBuf, reason: String },
    #[error("cannot start the echo upstream for {service}: {source}")]
    Echo { service: String, source: std::io::Error },
    #[error("cannot make the development certificate for tls = true: {0}")]
    DevCert(String),
    #[error(transparent)]
    DevJwt(#[from] devjwt::Error),
    #[error("no free port on 127.0.0.1: {0}")]
    NoFreePort(std::io::Error),
    #[error("{}: {reason}", path.display())]
    CargoToml { path: PathBuf, reason: String },
    #[error("gw rendered an invalid {file}: {problems}")]
    Rendered { file: String, problems: String },
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error("{} {}; run `gw build` first", wasm.display(), if *stale { "is older than the sources" } else { "does not exist" })]
    NotBuilt { wasm: PathBuf, stale: bool },
    #[error(transparent)]
    Envoy(#[from] crate::envoy::Error),
    #[error(transparent)]
    Project(#[from] crate::project::Error),
    #[error("{0}")]
    Refused(Box<Refused>),
}

/// An Envoy of the topology refused the listener gw wrote for it.
#[derive(Debug)]
pub struct Refused {
    pub refusal: serving::Refusal,
    /// The filters in that listener: (name, where its configuration came from).
    pub filters: Vec<(String, String)>,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let r = &self.refusal;
        write!(f, "Envoy '{}' refused its listener: {}", r.envoy, r.reason)?;
        for line in &r.log {
            write!(f, "\n  {:>9} | {line}", r.envoy)?;
        }
        Ok(())
    }
}

use crate::diagnose::Diagnose;

impl Diagnose for Error {
    /// A problem with what the user wrote (exit code 2), not with running it.
    fn is_input(&self) -> bool {
        matches!(
            self,
            Error::Topology(_)
                | Error::CargoToml { .. }
                | Error::Rendered { .. }
                | Error::NoWasm { .. }
                | Error::ScenarioConfig { .. }
        ) || matches!(self, Error::Project(e) if e.is_input())
    }

    fn hint(&self) -> Option<String> {
        match self {
            Error::Project(e) => e.hint(),
            Error::Topology(_) => {
                Some("see docs/topology.md for the keys of [topology]; without the section gw runs the default".into())
            }
            Error::Rendered { .. } => Some("a value from gw.toml may be out of range for Envoy".into()),
            Error::NoWasm { .. } => Some(format!(
                "run it with `--envoy {}`, or pin a newer build in gw.toml with `gw use {}`",
                crate::project::DEFAULT_ENVOY_BUILD,
                crate::project::DEFAULT_ENVOY_BUILD
            )),
            Error::ScenarioConfig { .. } => {
                Some("fix the scenario file, or set the filter's config in gw.toml's [topology]".into())
            }
            Error::NoFreePort(_) => Some("set the ports in gw.toml's [topology] (port = ...)".into()),
            Error::Refused(refused) => Some(
                refused
                    .filters
                    .iter()
                    .map(|(name, origin)| format!("the filter '{name}' takes its configuration from {origin}"))
                    .collect::<Vec<_>>()
                    .join("\n  "),
            )
            .filter(|hint| !hint.is_empty()),
            Error::NotBuilt { .. } => {
                Some("or name the module to use: `gw push --wasm FILE`, `gw deploy cilium --module-url URL`".into())
            }
            Error::CargoToml { .. } => Some("gw reads the crate's name from Cargo.toml's [lib] or [package]".into()),
            Error::DevCert(_) => Some(
                "or give your own: tls = { cert = \"certs/gw.pem\", key = \"certs/gw.key\" } in [topology.front]"
                    .into(),
            ),
            Error::Io(_) | Error::Envoy(_) | Error::Echo { .. } | Error::DevJwt(_) => None,
        }
    }
}

/// The Envoy build a project's topology runs on: the one named (`--envoy`), else gw.toml's
/// `[envoy] build`, else gw's default; refused when it has no wasm filter.
pub fn envoy_build(project: &Project, named: Option<Reference>) -> Result<Reference, Error> {
    let reference = match named.or(project.envoy_build()?) {
        Some(reference) => reference,
        None => crate::project::DEFAULT_ENVOY_BUILD.parse().expect("the default build is a valid reference"),
    };
    let version = &reference.version;
    if reference.flavor == crate::builds::Flavor::Standard && version.major == 1 && version.minor < FIRST_WASM_MINOR {
        return Err(Error::NoWasm { reference: reference.to_string() });
    }
    Ok(reference)
}

/// The project's `[topology]`, defaults filled in and references checked.
pub fn load_spec(project: &Project) -> Result<Spec, Error> {
    project.gw_toml()?.topology.clone().complete().map_err(Error::Topology)
}

/// The project's part in its topology. Its module is where `gw build` puts it (named as cargo
/// names a cdylib); it need not exist yet.
pub fn project_module(project: &Project) -> Result<ProjectModule, Error> {
    let name = project.name()?;
    let template = project.template()?;
    let wasm = project.root.join(crate::toolchain::OUTPUT_DIR).join(format!("{}.wasm", library_name(project)?));
    Ok(ProjectModule {
        root: project.root.clone(),
        name,
        wasm,
        kind: FilterKind::of_template(template.as_deref()),
        default_config: scenario_config(&project.root)?,
    })
}

/// The project's module as `gw build` last wrote it; refused when missing or
/// older than a source, so what ships is the current code.
pub fn built_module(project: &Project) -> Result<ProjectModule, Error> {
    let module = project_module(project)?;
    let exists = module.wasm.is_file();
    if !exists || sources::is_stale(&module.wasm, sources::newest(&project.root)) {
        return Err(Error::NotBuilt { wasm: module.wasm, stale: exists });
    }
    Ok(module)
}

/// Cargo.toml's `[lib] name`, else the package name with `-` as `_`.
fn library_name(project: &Project) -> Result<String, Error> {
    let path = project.root.join("Cargo.toml");
    let text = fs_err::read_to_string(&path)?;
    let cargo: toml::Table =
        toml::from_str(&text).map_err(|e| Error::CargoToml { path: path.clone(), reason: e.to_string() })?;
    let get = |table: &str| cargo.get(table).and_then(|t| t.get("name")).and_then(|n| n.as_str());
    match get("lib").or_else(|| get("package")) {
        Some(name) => Ok(name.replace('-', "_")),
        None => Err(Error::CargoToml { path, reason: "has no [package] name".into() }),
    }
}

/// The `plugin_config` of the first scenario file whose filter is meant to start (files that
/// expect a start failure are there to prove the filter refuses a bad configuration), and
/// which file it came from.
fn scenario_config(root: &std::path::Path) -> Result<Option<(String, PathBuf)>, Error> {
    for file in crate::wasmhost::scenario::project_files(root) {
        let scenario = crate::wasmhost::Scenario::load(&file)
            .map_err(|e| Error::Topology(format!("reading the filter's configuration from {}: {e}", file.display())))?;
        if scenario.expect_start_failure {
            continue;
        }
        let config = String::from_utf8(scenario.plugin_config.0)
            .map_err(|_| Error::ScenarioConfig { file: file.clone(), reason: "plugin_config is not UTF-8".into() })?;
        return Ok(Some((config, file)));
    }
    Ok(None)
}

/// Renders and checks every file: a config Envoy would refuse never reaches a process.
pub fn render_checked(plan: &Plan) -> Result<Vec<File>, Error> {
    let files = render(plan);
    for file in &files {
        let schema = match file.schema {
            Schema::Bootstrap => crate::envoy_api::validate::BOOTSTRAP,
            Schema::Discovery => crate::envoy_api::validate::DISCOVERY_RESPONSE,
        };
        if let Err(problems) = crate::envoy_api::validate::validate_yaml_as(&file.yaml, schema) {
            let problems = problems.iter().map(|p| p.to_string()).collect::<Vec<_>>().join("; ");
            return Err(Error::Rendered { file: file.name.clone(), problems });
        }
    }
    Ok(files)
}
