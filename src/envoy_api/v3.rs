//! The part of Envoy's v3 API that gw's topologies use, as typed values that
//! serialise to the YAML Envoy reads. Field names and `@type` URLs are
//! Envoy's; every rendered config is then checked against Envoy's schema.

use std::collections::BTreeMap;

use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct Bootstrap {
    pub node: Node,
    pub admin: Admin,
    pub static_resources: StaticResources,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dynamic_resources: Option<DynamicResources>,
}

#[derive(Debug, Serialize)]
pub struct Node {
    pub id: String,
    pub cluster: String,
}

#[derive(Debug, Serialize)]
pub struct Admin {
    pub address: Address,
}

#[derive(Debug, Serialize)]
pub struct StaticResources {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub listeners: Vec<Listener>,
    pub clusters: Vec<Cluster>,
}

/// Listeners from a file Envoy watches: replacing the file (by rename) swaps them live.
#[derive(Debug, Serialize)]
pub struct DynamicResources {
    pub lds_config: ConfigSource,
}

#[derive(Debug, Serialize)]
pub struct ConfigSource {
    pub path_config_source: PathConfigSource,
    pub resource_api_version: &'static str,
}

#[derive(Debug, Serialize)]
pub struct PathConfigSource {
    pub path: String,
}

/// The contents of a file-based LDS source.
#[derive(Debug, Serialize)]
pub struct DiscoveryResponse {
    pub version_info: String,
    pub resources: Vec<Resource>,
}

/// An xDS resource packed in an Any (file-based LDS, a CiliumEnvoyConfig's `resources`).
#[derive(Debug, Serialize)]
#[serde(tag = "@type")]
pub enum Resource {
    #[serde(rename = "type.googleapis.com/envoy.config.listener.v3.Listener")]
    Listener(Listener),
    #[serde(rename = "type.googleapis.com/envoy.config.cluster.v3.Cluster")]
    Cluster(Box<Cluster>),
}

#[derive(Debug, Serialize)]
pub struct Address {
    pub socket_address: SocketAddress,
}

impl Address {
    pub fn tcp(address: &str, port: u16) -> Address {
        Address { socket_address: SocketAddress { address: address.to_string(), port_value: port } }
    }
}

#[derive(Debug, Serialize)]
pub struct SocketAddress {
    pub address: String,
    pub port_value: u16,
}

#[derive(Debug, Serialize)]
pub struct Listener {
    pub name: String,
    /// None where the control plane assigns one (Cilium does, and adds its own filters).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<Address>,
    pub filter_chains: Vec<FilterChain>,
}

#[derive(Debug, Serialize)]
pub struct FilterChain {
    pub filters: Vec<NetworkFilter>,
    /// TLS for the listener's clients.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transport_socket: Option<DownstreamTransportSocket>,
}

#[derive(Debug, Serialize)]
pub struct DownstreamTransportSocket {
    pub name: &'static str,
    pub typed_config: DownstreamTlsContext,
}

#[derive(Debug, Serialize)]
pub struct DownstreamTlsContext {
    #[serde(rename = "@type")]
    pub type_url: &'static str,
    pub common_tls_context: CommonTlsContext,
}

#[derive(Debug, Serialize)]
pub struct CommonTlsContext {
    pub tls_certificates: Vec<TlsCertificate>,
    /// `h2` first when HTTP/2 is on.
    pub alpn_protocols: Vec<&'static str>,
}

#[derive(Debug, Serialize)]
pub struct TlsCertificate {
    pub certificate_chain: DataSource,
    pub private_key: DataSource,
}

impl DownstreamTransportSocket {
    /// TLS with the certificate and key in these files.
    pub fn tls(cert: String, key: String, http2: bool) -> DownstreamTransportSocket {
        let file = DataSource::file;
        DownstreamTransportSocket {
            name: "envoy.transport_sockets.tls",
            typed_config: DownstreamTlsContext {
                type_url: "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext",
                common_tls_context: CommonTlsContext {
                    tls_certificates: vec![TlsCertificate { certificate_chain: file(cert), private_key: file(key) }],
                    alpn_protocols: if http2 { vec!["h2", "http/1.1"] } else { vec!["http/1.1"] },
                },
            },
        }
    }
}

#[derive(Debug, Serialize)]
pub struct NetworkFilter {
    pub name: String,
    pub typed_config: NetworkFilterConfig,
}

