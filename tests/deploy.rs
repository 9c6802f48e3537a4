//! `gw deploy cilium`: the CiliumEnvoyConfig written for a project, and applied
//! by the real kubectl to a double of the Kubernetes API server (no cluster can
//! run here; see tests/common/kube_api.rs).

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine;
use serde_json::{Value, json};

use common::gw::{Gw, Run};
use common::kube_api::{self, KubeApi};
use common::sha256_hex;
use common::wasm_module::module;

/// The wasm-filter fixture with a build newer than its sources, and `section` appended to gw.toml.
fn project(section: &str) -> (tempfile::TempDir, PathBuf, Vec<u8>) {
    let (dir, root) = common::docker::fixture("wasm-filter");
    let manifest = root.join("gw.toml");
    std::fs::write(&manifest, std::fs::read_to_string(&manifest).unwrap() + section).unwrap();
    std::thread::sleep(Duration::from_millis(20));
    let wasm = module(500);
    std::fs::create_dir_all(root.join("target/gw")).unwrap();
    std::fs::write(root.join("target/gw/wasm_filter.wasm"), &wasm).unwrap();
    (dir, root, wasm)
}

fn deploy(gw: &Gw, root: &Path, args: &[&str]) -> Run {
    let mut all = vec!["deploy", "cilium"];
    all.extend_from_slice(args);
    gw.command(&all).current_dir(root).output().unwrap().into()
}

