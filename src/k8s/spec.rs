//! `[deploy.cilium]`, `[deploy.istio]` and `[deploy.envoy-gateway]` in gw.toml;
//! and the flags of `gw deploy cilium`, resolved into one request. Precedence:
//! a flag, else gw.toml's key, else the default (namespace `default`, name
//! `gw-<project>`, the module inline).

use serde::Deserialize;

use super::{Error, names};

/// The keys of `[deploy.cilium]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CiliumSpec {
    pub namespace: Option<String>,
    pub name: Option<String>,
    #[serde(default)]
    pub services: Vec<String>,
    pub module: Option<String>,
    /// The Cilium release the cluster runs (major.minor): checked to be one gw carries the CRD of.
    pub version: Option<String>,
    /// A CiliumClusterwideEnvoyConfig (cluster-scoped) instead of a namespaced one.
    #[serde(default)]
    pub clusterwide: bool,
    /// Only the Envoys of the nodes with these labels: `{ "kubernetes.io/os" = "linux" }`.
    #[serde(default)]
    pub node_selector: std::collections::BTreeMap<String, String>,
    /// A CiliumNetworkPolicy rule for the pods behind each Service named here.
    #[serde(default)]
    pub network_policy: std::collections::BTreeMap<String, super::network_policy::NetworkPolicySpec>,
}

/// The keys of `[deploy.istio]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IstioSpec {
    pub namespace: Option<String>,
    pub name: Option<String>,
    /// The workloads to run the filter in, by label: `{ app = "checkout" }`.
    #[serde(default)]
    pub selector: std::collections::BTreeMap<String, String>,
    /// Or the Gateways and Services to attach to: `["Gateway/ingress", "Service/checkout"]`.
    #[serde(default)]
    pub target_refs: Vec<String>,
    /// Where in Envoy's filter chain: AUTHN, AUTHZ, STATS (default: Istio's, before the router).
    pub phase: Option<String>,
    /// Order among plugins of the same phase (higher first).
    pub priority: Option<i32>,
    /// The traffic it applies to: CLIENT, SERVER or CLIENT_AND_SERVER.
    pub mode: Option<String>,
    #[serde(default)]
    pub ports: Vec<u16>,
    /// A docker-registry Secret in the namespace, for a registry that needs credentials.
    pub pull_secret: Option<String>,
    /// Let traffic through when the module cannot be fetched or fails (default: fail closed).
    #[serde(default)]
    pub fail_open: bool,
    /// The Istio release the cluster runs (major.minor): checked to be one gw carries the CRD of.
    pub version: Option<String>,
}

/// The keys of `[deploy.envoy-gateway]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvoyGatewaySpec {
    pub namespace: Option<String>,
    pub name: Option<String>,
    /// What the policy attaches to: `["Gateway/eg", "HTTPRoute/checkout"]`.
    #[serde(default)]
    pub target_refs: Vec<String>,
    /// Have Envoy Gateway fetch the module from this http(s) URL instead of the pushed image.
    pub module: Option<String>,
    pub pull_secret: Option<String>,
    #[serde(default)]
    pub fail_open: bool,
    /// The Envoy Gateway release the cluster runs (major.minor): checked as for Istio.
    pub version: Option<String>,
}

/// What the command line says; each field, when given, wins over gw.toml.
#[derive(Debug, Default)]
pub struct Overrides {
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub services: Vec<String>,
    pub module_url: Option<String>,
    pub clusterwide: bool,
    /// `KEY=VALUE`, repeatable.
    pub node_selector: Vec<String>,
    pub engine_version: Option<String>,
}

/// A Kubernetes Service whose traffic passes the filters, optionally on one
/// of its ports only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub service: String,
    pub port: Option<u16>,
}

/// How cilium-envoy gets the project's module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModuleSource {
    /// Base64 inside the CiliumEnvoyConfig.
    Inline,
    /// Fetched by Envoy from this http(s) URL, checked against the build's sha256.
    Url(reqwest::Url),
}

