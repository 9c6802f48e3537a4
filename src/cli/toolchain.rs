//! Flags shared by `gw build` and `gw test`, and the toolchain they pick.

use std::path::PathBuf;

use clap::ValueEnum;

use crate::Result;
use crate::cli::Terminal;
use crate::docker::Docker;
use crate::env_vars;
use crate::project::Project;
use crate::toolchain::{BuilderImage, DockerToolchain, LocalToolchain, Toolchain};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Choice {
    /// cargo in gw's builder image (or --builder-image), through the Docker API
    Docker,
    /// the host's cargo and targets
    Local,
}

#[derive(Debug, clap::Args)]
pub struct ToolchainArgs {
    /// Where cargo runs (default: gw.toml's [build] toolchain, else docker).
    #[arg(long, value_enum)]
    toolchain: Option<Choice>,

    /// Build in this image instead of gw's builder image; it needs cargo and the project's targets.
    #[arg(long, env = env_vars::GW_BUILDER_IMAGE, value_name = "IMAGE")]
    builder_image: Option<String>,

    /// The base image gw's builder image is built from.
    #[arg(long, env = env_vars::GW_BUILDER_BASE, value_name = "IMAGE", default_value = crate::toolchain::DEFAULT_BASE)]
    builder_base: String,

    /// Do not pass the host's CA bundle and proxy variables into image builds and build containers.
    #[arg(long)]
    no_host_trust: bool,

    #[command(flatten)]
    docker: DockerHostArg,
}

/// `--docker-host`, for every command that talks to Docker.
#[derive(Debug, clap::Args)]
pub struct DockerHostArg {
    /// The Docker daemon, e.g. unix:///var/run/docker.sock (default: DOCKER_HOST, else the local socket).
    #[arg(long, env = env_vars::GW_DOCKER_HOST, value_name = "URL")]
    docker_host: Option<String>,
}

impl DockerHostArg {
    /// Connects to the daemon and pings it.
    pub fn connect(&self) -> std::result::Result<Docker, crate::toolchain::Error> {
        let host = self.docker_host.clone().or_else(|| std::env::var("DOCKER_HOST").ok().filter(|h| !h.is_empty()));
        Ok(Docker::connect(host.as_deref())?)
    }
}

const PROXY_VARS: [&str; 6] = ["HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy"];

impl ToolchainArgs {
    /// The toolchain for this project, ready to use (the builder image built if missing).
    pub fn toolchain(&self, project: &Project, terminal: &Terminal) -> Result<Box<dyn Toolchain>> {
        let configured = project.toolchain()?;
        let choice = match (self.toolchain, configured.as_deref()) {
            (Some(choice), _) => choice,
            (None, Some("local")) => Choice::Local,
            (None, _) => Choice::Docker,
        };
        if choice == Choice::Local {
            return Ok(Box::new(LocalToolchain));
        }
        let docker = self.docker.connect()?;
        let trust = !self.no_host_trust;
        let ca_bundle = trust.then(host_ca_bundle).flatten();
        let proxies = if trust {
            PROXY_VARS.iter().filter_map(|k| std::env::var(k).ok().map(|v| (k.to_string(), v))).collect()
        } else {
            Vec::new()
        };
        let image = match &self.builder_image {
            Some(tag) => BuilderImage::custom(tag),
            None => BuilderImage::gw(&self.builder_base, ca_bundle.is_some()),
        };
        let toolchain = DockerToolchain { docker, image, ca_bundle, proxies };
        let tag = toolchain.image.tag.clone();
        let mut announced = false;
        let built = toolchain.ensure_image(&self.builder_base, &mut |line| {
            if !announced {
                terminal.status(format!("building the builder image {tag} (once per gw version)"));
                announced = true;
            }
            terminal.detail(line);
        })?;
        if built {
            terminal.status(format!("built the builder image {tag}"));
        }
        Ok(Box::new(toolchain))
    }
}

/// The host's CA bundle: SSL_CERT_FILE if it names a file, else Debian's bundle.
fn host_ca_bundle() -> Option<PathBuf> {
    std::env::var_os("SSL_CERT_FILE")
        .map(PathBuf::from)
        .into_iter()
        .chain([PathBuf::from("/etc/ssl/certs/ca-certificates.crt")])
        .find(|p| p.is_file())
}
