//! The L3/L4 and L7 half of a Cilium gateway: a CiliumNetworkPolicy
//! (cilium.io/v2) for the pods behind the Services `gw deploy cilium` puts
//! filters in front of, one rule per Service (`specs`).
//!
//! A CiliumEnvoyConfig that takes Services' traffic keeps the client's
//! address and identity on the way to the backends (Cilium's
//! `use-original-source-address`, on unless the object is labelled otherwise),
//! so rules on the backend pods judge the client itself. Who may connect
//! (`from`), who may not (`deny`, which wins over any allow), the pods' port,
//! and the requests the gateway's routes take (method, path, exact headers)
//! as the HTTP allow-list.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::{Error, names};
use crate::topology::render::RoutePlan;

/// `[deploy.cilium.network_policy.<service>]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkPolicySpec {
    /// The Service's pods, by label: `{ app = "checkout" }`.
    #[serde(default)]
    pub pods: BTreeMap<String, String>,
    /// The pods' port (the Service's target port); default: the Service port in `services`.
    pub port: Option<u16>,
    /// Who may connect: entities (`cluster`, `world`, …), CIDRs or addresses, or pod labels
    /// (`app=frontend`); default: anyone.
    #[serde(default)]
    pub from: Vec<String>,
    /// Who may not, whatever `from` allows: the same forms.
    #[serde(default)]
    pub deny: Vec<String>,
    /// Whether the routes to the Service become the HTTP allow-list (default: yes).
    pub http: Option<bool>,
}

/// Entities Cilium's policies name, with what they select, for the error that lists them.
const ENTITIES: [&str; 7] = ["all", "world", "cluster", "host", "remote-node", "kube-apiserver", "ingress"];

/// One Service's pods, checked.
#[derive(Debug, Clone)]
pub struct PodPolicy {
    pub service: String,
    pub pods: BTreeMap<String, String>,
    pub port: u16,
    pub from: Vec<Peer>,
    pub deny: Vec<Peer>,
    pub http: bool,
}

/// A source of traffic, as a policy rule names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Peer {
    Entity(String),
    Cidr(String),
    Pods(BTreeMap<String, String>),
}

/// Each entry checked against the Services deployed (`targets`: each Service and its port, if
/// one is named); its errors name the key.
pub fn resolve(
    specs: BTreeMap<String, NetworkPolicySpec>,
    targets: &[(&str, Option<u16>)],
) -> Result<Vec<PodPolicy>, Error> {
    let mut policies = Vec::new();
    for (service, spec) in specs {
        let section = format!("[deploy.cilium.network_policy.{service}]");
        let bad = |key: &str, value: &str, reason: String| Error::Input {
            place: format!("{section} {key}"),
            value: value.to_string(),
            reason,
        };
        let ports: Vec<Option<u16>> = targets.iter().filter(|(s, _)| *s == service).map(|(_, p)| *p).collect();
        if ports.is_empty() {
            let mut deployed: Vec<&str> = targets.iter().map(|(s, _)| *s).collect();
            deployed.dedup();
            let reason = format!("is not a Service deployed here (services: {})", deployed.join(", "));
            return Err(Error::Input { place: section, value: service, reason });
        }
        if spec.pods.is_empty() {
            let reason = "selects no pods: give their labels, e.g. pods = { app = \"checkout\" }".to_string();
            return Err(bad("pods", "", reason));
        }
        for (k, v) in &spec.pods {
            let text = format!("{k}={v}");
            names::label_key(k).map_err(|e| bad("pods", &text, format!("has no label key: it {e}")))?;
            names::label_value(v).map_err(|e| bad("pods", &text, format!("can match no pod: it {e}")))?;
        }
        let port = match (spec.port, ports.as_slice()) {
            (Some(0), _) => return Err(bad("port", "0", "must be a number from 1 to 65535".into())),
            (Some(port), _) => port,
            (None, [Some(port)]) => *port,
            (None, _) => {
                let reason = "the pods' port cannot be told from services (no single Service port is named); \
                              set port = N, the Service's target port"
                    .to_string();
                return Err(bad("port", "", reason));
            }
        };
        let peers = |key: &str, list: &[String]| -> Result<Vec<Peer>, Error> {
            list.iter()
                .enumerate()
                .map(|(i, text)| peer(text).map_err(|e| bad(&format!("{key}[{i}]"), text, e)))
                .collect()
        };
        let from = peers("from", &spec.from)?;
        let deny = peers("deny", &spec.deny)?;
        policies.push(PodPolicy { service, pods: spec.pods, port, from, deny, http: spec.http.unwrap_or(true) });
    }
    Ok(policies)
}

