//! The properties `proxy_get_property` serves: Envoy's attributes, filled from the scenario's
//! request and connection, with defaults, serialized as Envoy serializes them.
//!
//! Lookup order for a path (segments joined by `.`): values the filter set with
//! `proxy_set_property` (its own context, then the root context), then the case's `properties`
//! overrides, then the file's, then the built-in attributes below. An override of `null` hides
//! an attribute (`NOT_FOUND`).
//!
//! Encoding: `string` as its bytes, `int` as 8-byte little-endian, `bool` as one byte,
//! `timestamp` as 8-byte little-endian nanoseconds since the epoch, `duration` as 8-byte
//! little-endian nanoseconds, `map` in the header-map encoding (`request.headers.<name>` reads
//! one header's value). An override of an unknown path is encoded by its YAML type: string,
//! integer, bool.

use serde_norway::Value;

use super::state::{Context, ContextKind, HeaderMap, HostState};

/// `(path, type, where the value comes from)`, for documentation and `gw test --help`-style output.
pub const ATTRIBUTES: &[(&str, &str, &str)] = &[
    ("request.path", "string", "the :path header"),
    ("request.url_path", "string", ":path without the query"),
    ("request.query", "string", "the query of :path, without '?'"),
    ("request.host", "string", "the :authority header"),
    ("request.scheme", "string", "the :scheme header"),
    ("request.method", "string", "the :method header"),
    ("request.headers", "map", "all request headers; request.headers.<name> reads one"),
    ("request.referer", "string", "the referer header"),
    ("request.useragent", "string", "the user-agent header"),
    ("request.id", "string", "the x-request-id header"),
    ("request.protocol", "string", "HTTP/1.1"),
    ("request.time", "timestamp", "the virtual clock when the case began"),
    ("request.duration", "duration", "virtual time since request.time"),
    ("request.size", "int", "request body bytes so far"),
    ("response.code", "int", "the response :status, once there is a response"),
    ("response.code_details", "string", "via_upstream, or the local response's details"),
    ("response.headers", "map", "all response headers; response.headers.<name> reads one"),
    ("response.trailers", "map", "all response trailers"),
    ("response.size", "int", "response body bytes so far"),
    ("response.flags", "int", "0"),
    ("source.address", "string", "127.0.0.1:50000"),
    ("source.port", "int", "50000"),
    ("destination.address", "string", "127.0.0.1:10000"),
    ("destination.port", "int", "10000"),
    ("connection.id", "int", "a number per case"),
    ("connection.mtls", "bool", "false"),
    ("connection.requested_server_name", "string", "empty"),
    ("upstream.address", "string", "127.0.0.1:8080"),
    ("upstream.port", "int", "8080"),
    ("plugin_name", "string", "the scenario's plugin_name, else the module's file stem"),
    ("plugin_root_id", "string", "the scenario's root_id, else empty"),
    ("plugin_vm_id", "string", "the scenario's vm_id, else empty"),
    ("node.id", "string", "gw"),
    ("node.cluster", "string", "gw"),
    ("cluster_name", "string", "backend (also xds.cluster_name)"),
    ("route_name", "string", "default (also xds.route_name)"),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    String,
    Int,
    Bool,
    Timestamp,
    Duration,
    Map,
}

fn kind_of(path: &str) -> Option<Kind> {
    let canonical = match path {
        "xds.cluster_name" => "cluster_name",
        "xds.route_name" => "route_name",
        _ if path.starts_with("request.headers.") || path.starts_with("response.headers.") => {
            return Some(Kind::String);
        }
        _ => path,
    };
    let (_, kind, _) = ATTRIBUTES.iter().find(|(p, _, _)| *p == canonical)?;
    Some(match *kind {
        "string" => Kind::String,
        "int" => Kind::Int,
        "bool" => Kind::Bool,
        "timestamp" => Kind::Timestamp,
        "duration" => Kind::Duration,
        _ => Kind::Map,
    })
}

fn int(value: i64) -> Vec<u8> {
    value.to_le_bytes().to_vec()
}

/// Encodes a scenario override: by the attribute's type when it is a known one, else by the
/// YAML type. `Ok(None)` hides the attribute.
pub(crate) fn encode_override(path: &str, value: &Value) -> Result<Option<Vec<u8>>, String> {
    let text = match value {
        Value::Null => return Ok(None),
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        _ => return Err(format!("properties.{path}: expected a string, number or bool")),
    };
    let as_int = || text.parse::<i64>().map_err(|_| format!("properties.{path}: expected an integer, got {text:?}"));
    Ok(Some(match kind_of(path) {
        Some(Kind::String) => text.into_bytes(),
        Some(Kind::Int) | Some(Kind::Duration) => int(as_int()?),
        Some(Kind::Bool) => match text.as_str() {
            "true" => vec![1],
            "false" => vec![0],
            _ => return Err(format!("properties.{path}: expected true or false, got {text:?}")),
        },
        Some(Kind::Timestamp) => {
            int(super::clock::parse_time(&text).map_err(|e| format!("properties.{path}: {e}"))? as i64)
        }
        Some(Kind::Map) => return Err(format!("properties.{path}: a map cannot be overridden; override one entry")),
        None => match value {
            Value::Number(n) if n.is_i64() => int(n.as_i64().unwrap_or_default()),
            Value::Bool(b) => vec![u8::from(*b)],
            _ => text.into_bytes(),
        },
    }))
}

