//! A planned topology (ports and modules settled) → one Envoy bootstrap per
//! process, as typed v3 values, then YAML.

use std::path::PathBuf;

use super::policy::{JwksSource, Jwt, RateLimit, RoutePolicy, ServicePolicy, envoy_duration};
use super::spec::{FilterKind, LoadBalancing};
use crate::envoy_api::v3::{self, Address, Cluster};

const LOOPBACK: &str = "127.0.0.1";
/// Every address of the Envoy's network namespace.
const EVERYWHERE: &str = "0.0.0.0";
const WASM_RUNTIME: &str = "envoy.wasm.runtime.v8";

/// Everything a render needs, nothing left to pick.
#[derive(Debug, Clone)]
pub struct Plan {
    pub front: Node,
    pub services: Vec<ServiceNode>,
    /// The front's routes, in match order.
    pub routes: Vec<RoutePlan>,
    /// The front's own rate limit (`[topology.front.rate_limit]`).
    pub rate_limit: Option<RateLimit>,
    /// HTTPS on the front, and whether it offers HTTP/2.
    pub tls: Option<FrontTls>,
    /// The JWT the front's routes require (unless a route says `jwt = false`).
    pub jwt: Option<Jwt>,
    /// When set, each Envoy also writes JSON access-log lines to `<dir>/<name>/access.log`.
    pub access_logs_dir: Option<PathBuf>,
    /// When set, each Envoy's listener goes into `<dir>/<name>-listeners.yaml`
    /// (file-based LDS, which Envoy watches), so it can be replaced while Envoy runs.
    pub listeners_dir: Option<PathBuf>,
    /// In a network lab: where the lab's clients reach the front. It then listens on every
    /// address of its namespace (the lab's gateway), not only loopback.
    pub lab_front: Option<std::net::Ipv4Addr>,
}

#[derive(Debug, Clone)]
pub struct Node {
    pub port: u16,
    pub filters: Vec<Filter>,
}

#[derive(Debug, Clone)]
pub struct ServiceNode {
    pub name: String,
    pub node: Node,
    /// Its upstream instances, `(host, port)`.
    pub upstreams: Vec<(String, u16)>,
    pub lb: Option<LoadBalancing>,
    pub policy: ServicePolicy,
}

/// The front's certificate and key files; `ca` is gw's development CA when it made them.
#[derive(Debug, Clone)]
pub struct FrontTls {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub ca: Option<PathBuf>,
    pub http2: bool,
}

/// A front route: everything under `prefix` to the service, with the route's policies.
#[derive(Debug, Clone)]
pub struct RoutePlan {
    pub prefix: String,
    /// The services and their weights (of 100); one service has 100.
    pub targets: Vec<(String, u32)>,
    /// Exact header values the request must have.
    pub headers_match: Vec<(String, String)>,
    /// The request's method must be one of these (empty: any).
    pub methods: Vec<String>,
    pub policy: RoutePolicy,
    /// Whether the front's JWT is required here (false: `jwt = false`, or no JWT on the front).
    pub jwt: bool,
}

impl RoutePlan {
    /// `api`, `v1 90%, v2 10%`, `v2 (with x-canary: true)`.
    pub fn describe(&self) -> String {
        let targets = match self.targets.as_slice() {
            [(one, _)] => one.clone(),
            many => many.iter().map(|(s, w)| format!("{s} {w}%")).collect::<Vec<_>>().join(", "),
        };
        let mut only: Vec<String> = self.headers_match.iter().map(|(k, v)| format!("{k}: {v}")).collect();
        if !self.methods.is_empty() {
            only.insert(0, self.methods.join("|"));
        }
        if only.is_empty() {
            return targets;
        }
        format!("{targets} (with {})", only.join(", "))
    }
}

/// A wasm module in place: where Envoy runs it, its file and its configuration.
#[derive(Debug, Clone)]
pub struct Filter {
    pub kind: FilterKind,
    pub name: String,
    pub wasm: PathBuf,
    pub config: String,
    /// Where `config` came from (a gw.toml key, a scenario file), for messages.
    pub config_origin: String,
}

/// One rendered file: `front.yaml`, `front-listeners.yaml`, `service-<name>.yaml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct File {
    pub name: String,
    pub yaml: String,
    /// The message the file holds, for validation.
    pub schema: Schema,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schema {
    Bootstrap,
    /// A file-based xDS source (`envoy.service.discovery.v3.DiscoveryResponse`).
    Discovery,
}

