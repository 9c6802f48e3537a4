//! Objects checked offline, before anything is written, against the schema the
//! cluster will apply: each engine's CRD `openAPIV3Schema`, pinned by version and
//! kept as data in `crds/` (see its README), the way kubeconform checks manifests.
//!
//! Strict, as the API server's field validation is: a field the schema does not
//! declare is an error, except under `x-kubernetes-preserve-unknown-fields`.
//! The CRDs' CEL rules (`x-kubernetes-validations`), which JSON Schema cannot
//! express, are checked by hand in [`rules`].

use serde_json::Value;

use super::Error;

/// The CRDs gw writes objects of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Crd {
    IstioWasmPlugin,
    EnvoyExtensionPolicy,
    CiliumEnvoyConfig,
    CiliumNetworkPolicy,
}

impl Crd {
    pub fn kind(self) -> &'static str {
        match self {
            Crd::IstioWasmPlugin => "WasmPlugin",
            Crd::EnvoyExtensionPolicy => "EnvoyExtensionPolicy",
            Crd::CiliumEnvoyConfig => "CiliumEnvoyConfig",
            Crd::CiliumNetworkPolicy => "CiliumNetworkPolicy",
        }
    }

    /// The CRD and the release it comes from.
    pub fn source(self) -> &'static str {
        match self {
            Crd::IstioWasmPlugin => ISTIO,
            Crd::EnvoyExtensionPolicy => ENVOY_GATEWAY,
            Crd::CiliumEnvoyConfig => CILIUM,
            Crd::CiliumNetworkPolicy => CILIUM_NETWORK_POLICY,
        }
    }

    /// The engine, and the releases (major.minor) whose CRD the pinned schema is.
    pub fn engine(self) -> (&'static str, &'static [&'static str]) {
        match self {
            Crd::IstioWasmPlugin => ("Istio", &["1.30"]),
            Crd::EnvoyExtensionPolicy => ("Envoy Gateway", &["1.9"]),
            Crd::CiliumEnvoyConfig | Crd::CiliumNetworkPolicy => ("Cilium", &["1.17"]),
        }
    }

    fn schema(self) -> &'static str {
        match self {
            Crd::IstioWasmPlugin => include_str!("crds/istio-wasmplugin.json"),
            Crd::EnvoyExtensionPolicy => include_str!("crds/envoy-gateway-envoyextensionpolicy.json"),
            Crd::CiliumEnvoyConfig => include_str!("crds/cilium-envoyconfig.json"),
            Crd::CiliumNetworkPolicy => include_str!("crds/cilium-networkpolicy.json"),
        }
    }
}

pub const ISTIO: &str = "wasmplugins.extensions.istio.io v1alpha1, Istio 1.30.3";
pub const ENVOY_GATEWAY: &str = "envoyextensionpolicies.gateway.envoyproxy.io v1alpha1, Envoy Gateway 1.9.0";
pub const CILIUM: &str = "ciliumenvoyconfigs.cilium.io v2, Cilium 1.17.6";
pub const CILIUM_NETWORK_POLICY: &str = "ciliumnetworkpolicies.cilium.io v2, Cilium 1.17.6";

/// Refuses an engine version (`1.30`, `1.30.3`, `v1.9.0`) whose CRD gw does not carry: it could
/// not vouch for what that release accepts. The flag's version wins over gw.toml's (`version`
/// under `section`).
pub fn require_version(crd: Crd, flag: Option<&str>, toml: Option<&str>, section: &str) -> Result<(), Error> {
    let (given, place) = match (flag, toml) {
        (Some(v), _) => (v, "--engine-version".to_string()),
        (None, Some(v)) => (v, format!("{section} version")),
        (None, None) => return Ok(()),
    };
    let (engine, known) = crd.engine();
    let minor: String = given.trim_start_matches('v').split('.').take(2).collect::<Vec<_>>().join(".");
    if known.contains(&minor.as_str()) {
        return Ok(());
    }
    Err(Error::UnknownEngineVersion { engine, given: given.to_string(), place, known: known.join(", ") })
}

/// Every problem of `object` against its CRD, each with the field's path.
pub fn check(crd: Crd, object: &Value) -> Result<(), Error> {
    let problems = problems(crd, object);
    if problems.is_empty() { Ok(()) } else { Err(Error::Schema { kind: crd.kind(), crd: crd.source(), problems }) }
}

