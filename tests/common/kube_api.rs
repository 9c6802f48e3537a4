//! A double of the Kubernetes API server, since no cluster can run on the test
//! machines. It answers exactly what a real kubectl asks for when it applies a
//! CiliumEnvoyConfig server-side: the version, OpenAPI v3 (telling kubectl the
//! server validates fields itself), discovery of cilium.io/v2, and the apply
//! PATCH, which it records. Without the CRD it lists no cilium.io group, as a
//! cluster without Cilium's envoyConfig does, and kubectl refuses the kind.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::server::{Reply, Request, TestServer};

pub struct KubeApi {
    server: TestServer,
    kubeconfig: PathBuf,
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
        let server = TestServer::start();
        let gv = "apis/cilium.io/v2";
        server.route("/version", json_reply(200, json!({ "major": "1", "minor": "32", "gitVersion": "v1.32.0" })));
        let groups = if with_crd {
            json!([{ "name": "cilium.io", "versions": [{ "groupVersion": "cilium.io/v2", "version": "v2" }],
                     "preferredVersion": { "groupVersion": "cilium.io/v2", "version": "v2" } }])
        } else {
            json!([])
        };
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
        if with_crd {
            paths[gv] = json!({ "serverRelativeURL": format!("/openapi/v3/{gv}?hash=gw") });
            let gvk = json!({ "group": "cilium.io", "version": "v2", "kind": "CiliumEnvoyConfig" });
            let patch = json!({
                "x-kubernetes-group-version-kind": gvk,
                "parameters": [{ "name": "fieldValidation", "in": "query", "schema": { "type": "string" } }],
                "responses": {}
            });
            let document = json!({
                "openapi": "3.0.0",
                "info": { "title": "Kubernetes", "version": "v1.32.0" },
                "paths": { "/apis/cilium.io/v2/namespaces/{namespace}/ciliumenvoyconfigs/{name}": { "patch": patch } },
                "components": { "schemas": {} }
            });
            server.route(&format!("/openapi/v3/{gv}"), json_reply(200, document));
            server.route(
                &format!("/{gv}"),
                json_reply(200, json!({
                    "kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "cilium.io/v2",
                    "resources": [{ "name": "ciliumenvoyconfigs", "singularName": "ciliumenvoyconfig", "namespaced": true,
                                    "kind": "CiliumEnvoyConfig", "verbs": ["get", "list", "patch", "create", "delete"],
                                    "shortNames": ["cec"] }]
                })),
            );
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

    /// Answers the apply of `name` in `namespace` as created.
    pub fn accept(&self, namespace: &str, name: &str) {
        let object = json!({ "apiVersion": "cilium.io/v2", "kind": "CiliumEnvoyConfig",
                             "metadata": { "name": name, "namespace": namespace, "uid": "1", "resourceVersion": "1" } });
        let path = format!("/apis/cilium.io/v2/namespaces/{namespace}/ciliumenvoyconfigs/{name}");
        self.server.route(&path, json_reply(201, object));
    }

    /// The PATCH requests received, in order.
    pub fn patches(&self) -> Vec<Request> {
        self.server.requests().into_iter().filter(|r| r.method == "PATCH").collect()
    }
}
