//! A project's filters as a CiliumEnvoyConfig (cilium.io/v2). Cilium sends the
//! traffic of each Service named to a listener in its Envoy (cilium-envoy)
//! that runs the filters and then the Service's own backends, which Cilium
//! feeds to the cluster `<namespace>/<service>[:<port>]` by EDS.
//!
//! What Cilium does with the resources (pkg/ciliumenvoyconfig in cilium/cilium):
//! a listener without an address gets a proxy port and Cilium's own filters
//! (cilium.l7policy lands just before the router, so gw's filters run first);
//! names without a '/' are prefixed with `<namespace>/<name>/`, names with one
//! are kept, and nothing inside a filter's config is renamed, so the cluster a
//! remote module is fetched through is named in full here.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Serialize;

use super::Error;
use super::carry::Gateway;
use super::spec::{ModuleSource, Resolved, Target};
use crate::download::Sha256;
use crate::envoy_api::{v3, validate};
use crate::topology::policy::{JwksSource, RoutePolicy};
use crate::topology::render::{self, Filter, Jwks, RoutePlan};

/// The largest object etcd stores by default (`--max-request-bytes`, 1.5 MiB).
pub const OBJECT_LIMIT: usize = 1536 * 1024;

/// One Service's part: its traffic, the filters it passes and the gateway policies it carries.
#[derive(Debug, Clone)]
pub struct Placement {
    pub target: Target,
    pub filters: Vec<Filter>,
    pub gateway: Gateway,
}

