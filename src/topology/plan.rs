//! gw.toml's `[topology]` + the project → a [`Plan`]: every port settled,
//! every module a file, every configuration in bytes.

use std::net::TcpListener;
use std::path::{Path, PathBuf};

use super::Error;
use super::devcert;
use super::policy::{Jwt, RateLimit};
use super::render::{Filter, FrontTls, Node, Plan, RoutePlan, ServiceNode};
use super::spec::{self, FilterKind, FilterSpec, PROJECT_MODULE, Spec, TlsSpec, Upstream};

/// What the project contributes: its module and what its filter is.
#[derive(Debug, Clone)]
pub struct ProjectModule {
    pub root: PathBuf,
    /// Envoy's name for the plugin (the project's name).
    pub name: String,
    /// The built `.wasm` (it need not exist yet for `gw render`).
    pub wasm: PathBuf,
    pub kind: FilterKind,
    /// Used where a filter gives no `config`: a scenario's `plugin_config`, and which file.
    pub default_config: Option<(String, PathBuf)>,
}

/// Settles a topology. `echo_port(service, n)` gives the port of an echo upstream started as
/// the service's endpoint `n` (from 1).
pub fn plan(
    spec: &Spec,
    project: &ProjectModule,
    echo_port: &mut dyn FnMut(&str, usize) -> Result<u16, Error>,
    listeners_dir: Option<PathBuf>,
    home: &Path,
) -> Result<Plan, Error> {
    let front = Node { port: port(spec.front.port)?, filters: filters(&spec.front.filters, project, "front")? };
    let mut services = Vec::new();
    for (i, service) in spec.services.iter().enumerate() {
        let at = format!("services[{i}]");
        let mut upstreams = Vec::new();
        for (j, endpoint) in service.endpoints().iter().enumerate() {
            upstreams.push(match spec::upstream(endpoint).map_err(Error::Topology)? {
                Upstream::Echo => ("127.0.0.1".to_string(), echo_port(&service.name, j + 1)?),
                Upstream::Address { host, port } => (host, port),
            });
        }
        services.push(ServiceNode {
            name: service.name.clone(),
            node: Node { port: port(service.port)?, filters: filters(&service.filters, project, &at)? },
            upstreams,
            lb: service.lb,
            policy: service.policy(&at).map_err(Error::Topology)?,
        });
    }
    let routes = routes(spec)?;
    let tls = front_tls(spec, &project.root, home)?;
    let jwt = front_jwt(spec, &project.root)?;
    // A run (listeners in its config directory) logs into its run directory; a render does not.
    let access_logs_dir = listeners_dir.as_ref().and_then(|dir| dir.parent()).map(Path::to_path_buf);
    let rate_limit = front_rate_limit(spec)?;
    Ok(Plan { front, services, routes, rate_limit, tls, jwt, access_logs_dir, listeners_dir, lab_front: None })
}

/// The front's JWT, its JWKS file checked against the project at `root`.
pub fn front_jwt(spec: &Spec, root: &Path) -> Result<Option<Jwt>, Error> {
    spec.front.jwt.as_ref().map(|j| j.check(root)).transpose().map_err(Error::Topology)
}

/// The front's rate limit, checked.
pub fn front_rate_limit(spec: &Spec) -> Result<Option<RateLimit>, Error> {
    spec.front.rate_limit.as_ref().map(|l| l.check("front.rate_limit")).transpose().map_err(Error::Topology)
}

/// The front's routes with their policies checked.
pub fn routes(spec: &Spec) -> Result<Vec<RoutePlan>, Error> {
    let mut routes = Vec::new();
    for (i, route) in spec.routes.iter().enumerate() {
        let policy = route.policy(&format!("routes[{i}]")).map_err(Error::Topology)?;
        routes.push(RoutePlan {
            prefix: route.prefix.clone(),
            targets: route.targets(),
            headers_match: route.headers_match.clone().into_iter().collect(),
            methods: methods(&route.methods, policy.cors.is_some()),
            policy,
            jwt: spec.front.jwt.is_some() && route.jwt != Some(false),
        });
    }
    Ok(routes)
}

/// The methods a route matches; a route with CORS also takes the browsers' preflight
/// (OPTIONS), which Envoy's CORS filter answers only on a route that matched.
fn methods(declared: &[String], cors: bool) -> Vec<String> {
    let mut methods = declared.to_vec();
    if cors && !methods.is_empty() && !methods.iter().any(|m| m == "OPTIONS") {
        methods.push("OPTIONS".into());
    }
    methods
}