/// `[topology.ebpf] deny`: the addresses the eBPF program drops, denied to every Service too.
pub fn deny_also(policies: &mut [PodPolicy], addresses: &[std::net::Ipv4Addr]) {
    for policy in policies {
        for address in addresses {
            let peer = Peer::Cidr(format!("{address}/32"));
            if !policy.deny.contains(&peer) {
                policy.deny.push(peer);
            }
        }
    }
}

/// `cluster`, `10.0.0.0/8`, `192.0.2.7`, `app=frontend` or `app=web,tier=edge`.
fn peer(text: &str) -> Result<Peer, String> {
    if ENTITIES.contains(&text) {
        return Ok(Peer::Entity(text.to_string()));
    }
    if let Some((address, bits)) = text.split_once('/') {
        let address: IpAddr = address.parse().map_err(|_| format!("has no IP address before the /{bits}"))?;
        let max = if address.is_ipv4() { 32 } else { 128 };
        match bits.parse::<u8>() {
            Ok(bits) if bits <= max => return Ok(Peer::Cidr(format!("{address}/{bits}"))),
            _ => return Err(format!("has a prefix length other than 0 to {max}")),
        }
    }
    if let Ok(address) = text.parse::<IpAddr>() {
        return Ok(Peer::Cidr(format!("{address}/{}", if address.is_ipv4() { 32 } else { 128 })));
    }
    if text.contains('=') {
        let mut labels = BTreeMap::new();
        for pair in text.split(',') {
            let (k, v) = pair.split_once('=').ok_or_else(|| format!("{pair:?} is not KEY=VALUE"))?;
            names::label_key(k).map_err(|e| format!("has no label key in {pair:?}: it {e}"))?;
            names::label_value(v).map_err(|e| format!("can match no pod with {pair:?}: it {e}"))?;
            labels.insert(k.to_string(), v.to_string());
        }
        return Ok(Peer::Pods(labels));
    }
    Err(format!(
        "is neither an entity ({}), a CIDR or address (10.0.0.0/8, 192.0.2.7), nor pod labels (app=frontend)",
        ENTITIES.join(", ")
    ))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Rule {
    description: String,
    endpoint_selector: Selector,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    ingress: Vec<Ingress>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    ingress_deny: Vec<Ingress>,
}

#[derive(Serialize, Clone)]
#[serde(rename_all = "camelCase")]
struct Selector {
    match_labels: BTreeMap<String, String>,
}

/// One rule of `ingress` or `ingressDeny`: Cilium takes one kind of source per rule.
#[derive(Serialize, Default)]
#[serde(rename_all = "camelCase")]
struct Ingress {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    from_entities: Vec<String>,
    #[serde(rename = "fromCIDR", skip_serializing_if = "Vec::is_empty")]
    from_cidr: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    from_endpoints: Vec<Selector>,
    to_ports: Vec<PortRule>,
}

#[derive(Serialize)]
struct PortRule {
    ports: Vec<Port>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rules: Option<L7>,
}

#[derive(Serialize)]
struct Port {
    /// The CRD takes the port as a string.
    port: String,
    protocol: &'static str,
}

#[derive(Serialize)]
struct L7 {
    http: Vec<Http>,
}

#[derive(Serialize, Clone)]
#[serde(rename_all = "camelCase")]
struct Http {
    /// Matched whole against the path (and query), as Envoy does Cilium's rules.
    path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    method: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    header_matches: Vec<HeaderMatch>,
}

#[derive(Serialize, Clone)]
struct HeaderMatch {
    name: String,
    value: String,
}

/// The CiliumNetworkPolicy `name` in `namespace` for `policies`, with the HTTP rules of the
/// `routes` that send to each Service (a split's share included); checked against its CRD.
pub fn manifest(
    name: &str,
    namespace: &str,
    policies: &[PodPolicy],
    routes: &[RoutePlan],
) -> Result<serde_json::Value, Error> {
    /// Several rules go in `specs` (instead of one `spec`).
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Policy {
        api_version: &'static str,
        kind: &'static str,
        metadata: super::Metadata,
        specs: Vec<Rule>,
    }
    let object = Policy {
        api_version: "cilium.io/v2",
        kind: "CiliumNetworkPolicy",
        metadata: super::Metadata::new(name, Some(namespace)),
        specs: policies.iter().map(|p| rule(p, routes)).collect(),
    };
    let value = serde_json::to_value(&object).map_err(|e| Error::Rendered { problems: e.to_string() })?;
    super::schema::check(super::schema::Crd::CiliumNetworkPolicy, &value)?;
    Ok(value)
}

fn rule(policy: &PodPolicy, routes: &[RoutePlan]) -> Rule {
    let http: Vec<Http> = match policy.http {
        true => routes.iter().filter(|r| r.targets.iter().any(|(s, _)| *s == policy.service)).map(http).collect(),
        false => Vec::new(),
    };
    let port = || vec![Port { port: policy.port.to_string(), protocol: "TCP" }];
    let allow = |peers: Vec<Ingress>| {
        peers
            .into_iter()
            .map(|mut rule| {
                let rules = (!http.is_empty()).then(|| L7 { http: http.clone() });
                rule.to_ports = vec![PortRule { ports: port(), rules }];
                rule
            })
            .collect::<Vec<_>>()
    };
    let deny = by_kind(&policy.deny)
        .into_iter()
        .map(|mut rule| {
            rule.to_ports = vec![PortRule { ports: port(), rules: None }];
            rule
        })
        .collect();
    let ingress = if policy.from.is_empty() { allow(vec![Ingress::default()]) } else { allow(by_kind(&policy.from)) };
    Rule {
        description: format!("gw: the pods behind Service {}", policy.service),
        endpoint_selector: Selector { match_labels: policy.pods.clone() },
        ingress,
        ingress_deny: deny,
    }
}

/// One line per Service: `Service api: pods app=api, port 8080 from cluster, denied 192.0.2.0/24, 2 HTTP rules`.
pub fn describe(policies: &[PodPolicy], routes: &[RoutePlan]) -> Vec<String> {
    let list = |peers: &[Peer]| peers.iter().map(Peer::to_string).collect::<Vec<_>>().join(", ");
    policies
        .iter()
        .map(|p| {
            let pods: Vec<String> = p.pods.iter().map(|(k, v)| format!("{k}={v}")).collect();
            let from = if p.from.is_empty() { "anyone".to_string() } else { list(&p.from) };
            let deny = if p.deny.is_empty() { String::new() } else { format!(", except {}", list(&p.deny)) };
            let http = match rule(p, routes).ingress.first().and_then(|i| i.to_ports[0].rules.as_ref()) {
                Some(l7) => format!("; HTTP: only the {} route(s) to it", l7.http.len()),
                None => "; any HTTP request".to_string(),
            };
            format!("Service {}: pods {} port {} from {from}{deny}{http}", p.service, pods.join(","), p.port)
        })
        .collect()
}

impl std::fmt::Display for Peer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Peer::Entity(e) => write!(f, "{e}"),
            Peer::Cidr(c) => write!(f, "{c}"),
            Peer::Pods(labels) => {
                let pairs: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
                write!(f, "pods {}", pairs.join(","))
            }
        }
    }
}