/// What `gw deploy cilium` writes.
#[derive(Debug, Clone)]
pub struct CiliumConfig {
    /// `<name>.yaml`.
    pub file_name: String,
    pub yaml: String,
    /// Per Service: the listener's name and what runs in it (the policies' Envoy filters,
    /// then the wasm filters' names), for the summary.
    pub listeners: Vec<(String, Vec<String>)>,
    /// gw.toml's policies that the object does not carry, each with why.
    pub not_carried: Vec<String>,
    /// Per Service with a CiliumNetworkPolicy rule: what it allows and denies, for the summary.
    pub policies: Vec<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Spec {
    /// Services whose traffic Cilium redirects to a listener.
    services: Vec<ServiceListener>,
    /// Services whose backends Cilium sends to Envoy (EDS), on the ports listed.
    backend_services: Vec<BackendService>,
    resources: Vec<v3::Resource>,
    /// Only the Envoys of the nodes with these labels.
    #[serde(skip_serializing_if = "Option::is_none")]
    node_selector: Option<NodeSelector>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct NodeSelector {
    match_labels: BTreeMap<String, String>,
}

#[derive(Serialize)]
struct ServiceListener {
    name: String,
    namespace: String,
    listener: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    ports: Vec<u16>,
}

#[derive(Serialize)]
struct BackendService {
    name: String,
    namespace: String,
    /// Cilium's CRD calls the list of ports `number`, as strings.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    number: Vec<String>,
}

/// The CiliumEnvoyConfig for `placements`, its Envoy resources checked against
/// Envoy's API schema and its size against what the API server stores.
pub fn manifest(deployment: &Resolved, placements: &[Placement], project_wasm: &Path) -> Result<CiliumConfig, Error> {
    let namespace = &deployment.namespace;
    let mut modules = Modules::default();
    // Named in full as Cilium qualifies names: `<namespace>/<name>/…`, the namespace empty for
    // a clusterwide config. Cilium does not rename what a filter's config refers to.
    let scope = if deployment.clusterwide { "" } else { namespace.as_str() };
    let source_cluster = format!("{scope}/{}/gw-module-source", deployment.name);
    let jwks_cluster = format!("{scope}/{}/gw-jwks", deployment.name);
    let mut jwks_remote = None;
    let mut resources = Vec::new();
    // One per placement: targets differ in service or port, so their clusters do too.
    let mut clusters = Vec::new();
    let mut services = Vec::new();
    let mut backend_services = Vec::new();
    let mut listeners = Vec::new();
    let mut remote = None;
    for placement in placements {
        let Target { service, port } = &placement.target;
        let listener = port.map_or_else(|| service.clone(), |p| format!("{service}-{p}"));
        let cluster = port.map_or_else(|| format!("{namespace}/{service}"), |p| format!("{namespace}/{service}:{p}"));
        let mut filters = Vec::new();
        for filter in &placement.filters {
            let code = match &deployment.module {
                ModuleSource::Url(url) if filter.wasm == project_wasm => {
                    remote = Some(url);
                    v3::AsyncDataSource::remote(v3::RemoteDataSource {
                        http_uri: v3::HttpUri { uri: url.to_string(), cluster: source_cluster.clone(), timeout: "30s" },
                        sha256: modules.sha256(&filter.wasm)?,
                    })
                }
                _ => v3::AsyncDataSource::inline(modules.base64(&filter.wasm)?),
            };
            filters.push((filter.kind, render::wasm(filter, code)));
        }
        let gateway = &placement.gateway;
        let routes = gateway_routes(gateway, service, &cluster);
        let jwt = gateway.jwt.as_ref().map(|(jwt, text)| {
            if let JwksSource::Remote { host, port, tls, .. } = &jwt.keys {
                jwks_remote = Some((host.clone(), *port, *tls));
            }
            let keys = match text {
                Some(text) => Jwks::Inline { text, cluster: &jwks_cluster },
                None => Jwks::AsDeclared { cluster: &jwks_cluster },
            };
            (jwt, keys)
        });
        let policy_filters = render::policy_filters(&gateway.routes, jwt, gateway.rate_limit.as_ref());
        let mut runs: Vec<String> =
            policy_filters.iter().map(|f| f.name.trim_start_matches("envoy.filters.http.").to_string()).collect();
        runs.extend(placement.filters.iter().map(|f| f.name.clone()));
        resources.push(v3::Resource::Listener(render::listener_with(&listener, None, filters, routes, policy_filters)));
        let eds = v3::Cluster::eds(&cluster);
        clusters.push(match &gateway.upstream {
            Some((lb, policy)) => render::with_service_policy(eds, *lb, policy),
            None => eds,
        });
        let ports: Vec<u16> = port.iter().copied().collect();
        services.push(ServiceListener {
            name: service.clone(),
            namespace: namespace.clone(),
            listener: listener.clone(),
            ports: ports.clone(),
        });
        backend_services.push(BackendService {
            name: service.clone(),
            namespace: namespace.clone(),
            number: ports.iter().map(u16::to_string).collect(),
        });
        listeners.push((listener, runs));
    }
    resources.extend(clusters.into_iter().map(|c| v3::Resource::Cluster(Box::new(c))));
    if let Some((host, port, tls)) = jwks_remote {
        resources.push(v3::Resource::Cluster(Box::new(v3::Cluster::remote(&jwks_cluster, &host, port, tls))));
    }
    if let Some(url) = remote {
        let tls = url.scheme() == "https";
        let port = url.port_or_known_default().unwrap_or(if tls { 443 } else { 80 });
        let host = url.host_str().unwrap_or_default().trim_start_matches('[').trim_end_matches(']');
        resources.push(v3::Resource::Cluster(Box::new(v3::Cluster::remote(&source_cluster, host, port, tls))));
    }
    check_resources(&resources)?;

    let node_selector =
        (!deployment.node_selector.is_empty()).then(|| NodeSelector { match_labels: deployment.node_selector.clone() });
    let object = super::Object {
        api_version: "cilium.io/v2",
        kind: if deployment.clusterwide { "CiliumClusterwideEnvoyConfig" } else { "CiliumEnvoyConfig" },
        // The clusterwide kind is cluster-scoped.
        metadata: super::Metadata::new(&deployment.name, (!deployment.clusterwide).then_some(namespace.as_str())),
        spec: Spec { services, backend_services, resources, node_selector },
    };
    let value = serde_json::to_value(&object).map_err(|e| Error::Rendered { problems: e.to_string() })?;
    super::schema::check(super::schema::Crd::CiliumEnvoyConfig, &value)?;
    let dangling = super::cilium_names::dangling(&value["spec"]["resources"], scope, &deployment.name);
    if !dangling.is_empty() {
        return Err(Error::Rendered { problems: dangling.join("; ") });
    }
    let body = crate::yaml_write::to_string(&object).expect("the CiliumEnvoyConfig serialises");
    let yaml = format!("# Written by gw deploy cilium from gw.toml; it writes the file again on every run.\n{body}");
    if yaml.len() > OBJECT_LIMIT {
        return Err(Error::TooLarge { size: yaml.len() });
    }
    Ok(CiliumConfig {
        file_name: format!("{}.yaml", deployment.name),
        yaml,
        listeners,
        not_carried: Vec::new(),
        policies: Vec::new(),
    })
}

/// The Service's own routes from gw.toml with their policies, then everything else to the
/// Service as before, behind the front's token when it has JWT.
fn gateway_routes(gateway: &Gateway, service: &str, cluster: &str) -> Vec<v3::Route> {
    let jwt = gateway.jwt.is_some();
    let rest = RoutePlan {
        prefix: "/".into(),
        targets: vec![(service.to_string(), 100)],
        headers_match: Vec::new(),
        methods: Vec::new(),
        policy: RoutePolicy::default(),
        jwt,
    };
    gateway
        .routes
        .iter()
        .chain([&rest])
        .map(|plan| {
            let mut route = render::front_route(plan, jwt);
            route.route.cluster = Some(cluster.to_string());
            route
        })
        .collect()
}

/// The resources as Envoy would take them over xDS: a DiscoveryResponse's
/// `resources` are Anys just like the CRD's.
fn check_resources(resources: &[v3::Resource]) -> Result<(), Error> {
    #[derive(Serialize)]
    struct Resources<'a> {
        resources: &'a [v3::Resource],
    }
    let yaml = crate::yaml_write::to_string(&Resources { resources }).expect("the v3 types serialise");
    validate::validate_yaml_as(&yaml, validate::DISCOVERY_RESPONSE).map_err(|problems| Error::Rendered {
        problems: problems.iter().map(|p| format!("spec.{p}")).collect::<Vec<_>>().join("; "),
    })
}

/// Each module read once, however many filters use it.
#[derive(Default)]
struct Modules {
    bytes: HashMap<PathBuf, Vec<u8>>,
}

impl Modules {
    fn get(&mut self, path: &Path) -> Result<&[u8], Error> {
        if !self.bytes.contains_key(path) {
            let bytes = fs_err::read(path)?;
            self.bytes.insert(path.into(), bytes);
        }
        Ok(&self.bytes[path])
    }

