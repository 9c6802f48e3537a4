//! `[topology]` in gw.toml: the front listener, routes, services and where
//! the filters sit. Absent parts take the default every proxy-wasm template
//! starts with: the project's filter on the front, `/service/1` and
//! `/service/2` each to a service Envoy in front of an echo upstream.

use serde::Deserialize;

use super::policy::{self, HeadersSpec, RateLimitSpec, RetriesSpec};

/// The front Envoy's name: its config file, its listener, its run directory.
pub const FRONT: &str = "front";

/// `wasm = "project"`: the module this project builds.
pub const PROJECT_MODULE: &str = "project";
/// `upstream = "echo"`: gw's built-in echo server.
pub const ECHO: &str = "echo";

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    #[serde(default)]
    pub front: Front,
    #[serde(default)]
    pub routes: Vec<RouteSpec>,
    #[serde(default)]
    pub services: Vec<ServiceSpec>,
    /// An eBPF project in front of the gateway: `gw run` starts the topology inside its lab.
    pub ebpf: Option<EbpfSpec>,
}

/// `[topology.ebpf]`: L3/L4 in the kernel before L7 in Envoy.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EbpfSpec {
    /// The eBPF project's directory, relative to this project's (e.g. `"../firewall"`).
    pub project: std::path::PathBuf,
    /// Clients the program drops, by IPv4 address: put into `deny_map` when the lab starts, and
    /// denied by `gw deploy cilium`'s CiliumNetworkPolicy.
    #[serde(default)]
    pub deny: Vec<String>,
    /// The program's hash map of denied addresses (default: BLOCKLIST, the xdp template's).
    pub deny_map: Option<String>,
}

impl EbpfSpec {
    /// The map `deny` goes into.
    pub fn deny_map(&self) -> &str {
        self.deny_map.as_deref().unwrap_or("BLOCKLIST")
    }

    /// `deny`, each an IPv4 address; an error names the entry.
    pub fn denied(&self) -> Result<Vec<std::net::Ipv4Addr>, String> {
        let mut addresses = Vec::new();
        for (i, text) in self.deny.iter().enumerate() {
            let address = text.parse().map_err(|_| {
                format!("ebpf.deny[{i}] = {text:?} is not an IPv4 address; the program's map holds addresses, e.g. \"10.200.1.2\"")
            })?;
            if !addresses.contains(&address) {
                addresses.push(address);
            }
        }
        Ok(addresses)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Front {
    /// The listener's port; picked free when absent.
    pub port: Option<u16>,
    #[serde(default = "project_filter")]
    pub filters: Vec<FilterSpec>,
    /// A local rate limit on everything the front serves.
    pub rate_limit: Option<RateLimitSpec>,
    /// HTTPS on the front: `true` (gw's development certificate) or your files.
    pub tls: Option<TlsSpec>,
    /// HTTP/2: by ALPN with TLS, by prior knowledge (h2c) without.
    #[serde(default)]
    pub http2: bool,
    /// A JWT every route requires, unless it says `jwt = false`.
    pub jwt: Option<policy::JwtSpec>,
}

impl Default for Front {
    fn default() -> Self {
        Front { port: None, filters: project_filter(), rate_limit: None, tls: None, http2: false, jwt: None }
    }
}

/// `tls = true`, or `tls = { cert = "certs/gw.pem", key = "certs/gw.key" }`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum TlsSpec {
    On(bool),
    Files { cert: String, key: String },
}

fn project_filter() -> Vec<FilterSpec> {
    vec![FilterSpec { wasm: PROJECT_MODULE.into(), kind: None, config: None, name: None }]
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteSpec {
    pub prefix: String,
    /// The service, or `services`: weighted ones (a split, e.g. a canary).
    pub service: Option<String>,
    #[serde(default)]
    pub services: Vec<WeightedService>,
    /// Only requests with these headers (exact values) take this route (A/B routing).
    #[serde(default)]
    pub headers_match: std::collections::BTreeMap<String, String>,
    /// Only requests with one of these methods take this route (default: any method).
    #[serde(default)]
    pub methods: Vec<String>,
    /// The whole request's time limit, e.g. "5s".
    pub timeout: Option<String>,
    pub retries: Option<RetriesSpec>,
    /// A local rate limit of this route's own (instead of the front's).
    pub rate_limit: Option<RateLimitSpec>,
    pub headers: Option<HeadersSpec>,
    /// `false`: this route needs no JWT even when the front requires one.
    pub jwt: Option<bool>,
    pub cors: Option<policy::CorsSpec>,
}

/// `{ service = "v2", weight = 10 }`: this share (of 100) of a route's requests.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WeightedService {
    pub service: String,
    pub weight: u32,
}

impl RouteSpec {
    /// To `service`, with no policy.
    pub fn to(prefix: String, service: String) -> RouteSpec {
        RouteSpec {
            prefix,
            service: Some(service),
            services: Vec::new(),
            headers_match: Default::default(),
            methods: Vec::new(),
            timeout: None,
            retries: None,
            rate_limit: None,
            headers: None,
            jwt: None,
            cors: None,
        }
    }

