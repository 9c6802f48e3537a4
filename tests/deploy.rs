//! `gw deploy cilium`: the CiliumEnvoyConfig written for a project, and applied
//! by the real kubectl to a double of the Kubernetes API server (no cluster can
//! run here; see tests/common/kube_api.rs).

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine;
use serde_json::{Value, json};

use common::gw::{Gw, Run};
use common::jwt::Signer;
use common::kube_api::{self, KubeApi};
use common::registry::{Auth, Registry};
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

/// The written file's first object, as JSON.
fn written(root: &Path, run: &Run) -> Value {
    written_all(root, run).remove(0)
}

/// Every object of the written file.
fn written_all(root: &Path, run: &Run) -> Vec<Value> {
    objects_in(&root.join(run.stdout.trim()))
}

fn objects_in(file: &Path) -> Vec<Value> {
    use serde::Deserialize;
    let text = std::fs::read_to_string(file).unwrap();
    serde_norway::Deserializer::from_str(&text).map(|doc| Value::deserialize(doc).unwrap()).collect()
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
fn the_network_policy_is_applied_with_the_envoy_config_and_kubectl_reads_its_strings_as_strings() {
    let Some(()) = kube_api::kubectl_available() else { return };
    let (dir, root, _) = project(
        "\n[deploy.cilium]\nnamespace = \"shop\"\nservices = [\"api:8080\"]\n\
         [deploy.cilium.network_policy.api]\npods = { app = \"api\" }\nfrom = [\"cluster\"]\n\
         [[topology.routes]]\nprefix = \"/beta\"\nservice = \"api\"\nheaders_match = { x-beta = \"yes\", x-mode = \"off\" }\n\
         [[topology.services]]\nname = \"api\"\n",
    );
    let api = KubeApi::serving(dir.path(), &[kube_api::CILIUM_ENVOY_CONFIG, kube_api::CILIUM_NETWORK_POLICY]);
    api.accept("shop", "gw-wasm-filter");
    api.accept_kind(kube_api::CILIUM_NETWORK_POLICY, "shop", "gw-wasm-filter");
    let run = apply(&Gw::new(), &root, &api);
    run.ok();
    for applied in ["ciliumenvoyconfig.cilium.io/gw-wasm-filter", "ciliumnetworkpolicy.cilium.io/gw-wasm-filter"] {
        assert!(run.stdout.contains(&format!("{applied} serverside-applied")), "{}", run.stdout);
    }
    let patches = api.patches();
    assert_eq!(patches.len(), 2);
    assert_eq!(patches[1].path, "/apis/cilium.io/v2/namespaces/shop/ciliumnetworkpolicies/gw-wasm-filter");
    // kubectl reads YAML 1.1: had gw left `yes` or `off` plain, it would send booleans.
    for (patch, file) in patches.iter().zip(objects_in(&root.join("target/gw/cilium/gw-wasm-filter.yaml"))) {
        let sent: Value = serde_json::from_slice(&patch.body).unwrap();
        assert_eq!(sent, file, "kubectl sends the object gw wrote");
    }
    let sent: Value = serde_json::from_slice(&patches[1].body).unwrap();
    let http = &sent["specs"][0]["ingress"][0]["toPorts"][0]["rules"]["http"][0];
    assert_eq!(http["headerMatches"], json!([{"name": "x-beta", "value": "yes"}, {"name": "x-mode", "value": "off"}]));
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
    as_bootstrap_on(cec, 0, 9)
}

/// [`as_bootstrap`] with the listeners on `port` and each Service's backends at `upstream`; the
/// stand-ins keep the clusters' policies.
fn as_bootstrap_on(cec: &Value, port: u16, upstream: u16) -> Value {
    let mut listeners = Vec::new();
    let mut clusters = Vec::new();
    for resource in cec["spec"]["resources"].as_array().unwrap() {
        let mut resource = resource.clone();
        let kind = resource.as_object_mut().unwrap().remove("@type").unwrap();
        if kind.as_str().unwrap().ends_with(".Listener") {
            resource["address"] = json!({"socket_address": {"address": "127.0.0.1", "port_value": port}});
            listeners.push(resource);
        } else if resource["type"] == "EDS" {
            let name = resource["name"].clone();
            resource["type"] = json!("STATIC");
            resource["load_assignment"] = json!({"cluster_name": name, "endpoints": [{"lb_endpoints": [
                {"endpoint": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": upstream}}}}]}]});
            clusters.push(resource);
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

const GATEWAY: &str = "\n[deploy.cilium]\nnamespace = \"shop\"\nservices = [\"api:8080\"]\n\n\
    [topology.front]\nfilters = []\ntls = true\n\
    [topology.front.jwt]\nissuer = \"https://issuer.example\"\naudiences = [\"shop\"]\njwks = \"keys/jwks.json\"\n\
    forward_claims = { sub = \"x-jwt-sub\" }\n\
    [topology.front.rate_limit]\nrequests = 4\nper = \"60s\"\n\n\
    [[topology.routes]]\nprefix = \"/public\"\nservice = \"api\"\njwt = false\n\
    cors = { allow_origins = [\"https://app.example\"], allow_methods = [\"GET\"] }\n\
    [[topology.routes]]\nprefix = \"/api\"\nheaders_match = { x-canary = \"true\" }\nservice = \"v2\"\n\
    [[topology.routes]]\nprefix = \"/api\"\nservices = [{ service = \"api\", weight = 90 }, { service = \"v2\", weight = 10 }]\n\
    [[topology.routes]]\nprefix = \"/api\"\nservice = \"api\"\ntimeout = \"5s\"\nmethods = [\"GET\", \"POST\"]\n\
    retries = { on = \"5xx\", attempts = 2 }\nheaders = { request_add = { x-gateway = \"shop\" } }\n\n\
    [[topology.services]]\nname = \"api\"\nlb = \"least_request\"\n\
    circuit_breaker = { max_connections = 10, max_pending_requests = 5, max_requests = 10 }\n\
    outlier_detection = { consecutive_5xx = 3 }\n\
    [[topology.services]]\nname = \"v2\"\n";

/// The gateway's project: gw.toml above, and a JWKS whose key signs the tokens.
fn gateway_project(signer: &Signer) -> (tempfile::TempDir, PathBuf) {
    let (dir, root, _) = project(GATEWAY);
    std::fs::create_dir_all(root.join("keys")).unwrap();
    std::fs::write(root.join("keys/jwks.json"), signer.jwks()).unwrap();
    (dir, root)
}

#[test]
fn the_gateway_policies_travel_in_the_listener_and_the_rest_is_named() {
    let signer = Signer::new();
    let (_dir, root) = gateway_project(&signer);
    let run = deploy(&Gw::new(), &root, &[]);
    run.ok();
    for note in [
        "front.tls: not carried",
        "routes[1] (/api → v2 (with x-canary: true)): not carried; no Service v2 is deployed",
        "routes[2] (/api → api 90%, v2 10%): not carried; a Service's listener sends its traffic to that Service only",
        "rate limits: carried as Envoy's local rate limit, which counts on each node's Envoy",
        "Service api port 8080 → listener api-8080: cors, jwt_authn, local_ratelimit",
    ] {
        assert!(run.stderr.contains(note), "{note:?} in\n{}", run.stderr);
    }
    let cec = written(&root, &run);
    let resources = cec["spec"]["resources"].as_array().unwrap();
    let listener = resources.iter().find(|r| r["name"] == "api-8080").unwrap();
    let hcm = &listener["filter_chains"][0]["filters"][0]["typed_config"];
    let names: Vec<&str> =
        hcm["http_filters"].as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "envoy.filters.http.cors",
            "envoy.filters.http.jwt_authn",
            "envoy.filters.http.local_ratelimit",
            "envoy.filters.http.router"
        ]
    );
    let provider = &hcm["http_filters"][1]["typed_config"]["providers"]["gw"];
    assert_eq!(
        provider["local_jwks"]["inline_string"].as_str(),
        Some(signer.jwks().as_str()),
        "the JWKS travels inline"
    );
    let routes = hcm["route_config"]["virtual_hosts"][0]["routes"].as_array().unwrap();
    let prefixes: Vec<&str> = routes.iter().map(|r| r["match"]["prefix"].as_str().unwrap()).collect();
    assert_eq!(prefixes, ["/public", "/api", "/"], "the Service's own routes, then the rest behind the token");
    assert!(routes.iter().all(|r| r["route"]["cluster"] == "shop/api:8080"));
    assert_eq!(routes[1]["route"]["timeout"], "5s");
    assert_eq!(routes[2]["typed_per_filter_config"]["envoy.filters.http.jwt_authn"]["requirement_name"], "gw");
    let cluster = resources.iter().find(|r| r["name"] == "shop/api:8080").unwrap();
    assert_eq!(cluster["type"], "EDS");
    assert_eq!(cluster["lb_policy"], "LEAST_REQUEST");
    assert_eq!(cluster["circuit_breakers"]["thresholds"][0]["max_pending_requests"], 5);
    assert_eq!(cluster["outlier_detection"]["consecutive_5xx"], 3);
}

const NETWORK_POLICY: &str = "\n[topology.ebpf]\nproject = \"../firewall\"\ndeny = [\"198.51.100.4\"]\n\
    [deploy.cilium.network_policy.api]\npods = { app = \"api\" }\n\
    from = [\"cluster\", \"203.0.113.0/24\", \"app=frontend\"]\ndeny = [\"203.0.113.9\", \"app=scraper,tier=bot\"]\n";

#[test]
fn a_network_policy_guards_the_pods_with_the_routes_as_its_http_rules() {
    let signer = Signer::new();
    let (_dir, root) = gateway_project(&signer);
    let manifest = root.join("gw.toml");
    std::fs::write(&manifest, std::fs::read_to_string(&manifest).unwrap() + NETWORK_POLICY).unwrap();
    let run = deploy(&Gw::new(), &root, &[]);
    run.ok();
    assert!(
        run.stderr.contains(
            "Service api: pods app=api port 8080 from cluster, 203.0.113.0/24, pods app=frontend, \
             except 203.0.113.9/32, pods app=scraper,tier=bot, 198.51.100.4/32; HTTP: only the 3 route(s) to it"
        ),
        "{}",
        run.stderr
    );
    let objects = written_all(&root, &run);
    assert_eq!(objects.len(), 2, "the CiliumEnvoyConfig, then the CiliumNetworkPolicy");
    let policy = &objects[1];
    assert_eq!(
        (policy["kind"].as_str(), policy["apiVersion"].as_str()),
        (Some("CiliumNetworkPolicy"), Some("cilium.io/v2"))
    );
    assert_eq!(
        (policy["metadata"]["name"].as_str(), policy["metadata"]["namespace"].as_str()),
        (Some("gw-wasm-filter"), Some("shop"))
    );
    let http = json!([
        { "path": "/public.*" },
        { "path": "/api.*" },
        { "path": "/api.*", "method": "GET|POST" },
    ]);
    let port = |rules: Option<&Value>| {
        let mut rule = json!({ "ports": [{ "port": "8080", "protocol": "TCP" }] });
        if let Some(rules) = rules {
            rule["rules"] = json!({ "http": rules });
        }
        json!([rule])
    };
    let expected = json!([{
        "description": "gw: the pods behind Service api",
        "endpointSelector": { "matchLabels": { "app": "api" } },
        "ingress": [
            { "fromEntities": ["cluster"], "toPorts": port(Some(&http)) },
            { "fromCIDR": ["203.0.113.0/24"], "toPorts": port(Some(&http)) },
            { "fromEndpoints": [{ "matchLabels": { "app": "frontend" } }], "toPorts": port(Some(&http)) },
        ],
        "ingressDeny": [
            { "fromCIDR": ["203.0.113.9/32", "198.51.100.4/32"], "toPorts": port(None) },
            { "fromEndpoints": [{ "matchLabels": { "app": "scraper", "tier": "bot" } }], "toPorts": port(None) },
        ],
    }]);
    assert_eq!(policy["specs"], expected);
    // The split's route counts: api takes 90 % of /api. v2's header route does not.

    // Without `from`: anyone, on the port; with http = false: no HTTP rules.
    let open = "\n[deploy.cilium.network_policy.api]\npods = { app = \"api\" }\nhttp = false\n";
    let (_dir, root) = gateway_project(&signer);
    std::fs::write(root.join("gw.toml"), std::fs::read_to_string(root.join("gw.toml")).unwrap() + open).unwrap();
    let run = deploy(&Gw::new(), &root, &[]);
    run.ok();
    let policy = &written_all(&root, &run)[1];
    assert_eq!(policy["specs"][0]["ingress"], json!([{ "toPorts": port(None) }]));
    assert!(policy["specs"][0].get("ingressDeny").is_none());
}

#[test]
fn bad_network_policies_are_refused_naming_the_key_and_nothing_is_written() {
    let signer = Signer::new();
    for (section, expected) in [
        (
            "[deploy.cilium.network_policy.cart]\npods = { app = \"cart\" }\n",
            "[deploy.cilium.network_policy.cart] \"cart\" is not a Service deployed here (services: api)",
        ),
        (
            "[deploy.cilium.network_policy.api]\nport = 8080\n",
            "[deploy.cilium.network_policy.api] pods \"\" selects no pods",
        ),
        ("[deploy.cilium.network_policy.api]\npods = { app = \"a*\" }\n", "pods \"app=a*\" can match no pod"),
        (
            "[deploy.cilium.network_policy.api]\npods = { app = \"api\" }\nfrom = [\"everyone\"]\n",
            "[deploy.cilium.network_policy.api] from[0] \"everyone\" is neither an entity (all, world, cluster",
        ),
        (
            "[deploy.cilium.network_policy.api]\npods = { app = \"api\" }\ndeny = [\"10.0.0.0/33\"]\n",
            "deny[0] \"10.0.0.0/33\" has a prefix length other than 0 to 32",
        ),
        (
            "[deploy.cilium.network_policy.api]\npods = { app = \"api\" }\ndeny = [\"10.0.0.300\"]\n",
            "deny[0] \"10.0.0.300\" is neither an entity",
        ),
        ("[deploy.cilium.network_policy.api]\npods = { app = \"api\" }\nports = [1]\n", "unknown field `ports`"),
    ] {
        let (_dir, root) = gateway_project(&signer);
        std::fs::write(root.join("gw.toml"), std::fs::read_to_string(root.join("gw.toml")).unwrap() + "\n" + section)
            .unwrap();
        let run = deploy(&Gw::new(), &root, &[]);
        run.fails_with(2, expected);
        assert!(!root.join("target/gw/cilium").exists(), "nothing written for {section}");
    }
    // Two ports of one Service: the pods' port must be named.
    let (_dir, root) = gateway_project(&signer);
    let toml = std::fs::read_to_string(root.join("gw.toml"))
        .unwrap()
        .replace("[\"api:8080\"]", "[\"api:8080\", \"api:9090\"]");
    std::fs::write(root.join("gw.toml"), toml + "\n[deploy.cilium.network_policy.api]\npods = { app = \"api\" }\n")
        .unwrap();
    deploy(&Gw::new(), &root, &[]).fails_with(2, "port \"\" the pods' port cannot be told from services");
}

/// The policy's HTTP rules as Cilium hands them to its Envoy (pkg/envoy's `getHTTPRule`: RE2
/// regexes matched whole against `:path` and `:method`, exact headers), served by a listener
/// that answers 200 to what a rule allows and 403 to the rest.
fn http_rules_on(rules: &Value, port: u16) -> Value {
    let mut routes: Vec<Value> = rules
        .as_array()
        .unwrap()
        .iter()
        .map(|rule| {
            let mut headers = vec![json!({"name": ":path", "string_match": {"safe_regex": {"regex": rule["path"]}}})];
            if let Some(method) = rule.get("method") {
                headers.push(json!({"name": ":method", "string_match": {"safe_regex": {"regex": method}}}));
            }
            for header in rule["headerMatches"].as_array().into_iter().flatten() {
                headers.push(json!({"name": header["name"], "string_match": {"exact": header["value"]}}));
            }
            json!({"match": {"prefix": "/", "headers": headers}, "direct_response": {"status": 200}})
        })
        .collect();
    routes.push(json!({"match": {"prefix": "/"}, "direct_response": {"status": 403}}));
    let hcm = json!({
        "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
        "stat_prefix": "policy",
        "route_config": {"virtual_hosts": [{"name": "all", "domains": ["*"], "routes": routes}]},
        "http_filters": [{"name": "envoy.filters.http.router",
            "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}}]
    });
    json!({"static_resources": {"listeners": [{
        "name": "policy",
        "address": {"socket_address": {"address": "127.0.0.1", "port_value": port}},
        "filter_chains": [{"filters": [{"name": "envoy.filters.network.http_connection_manager", "typed_config": hcm}]}]
    }]}})
}

#[test]
fn the_http_rules_take_what_the_routes_take_on_real_envoys() {
    let (_dir, root, _) = project(
        "\n[deploy.cilium]\nservices = [\"api:8080\"]\n[deploy.cilium.network_policy.api]\npods = { app = \"api\" }\n\
         [topology.front]\nfilters = []\n\
         [[topology.routes]]\nprefix = \"/v1.0/items\"\nservice = \"api\"\nmethods = [\"GET\", \"HEAD\"]\n\
         [[topology.routes]]\nprefix = \"/beta\"\nservice = \"api\"\nheaders_match = { x-beta = \"yes\" }\n\
         [[topology.services]]\nname = \"api\"\n",
    );
    let run = deploy(&Gw::new(), &root, &["--out", "k8s"]);
    run.ok();
    let rules = written_all(&root, &run)[1]["specs"][0]["ingress"][0]["toPorts"][0]["rules"]["http"].clone();
    // Quoted: Envoy and kubectl read YAML 1.1, where a plain yes is a boolean.
    let text = std::fs::read_to_string(root.join(run.stdout.trim())).unwrap();
    assert!(text.contains("value: \"yes\""), "{text}");
    let client = reqwest::blocking::Client::builder().no_proxy().timeout(Duration::from_secs(10)).build().unwrap();
    for envoy in common::envoy::all() {
        let at = format!("Envoy {}", envoy.version);
        let port = common::free_port();
        let file = root.join(format!("k8s/rules-{}.json", envoy.version));
        std::fs::write(&file, http_rules_on(&rules, port).to_string()).unwrap();
        let _serving = Serving::start(&envoy.binary, &file);
        let base = format!("http://127.0.0.1:{port}");
        assert!(
            common::wait_until(Duration::from_secs(30), || client.get(format!("{base}/")).send().is_ok()),
            "{at}: the listener serves"
        );
        let status = |method: &str, path: &str, beta: bool| {
            let mut request = client.request(method.parse().unwrap(), format!("{base}{path}"));
            if beta {
                request = request.header("x-beta", "yes");
            }
            request.send().unwrap().status().as_u16()
        };
        for (method, path, beta, expected) in [
            ("GET", "/v1.0/items", false, 200),
            ("HEAD", "/v1.0/items/7?full=1", false, 200),
            ("POST", "/v1.0/items", false, 403),
            // The prefix is literal: its dot is not a wildcard.
            ("GET", "/v1x0/items", false, 403),
            ("GET", "/beta/x", true, 200),
            ("DELETE", "/beta/x", true, 200),
            ("GET", "/beta/x", false, 403),
            ("GET", "/other", false, 403),
        ] {
            assert_eq!(status(method, path, beta), expected, "{at}: {method} {path} (x-beta: {beta})");
        }
    }
}

/// A real Envoy killed when dropped.
struct Serving(std::process::Child);

impl Serving {
    /// Envoy serving the config `file`.
    fn start(binary: &Path, file: &Path) -> Serving {
        let child = std::process::Command::new(binary)
            .args(["-c", &file.display().to_string(), "--disable-hot-restart", "--log-level", "warning"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        Serving(child)
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_carried_policies_hold_on_real_envoys() {
    let signer = Signer::new();
    let (_dir, root) = gateway_project(&signer);
    let run = deploy(&Gw::new(), &root, &["--out", "k8s"]);
    run.ok();
    let cec = written(&root, &run);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let token =
        signer.token(json!({"iss": "https://issuer.example", "aud": "shop", "sub": "alice", "exp": now + 3600}));
    let upstream = common::TestServer::start();
    upstream.route("/api", common::Reply::ok("api"));
    upstream.route("/public", common::Reply::ok("public"));
    let client = reqwest::blocking::Client::builder().no_proxy().timeout(Duration::from_secs(10)).build().unwrap();
    for envoy in common::envoy::all() {
        let at = format!("Envoy {}", envoy.version);
        let port = common::free_port();
        let file = root.join(format!("k8s/serving-{}.yaml", envoy.version));
        let bootstrap = as_bootstrap_on(&cec, port, upstream.addr().port());
        std::fs::write(&file, serde_norway::to_string(&bootstrap).unwrap()).unwrap();
        let _serving = Serving::start(&envoy.binary, &file);
        let base = format!("http://127.0.0.1:{port}");
        assert!(
            common::wait_until(Duration::from_secs(30), || client.get(format!("{base}/public")).send().is_ok()),
            "{at}: the listener serves"
        );
        let get = |path: &str, bearer: Option<&str>| {
            let mut request = client.get(format!("{base}{path}"));
            if let Some(token) = bearer {
                request = request.bearer_auth(token);
            }
            request.send().unwrap()
        };
        // The wait above spent one or more of the 4 requests a minute: count what is left.
        let first = get("/api", None);
        assert_eq!(first.status(), 401, "{at}");
        assert!(first.headers()["www-authenticate"].to_str().unwrap().starts_with("Bearer"), "{at}");
        assert_eq!(get("/other", None).status(), 401, "{at}: the rest is behind the token too");
        let passed = get("/api", Some(&token));
        assert_eq!(passed.status(), 200, "{at}");
        let seen = upstream.requests().into_iter().rev().find(|r| r.path == "/api").unwrap();
        assert_eq!((seen.header("x-jwt-sub"), seen.header("x-gateway")), (Some("alice"), Some("shop")), "{at}");
        let remaining: u32 = passed.headers()["x-ratelimit-remaining"].to_str().unwrap().parse().unwrap();
        for _ in 0..remaining {
            assert_eq!(get("/api", Some(&token)).status(), 200, "{at}");
        }
        let limited = get("/api", Some(&token));
        assert_eq!(limited.status(), 429, "{at}");
        assert_eq!(limited.headers()["x-envoy-ratelimited"], "true", "{at}");
    }
}

/// `gw deploy <engine> ARGS` in `root`.
fn deploy_to(gw: &Gw, root: &Path, engine: &str, args: &[&str]) -> Run {
    let mut all = vec!["deploy", engine];
    all.extend_from_slice(args);
    gw.command(&all).current_dir(root).output().unwrap().into()
}

const FILTER_CONFIG: &str = "\n[[topology.front.filters]]\nwasm = \"project\"\nconfig = '{\"header\": \"x-gw\"}'\n";

#[test]
fn istio_and_envoy_gateway_get_the_pushed_module_pinned_by_its_digest() {
    let Some(registry) = Registry::start_if_available(Auth::None) else { return };
    let (_dir, root, wasm) = project(FILTER_CONFIG);
    let gw = Gw::new();
    // Nothing pushed yet: refused, nothing written.
    deploy_to(&gw, &root, "istio", &[]).fails_with(2, "has not been pushed");
    assert!(!root.join("target/gw/istio").exists());

    let image = format!("{}/filters/wasm-filter:0.1.0", registry.host());
    let pushed = gw.command(&["push", &image, "--insecure"]).current_dir(&root).output().unwrap();
    let pushed = Run::from(pushed);
    let pinned = pushed.ok().stdout.trim().to_string();
    let digest = pinned.rsplit_once("@sha256:").unwrap().1.to_string();

    let run = deploy_to(
        &gw,
        &root,
        "istio",
        &["--selector", "app=checkout", "--phase", "authn", "--mode", "server", "--port", "8080", "--priority", "10"],
    );
    run.ok();
    assert_eq!(run.stdout.trim(), "target/gw/istio/gw-wasm-filter.yaml");
    let plugin = written(&root, &run);
    assert_eq!(
        plugin,
        json!({
            "apiVersion": "extensions.istio.io/v1alpha1",
            "kind": "WasmPlugin",
            "metadata": { "name": "gw-wasm-filter", "namespace": "default", "labels": { "app.kubernetes.io/managed-by": "gw" } },
            "spec": {
                "url": format!("oci://{image}"),
                "sha256": digest,
                "selector": { "matchLabels": { "app": "checkout" } },
                "phase": "AUTHN",
                "priority": 10,
                "match": [{ "mode": "SERVER", "ports": [{ "number": 8080 }] }],
                "pluginConfig": { "header": "x-gw" },
                "type": "HTTP",
                "failStrategy": "FAIL_CLOSE"
            }
        })
    );

    let run = deploy_to(&gw, &root, "envoy-gateway", &["--target-ref", "Gateway/eg", "-n", "edge"]);
    run.ok();
    let policy = written(&root, &run);
    assert_eq!(policy["kind"], "EnvoyExtensionPolicy");
    assert_eq!(policy["metadata"]["namespace"], "edge");
    assert_eq!(
        policy["spec"],
        json!({
            "targetRefs": [{ "group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "eg" }],
            "wasm": [{
                "name": "wasm-filter",
                "code": { "type": "Image", "image": { "url": image, "sha256": digest } },
                "config": { "header": "x-gw" },
                "failOpen": false
            }]
        })
    );
    // Over HTTP instead, pinned by the module's own sha256; no push needed for that.
    let run = deploy_to(
        &gw,
        &root,
        "envoy-gateway",
        &["--target-ref", "HTTPRoute/checkout", "--module-url", "https://cdn.example/f.wasm"],
    );
    run.ok();
    let code = &written(&root, &run)["spec"]["wasm"][0]["code"];
    assert_eq!(
        code,
        &json!({ "type": "HTTP", "http": { "url": "https://cdn.example/f.wasm", "sha256": sha256_hex(&wasm) } })
    );

    // Bad input: refused with the place named, the files as they were.
    let before = std::fs::read(root.join("target/gw/istio/gw-wasm-filter.yaml")).unwrap();
    for (engine, args, says) in [
        ("istio", vec!["--selector", "app=a*"], "can match no workload"),
        ("istio", vec!["--selector", "app=x", "--target-ref", "Gateway/g"], "Istio takes one"),
        ("istio", vec!["--phase", "early"], "is none of AUTHN, AUTHZ, STATS"),
        ("istio", vec!["--target-ref", "Deployment/x"], "a WasmPlugin targets Gateway, GatewayClass or Service"),
        ("envoy-gateway", vec![], "names nothing to attach the filter to"),
        ("envoy-gateway", vec!["--target-ref", "Service/x"], "an EnvoyExtensionPolicy targets Gateway"),
        ("istio", vec!["--engine-version", "1.12"], "gw carries the CRD of Istio 1.30 only"),
        ("envoy-gateway", vec!["--target-ref", "Gateway/eg", "--engine-version", "1.2"], "Envoy Gateway 1.9 only"),
        ("cilium", vec!["--service", "a", "--engine-version", "1.14"], "Cilium 1.17 only"),
    ] {
        deploy_to(&gw, &root, engine, &args).fails_with(2, says);
    }
    assert_eq!(std::fs::read(root.join("target/gw/istio/gw-wasm-filter.yaml")).unwrap(), before);

    // A module rebuilt since the push is not the one in the registry.
    std::thread::sleep(Duration::from_millis(20));
    std::fs::write(root.join("target/gw/wasm_filter.wasm"), module(600)).unwrap();
    deploy_to(&gw, &root, "istio", &[]).fails_with(2, "rebuilt since `gw push` published it");
    deploy_to(&gw, &root, "envoy-gateway", &["--target-ref", "Gateway/eg"]).fails_with(2, "rebuilt since");
}

#[test]
fn a_registry_that_needs_credentials_needs_a_pull_secret() {
    let Some(registry) = Registry::start_if_available(Auth::Htpasswd) else { return };
    let (_dir, root, _) = project(FILTER_CONFIG);
    let gw = Gw::new();
    let config = registry.docker_config(&gw.home().join("docker"));
    let image = format!("{}/private/wasm-filter:1", registry.host());
    let pushed = gw.command(&["push", &image, "--insecure"]).env("DOCKER_CONFIG", &config).current_dir(&root).output();
    Run::from(pushed.unwrap()).ok();
    deploy_to(&gw, &root, "istio", &[]).fails_with(2, "was pushed with credentials");
    deploy_to(&gw, &root, "envoy-gateway", &["--target-ref", "Gateway/eg"]).fails_with(2, "--pull-secret NAME");
    let run = deploy_to(&gw, &root, "istio", &["--pull-secret", "regcred"]);
    assert_eq!(written(&root, run.ok())["spec"]["imagePullSecret"], "regcred");
    let run = deploy_to(&gw, &root, "envoy-gateway", &["--target-ref", "Gateway/eg", "--pull-secret", "regcred"]);
    let secret = &written(&root, run.ok())["spec"]["wasm"][0]["code"]["image"]["pullSecretRef"];
    assert_eq!(secret, &json!({ "kind": "Secret", "name": "regcred" }));
}

#[test]
fn the_engines_objects_are_applied_server_side_by_kubectl() {
    let Some(()) = kube_api::kubectl_available() else { return };
    let Some(registry) = Registry::start_if_available(Auth::None) else { return };
    let (dir, root, _) = project(FILTER_CONFIG);
    let gw = Gw::new();
    let image = format!("{}/filters/wasm-filter:0.1.0", registry.host());
    Run::from(gw.command(&["push", &image, "--insecure"]).current_dir(&root).output().unwrap()).ok();
    let api = KubeApi::serving(dir.path(), &[kube_api::WASM_PLUGIN, kube_api::ENVOY_EXTENSION_POLICY]);
    for (crd, engine, args, file) in [
        (kube_api::WASM_PLUGIN, "istio", vec![], "target/gw/istio/gw-wasm-filter.yaml"),
        (
            kube_api::ENVOY_EXTENSION_POLICY,
            "envoy-gateway",
            vec!["--target-ref", "Gateway/eg"],
            "target/gw/envoy-gateway/gw-wasm-filter.yaml",
        ),
    ] {
        api.accept_kind(crd, "default", "gw-wasm-filter");
        let mut all = vec!["deploy", engine, "--apply"];
        all.extend(args);
        let run: Run = gw.command(&all).current_dir(&root).env("KUBECONFIG", api.kubeconfig()).output().unwrap().into();
        run.ok();
        assert!(run.stdout.contains("gw-wasm-filter serverside-applied"), "{}", run.stdout);
        let patch = api.patches().pop().unwrap();
        assert!(patch.path.ends_with(&format!("/namespaces/default/{}/gw-wasm-filter", crd.plural)), "{}", patch.path);
        let sent: Value = serde_json::from_slice(&patch.body).unwrap();
        let file: Value = serde_norway::from_str(&std::fs::read_to_string(root.join(file)).unwrap()).unwrap();
        assert_eq!(sent, file, "kubectl sends the object gw wrote");
    }
}