pub use super::spec::FRONT;

/// The file name of a service Envoy's bootstrap.
pub fn service_file(name: &str) -> String {
    format!("{name}.yaml")
}

pub fn render(plan: &Plan) -> Vec<File> {
    let mut files = Vec::new();
    let mut clusters: Vec<Cluster> =
        plan.services.iter().map(|s| Cluster::single(&s.name, LOOPBACK, s.node.port)).collect();
    if let Some(JwksSource::Remote { host, port, tls, .. }) = plan.jwt.as_ref().map(|j| &j.keys) {
        clusters.push(Cluster::remote(JWKS_CLUSTER, host, *port, *tls));
    }
    let routes = plan.routes.iter().map(|r| front_route(r, plan.jwt.is_some())).collect();
    let jwt = plan.jwt.as_ref().map(|jwt| (jwt, Jwks::AsDeclared { cluster: JWKS_CLUSTER }));
    let policy_filters = policy_filters(&plan.routes, jwt, plan.rate_limit.as_ref());
    envoy(plan, FRONT, &format!("{FRONT}.yaml"), &plan.front, (routes, policy_filters), clusters, &mut files);
    for service in &plan.services {
        let upstream = upstream_cluster(service);
        let routes = (vec![route("/", "upstream")], Vec::new());
        envoy(plan, &service.name, &service_file(&service.name), &service.node, routes, vec![upstream], &mut files);
    }
    files
}

/// The listeners' file of the Envoy called `name`, when listeners are dynamic.
pub fn listeners_file(name: &str) -> String {
    format!("{name}-listeners.yaml")
}

/// One Envoy's bootstrap, and its listeners' file when they are dynamic.
fn envoy(
    plan: &Plan,
    name: &str,
    file: &str,
    node: &Node,
    (routes, policy_filters): (Vec<v3::Route>, Vec<v3::HttpFilter>),
    clusters: Vec<Cluster>,
    files: &mut Vec<File>,
) {
    let mut listener = listener(name, node, routes, policy_filters);
    if name == FRONT && plan.lab_front.is_some() {
        listener.address = Some(Address::tcp(EVERYWHERE, node.port));
    }
    if let Some(dir) = &plan.access_logs_dir {
        add_json_access_log(&mut listener, &dir.join(name).join("access.log"));
    }
    if name == FRONT
        && let Some(tls) = &plan.tls
    {
        let socket = v3::DownstreamTransportSocket::tls(
            tls.cert.display().to_string(),
            tls.key.display().to_string(),
            tls.http2,
        );
        listener.filter_chains[0].transport_socket = Some(socket);
    }
    let Some(dir) = &plan.listeners_dir else {
        let config = bootstrap(name, vec![listener], clusters, None);
        files.push(File { name: file.to_string(), yaml: yaml(&config), schema: Schema::Bootstrap });
        return;
    };
    let lds_file = listeners_file(name);
    let config = bootstrap(name, Vec::new(), clusters, Some(&dir.join(&lds_file)));
    files.push(File { name: file.to_string(), yaml: yaml(&config), schema: Schema::Bootstrap });
    let lds =
        v3::DiscoveryResponse { version_info: String::from("1"), resources: vec![v3::Resource::Listener(listener)] };
    files.push(File { name: lds_file, yaml: yaml(&lds), schema: Schema::Discovery });
}

fn yaml<T: serde::Serialize>(value: &T) -> String {
    let body = crate::yaml_write::to_string(value).expect("the v3 types serialise");
    format!("# Written by gw from gw.toml's [topology]; gw render writes it again.\n{body}")
}

fn bootstrap(name: &str, listeners: Vec<v3::Listener>, clusters: Vec<Cluster>, lds: Option<&PathBuf>) -> v3::Bootstrap {
    v3::Bootstrap {
        node: v3::Node { id: name.to_string(), cluster: name.to_string() },
        // Port 0: Envoy picks one and writes it to --admin-address-path.
        admin: v3::Admin { address: Address::tcp(LOOPBACK, 0) },
        static_resources: v3::StaticResources { listeners, clusters },
        dynamic_resources: lds.map(|path| v3::DynamicResources {
            lds_config: v3::ConfigSource {
                path_config_source: v3::PathConfigSource { path: path.display().to_string() },
                resource_api_version: "V3",
            },
        }),
    }
}