/// The value of a property for the active context, or `None` (`NOT_FOUND`).
pub(crate) fn lookup(state: &HostState, path: &[String]) -> Option<Vec<u8>> {
    let key = path.join(".");
    let context = state.active()?;
    let root = state.contexts.get(&state.active_root());
    if let Some(v) = context.properties_set.get(&key).or_else(|| root.and_then(|r| r.properties_set.get(&key))) {
        return Some(v.clone());
    }
    if let Some(v) = context.overrides.get(&key).or_else(|| state.world.plugin.overrides.get(&key)) {
        return v.clone();
    }
    builtin(state, context, path)
}

fn builtin(state: &HostState, context: &Context, path: &[String]) -> Option<Vec<u8>> {
    let plugin = &state.world.plugin;
    let first = path.first()?.as_str();
    let rest: Vec<&str> = path[1..].iter().map(String::as_str).collect();
    let string = |s: &str| Some(s.as_bytes().to_vec());
    match (first, rest.as_slice()) {
        ("plugin_name", []) => return string(&plugin.name),
        ("plugin_root_id", []) => return string(&plugin.root_id),
        ("plugin_vm_id", []) => return string(&plugin.vm_id),
        ("node", ["id"]) | ("node", ["cluster"]) => return string("gw"),
        _ => {}
    }
    let connection = !matches!(context.kind, ContextKind::Root);
    match (first, rest.as_slice()) {
        ("source", ["address"]) if connection => return string("127.0.0.1:50000"),
        ("source", ["port"]) if connection => return Some(int(50000)),
        ("destination", ["address"]) if connection => return string("127.0.0.1:10000"),
        ("destination", ["port"]) if connection => return Some(int(10000)),
        ("connection", ["id"]) if connection => return Some(int(context.connection_id as i64)),
        ("connection", ["mtls"]) if connection => return Some(vec![0]),
        ("connection", ["requested_server_name"]) if connection => return string(""),
        ("upstream", ["address"]) if connection => return string("127.0.0.1:8080"),
        ("upstream", ["port"]) if connection => return Some(int(8080)),
        _ => {}
    }
    let http = context.http()?;
    let header = |map: &HeaderMap, name: &str| map.get(name).map(<[u8]>::to_vec);
    let path_header = || http.request_headers.get(":path").map(|p| String::from_utf8_lossy(p).into_owned());
    match (first, rest.as_slice()) {
        ("cluster_name", []) | ("xds", ["cluster_name"]) => string("backend"),
        ("route_name", []) | ("xds", ["route_name"]) => string("default"),
        ("request", ["path"]) => header(&http.request_headers, ":path"),
        ("request", ["url_path"]) => path_header().map(|p| p.split('?').next().unwrap_or_default().as_bytes().to_vec()),
        ("request", ["query"]) => {
            path_header().map(|p| p.split_once('?').map(|(_, q)| q.to_string()).unwrap_or_default().into_bytes())
        }
        ("request", ["host"]) => header(&http.request_headers, ":authority"),
        ("request", ["scheme"]) => header(&http.request_headers, ":scheme"),
        ("request", ["method"]) => header(&http.request_headers, ":method"),
        ("request", ["referer"]) => header(&http.request_headers, "referer"),
        ("request", ["useragent"]) => header(&http.request_headers, "user-agent"),
        ("request", ["id"]) => header(&http.request_headers, "x-request-id"),
        ("request", ["headers"]) => Some(http.request_headers.serialize()),
        ("request", ["headers", name @ ..]) if !name.is_empty() => header(&http.request_headers, &name.join(".")),
        ("request", ["protocol"]) => string("HTTP/1.1"),
        ("request", ["time"]) => Some(int(http.request_time_ns as i64)),
        ("request", ["duration"]) => Some(int(state.world.clock.now_ns.saturating_sub(http.request_time_ns) as i64)),
        ("request", ["size"]) => Some(int(http.request_body_size as i64)),
        ("response", ["code"]) if http.response_started => http
            .response_headers
            .get(":status")
            .and_then(|s| std::str::from_utf8(s).ok()?.trim().parse::<i64>().ok())
            .map(int),
        ("response", ["code_details"]) if http.response_started => string(&http.response_code_details),
        ("response", ["headers"]) if http.response_started => Some(http.response_headers.serialize()),
        ("response", ["headers", name @ ..]) if http.response_started && !name.is_empty() => {
            header(&http.response_headers, &name.join("."))
        }
        ("response", ["trailers"]) if http.response_started => Some(http.response_trailers.serialize()),
        ("response", ["size"]) if http.response_started => Some(int(http.response_body_size as i64)),
        ("response", ["flags"]) if http.response_started => Some(int(0)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_are_encoded_by_the_attributes_type() {
        let v = |s: &str| serde_norway::from_str::<Value>(s).unwrap();
        assert_eq!(encode_override("source.port", &v("4000")).unwrap(), Some(4000i64.to_le_bytes().to_vec()));
        assert_eq!(encode_override("source.port", &v("'4000'")).unwrap(), Some(4000i64.to_le_bytes().to_vec()));
        assert_eq!(encode_override("source.address", &v("1.2.3.4:5")).unwrap(), Some(b"1.2.3.4:5".to_vec()));
        assert_eq!(encode_override("connection.mtls", &v("true")).unwrap(), Some(vec![1]));
        assert_eq!(encode_override("my.flag", &v("7")).unwrap(), Some(7i64.to_le_bytes().to_vec()));
        assert_eq!(encode_override("request.id", &v("null")).unwrap(), None);
        assert!(encode_override("source.port", &v("eighty")).is_err());
        assert_eq!(
            encode_override("request.time", &v("1970-01-01T00:00:01Z")).unwrap(),
            Some(1_000_000_000i64.to_le_bytes().to_vec())
        );
    }
}
