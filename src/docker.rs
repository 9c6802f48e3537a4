//! The little gw needs from Docker, through bollard: ping, build an image
//! from a tar context, list and remove its volumes, run a container to completion with its
//! output streamed, read files out of it. Blocking on the outside, so callers stay simple.

use std::collections::HashMap;

use bollard::container::LogOutput;
use bollard::models::{ContainerCreateBody, HostConfig, Mount, MountTypeEnum, MountVolumeOptions};
use bollard::query_parameters::{
    BuildImageOptionsBuilder, DownloadFromContainerOptionsBuilder, ListVolumesOptionsBuilder, LogsOptionsBuilder,
    RemoveContainerOptionsBuilder, RemoveVolumeOptionsBuilder, WaitContainerOptionsBuilder,
};
use futures_util::StreamExt;

/// How many lines of a failed image build are shown.
const TAIL: usize = 25;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot reach the Docker daemon at {host}: {reason}")]
    Unreachable { host: String, reason: String },
    #[error("building image {tag} failed at {step}: {message}\n{tail}")]
    ImageBuild { tag: String, step: String, message: String, tail: String },
    #[error("Docker: {0}")]
    Api(String),
    #[error("interrupted; container {0} stopped and removed")]
    Interrupted(String),
    #[error("volume {0} is in use by a container")]
    VolumeInUse(String),
    #[error("the image {0} is not on this Docker daemon")]
    NoImage(String),
}

fn api(e: bollard::errors::Error) -> Error {
    Error::Api(e.to_string())
}

/// Which of a container's streams a chunk of output came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// The label every container and volume gw makes carries (`dev.gw.tool=gw`).
pub const TOOL_LABEL: (&str, &str) = ("dev.gw.tool", "gw");

/// A bind mount of a host path, or a named volume.
#[derive(Debug, Clone)]
pub enum Volume {
    Bind {
        host: String,
        container: String,
        read_only: bool,
    },
    /// Created on first use with `labels` (and [`TOOL_LABEL`]), so gw can find it again.
    Named {
        name: String,
        container: String,
        labels: Vec<(String, String)>,
    },
}

/// A volume gw made, as the daemon lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeInfo {
    pub name: String,
    pub labels: HashMap<String, String>,
}

/// One container run.
#[derive(Debug, Clone, Default)]
pub struct RunSpec {
    pub image: String,
    pub cmd: Vec<String>,
    pub env: Vec<String>,
    pub volumes: Vec<Volume>,
    /// `uid:gid`, so files written into bind mounts belong to the caller.
    pub user: Option<String>,
    pub workdir: Option<String>,
    /// Extra capabilities (e.g. for loading BPF programs).
    pub cap_add: Vec<String>,
    /// Labels besides [`TOOL_LABEL`], which every container gw makes carries.
    pub labels: Vec<(String, String)>,
}

pub struct Docker {
    client: bollard::Docker,
    host: String,
    runtime: tokio::runtime::Runtime,
}