pub(crate) fn route(prefix: &str, cluster: &str) -> v3::Route {
    v3::Route::to_cluster(prefix, cluster)
}

/// What each JSON access-log line holds: field → Envoy's command operator.
const ACCESS_LOG_FIELDS: &[(&str, &str)] = &[
    ("start_time", "%START_TIME%"),
    ("method", "%REQ(:METHOD)%"),
    ("path", "%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%"),
    ("protocol", "%PROTOCOL%"),
    ("status", "%RESPONSE_CODE%"),
    ("details", "%RESPONSE_CODE_DETAILS%"),
    ("flags", "%RESPONSE_FLAGS%"),
    ("duration_ms", "%DURATION%"),
    ("bytes_received", "%BYTES_RECEIVED%"),
    ("bytes_sent", "%BYTES_SENT%"),
    ("upstream", "%UPSTREAM_HOST%"),
    ("client", "%DOWNSTREAM_REMOTE_ADDRESS%"),
    ("user_agent", "%REQ(USER-AGENT)%"),
    ("request_id", "%REQ(X-REQUEST-ID)%"),
];

/// Adds a JSON-lines file access log to the listener's connection manager.
fn add_json_access_log(listener: &mut v3::Listener, path: &std::path::Path) {
    let Some(chain) = listener.filter_chains.first_mut() else { return };
    for filter in &mut chain.filters {
        if let v3::NetworkFilterConfig::HttpConnectionManager(hcm) = &mut filter.typed_config {
            hcm.access_log.push(v3::AccessLog {
                name: "envoy.access_loggers.file".into(),
                typed_config: v3::AccessLogConfig::File(v3::FileAccessLog {
                    path: path.display().to_string(),
                    log_format: v3::LogFormat { json_format: ACCESS_LOG_FIELDS.iter().copied().collect() },
                }),
            });
        }
    }
}

/// A service Envoy's cluster of upstream instances, with the service's policies.
fn upstream_cluster(service: &ServiceNode) -> Cluster {
    with_service_policy(Cluster::endpoints("upstream", &service.upstreams), service.lb, &service.policy)
}

/// A cluster with a service's load balancing and upstream policies.
pub(crate) fn with_service_policy(mut cluster: Cluster, lb: Option<LoadBalancing>, policy: &ServicePolicy) -> Cluster {
    cluster.lb_policy = lb.map(LoadBalancing::envoy);
    if let Some((path, interval)) = &policy.health_check {
        cluster.health_checks.push(v3::HealthCheck {
            timeout: envoy_duration(*interval),
            interval: envoy_duration(*interval),
            unhealthy_threshold: 1,
            healthy_threshold: 1,
            http_health_check: v3::HttpHealthCheck { path: path.clone() },
        });
    }
    cluster.circuit_breakers = policy.circuit_breaker.map(|b| v3::CircuitBreakers {
        thresholds: vec![v3::Thresholds {
            max_connections: b.max_connections,
            max_pending_requests: b.max_pending_requests,
            max_requests: b.max_requests,
        }],
    });
    // Checked every second; ejected for 30 s; up to half the endpoints (a service of two can
    // lose its failing one; Envoy's default, 10 %, would eject none of a small set).
    cluster.outlier_detection = policy.outlier_detection.map(|o| v3::OutlierDetection {
        consecutive_5xx: o.consecutive_5xx,
        interval: "1s".into(),
        base_ejection_time: "30s".into(),
        max_ejection_percent: 50,
    });
    cluster
}

const LOCAL_RATE_LIMIT: &str = "envoy.filters.http.local_ratelimit";

const JWT_AUTHN: &str = "envoy.filters.http.jwt_authn";
const CORS: &str = "envoy.filters.http.cors";