#[derive(Debug, Serialize)]
#[serde(tag = "@type")]
pub enum NetworkFilterConfig {
    #[serde(
        rename = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"
    )]
    HttpConnectionManager(Box<HttpConnectionManager>),
    #[serde(rename = "type.googleapis.com/envoy.extensions.filters.network.wasm.v3.Wasm")]
    Wasm(WasmFilter),
}

#[derive(Debug, Serialize)]
pub struct HttpConnectionManager {
    pub stat_prefix: String,
    pub codec_type: &'static str,
    /// Paths are normalised (RFC 3986) and repeated slashes merged before filters see them,
    /// so `/api/../x` or `//api/x` cannot slip past a filter that matches paths.
    pub normalize_path: bool,
    pub merge_slashes: bool,
    pub route_config: RouteConfiguration,
    pub http_filters: Vec<HttpFilter>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub access_log: Vec<AccessLog>,
}

#[derive(Debug, Serialize)]
pub struct RouteConfiguration {
    pub name: String,
    pub virtual_hosts: Vec<VirtualHost>,
}

#[derive(Debug, Serialize)]
pub struct VirtualHost {
    pub name: String,
    pub domains: Vec<String>,
    pub routes: Vec<Route>,
}

#[derive(Debug, Serialize)]
pub struct Route {
    #[serde(rename = "match")]
    pub match_: RouteMatch,
    pub route: RouteAction,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub request_headers_to_add: Vec<HeaderValueOption>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub request_headers_to_remove: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub response_headers_to_add: Vec<HeaderValueOption>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub response_headers_to_remove: Vec<String>,
    /// Per-route settings of HTTP filters, by filter name.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub typed_per_filter_config: BTreeMap<String, PerRouteConfig>,
}

impl Route {
    /// Everything under `prefix` to `cluster`, with no policy.
    pub fn to_cluster(prefix: &str, cluster: &str) -> Route {
        Route {
            match_: RouteMatch { prefix: prefix.to_string(), headers: Vec::new() },
            route: RouteAction {
                cluster: Some(cluster.to_string()),
                weighted_clusters: None,
                timeout: None,
                retry_policy: None,
            },
            request_headers_to_add: Vec::new(),
            request_headers_to_remove: Vec::new(),
            response_headers_to_add: Vec::new(),
            response_headers_to_remove: Vec::new(),
            typed_per_filter_config: BTreeMap::new(),
        }
    }
}

/// A header to set, replacing any value it had.
#[derive(Debug, Serialize)]
pub struct HeaderValueOption {
    pub header: HeaderValue,
    pub append_action: &'static str,
}

impl HeaderValueOption {
    pub fn overwrite(key: &str, value: &str) -> HeaderValueOption {
        HeaderValueOption {
            header: HeaderValue { key: key.to_string(), value: value.to_string() },
            append_action: "OVERWRITE_IF_EXISTS_OR_ADD",
        }
    }
}

#[derive(Debug, Serialize)]
pub struct HeaderValue {
    pub key: String,
    pub value: String,
}

#[derive(Debug, Serialize)]
#[serde(tag = "@type")]
pub enum PerRouteConfig {
    #[serde(rename = "type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit")]
    LocalRateLimit(LocalRateLimit),
    #[serde(rename = "type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.PerRouteConfig")]
    JwtPerRoute(JwtPerRoute),
    #[serde(rename = "type.googleapis.com/envoy.extensions.filters.http.cors.v3.CorsPolicy")]
    Cors(CorsPolicy),
}

/// Envoy's jwt_authn: providers by name, and requirements the routes name.
#[derive(Debug, Serialize)]
pub struct JwtAuthentication {
    pub providers: BTreeMap<String, JwtProvider>,
    pub requirement_map: BTreeMap<String, JwtRequirement>,
}

#[derive(Debug, Serialize)]
pub struct JwtProvider {
    pub issuer: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub audiences: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub local_jwks: Option<DataSource>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remote_jwks: Option<RemoteJwks>,
    /// false: the token is taken off the request before it goes on.
    pub forward: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub claim_to_headers: Vec<ClaimToHeader>,
}

#[derive(Debug, Serialize)]
pub struct RemoteJwks {
    pub http_uri: HttpUri,
    pub cache_duration: &'static str,
}

#[derive(Debug, Serialize)]
pub struct ClaimToHeader {
    pub header_name: String,
    pub claim_name: String,
}