/// Everything settled but the filters.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub namespace: String,
    pub name: String,
    pub targets: Vec<Target>,
    pub module: ModuleSource,
    pub clusterwide: bool,
    pub node_selector: std::collections::BTreeMap<String, String>,
    /// The rules of the CiliumNetworkPolicy, one per Service (none: no policy is written).
    pub network_policies: Vec<super::network_policy::PodPolicy>,
}

/// Flags over gw.toml over defaults; every value checked, the error naming where it came from.
pub fn resolve(spec: CiliumSpec, overrides: Overrides, project: &str) -> Result<Resolved, Error> {
    let bad = |place: String, value: &str, reason: String| Error::Input { place, value: value.into(), reason };
    let (namespace, place) = match (overrides.namespace, spec.namespace) {
        (Some(ns), _) => (ns, "--namespace".to_string()),
        (None, Some(ns)) => (ns, "[deploy.cilium] namespace".into()),
        (None, None) => ("default".into(), String::new()),
    };
    names::label(&namespace).map_err(|e| bad(place, &namespace, e))?;

    let name = match (overrides.name, spec.name) {
        (Some(name), _) => (name, "--name".to_string()),
        (None, Some(name)) => (name, "[deploy.cilium] name".into()),
        (None, None) => (format!("gw-{}", names::to_subdomain(project)), format!("the project name {project:?}")),
    };
    names::subdomain(&name.0).map_err(|e| {
        let reason = format!("{e}; set name = \"...\" under [deploy.cilium], or pass --name");
        bad(name.1.clone(), &name.0, reason)
    })?;

    let (services, place) = if overrides.services.is_empty() {
        (spec.services, "[deploy.cilium] services")
    } else {
        (overrides.services, "--service")
    };
    if services.is_empty() {
        return Err(Error::NoServices);
    }
    let mut targets: Vec<Target> = Vec::new();
    for (i, text) in services.iter().enumerate() {
        let at = if place == "--service" { place.to_string() } else { format!("{place}[{i}]") };
        let target = target(text).map_err(|e| bad(at.clone(), text, e))?;
        if targets.contains(&target) {
            return Err(bad(at, text, "is named twice".into()));
        }
        targets.push(target);
    }

    let module = match (overrides.module_url, spec.module) {
        (Some(url), _) => module(&url).map_err(|e| bad("--module-url".into(), &url, e))?,
        (None, Some(text)) => module(&text).map_err(|e| bad("[deploy.cilium] module".into(), &text, e))?,
        (None, None) => ModuleSource::Inline,
    };
    let node_selector = super::refs::selector(
        ("--node-selector", overrides.node_selector),
        ("[deploy.cilium]", "node_selector", spec.node_selector),
        "node",
    )?;
    let clusterwide = overrides.clusterwide || spec.clusterwide;
    let (flag, toml) = (overrides.engine_version.as_deref(), spec.version.as_deref());
    super::schema::require_version(super::schema::Crd::CiliumEnvoyConfig, flag, toml, "[deploy.cilium]")?;
    let deployed: Vec<(&str, Option<u16>)> = targets.iter().map(|t| (t.service.as_str(), t.port)).collect();
    let network_policies = super::network_policy::resolve(spec.network_policy, &deployed)?;
    Ok(Resolved { namespace, name: name.0, targets, module, clusterwide, node_selector, network_policies })
}

/// `checkout` or `checkout:8080`.
fn target(text: &str) -> Result<Target, String> {
    let (service, port) = match text.split_once(':') {
        Some((service, port)) => {
            let port =
                port.parse::<u16>().ok().filter(|p| *p != 0).ok_or("the port must be a number from 1 to 65535")?;
            (service, Some(port))
        }
        None => (text, None),
    };
    names::service(service).map_err(|e| format!("is not a Service name: it {e}; expected NAME or NAME:PORT"))?;
    Ok(Target { service: service.into(), port })
}