/// The written file, as JSON.
fn written(root: &Path, run: &Run) -> Value {
    let path = root.join(run.stdout.trim());
    serde_norway::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Every wasm plugin config in a listener, in order.
fn plugins(listener: &Value) -> Vec<&Value> {
    let filters = listener["filter_chains"][0]["filters"].as_array().unwrap();
    let hcm = &filters.last().unwrap()["typed_config"];
    let http = hcm["http_filters"].as_array().unwrap().iter();
    filters
        .iter()
        .chain(http)
        .filter(|f| f["name"].as_str().unwrap().ends_with(".wasm"))
        .map(|f| &f["typed_config"]["config"])
        .collect()
}

#[test]
fn the_filters_go_in_front_of_the_services_with_the_module_inline() {
    let (_dir, root, wasm) = project(
        "\n[deploy.cilium]\nnamespace = \"shop\"\nservices = [\"checkout:8080\", \"cart\"]\n\
         [[topology.services]]\nname = \"cart\"\n[[topology.services.filters]]\nwasm = \"project\"\nname = \"cart_tagger\"\n",
    );
    let gw = Gw::new();
    let run = deploy(&gw, &root, &[]);
    run.ok();
    assert_eq!(run.stdout.trim(), "target/gw/cilium/gw-wasm-filter.yaml");
    assert!(run.stderr.contains("CiliumEnvoyConfig shop/gw-wasm-filter"), "{}", run.stderr);
    let cec = written(&root, &run);
    assert_eq!((cec["apiVersion"].as_str(), cec["kind"].as_str()), (Some("cilium.io/v2"), Some("CiliumEnvoyConfig")));
    assert_eq!(cec["metadata"]["namespace"], "shop");
    assert_eq!(
        cec["spec"]["services"],
        json!([{ "name": "checkout", "namespace": "shop", "listener": "checkout-8080", "ports": [8080] },
               { "name": "cart", "namespace": "shop", "listener": "cart" }])
    );
    assert_eq!(cec["spec"]["backendServices"][0]["number"], json!(["8080"]));

    let resources = cec["spec"]["resources"].as_array().unwrap();
    let listener = |name: &str| resources.iter().find(|r| r["name"] == name).unwrap();
    let checkout = listener("checkout-8080");
    assert!(checkout.get("address").is_none(), "Cilium picks the listener's address");
    let route = &plugins(checkout);
    assert_eq!(route.len(), 1, "the front's filter only");
    let inline = route[0]["vm_config"]["code"]["local"]["inline_bytes"].as_str().unwrap();
    assert_eq!(base64::engine::general_purpose::STANDARD.decode(inline).unwrap(), wasm);
    let cart: Vec<_> = plugins(listener("cart")).iter().map(|p| p["name"].as_str().unwrap().to_string()).collect();
    assert_eq!(cart, ["wasm-filter", "cart_tagger"], "the front's filter, then the service's own");
    let clusters: Vec<_> = resources.iter().filter(|r| r["type"] == "EDS").map(|r| r["name"].clone()).collect();
    assert_eq!(clusters, [json!("shop/checkout:8080"), json!("shop/cart")]);

    // Flags win over gw.toml; the module can be fetched by Envoy instead, pinned by its sha256.
    let run = deploy(
        &gw,
        &root,
        &[
            "--service",
            "api",
            "-n",
            "edge",
            "--name",
            "filters",
            "--out",
            "k8s",
            "--module-url",
            "https://cdn.example/f.wasm",
        ],
    );
    run.ok();
    assert_eq!(run.stdout.trim(), "k8s/filters.yaml");
    let cec = written(&root, &run);
    assert_eq!(cec["spec"]["services"], json!([{ "name": "api", "namespace": "edge", "listener": "api" }]));
    let resources = cec["spec"]["resources"].as_array().unwrap();
    let remote = &plugins(&resources[0])[0]["vm_config"]["code"]["remote"];
    assert_eq!(remote["sha256"], sha256_hex(&wasm));
    assert_eq!(remote["http_uri"]["cluster"], "edge/filters/gw-module-source");
    let source = resources.iter().find(|r| r["name"] == "edge/filters/gw-module-source").unwrap();
    assert_eq!(source["transport_socket"]["typed_config"]["sni"], "cdn.example");
}

#[test]
fn what_cannot_be_deployed_is_refused_and_nothing_is_written() {
    let gw = Gw::new();
    let (_dir, root, _) = project("");
    deploy(&gw, &root, &[]).fails_with(2, "no Kubernetes Service is named").fails_with(2, "--service NAME[:PORT]");
    deploy(&gw, &root, &["--service", "Checkout"]).fails_with(2, "--service \"Checkout\" is not a Service name");
    deploy(&gw, &root, &["--service", "a", "--module-url", "ftp://x/f.wasm"]).fails_with(2, "--module-url");
    assert!(!root.join("target/gw/cilium").exists(), "nothing written");

    let (_dir, root, _) = project("\n[deploy.cilium]\nservice = [\"a\"]\n");
    deploy(&gw, &root, &[])
        .fails_with(2, "gw.toml: TOML parse error at line 6")
        .fails_with(2, "unknown field `service`");

    let (_dir, root, _) = project("\n[deploy.cilium]\nservices = [\"checkout\"]\n");
    std::thread::sleep(Duration::from_millis(20));
    let lib = root.join("src/lib.rs");
    std::fs::write(&lib, std::fs::read_to_string(&lib).unwrap() + "\n// edited\n").unwrap();
    deploy(&gw, &root, &[]).fails_with(1, "is older than the sources; run `gw build` first");

    let (_dir, root) = common::docker::fixture("ebpf-xdp");
    deploy(&gw, &root, &["--service", "a"]).fails_with(2, "is an eBPF project");
    assert!(!root.join("target/gw/cilium").exists());
}

/// `gw deploy cilium --apply` with kubectl pointed at `api`.
fn apply(gw: &Gw, root: &Path, api: &KubeApi) -> Run {
    gw.command(&["deploy", "cilium", "--apply"])
        .current_dir(root)
        .env("KUBECONFIG", api.kubeconfig())
        .output()
        .unwrap()
        .into()
}

#[test]
fn apply_hands_the_file_to_kubectl_as_a_server_side_apply() {
    let Some(()) = kube_api::kubectl_available() else { return };
    let (dir, root, _) = project("\n[deploy.cilium]\nnamespace = \"shop\"\nservices = [\"checkout\"]\n");
    let api = KubeApi::start(dir.path(), true);
    api.accept("shop", "gw-wasm-filter");
    let gw = Gw::new();
    let run = apply(&gw, &root, &api);
    run.ok();
    assert!(run.stdout.contains("ciliumenvoyconfig.cilium.io/gw-wasm-filter serverside-applied"), "{}", run.stdout);
    let patches = api.patches();
    assert_eq!(patches.len(), 1);
    let patch = &patches[0];
    assert_eq!(patch.path, "/apis/cilium.io/v2/namespaces/shop/ciliumenvoyconfigs/gw-wasm-filter");
    for query in ["fieldManager=gw", "force=true"] {
        assert!(patch.target.contains(query), "{}", patch.target);
    }
    assert_eq!(patch.header("content-type"), Some("application/apply-patch+yaml"));
    let sent: Value = serde_json::from_slice(&patch.body).unwrap();
    let file: Value =
        serde_norway::from_str(&std::fs::read_to_string(root.join("target/gw/cilium/gw-wasm-filter.yaml")).unwrap())
            .unwrap();
    assert_eq!(sent, file, "kubectl sends the object gw wrote");
}

#[test]
fn a_cluster_without_the_crd_gets_kubectls_error_its_code_and_the_helm_setting() {
    let Some(()) = kube_api::kubectl_available() else { return };
    let (dir, root, _) = project("\n[deploy.cilium]\nservices = [\"checkout\"]\n");
    let api = KubeApi::start(dir.path(), false);
    let gw = Gw::new();
    let run = apply(&gw, &root, &api);
    run.fails_with(1, "no matches for kind \"CiliumEnvoyConfig\"").fails_with(1, "envoyConfig.enabled=true");
    assert!(api.patches().is_empty());
    assert!(root.join("target/gw/cilium/gw-wasm-filter.yaml").is_file(), "the file stays for a later apply");
}

/// The Envoy resources of a CiliumEnvoyConfig as a bootstrap Envoy can judge: the listeners
/// (given the loopback address Cilium would assign) and, for the clusters Cilium makes from its
/// services (EDS), static stand-ins of the same names.
fn as_bootstrap(cec: &Value) -> Value {
    let mut listeners = Vec::new();
    let mut clusters = Vec::new();
    for resource in cec["spec"]["resources"].as_array().unwrap() {
        let mut resource = resource.clone();
        let kind = resource.as_object_mut().unwrap().remove("@type").unwrap();
        if kind.as_str().unwrap().ends_with(".Listener") {
            resource["address"] = json!({"socket_address": {"address": "127.0.0.1", "port_value": 0}});
            listeners.push(resource);
        } else if resource["type"] == "EDS" {
            let name = resource["name"].clone();
            clusters.push(json!({"name": name, "type": "STATIC", "connect_timeout": "1s",
                "load_assignment": {"cluster_name": name, "endpoints": [{"lb_endpoints": [
                    {"endpoint": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": 9}}}}]}]}}));
        } else {
            clusters.push(resource);
        }
    }
    json!({"admin": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": 0}}},
           "static_resources": {"listeners": listeners, "clusters": clusters}})
}

#[test]
fn the_envoy_resources_are_accepted_by_real_envoys() {
    let envoys = common::envoy::all();
    let (_dir, root, _) = project(
        "\n[deploy.cilium]\nnamespace = \"shop\"\nservices = [\"checkout:8080\", \"cart\"]\n\
         [[topology.services]]\nname = \"cart\"\n[[topology.services.filters]]\nwasm = \"project\"\nname = \"cart_tagger\"\n",
    );
    // A real filter inline, which Envoy loads (tests/wasm/filter.wat, Basic auth).
    common::envoy::wat_module("filter", &root.join("target/gw/wasm_filter.wasm"));
    for envoy in &envoys {
        let gw = Gw::new();
        gw.publish_real_envoy(envoy);
        let mut files = Vec::new();
        for (name, extra) in [("inline", vec![]), ("remote", vec!["--module-url", "https://cdn.example/f.wasm"])] {
            let mut args = vec!["--out", "k8s", "--name", name];
            args.extend(extra);
            let run = deploy(&gw, &root, &args);
            run.ok();
            let bootstrap = as_bootstrap(&written(&root, &run));
            let file = root.join(format!("k8s/{name}-bootstrap.yaml"));
            std::fs::write(&file, serde_norway::to_string(&bootstrap).unwrap()).unwrap();
            files.push(file.display().to_string());
        }
        let mut args = vec!["validate", "--envoy", &envoy.version];
        args.extend(files.iter().map(String::as_str));
        let run: Run = gw.command(&args).current_dir(&root).output().unwrap().into();
        run.ok();
        let expected: Vec<String> = files.iter().map(|f| format!("{f}: ok")).collect();
        assert_eq!(run.stdout.lines().collect::<Vec<_>>(), expected, "Envoy {}:\n{}", envoy.version, run.stderr);
    }
}