#[derive(Debug, Serialize)]
pub struct JwtRequirement {
    pub provider_name: String,
}

/// A route's JWT requirement by name, or none (`disabled`).
#[derive(Debug, Serialize)]
pub struct JwtPerRoute {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requirement_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disabled: Option<bool>,
}

/// Envoy's local rate limit: a token bucket per Envoy, 429 when it is empty.
#[derive(Debug, Serialize)]
pub struct LocalRateLimit {
    pub stat_prefix: String,
    /// None on the connection manager when only routes limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_bucket: Option<TokenBucket>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filter_enabled: Option<RuntimeFractionalPercent>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filter_enforced: Option<RuntimeFractionalPercent>,
    /// Added to the 429s only.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub response_headers_to_add: Vec<HeaderValueOption>,
    /// `x-ratelimit-limit`, `-remaining` and `-reset` on every answer the bucket governs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enable_x_ratelimit_headers: Option<&'static str>,
}

#[derive(Debug, Serialize)]
pub struct TokenBucket {
    pub max_tokens: u32,
    pub tokens_per_fill: u32,
    pub fill_interval: String,
}

/// A percentage of requests, 100 % unless the runtime key says otherwise.
#[derive(Debug, Serialize)]
pub struct RuntimeFractionalPercent {
    pub default_value: FractionalPercent,
    pub runtime_key: String,
}