    /// The services the route sends to, with their weights (one service: 100).
    pub fn targets(&self) -> Vec<(String, u32)> {
        match &self.service {
            Some(service) => vec![(service.clone(), 100)],
            None => self.services.iter().map(|w| (w.service.clone(), w.weight)).collect(),
        }
    }

    fn check_targets(&self, at: &str) -> Result<(), String> {
        match (&self.service, self.services.is_empty()) {
            (Some(_), false) => return Err(format!("{at}: give service or services, not both")),
            (None, true) => {
                return Err(format!("{at}: give service = \"name\", or services = [{{ service, weight }}, ...]"));
            }
            _ => {}
        }
        if !self.services.is_empty() {
            let total: u32 = self.services.iter().map(|w| w.weight).sum();
            if total != 100 || self.services.iter().any(|w| w.weight == 0) {
                let weights: Vec<String> = self.services.iter().map(|w| w.weight.to_string()).collect();
                return Err(format!(
                    "{at}.services: the weights ({}) must each be at least 1 and add up to 100",
                    weights.join(" + ")
                ));
            }
        }
        for name in self.headers_match.keys() {
            if name.is_empty() || !name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
                return Err(format!("{at}.headers_match: {name:?} is not a lower-case header name"));
            }
        }
        for (i, method) in self.methods.iter().enumerate() {
            if method.is_empty() || !method.bytes().all(|b| b.is_ascii_uppercase()) {
                return Err(format!("{at}.methods[{i}]: {method:?} is not an HTTP method in upper case, e.g. \"GET\""));
            }
            if self.methods[..i].contains(method) {
                return Err(format!("{at}.methods[{i}]: {method:?} is named twice"));
            }
        }
        Ok(())
    }