impl Docker {
    /// Connects to `host` (`unix:///path` or `tcp://…`), or the local default, and pings it.
    /// Connects to `host` (see [`host`]; None: the local socket) and pings it.
    pub fn connect(host: Option<&str>) -> Result<Docker, Error> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::Api(e.to_string()))?;
        let name = host.unwrap_or(LOCAL_SOCKET).to_string();
        let unreachable = |reason: String| Error::Unreachable { host: name.clone(), reason };
        let client = match host {
            Some(h) if h.starts_with("unix://") => {
                bollard::Docker::connect_with_unix(h, 120, bollard::API_DEFAULT_VERSION)
            }
            Some(h) => bollard::Docker::connect_with_http(h, 120, bollard::API_DEFAULT_VERSION),
            None => bollard::Docker::connect_with_local_defaults(),
        }
        .map_err(|e| unreachable(e.to_string()))?;
        runtime.block_on(client.ping()).map_err(|e| unreachable(e.to_string()))?;
        Ok(Docker { client, host: name, runtime })
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    pub fn image_exists(&self, tag: &str) -> Result<bool, Error> {
        match self.runtime.block_on(self.client.inspect_image(tag)) {
            Ok(_) => Ok(true),
            Err(bollard::errors::Error::DockerResponseServerError { status_code: 404, .. }) => Ok(false),
            Err(e) => Err(api(e)),
        }
    }

    /// The volumes gw made that carry `label` (`key` or `key=value`).
    pub fn volumes(&self, label: &str) -> Result<Vec<VolumeInfo>, Error> {
        let filters = HashMap::from([("label", vec![tool_label(), label.to_string()])]);
        let options = ListVolumesOptionsBuilder::default().filters(&filters).build();
        let listed = self.runtime.block_on(self.client.list_volumes(Some(options))).map_err(api)?;
        let mut volumes: Vec<VolumeInfo> = listed
            .volumes
            .unwrap_or_default()
            .into_iter()
            .map(|v| VolumeInfo { name: v.name, labels: v.labels })
            .collect();
        volumes.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(volumes)
    }

    pub fn volume_exists(&self, name: &str) -> Result<bool, Error> {
        match self.runtime.block_on(self.client.inspect_volume(name)) {
            Ok(_) => Ok(true),
            Err(bollard::errors::Error::DockerResponseServerError { status_code: 404, .. }) => Ok(false),
            Err(e) => Err(api(e)),
        }
    }

    /// Removes the volume `name`; false when there was none.
    pub fn remove_volume(&self, name: &str) -> Result<bool, Error> {
        let options = RemoveVolumeOptionsBuilder::default().build();
        match self.runtime.block_on(self.client.remove_volume(name, Some(options))) {
            Ok(()) => Ok(true),
            Err(bollard::errors::Error::DockerResponseServerError { status_code: 404, .. }) => Ok(false),
            Err(bollard::errors::Error::DockerResponseServerError { status_code: 409, .. }) => {
                Err(Error::VolumeInUse(name.to_string()))
            }
            Err(e) => Err(api(e)),
        }
    }

    /// Builds `tag` from a tar build context, passing each output line to `on_line`.
    pub fn build_image(
        &self,
        tag: &str,
        context: Vec<u8>,
        build_args: &HashMap<String, String>,
        on_line: &mut dyn FnMut(&str),
    ) -> Result<(), Error> {
        let options = BuildImageOptionsBuilder::default()
            .dockerfile("Dockerfile")
            .t(tag)
            .rm(true)
            .forcerm(true)
            .buildargs(build_args)
            .build();
        self.runtime.block_on(async {
            let mut stream = self.client.build_image(options, None, Some(bollard::body_full(context.into())));
            let mut log: Vec<String> = Vec::new();
            let mut step = String::from("the first step");
            while let Some(item) = stream.next().await {
                let info = item.map_err(|e| self.build_failure(tag, &step, e.to_string(), &log))?;
                if let Some(text) = info.stream.as_deref() {
                    for line in text.lines().filter(|l| !l.trim().is_empty()) {
                        if line.starts_with("Step ") {
                            step = line.to_string();
                        }
                        on_line(line);
                        log.push(line.to_string());
                    }
                }
                if let Some(message) = info.error {
                    return Err(self.build_failure(tag, &step, message, &log));
                }
            }
            Ok(())
        })
    }

    fn build_failure(&self, tag: &str, step: &str, message: String, log: &[String]) -> Error {
        let tail = log[log.len().saturating_sub(TAIL)..].join("\n");
        Error::ImageBuild { tag: tag.to_string(), step: step.to_string(), message: message.trim().to_string(), tail }
    }

    /// Runs a container to completion, streaming its output; returns its exit
    /// code. Ctrl-C stops and removes it. The container is removed either way.
    pub fn run(&self, spec: &RunSpec, on_output: &mut dyn FnMut(Stream, &[u8])) -> Result<i64, Error> {
        self.run_then(spec, on_output, |exited| exited.code)
    }

    /// As [`Docker::run`], and `then` may read files out of the exited
    /// container (its volumes included) before it is removed: one container
    /// per job, since starting one costs more than reading from it.
    pub fn run_then<T>(
        &self,
        spec: &RunSpec,
        on_output: &mut dyn FnMut(Stream, &[u8]),
        then: impl FnOnce(&Exited<'_>) -> T,
    ) -> Result<T, Error> {
        let body = create_body(spec);
        let created = self
            .runtime
            .block_on(self.client.create_container(None::<bollard::query_parameters::CreateContainerOptions>, body))
            .map_err(|e| match e {
                bollard::errors::Error::DockerResponseServerError { status_code: 404, .. } => {
                    Error::NoImage(spec.image.clone())
                }
                other => api(other),
            })?;
        let id = created.id;
        let outcome = self.runtime.block_on(async {
            tokio::select! {
                result = self.follow(&id, on_output) => result,
                _ = tokio::signal::ctrl_c() => Err(Error::Interrupted(id[..12].to_string())),
            }
        });
        let result = outcome.map(|code| then(&Exited { docker: self, id: &id, code }));
        let remove = RemoveContainerOptionsBuilder::default().force(true).build();
        let removed = self.runtime.block_on(self.client.remove_container(&id, Some(remove)));
        let value = result?;
        removed.map_err(api)?;
        Ok(value)
    }

    async fn follow(&self, id: &str, on_output: &mut dyn FnMut(Stream, &[u8])) -> Result<i64, Error> {
        self.client.start_container(id, None::<bollard::query_parameters::StartContainerOptions>).await.map_err(api)?;
        let logs = LogsOptionsBuilder::default().follow(true).stdout(true).stderr(true).build();
        let mut output = self.client.logs(id, Some(logs));
        while let Some(chunk) = output.next().await {
            match chunk.map_err(api)? {
                LogOutput::StdOut { message } | LogOutput::Console { message } => on_output(Stream::Stdout, &message),
                LogOutput::StdErr { message } => on_output(Stream::Stderr, &message),
                LogOutput::StdIn { .. } => {}
            }
        }
        let wait = WaitContainerOptionsBuilder::default().condition("not-running").build();
        let mut waits = self.client.wait_container(id, Some(wait));
        match waits.next().await {
            Some(Ok(response)) => Ok(response.status_code),
            Some(Err(bollard::errors::Error::DockerContainerWaitError { code, .. })) => Ok(code),
            Some(Err(e)) => Err(api(e)),
            None => Err(Error::Api(format!("no exit status for container {id}"))),
        }
    }
}