    fn base64(&mut self, path: &Path) -> Result<String, Error> {
        Ok(STANDARD.encode(self.get(path)?))
    }

    fn sha256(&mut self, path: &Path) -> Result<String, Error> {
        Ok(Sha256::of_bytes(self.get(path)?).to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topology::FilterKind;

    fn module(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
        let path = dir.join(format!("{name}.wasm"));
        fs_err::write(&path, bytes).unwrap();
        path
    }

    fn filter(kind: FilterKind, name: &str, wasm: &Path) -> Filter {
        Filter {
            kind,
            name: name.into(),
            wasm: wasm.into(),
            config: "{\"header\":\"x-gw\"}".into(),
            config_origin: "test".into(),
        }
    }

    fn resolved(targets: &[(&str, Option<u16>)], module: ModuleSource) -> Resolved {
        Resolved {
            namespace: "shop".into(),
            name: "gw-auth".into(),
            targets: targets.iter().map(|(s, p)| Target { service: s.to_string(), port: *p }).collect(),
            module,
            clusterwide: false,
            node_selector: BTreeMap::new(),
            network_policies: Vec::new(),
        }
    }

    fn place(resolved: &Resolved, filters: &[Filter]) -> Vec<Placement> {
        resolved
            .targets
            .iter()
            .map(|t| Placement { target: t.clone(), filters: filters.to_vec(), gateway: Gateway::default() })
            .collect()
    }

    #[test]
    fn services_with_their_filters_inline() {
        let dir = tempfile::tempdir().unwrap();
        let own = module(dir.path(), "auth", b"\0asm\x01\0\0\0");
        let other = module(dir.path(), "audit", b"\0asm\x01\0\0\0audit");
        let filters = [
            filter(FilterKind::Network, "limits", &other),
            filter(FilterKind::Http, "auth", &own),
            filter(FilterKind::AccessLog, "audit", &other),
        ];
        let request = resolved(&[("checkout", Some(8080)), ("cart", None)], ModuleSource::Inline);
        let manifest = manifest(&request, &place(&request, &filters), &own).unwrap();
        assert_eq!(manifest.file_name, "gw-auth.yaml");
        assert_eq!(
            manifest.listeners[0],
            ("checkout-8080".into(), vec!["limits".into(), "auth".into(), "audit".into()])
        );
        insta::assert_snapshot!(manifest.yaml);
    }

    #[test]
    fn the_project_module_from_a_url_is_pinned_by_its_sha256() {
        let dir = tempfile::tempdir().unwrap();
        let own = module(dir.path(), "auth", b"\0asm\x01\0\0\0");
        let url = reqwest::Url::parse("https://cdn.example/filters/auth.wasm").unwrap();
        let request = resolved(&[("checkout", None)], ModuleSource::Url(url));
        let manifest = manifest(&request, &place(&request, &[filter(FilterKind::Http, "auth", &own)]), &own).unwrap();
        insta::assert_snapshot!(manifest.yaml);
    }

    #[test]
    fn a_clusterwide_config_has_no_namespace_and_names_its_clusters_as_cilium_qualifies_them() {
        let dir = tempfile::tempdir().unwrap();
        let own = module(dir.path(), "auth", b"\0asm\x01\0\0\0");
        let url = reqwest::Url::parse("https://cdn.example/filters/auth.wasm").unwrap();
        let mut request = resolved(&[("checkout", Some(8080))], ModuleSource::Url(url));
        request.clusterwide = true;
        request.node_selector = BTreeMap::from([("kubernetes.io/os".to_string(), "linux".to_string())]);
        let manifest = manifest(&request, &place(&request, &[filter(FilterKind::Http, "auth", &own)]), &own).unwrap();
        let object: serde_json::Value = serde_norway::from_str(&manifest.yaml).unwrap();
        assert_eq!(object["kind"], "CiliumClusterwideEnvoyConfig");
        assert!(object["metadata"].get("namespace").is_none(), "cluster-scoped");
        assert_eq!(object["spec"]["nodeSelector"]["matchLabels"]["kubernetes.io/os"], "linux");
        assert_eq!(object["spec"]["services"][0]["namespace"], "shop", "the Service keeps its namespace");
        assert!(manifest.yaml.contains("name: /gw-auth/gw-module-source"), "{}", manifest.yaml);
        assert!(manifest.yaml.contains("cluster: /gw-auth/gw-module-source"), "{}", manifest.yaml);
    }

    #[test]
    fn a_module_too_large_to_store_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let own = module(dir.path(), "big", &vec![7u8; OBJECT_LIMIT]);
        let request = resolved(&[("checkout", None)], ModuleSource::Inline);
        let error = manifest(&request, &place(&request, &[filter(FilterKind::Http, "big", &own)]), &own).unwrap_err();
        assert!(matches!(error, Error::TooLarge { size } if size > OBJECT_LIMIT), "{error}");
    }

    #[test]
    fn a_missing_module_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let gone = dir.path().join("gone.wasm");
        let request = resolved(&[("checkout", None)], ModuleSource::Inline);
        let error = manifest(&request, &place(&request, &[filter(FilterKind::Http, "x", &gone)]), &gone).unwrap_err();
        assert!(error.to_string().contains("gone.wasm"), "{error}");
    }
}
