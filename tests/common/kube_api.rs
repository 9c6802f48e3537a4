//! A double of the Kubernetes API server, since no cluster can run on the test
//! machines. It answers exactly what a real kubectl asks for when it applies a
//! custom resource server-side: the version, OpenAPI v3 (telling kubectl the
//! server validates fields itself), discovery of the CRDs' groups, and the apply
//! PATCH, which it records. Without a CRD it lists no group for it, as a cluster
//! without Cilium's envoyConfig (or without Istio) does, and kubectl refuses the kind.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::server::{Reply, Request, TestServer};

pub struct KubeApi {
    server: TestServer,
    kubeconfig: PathBuf,
}

/// A custom resource the double serves.
#[derive(Clone, Copy)]
pub struct Crd {
    pub group: &'static str,
    pub version: &'static str,
    pub kind: &'static str,
    pub plural: &'static str,
}

pub const CILIUM_ENVOY_CONFIG: Crd =
    Crd { group: "cilium.io", version: "v2", kind: "CiliumEnvoyConfig", plural: "ciliumenvoyconfigs" };
pub const CILIUM_NETWORK_POLICY: Crd =
    Crd { group: "cilium.io", version: "v2", kind: "CiliumNetworkPolicy", plural: "ciliumnetworkpolicies" };
pub const WASM_PLUGIN: Crd =
    Crd { group: "extensions.istio.io", version: "v1alpha1", kind: "WasmPlugin", plural: "wasmplugins" };
pub const ENVOY_EXTENSION_POLICY: Crd = Crd {
    group: "gateway.envoyproxy.io",
    version: "v1alpha1",
    kind: "EnvoyExtensionPolicy",
    plural: "envoyextensionpolicies",
};

impl Crd {
    fn group_version(&self) -> String {
        format!("{}/{}", self.group, self.version)
    }

    fn path(&self, namespace: &str, name: &str) -> String {
        format!("/apis/{}/namespaces/{namespace}/{}/{name}", self.group_version(), self.plural)
    }
}

/// Whether kubectl is installed (CI installs it); None when the test should skip.
pub fn kubectl_available() -> Option<()> {
    super::require::tools(&[("kubectl", "kubernetes-client")]).then_some(())
}

fn json_reply(status: u16, value: Value) -> Reply {
    Reply::bytes(status, value.to_string()).header("Content-Type", "application/json")
}

impl KubeApi {
    /// Serves on loopback; `with_crd` says whether cilium.io/v2 CiliumEnvoyConfig exists.
    /// Writes a kubeconfig for it into `dir`.
    pub fn start(dir: &Path, with_crd: bool) -> KubeApi {
        KubeApi::serving(dir, if with_crd { &[CILIUM_ENVOY_CONFIG] } else { &[] })
    }

    /// Serves these CRDs (and no other).
    pub fn serving(dir: &Path, crds: &[Crd]) -> KubeApi {
        let server = TestServer::start();
        server.route("/version", json_reply(200, json!({ "major": "1", "minor": "32", "gitVersion": "v1.32.0" })));
        // Kinds of one group and version share its discovery documents, as a real server's do.
        let mut by_group: std::collections::BTreeMap<String, Vec<Crd>> = Default::default();
        for crd in crds {
            by_group.entry(crd.group_version()).or_default().push(*crd);
        }
        let groups: Vec<Value> = by_group
            .values()
            .map(|kinds| {
                let crd = kinds[0];
                let version = json!({ "groupVersion": crd.group_version(), "version": crd.version });
                json!({ "name": crd.group, "versions": [version.clone()], "preferredVersion": version })
            })
            .collect();
        server.route("/apis", json_reply(200, json!({ "kind": "APIGroupList", "apiVersion": "v1", "groups": groups })));
        server.route("/api", json_reply(200, json!({ "kind": "APIVersions", "versions": ["v1"] })));
        server.route(
            "/api/v1",
            json_reply(200, json!({ "kind": "APIResourceList", "groupVersion": "v1", "resources": [] })),
        );
        // An empty protobuf document: what kubectl falls back to when v3 does not list the kind.
        server.route(
            "/openapi/v2",
            Reply::bytes(200, Vec::new())
                .header("Content-Type", "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"),
        );
        server.route(
            "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
            json_reply(
                200,
                json!({ "kind": "CustomResourceDefinitionList", "apiVersion": "apiextensions.k8s.io/v1",
                                    "metadata": {}, "items": [] }),
            ),
        );
        let mut paths = json!({});
        for (group_version, kinds) in &by_group {
            let gv = format!("apis/{group_version}");
            paths[&gv] = json!({ "serverRelativeURL": format!("/openapi/v3/{gv}?hash=gw") });
            let mut documented = serde_json::Map::new();
            let mut resources = Vec::new();
            for crd in kinds {
                let gvk = json!({ "group": crd.group, "version": crd.version, "kind": crd.kind });
                let patch = json!({
                    "x-kubernetes-group-version-kind": gvk,
                    "parameters": [{ "name": "fieldValidation", "in": "query", "schema": { "type": "string" } }],
                    "responses": {}
                });
                let path = format!("/{gv}/namespaces/{{namespace}}/{}/{{name}}", crd.plural);
                documented.insert(path, json!({ "patch": patch }));
                resources.push(json!({ "name": crd.plural, "singularName": crd.kind.to_ascii_lowercase(),
                                       "namespaced": true, "kind": crd.kind,
                                       "verbs": ["get", "list", "patch", "create", "delete"] }));
            }
            let document = json!({
                "openapi": "3.0.0",
                "info": { "title": "Kubernetes", "version": "v1.32.0" },
                "paths": documented,
                "components": { "schemas": {} }
            });
            server.route(&format!("/openapi/v3/{gv}"), json_reply(200, document));
            let list = json!({ "kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version,
                               "resources": resources });
            server.route(&format!("/{gv}"), json_reply(200, list));
        }
        server.route("/openapi/v3", json_reply(200, json!({ "paths": paths })));
        let kubeconfig = dir.join("kubeconfig");
        let config = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: double\n  cluster: {{server: \"{}\"}}\n\
             users:\n- name: me\n  user: {{}}\ncontexts:\n- name: double\n  context: {{cluster: double, user: me}}\n\
             current-context: double\n",
            server.base_url()
        );
        std::fs::write(&kubeconfig, config).unwrap();
        KubeApi { server, kubeconfig }
    }

    pub fn kubeconfig(&self) -> &Path {
        &self.kubeconfig
    }

    /// Answers the apply of CiliumEnvoyConfig `name` in `namespace` as created.
    pub fn accept(&self, namespace: &str, name: &str) {
        self.accept_kind(CILIUM_ENVOY_CONFIG, namespace, name);
    }

    /// Answers the apply of `crd` object `name` in `namespace` as created.
    pub fn accept_kind(&self, crd: Crd, namespace: &str, name: &str) {
        let object = json!({ "apiVersion": crd.group_version(), "kind": crd.kind,
                             "metadata": { "name": name, "namespace": namespace, "uid": "1", "resourceVersion": "1" } });
        self.server.route(&crd.path(namespace, name), json_reply(201, object));
    }

    /// The PATCH requests received, in order.
    pub fn patches(&self) -> Vec<Request> {
        self.server.requests().into_iter().filter(|r| r.method == "PATCH").collect()
    }
}