    /// The route's policies, checked; `at` is its key (`routes[0]`).
    pub fn policy(&self, at: &str) -> Result<policy::RoutePolicy, String> {
        policy::route_policy(
            at,
            self.timeout.as_deref(),
            self.retries.as_ref(),
            self.rate_limit.as_ref(),
            self.headers.as_ref(),
            self.cors.as_ref(),
        )
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceSpec {
    pub name: String,
    /// `echo` or `host:port` (default: echo).
    pub upstream: Option<String>,
    /// Several upstream instances, each `echo` (one echo server each) or `host:port`.
    #[serde(default)]
    pub endpoints: Vec<String>,
    /// How the service Envoy spreads requests over the endpoints (Envoy's default: round robin).
    pub lb: Option<LoadBalancing>,
    pub health_check: Option<policy::HealthCheckSpec>,
    pub circuit_breaker: Option<policy::CircuitBreaker>,
    pub outlier_detection: Option<policy::OutlierDetection>,
    /// The service Envoy's listener port; picked free when absent.
    pub port: Option<u16>,
    #[serde(default)]
    pub filters: Vec<FilterSpec>,
}

impl ServiceSpec {
    /// The service's upstream policies, checked; `at` is its key (`services[0]`).
    pub fn policy(&self, at: &str) -> Result<policy::ServicePolicy, String> {
        policy::service_policy(
            at,
            self.health_check.as_ref(),
            self.circuit_breaker.as_ref(),
            self.outlier_detection.as_ref(),
        )
    }

    /// The upstream instances: `endpoints`, else the one `upstream` (echo by default).
    pub fn endpoints(&self) -> Vec<String> {
        if self.endpoints.is_empty() {
            vec![self.upstream.clone().unwrap_or_else(|| ECHO.into())]
        } else {
            self.endpoints.clone()
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LoadBalancing {
    RoundRobin,
    LeastRequest,
    RingHash,
    Random,
}

impl LoadBalancing {
    /// Envoy's name for it.
    pub fn envoy(self) -> &'static str {
        match self {
            LoadBalancing::RoundRobin => "ROUND_ROBIN",
            LoadBalancing::LeastRequest => "LEAST_REQUEST",
            LoadBalancing::RingHash => "RING_HASH",
            LoadBalancing::Random => "RANDOM",
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilterSpec {
    /// `project`, or a path to a .wasm module (relative to the project).
    #[serde(default = "project")]
    pub wasm: String,
    /// Where Envoy runs it; from the project's template when absent (else `http`).
    pub kind: Option<FilterKind>,
    /// Given to `proxy_on_configure`; when absent, the first scenario file's `plugin_config`.
    pub config: Option<String>,
    /// The plugin's name (Envoy's `config.name`, also its stats prefix).
    pub name: Option<String>,
}

fn project() -> String {
    PROJECT_MODULE.into()
}

/// The three places Envoy runs a wasm module.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FilterKind {
    Http,
    Network,
    AccessLog,
}

impl FilterKind {
    /// What a project made from `template` is.
    pub fn of_template(template: Option<&str>) -> FilterKind {
        match template {
            Some("network-filter") => FilterKind::Network,
            Some("access-logger") => FilterKind::AccessLog,
            _ => FilterKind::Http,
        }
    }
}

/// Where a service's traffic goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Upstream {
    Echo,
    Address { host: String, port: u16 },
}

impl Spec {
    /// Fills the defaults and checks the references between parts; each
    /// problem names its key in gw.toml.
    pub fn complete(mut self) -> Result<Spec, String> {
        if self.services.is_empty() && self.routes.is_empty() {
            for i in 1..=2 {
                self.services.push(ServiceSpec {
                    name: format!("service-{i}"),
                    upstream: Some(ECHO.into()),
                    endpoints: Vec::new(),
                    lb: None,
                    health_check: None,
                    circuit_breaker: None,
                    outlier_detection: None,
                    port: None,
                    filters: Vec::new(),
                });
                self.routes.push(RouteSpec::to(format!("/service/{i}"), format!("service-{i}")));
            }
        }
        for (i, service) in self.services.iter().enumerate() {
            let valid = !service.name.is_empty()
                && service.name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            if !valid {
                return Err(format!(
                    "services[{i}].name = {:?}: use letters, digits, '-' and '_' (it names files and clusters)",
                    service.name
                ));
            }
            if service.name == FRONT {
                return Err(format!("services[{i}].name = \"front\" is the front Envoy's name; pick another"));
            }
            if self.services[..i].iter().any(|s| s.name == service.name) {
                return Err(format!(
                    "services[{i}].name = {:?} is used twice; service names must differ",
                    service.name
                ));
            }
            service.policy(&format!("services[{i}]"))?;
            if service.upstream.is_some() && !service.endpoints.is_empty() {
                return Err(format!("services[{i}]: give upstream or endpoints, not both"));
            }
            if let Some(text) = &service.upstream {
                upstream(text).map_err(|e| format!("services[{i}].upstream = {text:?}: {e}"))?;
            }
            for (j, text) in service.endpoints.iter().enumerate() {
                upstream(text).map_err(|e| format!("services[{i}].endpoints[{j}] = {text:?}: {e}"))?;
            }
        }
        if let Some(limit) = &self.front.rate_limit {
            limit.check("front.rate_limit")?;
        }
        if let Some(ebpf) = &self.ebpf {
            ebpf.denied()?;
        }
        for (i, route) in self.routes.iter().enumerate() {
            route.policy(&format!("routes[{i}]"))?;
            if route.jwt == Some(true) && self.front.jwt.is_none() {
                return Err(format!("routes[{i}].jwt = true, but there is no [topology.front.jwt] to require"));
            }
            if !route.prefix.starts_with('/') {
                return Err(format!("routes[{i}].prefix = {:?} must start with '/'", route.prefix));
            }
            route.check_targets(&format!("routes[{i}]"))?;
            for (service, _) in route.targets() {
                if !self.services.iter().any(|s| s.name == service) {
                    let names: Vec<_> = self.services.iter().map(|s| s.name.as_str()).collect();
                    let key = if route.service.is_some() { "service =" } else { "services:" };
                    return Err(format!(
                        "routes[{i}].{key} {service:?} is not a service; the services are: {}",
                        names.join(", ")
                    ));
                }
            }
        }
        let ports = self.front.port.iter().chain(self.services.iter().filter_map(|s| s.port.as_ref()));
        let mut seen = Vec::new();
        for port in ports {
            if *port == 0 {
                return Err("a port of 0: leave the port out and gw picks a free one".into());
            }
            if seen.contains(port) {
                return Err(format!("port {port} is given twice; each listener needs its own"));
            }
            seen.push(*port);
        }
        Ok(self)
    }

    /// Whether any filter runs the project's own module.
    pub fn uses_project_module(&self) -> bool {
        self.front.filters.iter().chain(self.services.iter().flat_map(|s| &s.filters)).any(|f| f.wasm == PROJECT_MODULE)
    }
}

/// `echo` or `host:port`.
pub fn upstream(text: &str) -> Result<Upstream, String> {
    if text == ECHO {
        return Ok(Upstream::Echo);
    }
    let Some((host, port)) = text.rsplit_once(':') else {
        return Err("expected \"echo\" or host:port, e.g. \"127.0.0.1:8080\"".into());
    };
    let port: u16 = port.parse().ok().filter(|p| *p != 0).ok_or("the port must be a number from 1 to 65535")?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() {
        return Err("the host is empty".into());
    }
    if host.parse::<std::net::IpAddr>().is_err() && !is_dns_name(host) {
        return Err(format!("'{host}' is neither an IP address nor a host name (letters, digits, '-' and '.')"));
    }
    Ok(Upstream::Address { host: host.to_string(), port })
}

/// A DNS name as Envoy's STRICT_DNS/LOGICAL_DNS clusters take it: dot-separated labels of
/// letters, digits and '-', none empty or longer than 63, 253 in all.
fn is_dns_name(host: &str) -> bool {
    let host = host.strip_suffix('.').unwrap_or(host);
    host.len() <= 253
        && host.split('.').all(|label| {
            (1..=63).contains(&label.len())
                && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(text: &str) -> Result<Spec, String> {
        toml::from_str::<Spec>(text).map_err(|e| e.to_string())?.complete()
    }

    #[test]
    fn an_empty_section_is_the_default_topology() {
        let s = spec("").unwrap();
        assert_eq!(s.services.len(), 2);
        assert_eq!(s.routes[1].prefix, "/service/2");
        assert_eq!(s.front.filters[0].wasm, PROJECT_MODULE);
        assert!(s.uses_project_module());
    }

    #[test]
    fn bad_references_name_their_key() {
        let e = spec("[[routes]]\nprefix = \"/a\"\nservice = \"nope\"\n[[services]]\nname = \"a\"\n").unwrap_err();
        assert!(e.contains("routes[0].service") && e.contains("the services are: a"), "{e}");
        let e = spec("[[services]]\nname = \"a b\"\n").unwrap_err();
        assert!(e.starts_with("services[0].name"), "{e}");
        let e = spec("[[services]]\nname = \"a\"\nupstream = \"localhost\"\n").unwrap_err();
        assert!(e.contains("host:port"), "{e}");
        let e = spec("[front]\nport = 8000\n[[services]]\nname = \"a\"\nport = 8000\n").unwrap_err();
        assert!(e.contains("8000"), "{e}");
        assert!(spec("[front]\nprot = 1\n").is_err());
    }

    #[test]
    fn splits_endpoints_and_balancing_are_checked() {
        let services = "[[services]]\nname = \"v1\"\n[[services]]\nname = \"v2\"\n";
        let split = |weights: &str| spec(&format!("[[routes]]\nprefix = \"/\"\nservices = [{weights}]\n{services}"));
        let s = split("{service = \"v1\", weight = 90}, {service = \"v2\", weight = 10}").unwrap();
        assert_eq!(s.routes[0].targets(), [("v1".to_string(), 90), ("v2".to_string(), 10)]);
        let e = split("{service = \"v1\", weight = 90}, {service = \"v2\", weight = 20}").unwrap_err();
        assert!(e.contains("routes[0].services") && e.contains("90 + 20"), "{e}");
        let e = split("{service = \"v1\", weight = 100}, {service = \"v3\", weight = 0}").unwrap_err();
        assert!(e.contains("routes[0].services"), "{e}");
        let e = spec(&format!("[[routes]]\nprefix = \"/\"\n{services}")).unwrap_err();
        assert!(e.contains("give service"), "{e}");
        let e = spec("[[services]]\nname = \"a\"\nupstream = \"echo\"\nendpoints = [\"echo\"]\n").unwrap_err();
        assert!(e.contains("not both"), "{e}");
        let e = spec("[[services]]\nname = \"a\"\nendpoints = [\"echo\", \"nope\"]\n").unwrap_err();
        assert!(e.contains("services[0].endpoints[1]"), "{e}");
        let e = spec("[[services]]\nname = \"a\"\nlb = \"fastest\"\n").unwrap_err();
        assert!(e.contains("round_robin"), "{e}");
        let s = spec("[[services]]\nname = \"a\"\nendpoints = [\"echo\", \"echo\"]\nlb = \"least_request\"\n").unwrap();
        assert_eq!((s.services[0].endpoints().len(), s.services[0].lb), (2, Some(LoadBalancing::LeastRequest)));
    }

    #[test]
    fn upstreams() {
        assert_eq!(upstream("echo"), Ok(Upstream::Echo));
        assert_eq!(upstream("[::1]:80"), Ok(Upstream::Address { host: "::1".into(), port: 80 }));
        assert!(upstream("a:0").is_err());
        assert_eq!(upstream("db.shop.svc:5432"), Ok(Upstream::Address { host: "db.shop.svc".into(), port: 5432 }));
        assert!(upstream("evil host:80").unwrap_err().contains("'evil host'"));
        assert!(upstream("a..b:80").is_err());
        assert!(upstream("-a:80").is_err());
    }
}