/// A container that has run to its end and is not yet removed.
pub struct Exited<'a> {
    docker: &'a Docker,
    id: &'a str,
    pub code: i64,
}

impl Exited<'_> {
    /// The contents of the regular file at `path` inside the container.
    pub fn read_file(&self, path: &str) -> Result<Vec<u8>, Error> {
        let failed =
            |reason: String| Error::Api(format!("reading {path} out of container {}: {reason}", &self.id[..12]));
        let options = DownloadFromContainerOptionsBuilder::default().path(path).build();
        let archive = self.docker.runtime.block_on(async {
            let mut stream = self.docker.client.download_from_container(self.id, Some(options));
            let mut archive = Vec::new();
            while let Some(chunk) = stream.next().await {
                archive.extend_from_slice(&chunk.map_err(|e| failed(e.to_string()))?);
            }
            Ok::<_, Error>(archive)
        })?;
        // The archive holds the one file, under its base name.
        let mut archive = tar::Archive::new(archive.as_slice());
        let mut entries = archive.entries().map_err(|e| failed(e.to_string()))?;
        match entries.next() {
            Some(Ok(mut entry)) if entry.header().entry_type().is_file() => {
                let mut bytes = Vec::with_capacity(entry.size() as usize);
                std::io::Read::read_to_end(&mut entry, &mut bytes).map_err(|e| failed(e.to_string()))?;
                Ok(bytes)
            }
            Some(Err(e)) => Err(failed(e.to_string())),
            _ => Err(failed("not a regular file".to_string())),
        }
    }
}

fn with_tool_label(labels: &[(String, String)]) -> HashMap<String, String> {
    let (key, value) = TOOL_LABEL;
    labels.iter().cloned().chain([(key.to_string(), value.to_string())]).collect()
}

fn tool_label() -> String {
    format!("{}={}", TOOL_LABEL.0, TOOL_LABEL.1)
}

fn create_body(spec: &RunSpec) -> ContainerCreateBody {
    let mounts = spec
        .volumes
        .iter()
        .map(|v| match v {
            Volume::Bind { host, container, read_only } => Mount {
                typ: Some(MountTypeEnum::BIND),
                source: Some(host.clone()),
                target: Some(container.clone()),
                read_only: Some(*read_only),
                ..Default::default()
            },
            Volume::Named { name, container, labels } => Mount {
                typ: Some(MountTypeEnum::VOLUME),
                source: Some(name.clone()),
                target: Some(container.clone()),
                volume_options: Some(MountVolumeOptions {
                    labels: Some(with_tool_label(labels)),
                    ..Default::default()
                }),
                ..Default::default()
            },
        })
        .collect();
    ContainerCreateBody {
        image: Some(spec.image.clone()),
        cmd: Some(spec.cmd.clone()),
        env: Some(spec.env.clone()),
        user: spec.user.clone(),
        working_dir: spec.workdir.clone(),
        labels: Some(with_tool_label(&spec.labels)),
        host_config: Some(HostConfig {
            mounts: Some(mounts),
            cap_add: (!spec.cap_add.is_empty()).then(|| spec.cap_add.clone()),
            init: Some(true),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// The Docker daemon gw talks to: `given` (`--docker-host`, or GW_DOCKER_HOST through clap),
/// else DOCKER_HOST, else None for the local socket. Empty values count as unset.
pub fn host(given: Option<String>) -> Option<String> {
    given.filter(|h| !h.trim().is_empty()).or_else(|| crate::env_vars::value(&crate::env_vars::DOCKER_HOST))
}

/// The daemon's address as gw shows it: the configured one, else the local socket.
pub fn host_or_local(given: Option<String>) -> String {
    host(given).unwrap_or_else(|| LOCAL_SOCKET.to_string())
}

pub const LOCAL_SOCKET: &str = "unix:///var/run/docker.sock";
