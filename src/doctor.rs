//! `gw doctor`'s findings: what is installed, what is missing, how to fix it.
//! Gathered here as data; the CLI shows them.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use crate::builds;
use crate::env_vars;
use crate::oci;
use crate::project::Kind;
use crate::settings::Settings;
use crate::toolchain;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ok,
    Note,
    Missing,
}

#[derive(Debug, Clone)]
pub struct Finding {
    pub topic: &'static str,
    pub status: Status,
    pub detail: String,
    /// The command or step that fixes a missing piece.
    pub fix: Option<String>,
}

fn found(topic: &'static str, status: Status, detail: impl Into<String>, fix: Option<String>) -> Finding {
    Finding { topic, status, detail: detail.into(), fix }
}

pub fn examine(settings: &Settings) -> Vec<Finding> {
    let mut out = Vec::new();
    let home = settings.layout.home();
    out.push(if home.is_dir() {
        found("GW_HOME", Status::Ok, home.display().to_string(), None)
    } else {
        found("GW_HOME", Status::Note, format!("{} (created on first fetch)", home.display()), None)
    });
    out.push(match settings.platform {
        Some(p) => found("platform", Status::Ok, p.to_string(), None),
        None => found(
            "platform",
            Status::Missing,
            "this machine has no builds",
            Some(format!("set {}", env_vars::GW_PLATFORM.name)),
        ),
    });
    out.push(found("envoy index", Status::Ok, settings.sources.envoy_index.clone(), None));
    let pypi = &settings.sources.pypi;
    out.push(found("package index", Status::Ok, format!("{} (from {})", pypi.display(), pypi.origin), None));
    out.push(found("envoy sources", Status::Ok, format!("{} (in this order)", settings.sources.order), None));
    match builds::installed_builds(&settings.layout) {
        Ok(list) if list.is_empty() => {
            out.push(found("builds", Status::Note, "none installed", Some("gw fetch 1.36".into())))
        }
        Ok(list) => {
            let names: Vec<String> = list.iter().map(|b| b.build.to_string()).collect();
            out.push(found("builds", Status::Ok, names.join(", "), None));
        }
        Err(e) => out.push(found("builds", Status::Missing, e.to_string(), None)),
    }
    match crate::settings::default_build::get(&settings.layout, settings.project.as_ref()) {
        Ok(Some((reference, origin))) => {
            out.push(found("default", Status::Ok, format!("{reference} (from {})", origin.path().display()), None))
        }
        Ok(None) => out.push(found("default", Status::Note, "none", Some("gw use 1.36".into()))),
        Err(e) => out.push(found("default", Status::Missing, e.to_string(), None)),
    }
    out.push(match &settings.project {
        Some(p) => found("project", Status::Ok, p.root.display().to_string(), None),
        None => found("project", Status::Note, "not inside a project (no gw.toml here or above)", None),
    });
    let proxies: Vec<String> = env_vars::PROXIES
        .iter()
        .flat_map(|(var, lower)| [var.name, *lower])
        .filter_map(|name| env_vars::named(name).map(|v| format!("{name}={v}")))
        .collect();
    out.push(if proxies.is_empty() {
        found("proxy", Status::Note, "none set (HTTPS_PROXY, HTTP_PROXY, NO_PROXY)", None)
    } else {
        found("proxy", Status::Ok, proxies.join(" "), None)
    });
    out.push(match crate::download::trust::cert_file() {
        Some(path) if path.is_file() => {
            found("CA bundle", Status::Ok, format!("system trust store plus SSL_CERT_FILE={}", path.display()), None)
        }
        Some(path) => found(
            "CA bundle",
            Status::Missing,
            format!("SSL_CERT_FILE={} does not exist", path.display()),
            Some("point SSL_CERT_FILE at a PEM bundle, or unset it".into()),
        ),
        None => found("CA bundle", Status::Ok, "system trust store", None),
    });
    out.extend(registries(settings));
    out.push(docker());
    out.extend(local_toolchain());
    out.push(match crate::k8s::kubectl::client_version() {
        Some(version) => found("kubectl", Status::Ok, format!("{version}, for `gw deploy … --apply`"), None),
        None => found(
            "kubectl",
            Status::Note,
            "not found (only `gw deploy … --apply` needs it)",
            Some("install kubectl: https://kubernetes.io/docs/tasks/tools/".into()),
        ),
    });
    out.push(match crate::lab::netns::ip_version() {
        Some(version) => found("ip", Status::Ok, format!("{version}, for `gw run`'s eBPF lab"), None),
        None => found(
            "ip",
            Status::Note,
            "not found (only `gw run` in an eBPF project needs it)",
            Some("install iproute2 (`apt-get install iproute2`)".into()),
        ),
    });
    out
}

