//! Cilium's name prefixing, as a check: before it hands a CiliumEnvoyConfig's
//! resources to Envoy, Cilium qualifies every name without a '/' as
//! `<namespace>/<config>/<name>` (the namespace empty for the clusterwide kind),
//! in resource names and in the references it knows (a route's cluster, a
//! listener's route configuration). References inside a filter's own config
//! (a remote module's or a JWKS fetch's cluster) are left as written, so a bare
//! one would point at nothing once Cilium has renamed the cluster, failing at
//! run time as "cluster not found". Here every reference must land on a
//! cluster of the object after qualification.

use std::collections::BTreeSet;

use serde_json::Value;

/// Each reference to a cluster that will not exist after Cilium's qualification, with its path.
pub fn dangling(resources: &Value, scope: &str, config: &str) -> Vec<String> {
    let qualify = |name: &str| if name.contains('/') { name.to_string() } else { format!("{scope}/{config}/{name}") };
    let items = resources.as_array().map(Vec::as_slice).unwrap_or_default();
    let clusters: BTreeSet<String> = items
        .iter()
        .filter(|r| r["@type"].as_str().is_some_and(|t| t.ends_with(".Cluster")))
        .filter_map(|r| r["name"].as_str().map(qualify))
        .collect();
    let mut references = Vec::new();
    for (i, resource) in items.iter().enumerate() {
        collect(resource, &format!("resources[{i}]"), false, &mut references);
    }
    references
        .into_iter()
        .filter_map(|(path, name, rewritten)| {
            let target = if rewritten { qualify(&name) } else { name.clone() };
            (!clusters.contains(&target)).then(|| {
                let why = if rewritten || name.contains('/') {
                    "names no cluster of the object"
                } else {
                    "is not qualified, and Cilium leaves names inside a filter's config as written"
                };
                format!("{path}: cluster {name:?} {why}")
            })
        })
        .collect()
}

/// `(path, cluster name, whether Cilium qualifies it)` for every reference under `value`:
/// `cluster` in a route action (qualified), `cluster` of an `http_uri` (as written).
fn collect(value: &Value, path: &str, in_route: bool, out: &mut Vec<(String, String, bool)>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                let here = format!("{path}.{key}");
                match (key.as_str(), child) {
                    ("cluster", Value::String(name)) => out.push((here, name.clone(), in_route)),
                    _ => collect(child, &here, in_route || key == "route", out),
                }
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                collect(item, &format!("{path}[{i}]"), in_route, out);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn resources(route_cluster: &str, fetch_cluster: &str) -> Value {
        json!([
            { "@type": "type.googleapis.com/envoy.config.listener.v3.Listener", "name": "checkout",
              "filter_chains": [{ "filters": [{ "typed_config": {
                  "route_config": { "virtual_hosts": [{ "routes": [{ "route": { "cluster": route_cluster } }] }] },
                  "http_filters": [{ "typed_config": { "config": { "vm_config": { "code": { "remote": {
                      "http_uri": { "cluster": fetch_cluster } } } } } } }]
              } }] }] },
            { "@type": "type.googleapis.com/envoy.config.cluster.v3.Cluster", "name": "shop/checkout" },
            { "@type": "type.googleapis.com/envoy.config.cluster.v3.Cluster", "name": "fetch" }
        ])
    }

    #[test]
    fn references_must_meet_clusters_as_cilium_names_them() {
        assert!(dangling(&resources("shop/checkout", "shop/gw-auth/fetch"), "shop", "gw-auth").is_empty());
        // A route's bare reference is qualified by Cilium too.
        let ok = json!([
            { "@type": "x.Listener", "route": { "cluster": "fetch" } },
            { "@type": "type.googleapis.com/envoy.config.cluster.v3.Cluster", "name": "fetch" }
        ]);
        assert!(dangling(&ok, "shop", "gw-auth").is_empty());
        let bare = dangling(&resources("shop/checkout", "fetch"), "shop", "gw-auth");
        assert_eq!(bare.len(), 1, "{bare:?}");
        assert!(bare[0].contains("http_uri.cluster: cluster \"fetch\" is not qualified"), "{}", bare[0]);
        let elsewhere = dangling(&resources("shop/cart", "shop/gw-auth/fetch"), "shop", "gw-auth");
        assert!(elsewhere[0].contains("route.cluster: cluster \"shop/cart\" names no cluster"), "{elsewhere:?}");
        // Clusterwide: the namespace is empty.
        assert!(dangling(&resources("shop/checkout", "/gw-auth/fetch"), "", "gw-auth").is_empty());
    }
}