impl RuntimeFractionalPercent {
    pub fn all(runtime_key: &str) -> RuntimeFractionalPercent {
        RuntimeFractionalPercent {
            default_value: FractionalPercent { numerator: 100, denominator: "HUNDRED" },
            runtime_key: runtime_key.to_string(),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct FractionalPercent {
    pub numerator: u32,
    pub denominator: &'static str,
}

#[derive(Debug, Serialize)]
pub struct RouteMatch {
    pub prefix: String,
    /// Every one must match (A/B routing on a header).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<HeaderMatcher>,
}

#[derive(Debug, Serialize)]
pub struct HeaderMatcher {
    pub name: String,
    pub string_match: StringMatcher,
}

#[derive(Debug, Serialize)]
pub struct StringMatcher {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exact: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub safe_regex: Option<RegexMatcher>,
}

impl StringMatcher {
    pub fn exact(value: &str) -> StringMatcher {
        StringMatcher { exact: Some(value.to_string()), safe_regex: None }
    }

    /// The whole value matches `regex` (RE2).
    pub fn regex(regex: &str) -> StringMatcher {
        StringMatcher { exact: None, safe_regex: Some(RegexMatcher { regex: regex.to_string() }) }
    }

    /// Anything at all.
    pub fn any() -> StringMatcher {
        StringMatcher { exact: None, safe_regex: Some(RegexMatcher { regex: ".*".into() }) }
    }
}

#[derive(Debug, Serialize)]
pub struct RegexMatcher {
    pub regex: String,
}

/// A route's CORS policy (the cors filter answers preflights and adds the headers).
#[derive(Debug, Serialize)]
pub struct CorsPolicy {
    pub allow_origin_string_match: Vec<StringMatcher>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub allow_methods: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub allow_headers: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub expose_headers: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_age: Option<String>,
    pub allow_credentials: bool,
}

/// One cluster, or weighted ones.
#[derive(Debug, Serialize)]
pub struct RouteAction {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weighted_clusters: Option<WeightedClusters>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_policy: Option<RetryPolicy>,
}

#[derive(Debug, Serialize)]
pub struct WeightedClusters {
    pub clusters: Vec<ClusterWeight>,
}

#[derive(Debug, Serialize)]
pub struct ClusterWeight {
    pub name: String,
    pub weight: u32,
}

#[derive(Debug, Serialize)]
pub struct RetryPolicy {
    pub retry_on: String,
    pub num_retries: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub per_try_timeout: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct HttpFilter {
    pub name: String,
    pub typed_config: HttpFilterConfig,
}

#[derive(Debug, Serialize)]
#[serde(tag = "@type")]
pub enum HttpFilterConfig {
    #[serde(rename = "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm")]
    Wasm(WasmFilter),
    #[serde(rename = "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router")]
    Router {},
    #[serde(rename = "type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit")]
    LocalRateLimit(LocalRateLimit),
    #[serde(rename = "type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication")]
    JwtAuthentication(JwtAuthentication),
    #[serde(rename = "type.googleapis.com/envoy.extensions.filters.http.cors.v3.Cors")]
    Cors {},
}

#[derive(Debug, Serialize)]
pub struct AccessLog {
    pub name: String,
    pub typed_config: AccessLogConfig,
}

#[derive(Debug, Serialize)]
#[serde(tag = "@type")]
pub enum AccessLogConfig {
    #[serde(rename = "type.googleapis.com/envoy.extensions.access_loggers.wasm.v3.WasmAccessLog")]
    Wasm(WasmFilter),
    #[serde(rename = "type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog")]
    File(FileAccessLog),
}

/// Lines into a file, in the format given.
#[derive(Debug, Serialize)]
pub struct FileAccessLog {
    pub path: String,
    pub log_format: LogFormat,
}

/// One JSON object per line: field → Envoy's command operator (`%RESPONSE_CODE%`).
#[derive(Debug, Serialize)]
pub struct LogFormat {
    pub json_format: BTreeMap<&'static str, &'static str>,
}

/// The `config` of the http, network and access-log wasm extensions alike.
#[derive(Debug, Serialize)]
pub struct WasmFilter {
    pub config: PluginConfig,
}

#[derive(Debug, Serialize)]
pub struct PluginConfig {
    pub name: String,
    pub root_id: String,
    pub vm_config: VmConfig,
    pub configuration: StringValue,
}

#[derive(Debug, Serialize)]
pub struct VmConfig {
    pub vm_id: String,
    pub runtime: &'static str,
    pub code: AsyncDataSource,
}

/// Where the module's bytes come from: `local` or `remote`. (Structs with
/// optional fields, as YAML serialisers write Rust enums as tags.)
#[derive(Debug, Serialize)]
pub struct AsyncDataSource {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub local: Option<DataSource>,
    /// Fetched by Envoy over HTTP(S) and refused unless its sha256 matches.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remote: Option<Box<RemoteDataSource>>,
}

impl AsyncDataSource {
    pub fn file(path: String) -> AsyncDataSource {
        AsyncDataSource { local: Some(DataSource::file(path)), remote: None }
    }

    /// The bytes themselves, base64 (protobuf's JSON form of `bytes`).
    pub fn inline(base64: String) -> AsyncDataSource {
        let local = DataSource { filename: None, inline_bytes: Some(base64), inline_string: None };
        AsyncDataSource { local: Some(local), remote: None }
    }

    pub fn remote(remote: RemoteDataSource) -> AsyncDataSource {
        AsyncDataSource { local: None, remote: Some(Box::new(remote)) }
    }
}

#[derive(Debug, Serialize)]
pub struct DataSource {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filename: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inline_bytes: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inline_string: Option<String>,
}

impl DataSource {
    pub fn file(path: String) -> DataSource {
        DataSource { filename: Some(path), inline_bytes: None, inline_string: None }
    }

    pub fn inline_string(text: &str) -> DataSource {
        DataSource { filename: None, inline_bytes: None, inline_string: Some(text.to_string()) }
    }
}

#[derive(Debug, Serialize)]
pub struct RemoteDataSource {
    pub http_uri: HttpUri,
    pub sha256: String,
}

#[derive(Debug, Serialize)]
pub struct HttpUri {
    pub uri: String,
    /// The cluster the request goes through.
    pub cluster: String,
    pub timeout: &'static str,
}

/// `google.protobuf.StringValue` packed in an Any, as the wasm filter expects its configuration.
#[derive(Debug, Serialize)]
pub struct StringValue {
    #[serde(rename = "@type")]
    pub type_url: &'static str,
    pub value: String,
}

impl StringValue {
    pub fn new(value: String) -> StringValue {
        StringValue { type_url: "type.googleapis.com/google.protobuf.StringValue", value }
    }
}

#[derive(Debug, Serialize)]
pub struct Cluster {
    pub name: String,
    #[serde(rename = "type")]
    pub discovery: &'static str,
    pub connect_timeout: &'static str,
    /// ROUND_ROBIN (Envoy's default when None), LEAST_REQUEST, RING_HASH, RANDOM.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lb_policy: Option<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub health_checks: Vec<HealthCheck>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub circuit_breakers: Option<CircuitBreakers>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outlier_detection: Option<OutlierDetection>,
    /// None for EDS: the control plane sends the endpoints.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub load_assignment: Option<ClusterLoadAssignment>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dns_lookup_family: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transport_socket: Option<TransportSocket>,
}

/// Active HTTP health checking of every endpoint.
#[derive(Debug, Serialize)]
pub struct HealthCheck {
    pub timeout: String,
    pub interval: String,
    pub unhealthy_threshold: u32,
    pub healthy_threshold: u32,
    pub http_health_check: HttpHealthCheck,
}

#[derive(Debug, Serialize)]
pub struct HttpHealthCheck {
    pub path: String,
}

#[derive(Debug, Serialize)]
pub struct CircuitBreakers {
    pub thresholds: Vec<Thresholds>,
}

#[derive(Debug, Serialize)]
pub struct Thresholds {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_connections: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_pending_requests: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_requests: Option<u32>,
}

#[derive(Debug, Serialize)]
pub struct OutlierDetection {
    pub consecutive_5xx: u32,
    pub interval: String,
    pub base_ejection_time: String,
    pub max_ejection_percent: u32,
}

/// TLS to the upstream, naming it by SNI.
#[derive(Debug, Serialize)]
pub struct TransportSocket {
    pub name: &'static str,
    pub typed_config: UpstreamTlsContext,
}

#[derive(Debug, Serialize)]
pub struct UpstreamTlsContext {
    #[serde(rename = "@type")]
    pub type_url: &'static str,
    pub sni: String,
}

#[derive(Debug, Serialize)]
pub struct ClusterLoadAssignment {
    pub cluster_name: String,
    pub endpoints: Vec<LocalityLbEndpoints>,
}

#[derive(Debug, Serialize)]
pub struct LocalityLbEndpoints {
    pub lb_endpoints: Vec<LbEndpoint>,
}

#[derive(Debug, Serialize)]
pub struct LbEndpoint {
    pub endpoint: Endpoint,
}

#[derive(Debug, Serialize)]
pub struct Endpoint {
    pub address: Address,
}

impl Cluster {
    /// One upstream at `host:port`: STATIC for an IP address, STRICT_DNS for a name.
    pub fn single(name: &str, host: &str, port: u16) -> Cluster {
        Cluster::endpoints(name, &[(host.to_string(), port)])
    }

    /// Upstreams at `host:port` each: STATIC when all are IP addresses, else STRICT_DNS.
    pub fn endpoints(name: &str, endpoints: &[(String, u16)]) -> Cluster {
        let all_ips = endpoints.iter().all(|(host, _)| host.parse::<std::net::IpAddr>().is_ok());
        let lb_endpoints = endpoints
            .iter()
            .map(|(host, port)| LbEndpoint { endpoint: Endpoint { address: Address::tcp(host, *port) } })
            .collect();
        Cluster {
            name: name.to_string(),
            discovery: if all_ips { "STATIC" } else { "STRICT_DNS" },
            connect_timeout: "1s",
            lb_policy: None,
            health_checks: Vec::new(),
            circuit_breakers: None,
            outlier_detection: None,
            load_assignment: Some(ClusterLoadAssignment {
                cluster_name: name.to_string(),
                endpoints: vec![LocalityLbEndpoints { lb_endpoints }],
            }),
            dns_lookup_family: None,
            transport_socket: None,
        }
    }

    /// Endpoints from the control plane (EDS).
    pub fn eds(name: &str) -> Cluster {
        Cluster {
            name: name.to_string(),
            discovery: "EDS",
            connect_timeout: "5s",
            lb_policy: None,
            health_checks: Vec::new(),
            circuit_breakers: None,
            outlier_detection: None,
            load_assignment: None,
            dns_lookup_family: None,
            transport_socket: None,
        }
    }

    /// `single`, over TLS when `tls` (SNI `host`), IPv4 first for names that have both.
    pub fn remote(name: &str, host: &str, port: u16, tls: bool) -> Cluster {
        let mut cluster = Cluster::single(name, host, port);
        cluster.connect_timeout = "5s";
        if cluster.discovery != "STATIC" {
            cluster.dns_lookup_family = Some("V4_PREFERRED");
        }
        cluster.transport_socket = tls.then(|| TransportSocket {
            name: "envoy.transport_sockets.tls",
            typed_config: UpstreamTlsContext {
                type_url: "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext",
                sni: host.to_string(),
            },
        });
        cluster
    }
}