pub fn problems(crd: Crd, object: &Value) -> Vec<String> {
    let mut schema: Value = serde_json::from_str(crd.schema()).expect("the pinned CRD schemas are JSON");
    // Every object has these, whether its CRD's schema names them or not.
    if let Some(Value::Object(properties)) = schema.get_mut("properties") {
        for (key, kind) in [("apiVersion", "string"), ("kind", "string"), ("metadata", "object")] {
            properties.entry(key).or_insert_with(|| serde_json::json!({ "type": kind }));
        }
    }
    strict(&mut schema);
    let validator = match jsonschema::options().with_draft(jsonschema::Draft::Draft4).build(&schema) {
        Ok(validator) => validator,
        Err(e) => return vec![format!("the pinned schema does not compile: {e}")],
    };
    let mut problems: Vec<String> = validator
        .iter_errors(object)
        .map(|e| {
            let path = e.instance_path().to_string();
            format!("  {}: {e}", if path.is_empty() { "/".to_string() } else { path })
        })
        .collect();
    problems.extend(rules(crd, object).into_iter().map(|p| format!("  {p}")));
    problems
}

/// Objects with declared properties take no others, unless the schema keeps unknown fields.
fn strict(schema: &mut Value) {
    match schema {
        Value::Object(map) => {
            let keeps_unknown = map.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true));
            if map.contains_key("properties") && !map.contains_key("additionalProperties") && !keeps_unknown {
                map.insert("additionalProperties".into(), Value::Bool(false));
            }
            // Branches of anyOf/oneOf (`{properties: {ingress: {}}, required: [ingress]}`) only
            // test for a key; closing them would refuse every other field.
            for (key, value) in map.iter_mut() {
                if !["anyOf", "oneOf", "allOf", "not"].contains(&key.as_str()) {
                    strict(value);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(strict),
        _ => {}
    }
}

/// The CRDs' CEL rules that bear on what gw writes, with their messages.
fn rules(crd: Crd, object: &Value) -> Vec<String> {
    let spec = &object["spec"];
    let has = |key: &str| spec.get(key).is_some_and(|v| !v.is_null());
    let refs = || {
        let one = spec.get("targetRef").into_iter();
        one.chain(spec.get("targetRefs").and_then(Value::as_array).into_iter().flatten()).collect::<Vec<_>>()
    };
    let mut problems = Vec::new();
    match crd {
        Crd::IstioWasmPlugin => {
            if [has("selector"), has("targetRef"), has("targetRefs")].iter().filter(|b| **b).count() > 1 {
                problems.push("/spec: only one of targetRefs or selector can be set".into());
            }
            let url = spec["url"].as_str().unwrap_or_default();
            let scheme = url.split_once("://").map_or("", |(scheme, _)| scheme);
            if !["", "http", "https", "oci", "file"].contains(&scheme) {
                problems.push("/spec/url: url must have schema one of [http, https, file, oci]".into());
            }
            for (key, value) in spec["selector"]["matchLabels"].as_object().into_iter().flatten() {
                if key.is_empty() || key.contains('*') || value.as_str().is_some_and(|v| v.contains('*')) {
                    problems.push(format!("/spec/selector/matchLabels/{key}: no wildcard, and a key is not empty"));
                }
            }
            if refs().iter().any(|r| r.get("namespace").and_then(Value::as_str).is_some_and(|n| !n.is_empty())) {
                problems.push("/spec/targetRefs: cross namespace referencing is not currently supported".into());
            }
        }
        Crd::EnvoyExtensionPolicy => {
            let selectors = spec.get("targetSelectors").and_then(Value::as_array).is_some_and(|s| !s.is_empty());
            if has("targetRef") == has("targetRefs") && !selectors {
                problems.push("/spec: either targetRef or targetRefs must be used".into());
            }
            const KINDS: [&str; 7] =
                ["Gateway", "ListenerSet", "HTTPRoute", "GRPCRoute", "UDPRoute", "TCPRoute", "TLSRoute"];
            for r in refs() {
                if r["group"] != "gateway.networking.k8s.io" || !KINDS.contains(&r["kind"].as_str().unwrap_or_default())
                {
                    problems.push(format!(
                        "/spec/targetRefs: this policy can only target gateway.networking.k8s.io kinds {}",
                        KINDS.join("/")
                    ));
                }
            }
            for (i, wasm) in spec.get("wasm").and_then(Value::as_array).into_iter().flatten().enumerate() {
                let code = &wasm["code"];
                let kind = code["type"].as_str().unwrap_or_default();
                if (kind == "HTTP") != code.get("http").is_some() || (kind == "Image") != code.get("image").is_some() {
                    problems.push(format!("/spec/wasm/{i}/code: If type is {kind}, only the {kind} field is set"));
                }
                if code["image"].get("pullSecretRef").is_some_and(|r| r.get("kind").is_some_and(|k| k != "Secret")) {
                    problems.push(format!("/spec/wasm/{i}/code/image/pullSecretRef: only support Secret kind."));
                }
            }
        }
        Crd::CiliumEnvoyConfig => {}
        Crd::CiliumNetworkPolicy => {
            // From the rules' descriptions; the API server does not check it, Cilium does.
            const SOURCES: [&str; 5] = ["fromEndpoints", "fromCIDR", "fromCIDRSet", "fromEntities", "fromGroups"];
            for (i, rule) in object["specs"].as_array().into_iter().flatten().enumerate() {
                for direction in ["ingress", "ingressDeny"] {
                    for (j, entry) in rule[direction].as_array().into_iter().flatten().enumerate() {
                        if SOURCES.iter().filter(|key| entry.get(**key).is_some()).count() > 1 {
                            problems.push(format!(
                                "/specs/{i}/{direction}/{j}: FromEndpoints, FromCIDR, FromCIDRSet, FromEntities \
                                 and FromGroups are mutually exclusive"
                            ));
                        }
                    }
                }
            }
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn plugin() -> Value {
        json!({
            "apiVersion": "extensions.istio.io/v1alpha1",
            "kind": "WasmPlugin",
            "metadata": {"name": "gw-auth", "namespace": "default"},
            "spec": {
                "url": "oci://ghcr.io/acme/auth:0.1.0",
                "sha256": "a".repeat(64),
                "selector": {"matchLabels": {"app": "checkout"}},
                "phase": "AUTHN",
                "match": [{"mode": "SERVER", "ports": [{"number": 8080}]}],
                "pluginConfig": {"anything": ["goes", 1]},
                "type": "HTTP",
                "failStrategy": "FAIL_CLOSE"
            }
        })
    }

    fn policy() -> Value {
        json!({
            "apiVersion": "gateway.envoyproxy.io/v1alpha1",
            "kind": "EnvoyExtensionPolicy",
            "metadata": {"name": "gw-auth", "namespace": "default"},
            "spec": {
                "targetRefs": [{"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "eg"}],
                "wasm": [{
                    "name": "auth",
                    "code": {"type": "Image", "image": {"url": "ghcr.io/acme/auth:0.1.0", "sha256": "a".repeat(64)}},
                    "config": {"k": "v"}
                }]
            }
        })
    }

    fn network_policy() -> Value {
        json!({
            "apiVersion": "cilium.io/v2",
            "kind": "CiliumNetworkPolicy",
            "metadata": {"name": "gw-auth", "namespace": "shop"},
            "specs": [{
                "endpointSelector": {"matchLabels": {"app": "api"}},
                "ingress": [{
                    "fromCIDR": ["203.0.113.0/24"],
                    "toPorts": [{
                        "ports": [{"port": "8080", "protocol": "TCP"}],
                        "rules": {"http": [{"path": "/api.*", "method": "GET|POST",
                                            "headerMatches": [{"name": "x-canary", "value": "true"}]}]}
                    }]
                }],
                "ingressDeny": [{"fromEntities": ["world"], "toPorts": [{"ports": [{"port": "8080"}]}]}]
            }]
        })
    }

    fn with(mut object: Value, pointer: &str, value: Value) -> Value {
        *object.pointer_mut(pointer).unwrap() = value;
        object
    }

    fn fails(crd: Crd, object: &Value, expected: &str) {
        let problems = problems(crd, object).join("\n");
        assert!(problems.contains(expected), "expected {expected:?} in:\n{problems}");
    }

    #[test]
    fn only_the_pinned_releases_are_vouched_for() {
        assert!(require_version(Crd::IstioWasmPlugin, None, None, "x").is_ok());
        assert!(require_version(Crd::IstioWasmPlugin, Some("1.30.3"), Some("1.2"), "x").is_ok(), "the flag wins");
        assert!(require_version(Crd::EnvoyExtensionPolicy, None, Some("v1.9.0"), "x").is_ok());
        let e = require_version(Crd::IstioWasmPlugin, Some("1.12"), None, "x").unwrap_err().to_string();
        assert!(e.contains("--engine-version \"1.12\"") && e.contains("Istio 1.30"), "{e}");
        let e = require_version(Crd::IstioWasmPlugin, None, Some("1.12"), "[deploy.istio]").unwrap_err().to_string();
        assert!(e.starts_with("[deploy.istio] version \"1.12\""), "{e}");
    }

    #[test]
    fn objects_as_gw_writes_them_pass() {
        assert_eq!(problems(Crd::IstioWasmPlugin, &plugin()), Vec::<String>::new());
        assert_eq!(problems(Crd::EnvoyExtensionPolicy, &policy()), Vec::<String>::new());
        assert_eq!(problems(Crd::CiliumNetworkPolicy, &network_policy()), Vec::<String>::new());
    }

    #[test]
    fn network_policy_rules_name_the_field() {
        let cnp = Crd::CiliumNetworkPolicy;
        fails(cnp, &with(network_policy(), "/specs/0/ingress/0/toPorts/0/ports/0/port", json!(8080)), "/ports/0/port");
        fails(
            cnp,
            &with(network_policy(), "/specs/0/ingress/0/toPorts/0/ports/0/protocol", json!("HTTP")),
            "/protocol",
        );
        fails(
            cnp,
            &with(network_policy(), "/specs/0/ingressDeny/0/fromEntities/0", json!("everyone")),
            "/fromEntities/0",
        );
        let mut l7_deny = network_policy();
        l7_deny["specs"][0]["ingressDeny"][0]["toPorts"][0]["rules"] = json!({"http": [{"path": "/"}]});
        fails(cnp, &l7_deny, "rules");
        let mut both = network_policy();
        both["specs"][0]["ingress"][0]["fromEntities"] = json!(["cluster"]);
        fails(
            cnp,
            &both,
            "/specs/0/ingress/0: FromEndpoints, FromCIDR, FromCIDRSet, FromEntities and FromGroups are mutually exclusive",
        );
        let mut neither = network_policy();
        neither["specs"][0].as_object_mut().unwrap().retain(|k, _| k == "endpointSelector");
        fails(cnp, &neither, "anyOf");
        let mut value = with(network_policy(), "/specs/0/endpointSelector/matchLabels/app", json!("a*"));
        fails(cnp, &value, "/specs/0/endpointSelector/matchLabels/app");
        value = network_policy();
        value["specs"][0]["ingress"][0]["toPorts"][0]["rules"]["http"][0]["headerMatches"][0]["mismatch"] = json!("X");
        fails(cnp, &value, "mismatch");
    }

    #[test]
    fn each_rule_names_the_field() {
        let istio = Crd::IstioWasmPlugin;
        fails(istio, &with(plugin(), "/spec/phase", json!("EARLY")), "/spec/phase");
        fails(istio, &with(plugin(), "/spec/sha256", json!("sha256:abc")), "/spec/sha256");
        fails(istio, &with(plugin(), "/spec/match/0/ports/0/number", json!(0)), "/spec/match/0/ports/0/number");
        fails(istio, &with(plugin(), "/spec/type", json!("HTTP_FILTER")), "/spec/type");
        let mut unknown = plugin();
        unknown["spec"]["imagePullSecrets"] = json!(["x"]);
        fails(istio, &unknown, "imagePullSecrets");
        let mut both = plugin();
        both["spec"]["targetRefs"] = json!([{"kind": "Gateway", "name": "g"}]);
        fails(istio, &both, "only one of targetRefs or selector can be set");
        fails(istio, &with(plugin(), "/spec/url", json!("ftp://x/f.wasm")), "url must have schema one of");
        fails(istio, &with(plugin(), "/spec/selector/matchLabels", json!({"app": "a*"})), "no wildcard");

        let eg = Crd::EnvoyExtensionPolicy;
        let mut untargeted = policy();
        untargeted["spec"].as_object_mut().unwrap().remove("targetRefs");
        fails(eg, &untargeted, "either targetRef or targetRefs must be used");
        fails(eg, &with(policy(), "/spec/targetRefs/0/kind", json!("Service")), "this policy can only target");
        fails(eg, &with(policy(), "/spec/wasm/0/code/type", json!("HTTP")), "If type is HTTP");
        let mut secret = policy();
        secret["spec"]["wasm"][0]["code"]["image"]["pullSecretRef"] = json!({"kind": "ConfigMap", "name": "s"});
        fails(eg, &secret, "only support Secret kind");
        let mut fail_open = policy();
        fail_open["spec"]["wasm"][0]["failOpen"] = json!("yes");
        fails(eg, &fail_open, "/spec/wasm/0/failOpen");

        let cilium = json!({
            "apiVersion": "cilium.io/v2", "kind": "CiliumEnvoyConfig", "metadata": {"name": "x"},
            "spec": {"services": [{"name": "a", "listen": "l"}], "resources": []}
        });
        fails(Crd::CiliumEnvoyConfig, &cilium, "listen");
    }
}
