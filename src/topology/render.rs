//! A planned topology (ports and modules settled) → one Envoy bootstrap per
//! process, as typed v3 values, then YAML.

use std::path::PathBuf;

use super::spec::FilterKind;
use crate::envoy_api::v3::{self, Address, Cluster};

const LOOPBACK: &str = "127.0.0.1";
const WASM_RUNTIME: &str = "envoy.wasm.runtime.v8";

/// Everything a render needs, nothing left to pick.
#[derive(Debug, Clone)]
pub struct Plan {
    pub front: Node,
    pub services: Vec<ServiceNode>,
    /// (path prefix, service name), in match order.
    pub routes: Vec<(String, String)>,
    /// When set, each Envoy's listener goes into `<dir>/<name>-listeners.yaml`
    /// (file-based LDS, which Envoy watches), so it can be replaced while Envoy runs.
    pub listeners_dir: Option<PathBuf>,
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
    pub upstream_host: String,
    pub upstream_port: u16,
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
    let clusters = plan.services.iter().map(|s| Cluster::single(&s.name, LOOPBACK, s.node.port)).collect();
    let routes = plan.routes.iter().map(|(prefix, service)| route(prefix, service)).collect();
    envoy(plan, FRONT, &format!("{FRONT}.yaml"), &plan.front, routes, clusters, &mut files);
    for service in &plan.services {
        let upstream = Cluster::single("upstream", &service.upstream_host, service.upstream_port);
        let routes = vec![route("/", "upstream")];
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
    routes: Vec<v3::Route>,
    clusters: Vec<Cluster>,
    files: &mut Vec<File>,
) {
    let listener = listener(name, node, routes);
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
    let body = serde_norway::to_string(value).expect("the v3 types serialise");
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
    v3::Route {
        match_: v3::RouteMatch { prefix: prefix.to_string() },
        route: v3::RouteAction { cluster: cluster.to_string() },
    }
}

/// A local Envoy's listener: its filters read their modules from files.
fn listener(name: &str, node: &Node, routes: Vec<v3::Route>) -> v3::Listener {
    let filters = node
        .filters
        .iter()
        .map(|f| {
            let code = v3::AsyncDataSource::file(f.wasm.display().to_string());
            (f.kind, wasm(f, code))
        })
        .collect();
    listener_with(name, Some(Address::tcp(LOOPBACK, node.port)), filters, routes, true)
}

/// The listener every Envoy gw configures: network wasm filters, then an HTTP
/// connection manager with the http wasm filters before the router and the
/// access-log ones (after a stdout log when `stdout_log`).
pub(crate) fn listener_with(
    name: &str,
    address: Option<Address>,
    filters: Vec<(FilterKind, v3::WasmFilter)>,
    routes: Vec<v3::Route>,
    stdout_log: bool,
) -> v3::Listener {
    let mut network = Vec::new();
    let mut http_filters = Vec::new();
    let mut access_log = Vec::new();
    if stdout_log {
        access_log.push(v3::AccessLog {
            name: "envoy.access_loggers.stdout".into(),
            typed_config: v3::AccessLogConfig::Stdout {},
        });
    }
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
    v3::Listener { name: name.to_string(), address, filter_chains: vec![v3::FilterChain { filters: network }] }
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
            upstream_host: upstream.0.into(),
            upstream_port: upstream.1,
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
            routes: vec![("/service/1".into(), "service-1".into()), ("/service/2".into(), "service-2".into())],
            listeners_dir: None,
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
            routes: vec![("/users".into(), "users".into()), ("/".into(), "billing".into())],
            listeners_dir: Some("/run/gw".into()),
        };
        insta::assert_snapshot!(snapshot(&plan));
    }
}
