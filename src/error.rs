//! The one error type commands return, and how it maps to exit codes:
//! 0 success, 1 the operation failed, 2 usage or input error.

use crate::{builds, download, envoy, k8s, oci, project, scaffold, settings, toolchain, topology, wasmhost};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Builds(#[from] builds::Error),
    #[error(transparent)]
    Default(#[from] builds::default::DefaultError),
    #[error(transparent)]
    Project(#[from] project::Error),
    #[error(transparent)]
    Settings(#[from] settings::Error),
    #[error(transparent)]
    Envoy(#[from] envoy::Error),
    #[error(transparent)]
    Toolchain(#[from] toolchain::Error),
    #[error(transparent)]
    Scaffold(#[from] scaffold::Error),
    #[error(transparent)]
    WasmHost(#[from] wasmhost::Error),
    #[error(transparent)]
    Validate(#[from] topology::validate::Error),
    #[error(transparent)]
    Topology(#[from] topology::Error),
    #[error(transparent)]
    Oci(#[from] oci::Error),
    #[error(transparent)]
    K8s(#[from] k8s::Error),
    #[error("no default build is set")]
    NoDefault,
    #[error("{reference} is a {flavor} build; {command} works with Envoy builds (flavors standard and cilium)")]
    NotEnvoy { reference: String, flavor: String, command: &'static str },
    #[error("{0}")]
    Io(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<download::Error> for Error {
    fn from(e: download::Error) -> Self {
        Error::Builds(e.into())
    }
}

impl Error {
    pub fn exit_code(&self) -> i32 {
        let input = match self {
            Error::Builds(e) => e.is_input(),
            Error::Default(builds::default::DefaultError::Builds(e)) => e.is_input(),
            Error::Toolchain(toolchain::Error::Project(_)) => true,
            Error::Toolchain(_) => false,
            Error::Scaffold(e) => e.is_input(),
            Error::WasmHost(e) => e.is_input(),
            Error::Topology(e) => e.is_input(),
            Error::Oci(e) => e.is_input(),
            Error::K8s(e) => e.is_input(),
            Error::Default(_)
            | Error::Project(_)
            | Error::Settings(_)
            | Error::Validate(_)
            | Error::NoDefault
            | Error::NotEnvoy { .. } => true,
            Error::Envoy(_) | Error::Io(_) => false,
        };
        if input { 2 } else { 1 }
    }

    /// Advice on its own line(s), separate from the message.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::Builds(e) => e.hint(),
            Error::Toolchain(e) => e.hint(),
            Error::Scaffold(e) => e.hint(),
            Error::WasmHost(e) => e.hint(),
            Error::Project(e) => e.hint(),
            Error::Topology(e) => e.hint(),
            Error::Oci(e) => e.hint(),
            Error::K8s(e) => e.hint(),
            Error::NoDefault => Some(
                "pick one with `gw use <ref>` (e.g. `gw use 1.36`), or name it: `gw run 1.36 -- <envoy args>`".into(),
            ),
            Error::NotEnvoy { .. } => Some("use `gw which <ref>` to find the binary and run it directly".into()),
            _ => None,
        }
    }
}