/// The peers grouped into one rule per kind of source.
fn by_kind(peers: &[Peer]) -> Vec<Ingress> {
    let mut entities = Ingress::default();
    let mut cidrs = Ingress::default();
    let mut pods = Ingress::default();
    for peer in peers {
        match peer {
            Peer::Entity(e) => entities.from_entities.push(e.clone()),
            Peer::Cidr(c) => cidrs.from_cidr.push(c.clone()),
            Peer::Pods(labels) => pods.from_endpoints.push(Selector { match_labels: labels.clone() }),
        }
    }
    [entities, cidrs, pods]
        .into_iter()
        .filter(|r| !(r.from_entities.is_empty() && r.from_cidr.is_empty() && r.from_endpoints.is_empty()))
        .collect()
}

/// A route as an HTTP rule: its prefix (as Envoy matches a prefix: anything may follow), its
/// methods and its exact headers.
fn http(route: &RoutePlan) -> Http {
    Http {
        path: format!("{}.*", escape(&route.prefix)),
        method: (!route.methods.is_empty()).then(|| route.methods.join("|")),
        header_matches: route
            .headers_match
            .iter()
            .map(|(name, value)| HeaderMatch { name: name.clone(), value: value.clone() })
            .collect(),
    }
}

/// `text` as a regex that matches it literally (RE2 and POSIX extended alike).
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if r"\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