/// The front's policy filters: CORS first (a browser's preflight carries no token and must not
/// be counted), then JWT, then the rate limit.
pub(crate) fn policy_filters(
    routes: &[RoutePlan],
    jwt: Option<(&Jwt, Jwks<'_>)>,
    rate_limit: Option<&RateLimit>,
) -> Vec<v3::HttpFilter> {
    let mut filters = cors_filter(routes);
    filters.extend(jwt.map(|(jwt, keys)| jwt_filter(jwt, keys)));
    filters.extend(rate_limit_filter(routes, rate_limit));
    filters
}

/// Envoy's CORS filter, when a route has a policy (the policies are the routes').
fn cors_filter(routes: &[RoutePlan]) -> Vec<v3::HttpFilter> {
    if !routes.iter().any(|r| r.policy.cors.is_some()) {
        return Vec::new();
    }
    vec![v3::HttpFilter { name: CORS.into(), typed_config: v3::HttpFilterConfig::Cors {} }]
}
const JWT_PROVIDER: &str = "gw";
/// The cluster Envoy fetches a remote JWKS through.
const JWKS_CLUSTER: &str = "gw_jwks";

/// Where the rendered JWT provider finds its keys.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Jwks<'a> {
    /// The JWKS file itself, or the URI fetched through `cluster`.
    AsDeclared { cluster: &'a str },
    /// The JWKS's text in the config (where the file is not at hand), or the URI fetched
    /// through `cluster`.
    Inline { text: &'a str, cluster: &'a str },
}

/// Envoy's jwt_authn with the front's provider; each route names the requirement or turns it
/// off (a route that says neither would need no token).
fn jwt_filter(jwt: &Jwt, keys: Jwks<'_>) -> v3::HttpFilter {
    let (Jwks::AsDeclared { cluster } | Jwks::Inline { cluster, .. }) = keys;
    let (local_jwks, remote_jwks) = match (&jwt.keys, keys) {
        (JwksSource::File(_), Jwks::Inline { text, .. }) => (Some(v3::DataSource::inline_string(text)), None),
        (JwksSource::File(path), Jwks::AsDeclared { .. }) => {
            (Some(v3::DataSource::file(path.display().to_string())), None)
        }
        (JwksSource::Remote { uri, .. }, _) => (
            None,
            Some(v3::RemoteJwks {
                http_uri: v3::HttpUri { uri: uri.clone(), cluster: cluster.into(), timeout: "5s" },
                cache_duration: "600s",
            }),
        ),
    };
    let provider = v3::JwtProvider {
        issuer: jwt.issuer.clone(),
        audiences: jwt.audiences.clone(),
        local_jwks,
        remote_jwks,
        forward: false,
        claim_to_headers: jwt
            .forward_claims
            .iter()
            .map(|(claim, header)| v3::ClaimToHeader { header_name: header.clone(), claim_name: claim.clone() })
            .collect(),
    };
    let config = v3::JwtAuthentication {
        providers: [(JWT_PROVIDER.to_string(), provider)].into(),
        requirement_map: [(JWT_PROVIDER.to_string(), v3::JwtRequirement { provider_name: JWT_PROVIDER.into() })].into(),
    };
    v3::HttpFilter { name: JWT_AUTHN.into(), typed_config: v3::HttpFilterConfig::JwtAuthentication(config) }
}

/// A front route with its policies.
pub(crate) fn front_route(plan: &RoutePlan, front_jwt: bool) -> v3::Route {
    let policy = &plan.policy;
    let mut route = v3::Route::to_cluster(&plan.prefix, &plan.targets[0].0);
    if plan.targets.len() > 1 {
        route.route.cluster = None;
        route.route.weighted_clusters = Some(v3::WeightedClusters {
            clusters: plan
                .targets
                .iter()
                .map(|(name, weight)| v3::ClusterWeight { name: name.clone(), weight: *weight })
                .collect(),
        });
    }
    route.match_.headers = plan
        .headers_match
        .iter()
        .map(|(name, value)| v3::HeaderMatcher { name: name.clone(), string_match: v3::StringMatcher::exact(value) })
        .collect();
    match plan.methods.as_slice() {
        [] => {}
        [one] => route
            .match_
            .headers
            .push(v3::HeaderMatcher { name: ":method".into(), string_match: v3::StringMatcher::exact(one) }),
        // Checked upper-case words, so the alternation needs no escaping; RE2 matches it whole.
        many => route.match_.headers.push(v3::HeaderMatcher {
            name: ":method".into(),
            string_match: v3::StringMatcher::regex(&many.join("|")),
        }),
    }
    route.route.timeout = policy.timeout.map(envoy_duration);
    route.route.retry_policy = policy.retries.as_ref().map(|r| v3::RetryPolicy {
        retry_on: r.on.clone(),
        num_retries: r.attempts,
        per_try_timeout: r.per_try_timeout.map(envoy_duration),
    });
    let add = |pairs: &std::collections::BTreeMap<String, String>| {
        pairs.iter().map(|(k, v)| v3::HeaderValueOption::overwrite(k, v)).collect()
    };
    route.request_headers_to_add = add(&policy.headers.request_add);
    route.request_headers_to_remove = policy.headers.request_remove.clone();
    route.response_headers_to_add = add(&policy.headers.response_add);
    route.response_headers_to_remove = policy.headers.response_remove.clone();
    if front_jwt {
        let per_route = if plan.jwt {
            v3::JwtPerRoute { requirement_name: Some(JWT_PROVIDER.into()), disabled: None }
        } else {
            v3::JwtPerRoute { requirement_name: None, disabled: Some(true) }
        };
        route.typed_per_filter_config.insert(JWT_AUTHN.into(), v3::PerRouteConfig::JwtPerRoute(per_route));
    }
    if let Some(cors) = &policy.cors {
        let origins = cors
            .allow_origins
            .iter()
            .map(|o| if o == "*" { v3::StringMatcher::any() } else { v3::StringMatcher::exact(o) })
            .collect();
        let config = v3::CorsPolicy {
            allow_origin_string_match: origins,
            allow_methods: cors.allow_methods.join(","),
            allow_headers: cors.allow_headers.join(","),
            expose_headers: cors.expose_headers.join(","),
            max_age: cors.max_age.map(|s| s.to_string()),
            allow_credentials: cors.allow_credentials,
        };
        route.typed_per_filter_config.insert(CORS.into(), v3::PerRouteConfig::Cors(config));
    }
    if let Some(limit) = &policy.rate_limit {
        let config = local_rate_limit(&format!("route_{}", plan.targets[0].0), Some(limit));
        route.typed_per_filter_config.insert(LOCAL_RATE_LIMIT.into(), v3::PerRouteConfig::LocalRateLimit(config));
    }
    route
}

/// Envoy's local rate limit with its bucket, its x-ratelimit headers on every answer it
/// governs, and `x-envoy-ratelimited: true` on its 429s (Envoy adds none of them by itself).
fn local_rate_limit(stat_prefix: &str, limit: Option<&RateLimit>) -> v3::LocalRateLimit {
    v3::LocalRateLimit {
        stat_prefix: stat_prefix.to_string(),
        token_bucket: limit.map(|l| v3::TokenBucket {
            max_tokens: l.requests,
            tokens_per_fill: l.requests,
            fill_interval: envoy_duration(l.per),
        }),
        filter_enabled: limit.map(|_| v3::RuntimeFractionalPercent::all("gw.rate_limit.enabled")),
        filter_enforced: limit.map(|_| v3::RuntimeFractionalPercent::all("gw.rate_limit.enforced")),
        response_headers_to_add: match limit {
            Some(_) => vec![v3::HeaderValueOption::overwrite("x-envoy-ratelimited", "true")],
            None => Vec::new(),
        },
        enable_x_ratelimit_headers: limit.map(|_| "DRAFT_VERSION_03"),
    }
}

/// The front's rate-limit filter, when the front or a route limits (first in the chain: a
/// request over the limit costs no filter any work).
fn rate_limit_filter(routes: &[RoutePlan], rate_limit: Option<&RateLimit>) -> Vec<v3::HttpFilter> {
    let any_route = routes.iter().any(|r| r.policy.rate_limit.is_some());
    if rate_limit.is_none() && !any_route {
        return Vec::new();
    }
    let config = local_rate_limit("front", rate_limit);
    vec![v3::HttpFilter { name: LOCAL_RATE_LIMIT.into(), typed_config: v3::HttpFilterConfig::LocalRateLimit(config) }]
}

/// A local Envoy's listener: its filters read their modules from files.
fn listener(name: &str, node: &Node, routes: Vec<v3::Route>, policy_filters: Vec<v3::HttpFilter>) -> v3::Listener {
    let filters = node
        .filters
        .iter()
        .map(|f| {
            let code = v3::AsyncDataSource::file(f.wasm.display().to_string());
            (f.kind, wasm(f, code))
        })
        .collect();
    listener_with(name, Some(Address::tcp(LOOPBACK, node.port)), filters, routes, policy_filters)
}

/// The listener every Envoy gw configures: network wasm filters, then an HTTP
/// connection manager with the policy filters, the http wasm filters before the
/// router, and the access-log ones.
pub(crate) fn listener_with(
    name: &str,
    address: Option<Address>,
    filters: Vec<(FilterKind, v3::WasmFilter)>,
    routes: Vec<v3::Route>,
    policy_filters: Vec<v3::HttpFilter>,
) -> v3::Listener {
    let mut network = Vec::new();
    let mut http_filters = policy_filters;
    let mut access_log = Vec::new();
    for (kind, filter) in filters {
        match kind {
            FilterKind::Network => network.push(v3::NetworkFilter {
                name: "envoy.filters.network.wasm".into(),
                typed_config: v3::NetworkFilterConfig::Wasm(filter),
            }),
            FilterKind::Http => http_filters.push(v3::HttpFilter {
                name: "envoy.filters.http.wasm".into(),
                typed_config: v3::HttpFilterConfig::Wasm(filter),
            }),
            FilterKind::AccessLog => access_log.push(v3::AccessLog {
                name: "envoy.access_loggers.wasm".into(),
                typed_config: v3::AccessLogConfig::Wasm(filter),
            }),
        }
    }
    http_filters.push(v3::HttpFilter {
        name: "envoy.filters.http.router".into(),
        typed_config: v3::HttpFilterConfig::Router {},
    });
    let hcm = v3::HttpConnectionManager {
        stat_prefix: name.to_string(),
        codec_type: "AUTO",
        normalize_path: true,
        merge_slashes: true,
        route_config: v3::RouteConfiguration {
            name: name.to_string(),
            virtual_hosts: vec![v3::VirtualHost { name: name.to_string(), domains: vec!["*".into()], routes }],
        },
        http_filters,
        access_log,
    };
    network.push(v3::NetworkFilter {
        name: "envoy.filters.network.http_connection_manager".into(),
        typed_config: v3::NetworkFilterConfig::HttpConnectionManager(Box::new(hcm)),
    });
    let chain = v3::FilterChain { filters: network, transport_socket: None };
    v3::Listener { name: name.to_string(), address, filter_chains: vec![chain] }
}

/// A filter's plugin config, its module from `code`.
pub(crate) fn wasm(filter: &Filter, code: v3::AsyncDataSource) -> v3::WasmFilter {
    v3::WasmFilter {
        config: v3::PluginConfig {
            name: filter.name.clone(),
            root_id: String::new(),
            vm_config: v3::VmConfig { vm_id: filter.name.clone(), runtime: WASM_RUNTIME, code },
            configuration: v3::StringValue::new(filter.config.clone()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(kind: FilterKind, name: &str) -> Filter {
        Filter {
            kind,
            name: name.into(),
            wasm: format!("/p/target/gw/{name}.wasm").into(),
            config: "a: 1\n".into(),
            config_origin: "test".into(),
        }
    }

    fn service(name: &str, port: u16, filters: Vec<Filter>, upstream: (&str, u16)) -> ServiceNode {
        ServiceNode {
            name: name.into(),
            node: Node { port, filters },
            upstreams: vec![(upstream.0.into(), upstream.1)],
            lb: None,
            policy: ServicePolicy::default(),
        }
    }

    fn plain(prefix: &str, service: &str) -> RoutePlan {
        RoutePlan {
            prefix: prefix.into(),
            targets: vec![(service.into(), 100)],
            headers_match: Vec::new(),
            methods: Vec::new(),
            policy: RoutePolicy::default(),
            jwt: false,
        }
    }

    /// Every rendered file passes Envoy's schema; the text is what the snapshot shows.
    fn snapshot(plan: &Plan) -> String {
        let files = crate::topology::render_checked(plan).unwrap_or_else(|e| panic!("{e}"));
        files.iter().map(|f| format!("--- {}\n{}", f.name, f.yaml)).collect()
    }

    #[test]
    fn the_default_topology() {
        let plan = Plan {
            front: Node { port: 10000, filters: vec![filter(FilterKind::Http, "my_filter")] },
            services: vec![
                service("service-1", 10001, Vec::new(), (LOOPBACK, 20001)),
                service("service-2", 10002, Vec::new(), (LOOPBACK, 20002)),
            ],
            routes: vec![plain("/service/1", "service-1"), plain("/service/2", "service-2")],
            rate_limit: None,
            tls: None,
            jwt: None,
            access_logs_dir: None,
            listeners_dir: None,
            lab_front: None,
        };
        insta::assert_snapshot!(snapshot(&plan));
    }

    #[test]
    fn several_services_and_filters_with_live_listeners() {
        let plan = Plan {
            front: Node {
                port: 8080,
                filters: vec![
                    filter(FilterKind::Network, "conn_limit"),
                    filter(FilterKind::Http, "auth"),
                    filter(FilterKind::Http, "ratelimit"),
                    filter(FilterKind::AccessLog, "audit"),
                ],
            },
            services: vec![
                service("users", 8081, vec![filter(FilterKind::Http, "tagger")], (LOOPBACK, 9001)),
                service("billing", 8082, Vec::new(), ("billing.internal", 443)),
            ],
            routes: vec![plain("/users", "users"), plain("/", "billing")],
            rate_limit: None,
            tls: None,
            jwt: None,
            access_logs_dir: None,
            listeners_dir: Some("/run/gw".into()),
            lab_front: None,
        };
        insta::assert_snapshot!(snapshot(&plan));
        // In a lab, only the front listens beyond loopback (the lab's client reaches it).
        let lab = Plan { lab_front: Some(std::net::Ipv4Addr::new(10, 200, 1, 1)), ..plan };
        let files = render(&lab);
        let text = |name: &str| &files.iter().find(|f| f.name == name).unwrap().yaml;
        assert!(text("front-listeners.yaml").contains("address: 0.0.0.0"), "{}", text("front-listeners.yaml"));
        assert!(!text("users-listeners.yaml").contains("0.0.0.0"));
    }

    #[test]
    fn gateway_policies_on_the_front() {
        use crate::topology::policy::{HeadersSpec, Retries};
        use std::time::Duration;
        let api = RoutePlan {
            prefix: "/api".into(),
            targets: vec![("api".into(), 100)],
            headers_match: Vec::new(),
            methods: Vec::new(),
            jwt: true,
            policy: RoutePolicy {
                timeout: Some(Duration::from_secs(5)),
                retries: Some(Retries {
                    on: "5xx,reset".into(),
                    attempts: 3,
                    per_try_timeout: Some(Duration::from_millis(1500)),
                }),
                rate_limit: Some(RateLimit { requests: 100, per: Duration::from_secs(1) }),
                headers: HeadersSpec {
                    request_add: [("x-gw".to_string(), "1".to_string())].into(),
                    response_remove: vec!["content-type".into()],
                    ..HeadersSpec::default()
                },
                cors: Some(crate::topology::policy::Cors {
                    allow_origins: vec!["https://app.example".into(), "*".into()],
                    allow_methods: vec!["GET".into(), "POST".into()],
                    max_age: Some(3600),
                    ..Default::default()
                }),
            },
        };
        let plan = Plan {
            front: Node { port: 10000, filters: vec![filter(FilterKind::Http, "my_filter")] },
            services: vec![ServiceNode {
                lb: Some(LoadBalancing::LeastRequest),
                upstreams: vec![(LOOPBACK.into(), 20001), (LOOPBACK.into(), 20002)],
                policy: ServicePolicy {
                    health_check: Some(("/healthz".into(), Duration::from_secs(1))),
                    circuit_breaker: Some(crate::topology::policy::CircuitBreaker {
                        max_connections: Some(100),
                        max_pending_requests: Some(10),
                        max_requests: None,
                    }),
                    outlier_detection: Some(crate::topology::policy::OutlierDetection { consecutive_5xx: 3 }),
                },
                ..service("api", 10001, Vec::new(), (LOOPBACK, 20001))
            }],
            routes: vec![
                api,
                RoutePlan {
                    targets: vec![("api".into(), 90), ("api".into(), 10)],
                    headers_match: vec![("x-canary".into(), "true".into())],
                    methods: Vec::new(),
                    ..plain("/shop", "api")
                },
                plain("/", "api"),
            ],
            rate_limit: Some(RateLimit { requests: 1, per: Duration::from_secs(60) }),
            jwt: Some(Jwt {
                issuer: "https://issuer.example".into(),
                audiences: vec!["gw-demo".into()],
                keys: JwksSource::File("/p/keys/jwks.json".into()),
                forward_claims: vec![("sub".into(), "x-jwt-sub".into())],
                dev_token: None,
            }),
            access_logs_dir: Some("/run/gw/1".into()),
            tls: Some(FrontTls {
                cert: "/h/certs/localhost.pem".into(),
                key: "/h/certs/localhost.key".into(),
                ca: None,
                http2: true,
            }),
            listeners_dir: None,
            lab_front: None,
        };
        insta::assert_snapshot!(snapshot(&plan));
    }
}
