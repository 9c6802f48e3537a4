//! `gw deploy envoy-gateway`: the project's filter as an Envoy Gateway
//! EnvoyExtensionPolicy (gateway.envoyproxy.io/v1alpha1) attached to Gateways or
//! routes. Envoy Gateway fetches the code itself: the image `gw push` published
//! (checked against the manifest digest), or an HTTP URL (checked against the
//! module's sha256), and serves it to its Envoys.

use serde::Serialize;

use super::plugin::Plugin;
use super::refs::{self, TargetRef};
pub use super::spec::EnvoyGatewaySpec;
use super::{Error, Manifest, schema};
use crate::topology::spec::FilterKind;

pub const ENGINE: &str = "gw deploy envoy-gateway";
const SECTION: &str = "[deploy.envoy-gateway]";

/// Flags of `gw deploy envoy-gateway`; each, when given, wins over gw.toml.
#[derive(Debug, Default)]
pub struct EnvoyGatewayOverrides {
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub target_refs: Vec<String>,
    pub module_url: Option<String>,
    pub pull_secret: Option<String>,
    pub fail_open: bool,
    pub engine_version: Option<String>,
}

const GATEWAY_API: &str = "gateway.networking.k8s.io";
/// The kinds an EnvoyExtensionPolicy may target, all in the Gateway API's group.
const TARGET_KINDS: [(&str, &str); 7] = [
    ("Gateway", GATEWAY_API),
    ("ListenerSet", GATEWAY_API),
    ("HTTPRoute", GATEWAY_API),
    ("GRPCRoute", GATEWAY_API),
    ("UDPRoute", GATEWAY_API),
    ("TCPRoute", GATEWAY_API),
    ("TLSRoute", GATEWAY_API),
];

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Spec {
    target_refs: Vec<TargetRef>,
    wasm: Vec<Wasm>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Wasm {
    name: String,
    code: Code,
    #[serde(skip_serializing_if = "Option::is_none")]
    config: Option<serde_json::Value>,
    fail_open: bool,
}

#[derive(Serialize)]
struct Code {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    image: Option<Image>,
    #[serde(skip_serializing_if = "Option::is_none")]
    http: Option<Http>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Image {
    url: String,
    sha256: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pull_secret_ref: Option<SecretRef>,
}

#[derive(Serialize)]
struct SecretRef {
    kind: &'static str,
    name: String,
}

#[derive(Serialize)]
struct Http {
    url: String,
    sha256: String,
}

/// The EnvoyExtensionPolicy for `plugin`, flags over gw.toml, checked against Envoy Gateway's
/// CRD before it is returned.
pub fn manifest(spec: EnvoyGatewaySpec, flags: EnvoyGatewayOverrides, plugin: &Plugin) -> Result<Manifest, Error> {
    let crd = schema::Crd::EnvoyExtensionPolicy;
    schema::require_version(crd, flags.engine_version.as_deref(), spec.version.as_deref(), SECTION)?;
    let (namespace, name) =
        super::place((flags.namespace, spec.namespace), (flags.name, spec.name), &plugin.name, SECTION)?;
    let object = "an EnvoyExtensionPolicy";
    let (target_refs, _) = refs::target_refs(flags.target_refs, spec.target_refs, SECTION, &TARGET_KINDS, object)?;
    if target_refs.is_empty() {
        return Err(Error::NoTarget { engine: ENGINE });
    }
    if plugin.kind != FilterKind::Http {
        return Err(Error::Config {
            origin: "the project's filter".into(),
            reason: "is not an HTTP filter, and an EnvoyExtensionPolicy runs HTTP filters".into(),
        });
    }
    let pull_secret = refs::pull_secret(flags.pull_secret, spec.pull_secret)?;
    let code = match (flags.module_url, spec.module) {
        (Some(url), _) => http(&url, "--module-url", plugin)?,
        (None, Some(url)) => http(&url, "[deploy.envoy-gateway] module", plugin)?,
        (None, None) => {
            let pushed = plugin.pushed(ENGINE)?;
            if pushed.credentials && pull_secret.is_none() {
                return Err(Error::NoPullSecret { image: pushed.image.clone() });
            }
            Code {
                kind: "Image",
                image: Some(Image {
                    url: pushed.image.clone(),
                    sha256: pushed.digest_hex().to_string(),
                    pull_secret_ref: pull_secret.map(|name| SecretRef { kind: "Secret", name }),
                }),
                http: None,
            }
        }
    };
    let wasm = Wasm {
        name: plugin.name.clone(),
        code,
        config: plugin.config.clone(),
        fail_open: flags.fail_open || spec.fail_open,
    };
    let object = super::Object {
        api_version: "gateway.envoyproxy.io/v1alpha1",
        kind: "EnvoyExtensionPolicy",
        metadata: super::Metadata::new(&name, Some(&namespace)),
        spec: Spec { target_refs, wasm: vec![wasm] },
    };
    let value = serde_json::to_value(&object).map_err(|e| Error::Rendered { problems: e.to_string() })?;
    schema::check(schema::Crd::EnvoyExtensionPolicy, &value)?;
    super::to_manifest(&name, &value)
}

/// The module over HTTP(S), pinned by the build's sha256.
fn http(url: &str, place: &str, plugin: &Plugin) -> Result<Code, Error> {
    let module =
        super::spec::module(url).map_err(|reason| Error::Input { place: place.into(), value: url.into(), reason })?;
    let super::ModuleSource::Url(url) = module else {
        let reason = "must be an http:// or https:// URL here (the module travels as an image otherwise)".into();
        return Err(Error::Input { place: place.into(), value: url.into(), reason });
    };
    let http = Http { url: url.to_string(), sha256: plugin.module_sha256.clone() };
    Ok(Code { kind: "HTTP", image: None, http: Some(http) })
}
