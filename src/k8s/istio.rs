//! `gw deploy istio`: the project's filter as an Istio WasmPlugin
//! (extensions.istio.io/v1alpha1). istiod hands it to the sidecars or gateways
//! it selects, and each pulls the image `gw push` published (`oci://`),
//! checking it against the manifest digest in `sha256`.

use std::collections::BTreeMap;

use serde::Serialize;

use super::plugin::Plugin;
use super::refs::{self, TargetRef};
pub use super::spec::IstioSpec;
use super::{Error, Manifest, schema};
use crate::topology::spec::FilterKind;

/// Flags of `gw deploy istio`; each, when given, wins over gw.toml.
#[derive(Debug, Default)]
pub struct IstioOverrides {
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub selector: Vec<String>,
    pub target_refs: Vec<String>,
    pub phase: Option<String>,
    pub priority: Option<i32>,
    pub mode: Option<String>,
    pub ports: Vec<u16>,
    pub pull_secret: Option<String>,
    pub fail_open: bool,
    pub engine_version: Option<String>,
}

pub const ENGINE: &str = "gw deploy istio";
const SECTION: &str = "[deploy.istio]";
pub const PHASES: [&str; 4] = ["AUTHN", "AUTHZ", "STATS", "UNSPECIFIED_PHASE"];
pub const MODES: [&str; 4] = ["CLIENT", "SERVER", "CLIENT_AND_SERVER", "UNDEFINED"];
/// The kinds a WasmPlugin's targetRefs may name, with their API group.
const TARGET_KINDS: [(&str, &str); 3] =
    [("Gateway", "gateway.networking.k8s.io"), ("GatewayClass", "gateway.networking.k8s.io"), ("Service", "")];

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Spec {
    url: String,
    sha256: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    image_pull_secret: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    selector: Option<Selector>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    target_refs: Vec<TargetRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    phase: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    priority: Option<i32>,
    #[serde(rename = "match", skip_serializing_if = "Vec::is_empty")]
    matches: Vec<Match>,
    #[serde(skip_serializing_if = "Option::is_none")]
    plugin_config: Option<serde_json::Value>,
    #[serde(rename = "type")]
    kind: &'static str,
    fail_strategy: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Selector {
    match_labels: BTreeMap<String, String>,
}

#[derive(Serialize)]
struct Match {
    mode: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    ports: Vec<Port>,
}

#[derive(Serialize)]
struct Port {
    number: u16,
}

/// The WasmPlugin for `plugin`, flags over gw.toml, checked against Istio's CRD before it is
/// returned.
pub fn manifest(spec: IstioSpec, flags: IstioOverrides, plugin: &Plugin) -> Result<Manifest, Error> {
    let crd = schema::Crd::IstioWasmPlugin;
    schema::require_version(crd, flags.engine_version.as_deref(), spec.version.as_deref(), SECTION)?;
    let pushed = plugin.pushed(ENGINE)?;
    let (namespace, name) =
        super::place((flags.namespace, spec.namespace), (flags.name, spec.name), &plugin.name, SECTION)?;
    let labels = refs::selector(("--selector", flags.selector), (SECTION, "selector", spec.selector), "workload")?;
    let (target_refs, place) =
        refs::target_refs(flags.target_refs, spec.target_refs, SECTION, &TARGET_KINDS, "a WasmPlugin")?;
    if !labels.is_empty() && !target_refs.is_empty() {
        let named: Vec<String> = target_refs.iter().map(|r| format!("{}/{}", r.kind, r.name)).collect();
        let reason = "and a selector both name where the filter runs; Istio takes one".into();
        return Err(Error::Input { place, value: named.join(", "), reason });
    }
    let phase = flags.phase.or(spec.phase).map(|p| one_of(&p, &PHASES, "--phase / phase")).transpose()?;
    let mode = flags.mode.or(spec.mode).map(|m| one_of(&m, &MODES, "--mode / mode")).transpose()?;
    let ports = if flags.ports.is_empty() { spec.ports } else { flags.ports };
    let matches = match (mode, ports.is_empty()) {
        (None, true) => Vec::new(),
        (mode, _) => vec![Match {
            mode: mode.unwrap_or_else(|| "CLIENT_AND_SERVER".into()),
            ports: ports.into_iter().map(|number| Port { number }).collect(),
        }],
    };
    let pull_secret = refs::pull_secret(flags.pull_secret, spec.pull_secret)?;
    if pull_secret.is_none() && pushed.credentials {
        return Err(Error::NoPullSecret { image: pushed.image.clone() });
    }
    let kind = match plugin.kind {
        FilterKind::Http => "HTTP",
        FilterKind::Network => "NETWORK",
        FilterKind::AccessLog => {
            return Err(Error::Config {
                origin: "the project's filter".into(),
                reason: "is an access logger, and a WasmPlugin runs HTTP or network filters".into(),
            });
        }
    };
    let plugin_config = match &plugin.config {
        Some(value) if !value.is_object() => {
            return Err(Error::Config {
                origin: plugin.config_origin.clone(),
                reason: "is JSON but not an object, and a WasmPlugin's pluginConfig is one".into(),
            });
        }
        other => other.clone(),
    };
    let object = super::Object {
        api_version: "extensions.istio.io/v1alpha1",
        kind: "WasmPlugin",
        metadata: super::Metadata::new(&name, Some(&namespace)),
        spec: Spec {
            url: format!("oci://{}", pushed.image),
            sha256: pushed.digest_hex().to_string(),
            image_pull_secret: pull_secret,
            selector: (!labels.is_empty()).then_some(Selector { match_labels: labels }),
            target_refs,
            phase,
            priority: flags.priority.or(spec.priority),
            matches,
            plugin_config,
            kind,
            fail_strategy: if flags.fail_open || spec.fail_open { "FAIL_OPEN" } else { "FAIL_CLOSE" },
        },
    };
    let value = serde_json::to_value(&object).map_err(|e| Error::Rendered { problems: e.to_string() })?;
    schema::check(schema::Crd::IstioWasmPlugin, &value)?;
    super::to_manifest(&name, &value)
}

fn one_of(value: &str, allowed: &[&str], place: &str) -> Result<String, Error> {
    let upper = value.to_ascii_uppercase();
    if allowed.contains(&upper.as_str()) {
        return Ok(upper);
    }
    Err(Error::Input { place: place.into(), value: value.into(), reason: format!("is none of {}", allowed.join(", ")) })
}
