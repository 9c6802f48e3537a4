//! Flags shared by `gw build` and `gw test`, and the toolchain they pick.

use clap::ValueEnum;

use crate::Result;
use crate::cli::Terminal;
use crate::docker::Docker;
use crate::env_vars;
use crate::project::{BuildToolchain, Project};
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
    #[arg(long, env = env_vars::GW_BUILDER_IMAGE.name, value_name = "IMAGE")]
    builder_image: Option<String>,

    /// The base image gw's builder image is built from.
    #[arg(long, env = env_vars::GW_BUILDER_BASE.name, value_name = "IMAGE", default_value = crate::toolchain::DEFAULT_BASE)]
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
    #[arg(long, env = env_vars::GW_DOCKER_HOST.name, value_name = "URL")]
    docker_host: Option<String>,
}

impl DockerHostArg {
    /// Connects to the daemon and pings it.
    pub fn connect(&self) -> std::result::Result<Docker, crate::toolchain::Error> {
        Ok(Docker::connect(crate::docker::host(self.docker_host.clone()).as_deref())?)
    }
}

impl ToolchainArgs {
    /// The toolchain for this project, ready to use (the builder image built if missing).
    pub fn toolchain(&self, project: &Project, terminal: &Terminal) -> Result<Box<dyn Toolchain>> {
        let configured = project.toolchain()?;
        let choice = match (self.toolchain, configured) {
            (Some(choice), _) => choice,
            (None, Some(BuildToolchain::Local)) => Choice::Local,
            (None, _) => Choice::Docker,
        };
        if choice == Choice::Local {
            return Ok(Box::new(LocalToolchain));
        }
        let docker = self.docker.connect()?;
        let trust = !self.no_host_trust;
        let ca_bundle = trust.then(crate::download::trust::host_bundle).flatten();
        let proxies = if trust {
            env_vars::PROXIES
                .iter()
                .flat_map(|(var, lower)| [var.name, *lower])
                .filter_map(|name| env_vars::named(name).map(|v| (name.to_string(), v)))
                .collect()
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
