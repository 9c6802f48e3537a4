//! The one error type commands return, and how it maps to exit codes:
//! 0 success, 1 the operation failed, 2 usage or input error.

use crate::diagnose::Diagnose;
use crate::{
    builds, download, envoy, envoy_api, k8s, lab, oci, project, scaffold, settings, toolchain, topology, wasmhost,
};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Builds(#[from] builds::Error),
    #[error(transparent)]
    Default(#[from] settings::default_build::DefaultError),
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
    Validate(#[from] envoy_api::validate::Error),
    #[error(transparent)]
    Topology(#[from] topology::Error),
    #[error(transparent)]
    Oci(#[from] oci::Error),
    #[error(transparent)]
    Lab(#[from] lab::Error),
    #[error(transparent)]
    K8s(#[from] k8s::Error),
    #[error(transparent)]
    Cli(#[from] CliError),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// What the command line itself gets wrong, before any domain code runs.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("no default build is set")]
    NoDefault,
    #[error("{reference} is a {flavor} build; {command} works with Envoy builds (flavors standard and cilium)")]
    NotEnvoy { reference: String, flavor: String, command: &'static str },
    #[error("{flags} run a project's topology: use them inside a proxy-wasm project, without a REF or Envoy arguments")]
    ProjectOnly { flags: &'static str },
    #[error("{flags} are for proxy-wasm projects; an eBPF project's `gw run` makes a network lab")]
    ProxyWasmOnly { flags: &'static str },
    #[error("{flags} are for an eBPF project's lab: use them inside an eBPF project, without a REF")]
    EbpfOnly { flags: &'static str },
    #[error("--kernel docker runs gw in the builder image, and this project builds with the local toolchain")]
    KernelInDocker,
    #[error("{command} --envoy names no build, and no default Envoy build is installed")]
    NoEnvoyBuild { command: &'static str },
}

impl Diagnose for CliError {
    fn is_input(&self) -> bool {
        true
    }

    fn hint(&self) -> Option<String> {
        match self {
            CliError::NoDefault => Some(
                "pick one with `gw use <ref>` (e.g. `gw use 1.36`), or name it: `gw run 1.36 -- <envoy args>`".into(),
            ),
            CliError::NotEnvoy { .. } => Some("use `gw which <ref>` to find the binary and run it directly".into()),
            CliError::ProjectOnly { .. } => Some("`gw init` makes a project; `gw run --help` shows both forms".into()),
            CliError::KernelInDocker => {
                Some("add --toolchain docker, or run gw test as root with --kernel native".into())
            }
            CliError::ProxyWasmOnly { .. } | CliError::EbpfOnly { .. } => {
                Some("`gw run --help` says which flags go with which kind of project".into())
            }
            CliError::NoEnvoyBuild { command } => Some(format!(
                "name one (`{command} --envoy 1.40`, fetched if needed), or set a default with `gw use 1.40`"
            )),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<download::Error> for Error {
    fn from(e: download::Error) -> Self {
        Error::Builds(e.into())
    }
}

impl Error {
    /// The error that says what it is: its own exit code class and hint.
    fn diagnosis(&self) -> &dyn Diagnose {
        match self {
            Error::Builds(e) => e,
            Error::Default(e) => e,
            Error::Project(e) => e,
            Error::Settings(e) => e,
            Error::Envoy(e) => e,
            Error::Toolchain(e) => e,
            Error::Scaffold(e) => e,
            Error::WasmHost(e) => e,
            Error::Validate(e) => e,
            Error::Topology(e) => e,
            Error::Oci(e) => e,
            Error::Lab(e) => e,
            Error::K8s(e) => e,
            Error::Cli(e) => e,
            Error::Io(e) => e,
        }
    }

    /// 2 when the input was at fault, else 1.
    pub fn exit_code(&self) -> i32 {
        if self.diagnosis().is_input() { 2 } else { 1 }
    }

    /// Advice on its own line(s), separate from the message.
    pub fn hint(&self) -> Option<String> {
        self.diagnosis().hint()
    }
}