/// The front's TLS files: gw's development certificate, or the project's own (which must exist).
fn front_tls(spec: &Spec, root: &Path, home: &Path) -> Result<Option<FrontTls>, Error> {
    let http2 = spec.front.http2;
    match &spec.front.tls {
        None | Some(TlsSpec::On(false)) => Ok(None),
        Some(TlsSpec::On(true)) => {
            let made = devcert::ensure(home)?;
            Ok(Some(FrontTls { cert: made.cert, key: made.key, ca: Some(made.ca), http2 }))
        }
        Some(TlsSpec::Files { cert, key }) => {
            let file = |key_name: &str, given: &str| {
                let path = absolute(root, given);
                if path.is_file() {
                    Ok(path)
                } else {
                    Err(Error::Topology(format!(
                        "front.tls.{key_name} = {given:?}: no such file ({}); or use tls = true for gw's development certificate",
                        path.display()
                    )))
                }
            };
            Ok(Some(FrontTls { cert: file("cert", cert)?, key: file("key", key)?, ca: None, http2 }))
        }
    }
}

/// The filters at `at` (`front`, `services[1]`) with their modules and configurations settled.
pub(crate) fn filters(specs: &[FilterSpec], project: &ProjectModule, at: &str) -> Result<Vec<Filter>, Error> {
    specs
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let own = f.wasm == PROJECT_MODULE;
            let wasm = if own { project.wasm.clone() } else { absolute(&project.root, &f.wasm) };
            if !own && !wasm.is_file() {
                return Err(Error::Topology(format!(
                    "{at}.filters[{i}].wasm = {:?}: no such file ({}); build it, or use wasm = \"project\"",
                    f.wasm,
                    wasm.display()
                )));
            }
            let name = match &f.name {
                Some(name) => name.clone(),
                None if own => project.name.clone(),
                None => wasm.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default(),
            };
            let (config, config_origin) = match (&f.config, &project.default_config) {
                (Some(config), _) => (config.clone(), format!("gw.toml [topology] {at}.filters[{i}].config")),
                (None, Some((config, file))) if own => {
                    let file = file.strip_prefix(&project.root).unwrap_or(file);
                    (config.clone(), format!("{} (its plugin_config)", file.display()))
                }
                (None, _) => (String::new(), format!("nowhere: gw.toml [topology] {at}.filters[{i}] has no config")),
            };
            Ok(Filter {
                kind: f.kind.unwrap_or(if own { project.kind } else { FilterKind::Http }),
                name,
                wasm,
                config,
                config_origin,
            })
        })
        .collect()
}

fn absolute(root: &Path, path: &str) -> PathBuf {
    let path = Path::new(path);
    if path.is_absolute() { path.to_path_buf() } else { root.join(path) }
}

/// The given port, or a free one on loopback.
fn port(given: Option<u16>) -> Result<u16, Error> {
    match given {
        Some(port) => Ok(port),
        None => free_port(),
    }
}

/// A port nothing listens on now, below the kernel's ephemeral range: the ports the Envoys'
/// admin endpoints (port 0) and outgoing connections get come from that range, so they never
/// take one gw picked before its Envoy binds it. Another process that binds this very port in
/// between still can; Envoy then refuses the listener and gw says so. Never the same port twice
/// in one gw.
pub fn free_port() -> Result<u16, Error> {
    static GIVEN: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    let mut given = GIVEN.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let (low, high) = (PORTS_FROM, ephemeral_start().saturating_sub(1));
    if high > low {
        let span = u32::from(high - low) + 1;
        let start = seed() % span;
        for i in 0..span.min(4096) {
            let port = low + u16::try_from((start + i) % span).unwrap_or(0);
            if !given.contains(&port) && TcpListener::bind(("127.0.0.1", port)).is_ok() {
                given.push(port);
                return Ok(port);
            }
        }
    }
    // No room below the ephemeral range: any port the kernel has free.
    let listener = TcpListener::bind(("127.0.0.1", 0)).map_err(Error::NoFreePort)?;
    let port = listener.local_addr().map(|a| a.port()).map_err(Error::NoFreePort)?;
    given.push(port);
    Ok(port)
}

/// Where gw's picks start: above the well-known and most registered services' ports.
const PORTS_FROM: u16 = 20000;

/// The first port of the kernel's ephemeral range (Linux's default when it cannot be read).
fn ephemeral_start() -> u16 {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|text| text.split_whitespace().next()?.parse().ok())
        .unwrap_or(32768)
}

/// A different starting point per call and per process, so that gws started together spread out.
fn seed() -> u32 {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    nanos ^ std::process::id().rotate_left(16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picked_ports_are_free_distinct_and_outside_the_ephemeral_range() {
        let ports: Vec<u16> = (0..50).map(|_| free_port().unwrap()).collect();
        for (i, port) in ports.iter().enumerate() {
            assert!((PORTS_FROM..ephemeral_start()).contains(port), "{port}");
            assert!(!ports[..i].contains(port), "{port} twice");
            TcpListener::bind(("127.0.0.1", *port)).unwrap();
        }
    }
}
