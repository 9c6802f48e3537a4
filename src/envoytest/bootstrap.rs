//! The Envoy a scenario file runs in: one listener on a loopback port Envoy picks, with the
//! filter configured as the scenario says (an HTTP filter before the router, or a network
//! filter before tcp_proxy), routed to the upstream stub; one cluster per http_calls cluster;
//! trailers enabled both ways; an access log of each request's response code details.

use std::path::Path;

use serde_json::{Value, json};

use super::plan::Placement;
use crate::wasmhost::scenario::Scenario;

pub const LISTENER: &str = "scenario";
pub const STAT_PREFIX: &str = "scenario";
/// The upstream stub's cluster; a name no scenario cluster is likely to take.
const UPSTREAM: &str = "gw_scenario_upstream";
const RUNTIME: &str = "envoy.wasm.runtime.v8";

pub struct Inputs<'a> {
    pub scenario: &'a Scenario,
    pub placement: Placement,
    pub wasm: &'a Path,
    /// The plugin's name when the scenario gives none (the module's file stem, as gw's host).
    pub default_name: String,
    pub upstream_port: u16,
    pub call_ports: &'a [(String, u16)],
    pub access_log: &'a Path,
}

pub fn render(inputs: &Inputs<'_>) -> Value {
    let filters = match inputs.placement {
        Placement::Http => vec![http_connection_manager(inputs)],
        Placement::Network => vec![
            json!({"name": "envoy.filters.network.wasm", "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.filters.network.wasm.v3.Wasm",
                "config": plugin(inputs)}}),
            json!({"name": "envoy.filters.network.tcp_proxy", "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy",
                "stat_prefix": STAT_PREFIX, "cluster": UPSTREAM}}),
        ],
    };
    let mut clusters = vec![cluster(UPSTREAM, inputs.upstream_port, inputs.placement == Placement::Http)];
    clusters.extend(inputs.call_ports.iter().map(|(name, port)| cluster(name, *port, true)));
    json!({
        "node": {"id": "gw-test", "cluster": "gw-test"},
        "admin": {"address": address(0)},
        "static_resources": {
            "listeners": [{"name": LISTENER, "address": address(0), "filter_chains": [{"filters": filters}]}],
            "clusters": clusters,
        },
    })
}

fn address(port: u16) -> Value {
    json!({"socket_address": {"address": "127.0.0.1", "port_value": port}})
}

fn string_value(bytes: &[u8]) -> Value {
    json!({"@type": "type.googleapis.com/google.protobuf.StringValue", "value": String::from_utf8_lossy(bytes)})
}

fn plugin(inputs: &Inputs<'_>) -> Value {
    let s = inputs.scenario;
    json!({
        "name": s.plugin_name.clone().unwrap_or_else(|| inputs.default_name.clone()),
        "root_id": s.root_id.clone().unwrap_or_default(),
        "vm_config": {
            "vm_id": s.vm_id.clone().unwrap_or_default(),
            "runtime": RUNTIME,
            "code": {"local": {"filename": inputs.wasm.display().to_string()}},
            "configuration": string_value(&s.vm_config.0),
        },
        "configuration": string_value(&s.plugin_config.0),
    })
}

fn http_connection_manager(inputs: &Inputs<'_>) -> Value {
    json!({"name": "envoy.filters.network.http_connection_manager", "typed_config": {
        "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
        "stat_prefix": STAT_PREFIX,
        "codec_type": "HTTP1",
        "http_protocol_options": {"enable_trailers": true},
        "route_config": {"name": LISTENER, "virtual_hosts": [{"name": LISTENER, "domains": ["*"], "routes": [
            {"match": {"prefix": "/"}, "route": {"cluster": UPSTREAM, "timeout": "10s"}}]}]},
        "http_filters": [
            {"name": "envoy.filters.http.wasm", "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm",
                "config": plugin(inputs)}},
            {"name": "envoy.filters.http.router", "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}},
        ],
        "access_log": [{"name": "envoy.access_loggers.file", "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog",
            "path": inputs.access_log.display().to_string(),
            "log_format": {"text_format_source": {"inline_string": "%RESPONSE_CODE_DETAILS%\n"}}}}],
    }})
}

fn cluster(name: &str, port: u16, http: bool) -> Value {
    let mut cluster = json!({
        "name": name,
        "type": "STATIC",
        "connect_timeout": "1s",
        "load_assignment": {"cluster_name": name, "endpoints": [{"lb_endpoints": [
            {"endpoint": {"address": address(port)}}]}]},
    });
    if http {
        cluster["typed_extension_protocol_options"] = json!({"envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
            "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
            "explicit_http_config": {"http_protocol_options": {"enable_trailers": true}}}});
    }
    cluster
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_placements_pass_envoys_schema() {
        let http =
            Scenario::from_yaml("plugin_config: {a: 1}\nhttp_calls: [{cluster: auth}]\ncases: [{name: a}]\n").unwrap();
        let tcp = Scenario::from_yaml("cases: [{name: a, connection: {downstream: [x]}}]\n").unwrap();
        for (scenario, placement) in [(&http, Placement::Http), (&tcp, Placement::Network)] {
            let calls = [("auth".to_string(), 9001)];
            let config = render(&Inputs {
                scenario,
                placement,
                wasm: Path::new("/tmp/f.wasm"),
                default_name: "f".into(),
                upstream_port: 9000,
                call_ports: &calls,
                access_log: Path::new("/tmp/access.log"),
            });
            let text = serde_json::to_string_pretty(&config).unwrap();
            let problems = crate::envoy_api::validate::validate_yaml(&text);
            assert!(problems.is_ok(), "{problems:?}\n{text}");
        }
    }
}