/// Where image builds come from, and which registry logins gw would use.
fn registries(settings: &Settings) -> Vec<Finding> {
    let images = match &settings.sources.registry_mirror {
        Some(mirror) => format!("{mirror} (GW_REGISTRY_MIRROR) for envoyproxy/envoy and cilium/cilium-envoy"),
        None => "docker.io/envoyproxy/envoy, quay.io/cilium/cilium-envoy".into(),
    };
    let logins = match oci::LoginSources::read() {
        Ok(None) => found(
            "logins",
            Status::Note,
            "no Docker config.json; anonymous pulls only",
            Some("docker login <registry>".into()),
        ),
        Ok(Some(sources)) => {
            let mut parts = Vec::new();
            if !sources.inline.is_empty() {
                parts.push(sources.inline.join(", "));
            }
            if !sources.helpers.is_empty() {
                parts.push(format!("helpers for {}", sources.helpers.join(", ")));
            }
            if let Some(store) = &sources.store {
                parts.push(format!("credsStore docker-credential-{store}"));
            }
            if parts.is_empty() {
                parts.push("none".into());
            }
            found("logins", Status::Ok, format!("{} (from {})", parts.join("; "), sources.path.display()), None)
        }
        Err(e) => found(
            "logins",
            Status::Missing,
            e.to_string(),
            Some("fix or remove the file; `docker login` rewrites it".into()),
        ),
    };
    vec![found("images", Status::Ok, images, None), logins]
}

/// What `--toolchain local` needs for each kind of project.
fn local_toolchain() -> Vec<Finding> {
    let mut out = Vec::new();
    for (topic, kind) in [("local wasm", Kind::ProxyWasm), ("local eBPF", Kind::Ebpf)] {
        out.push(match toolchain::missing_for(kind) {
            None => found(
                topic,
                Status::Ok,
                format!("ready for `gw build --toolchain local` ({} projects)", kind.as_str()),
                None,
            ),
            Some(toolchain::Error::Missing { what, fix }) => {
                found(topic, Status::Note, format!("{what} is missing (Docker builds do not need it)"), Some(fix))
            }
            Some(other) => found(topic, Status::Missing, other.to_string(), None),
        });
    }
    out
}
/// Whether a Docker daemon answers `/_ping` on its socket.
fn docker() -> Finding {
    let host = crate::docker::host_or_local(env_vars::value(&env_vars::GW_DOCKER_HOST));
    let fix = Some(
        "install and start Docker (Debian: apt-get install docker.io && dockerd &), or build with --toolchain local"
            .to_string(),
    );
    let Some(socket) = host.strip_prefix("unix://") else {
        return found("docker", Status::Note, format!("{host} (not checked: only unix sockets are probed)"), None);
    };
    match ping(socket) {
        Ok(()) => found("docker", Status::Ok, format!("daemon answers at {host}"), None),
        Err(e) => found("docker", Status::Missing, format!("no daemon at {host}: {e}"), fix),
    }
}

fn ping(socket: &str) -> std::io::Result<()> {
    let mut stream = UnixStream::connect(socket)?;
    stream.set_read_timeout(Some(Duration::from_secs(2)))?;
    stream.write_all(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")?;
    let mut reply = String::new();
    stream.read_to_string(&mut reply)?;
    if reply.starts_with("HTTP/1.") && reply.contains(" 200 ") {
        Ok(())
    } else {
        Err(std::io::Error::other(format!("unexpected answer: {}", reply.lines().next().unwrap_or(""))))
    }
}