/// `inline` or an http(s) URL.
pub(crate) fn module(text: &str) -> Result<ModuleSource, String> {
    if text == "inline" {
        return Ok(ModuleSource::Inline);
    }
    let url = reqwest::Url::parse(text).map_err(|e| format!("is neither \"inline\" nor a URL: {e}"))?;
    // The URL parser reads `http:///x.wasm` as host `x.wasm`; the text has no host.
    let hostless = text.split_once("://").is_none_or(|(_, rest)| rest.is_empty() || rest.starts_with('/'));
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() || hostless {
        return Err("must be \"inline\" or an http:// or https:// URL with a host".into());
    }
    Ok(ModuleSource::Url(url))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn services(list: &[&str]) -> CiliumSpec {
        CiliumSpec { services: list.iter().map(|s| s.to_string()).collect(), ..CiliumSpec::default() }
    }

    #[test]
    fn flags_win_over_gw_toml_over_defaults() {
        let r = resolve(services(&["checkout:8080", "cart"]), Overrides::default(), "my_filter").unwrap();
        assert_eq!((r.namespace.as_str(), r.name.as_str()), ("default", "gw-my-filter"));
        assert_eq!(r.targets[0], Target { service: "checkout".into(), port: Some(8080) });
        assert_eq!(r.targets[1].port, None);
        assert_eq!(r.module, ModuleSource::Inline);

        let spec = CiliumSpec { namespace: Some("shop".into()), module: Some("inline".into()), ..services(&["a"]) };
        let overrides = Overrides {
            namespace: Some("edge".into()),
            services: vec!["b".into()],
            module_url: Some("https://cdn.example/f.wasm".into()),
            ..Overrides::default()
        };
        let r = resolve(spec, overrides, "f").unwrap();
        assert_eq!(r.namespace, "edge");
        assert_eq!(r.targets, vec![Target { service: "b".into(), port: None }]);
        assert!(matches!(r.module, ModuleSource::Url(u) if u.host_str() == Some("cdn.example")));
    }

    #[test]
    fn bad_values_name_their_place() {
        let e = resolve(services(&["ok", "Bad"]), Overrides::default(), "f").unwrap_err().to_string();
        assert!(e.starts_with("[deploy.cilium] services[1] \"Bad\""), "{e}");
        let e = resolve(services(&["a:0"]), Overrides::default(), "f").unwrap_err().to_string();
        assert!(e.contains("1 to 65535"), "{e}");
        let e = resolve(services(&["a", "a"]), Overrides::default(), "f").unwrap_err().to_string();
        assert!(e.contains("twice"), "{e}");
        let overrides = Overrides { namespace: Some("Shop".into()), ..Overrides::default() };
        let e = resolve(services(&["a"]), overrides, "f").unwrap_err().to_string();
        assert!(e.starts_with("--namespace \"Shop\""), "{e}");
        let spec = CiliumSpec { module: Some("ftp://x/f.wasm".into()), ..services(&["a"]) };
        let e = resolve(spec, Overrides::default(), "f").unwrap_err().to_string();
        assert!(e.starts_with("[deploy.cilium] module"), "{e}");
        let overrides = Overrides { module_url: Some("http:///x.wasm".into()), ..Overrides::default() };
        let e = resolve(services(&["a"]), overrides, "f").unwrap_err().to_string();
        assert!(e.starts_with("--module-url \"http:///x.wasm\"") && e.contains("with a host"), "{e}");
        assert!(matches!(resolve(CiliumSpec::default(), Overrides::default(), "f"), Err(Error::NoServices)));
        let overrides = Overrides { node_selector: vec!["zone=eu*".into()], ..Overrides::default() };
        let e = resolve(services(&["a"]), overrides, "f").unwrap_err().to_string();
        assert!(e.starts_with("--node-selector \"zone=eu*\" can match no node"), "{e}");
        let spec = CiliumSpec { node_selector: [("".to_string(), "x".to_string())].into(), ..services(&["a"]) };
        let e = resolve(spec, Overrides::default(), "f").unwrap_err().to_string();
        assert!(e.starts_with("[deploy.cilium] node_selector"), "{e}");
        let e = resolve(services(&["a"]), Overrides::default(), "Ünïcode").unwrap_err().to_string();
        assert!(e.contains("--name"), "{e}");
    }
}
