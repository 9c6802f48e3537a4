//! Building and testing a project: the same cargo invocation through two
//! toolchains, Docker (the builder image, through bollard) and the local one.

mod cargo;
pub mod clean;
mod container;
mod image;
mod local;

use std::io::Write;
use std::path::PathBuf;

pub use container::DockerToolchain;
pub use image::{BuilderImage, DEFAULT_BASE, RECIPE};
pub use local::{LocalToolchain, missing_for};

use crate::download::Sha256;
use crate::project::{self, Kind};

/// Where build outputs are copied, inside the project.
pub const OUTPUT_DIR: &str = "target/gw";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    Release,
    Debug,
}

/// One build or test of one project.
pub struct Job {
    pub root: PathBuf,
    pub name: String,
    pub kind: Kind,
    pub profile: Profile,
    /// Whether cargo may colour its output (it is shown on a terminal).
    pub color: bool,
}

impl Job {
    pub fn for_project(project: &project::Project, profile: Profile, color: bool) -> Result<Job, Error> {
        Ok(Job { root: project.root.clone(), name: project.name()?, kind: project.kind()?, profile, color })
    }
}

/// What a build output is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The proxy-wasm module.
    Wasm,
    /// The eBPF object the loader embeds.
    BpfObject,
    /// The user-space program that loads the eBPF object.
    Loader,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Wasm => "wasm module",
            Role::BpfObject => "eBPF object",
            Role::Loader => "loader",
        }
    }
}

/// A build output, copied to `target/gw/` in the project.
#[derive(Debug, Clone)]
pub struct Artifact {
    pub role: Role,
    pub path: PathBuf,
    pub size: u64,
    pub sha256: Sha256,
}

/// How cargo ended. A failure's output was already shown; only its code is kept.
#[derive(Debug)]
pub enum Cargo<T> {
    Done(T),
    Failed(i32),
}

pub trait Toolchain {
    /// `cargo build` for the project's kind, then its outputs copied to `target/gw/`.
    fn build(&self, job: &Job, echo: &mut dyn Write) -> Result<Cargo<Vec<Artifact>>, Error>;
    /// `cargo test` on the host target.
    fn test(&self, job: &Job, echo: &mut dyn Write) -> Result<Cargo<()>, Error>;
    /// Runs gw itself where it may load BPF programs though its caller is not root; gw's
    /// exit code, or `None` when this toolchain has no such place.
    fn privileged_gw(
        &self,
        _run: &PrivilegedGw,
        _out: &mut dyn Write,
        _err: &mut dyn Write,
    ) -> Result<Option<i32>, Error> {
        Ok(None)
    }
}

/// `gw ARGS` in a container with the capabilities BPF needs (the builder image, as root).
pub struct PrivilegedGw {
    /// The gw executable, mounted into the container.
    pub gw: PathBuf,
    pub args: Vec<String>,
    /// The working directory, here and there (paths mean the same on both sides).
    pub cwd: PathBuf,
    /// Directories and files gw reads, mounted read-only at their own paths.
    pub reads: Vec<PathBuf>,
    /// A directory gw writes into, mounted read-write at its own path.
    pub writes: Option<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Docker(#[from] crate::docker::Error),
    #[error(transparent)]
    Project(#[from] project::Error),
    #[error("{what} is missing for the local toolchain")]
    Missing { what: String, fix: String },
    #[error("could not run {program}: {source}")]
    Spawn { program: String, source: std::io::Error },
    #[error("cargo reported no {role} for {name}; is it a {kind} project?", role = role.as_str(), kind = kind.as_str())]
    NoArtifact { role: Role, name: String, kind: Kind },
    #[error("cannot read cargo's output: {0}")]
    Cargo(String),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

impl crate::diagnose::Diagnose for Error {
    /// A project that is not one (a bad gw.toml), or a builder image that does not exist, is
    /// the input's fault; a build that fails is not.
    fn is_input(&self) -> bool {
        matches!(self, Error::Project(e) if e.is_input())
            || matches!(self, Error::Docker(crate::docker::Error::NoImage(_)))
    }

    fn hint(&self) -> Option<String> {
        match self {
            Error::Docker(crate::docker::Error::Unreachable { .. }) => Some(
                "start the Docker daemon (Debian: `apt-get install docker.io && dockerd &`; elsewhere Docker Desktop), \
                 set GW_DOCKER_HOST, or build with the host's tools: --toolchain local"
                    .into(),
            ),
            Error::Docker(crate::docker::Error::NoImage(image)) => Some(format!(
                "pull or build {image} (`docker pull {image}`), or leave --builder-image and GW_BUILDER_IMAGE unset \
                 to build in gw's own builder image"
            )),
            Error::Docker(crate::docker::Error::VolumeInUse(_)) => {
                Some("stop the `gw build`, `gw test` or `gw run` of that project, then clean again".into())
            }
            Error::Missing { fix, .. } => Some(format!("fix: {fix}; or use --toolchain docker")),
            Error::Project(e) => e.hint(),
            _ => None,
        }
    }
}
